# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The custom REST event Nova's PowerVM driver posted on VIF plug/unplug."""

from __future__ import annotations

import json
import re

from pypowervm import adapter as pvm_adapter
from pypowervm.wrappers import event as pvm_event

from networking_powervm.common import constants as const

_MAC_RE = re.compile(r'^[0-9a-f]{12}$')


def normalize_mac(mac: str) -> str:
    """Neutron form (``fa:16:3e:01:02:03``) of a MAC in any common notation."""
    bare = re.sub(r'[:\-.]', '', str(mac)).lower()
    if not _MAC_RE.match(bare):
        raise ValueError(f'Invalid MAC address {mac!r}: need 12 hex digits')
    return ':'.join(bare[i:i + 2] for i in range(0, 12, 2))


def vif_event_detail(action: str, mac: str, vif_type: str) -> str:
    """The EventDetail JSON of a VIF event."""
    if action not in (const.EVENT_ACTION_PLUG, const.EVENT_ACTION_UNPLUG):
        raise ValueError(f'Invalid VIF event action {action!r}: use plug or unplug')
    return json.dumps({'provider': const.EVENT_PROVIDER_NOVA_PVM_VIF, 'action': action,
                       'mac': normalize_mac(mac), 'type': vif_type})


def post_vif_event(adapter: pvm_adapter.Adapter, action: str, mac: str, vif_type: str,
                   href: str) -> None:
    """Broadcast the plug/unplug CUSTOM_CLIENT_EVENT (data = the adapter's href)."""
    detail = vif_event_detail(action, mac, vif_type)
    pvm_event.Event.bld(adapter, data=href, detail=detail).create()
