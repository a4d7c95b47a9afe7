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

"""The NOVA_PVM_VIF event: the one definition of its wire format and of a MAC's form.

Nova's PowerVM driver (here: ``powervm-vif``) posts a CUSTOM_CLIENT_EVENT on
every VIF plug/unplug; its EventData is the adapter's href and its
EventDetail the JSON ``{"provider": "NOVA_PVM_VIF", "action": "plug"|"unplug",
"mac": ..., "type": <VIF type>}``. The agents parse it with :func:`parse`,
the compute side writes it with :meth:`VifEvent.detail`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pypowervm import util as pvm_util

from networking_powervm.common import constants as pvm_const
from networking_powervm.common import logtext

PROVIDER = pvm_const.EVENT_PROVIDER_NOVA_PVM_VIF
PLUG = pvm_const.EVENT_ACTION_PLUG
UNPLUG = pvm_const.EVENT_ACTION_UNPLUG
ACTIONS = (PLUG, UNPLUG)
# Partition types whose UUID a VIF's href names (client partitions and VIOSes).
PARTITION_TYPES = ('LogicalPartition', 'VirtualIOServer')

_MAC_RE = re.compile(r'^[0-9a-f]{12}$')
_SEPARATORS = re.compile(r'[:\-.]')


class EventError(ValueError):
    """A malformed event or value; the message names the (bounded) bad value."""


def norm_mac(mac: Any) -> str:
    """Neutron's form (``fa:16:3e:01:02:03``) of a MAC written with ``:``, ``-``, ``.`` or none.

    Raises EventError naming the value.
    """
    if not isinstance(mac, str):
        raise EventError(f"MAC {logtext.bounded(mac)} is not a string")
    bare = _SEPARATORS.sub('', mac.strip()).lower()
    if not _MAC_RE.match(bare):
        raise EventError(f"invalid MAC address {logtext.bounded(mac)}")
    return ':'.join(bare[i:i + 2] for i in range(0, 12, 2))


def partition_uuid(href: str | None) -> str | None:
    """Upper-case UUID of the partition an adapter href belongs to; None if it names none."""
    if not href:
        return None
    uuid = pvm_util.get_req_path_uuid(href, preserve_case=True, root=True)
    if uuid is None:
        return None
    if not any(f'/{kind}/{uuid}' in href for kind in PARTITION_TYPES):
        return None
    return uuid.upper()


@dataclass(frozen=True)
class VifEvent:
    """A VIF plug or unplug: what the compute side posts and the agents provision."""

    action: str
    mac: str
    vif_type: str
    href: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise EventError(f"{PROVIDER} event has invalid action "
                             f"{logtext.bounded(self.action)} (expected plug or unplug)")
        if not isinstance(self.vif_type, str) or not self.vif_type:
            raise EventError(f"{PROVIDER} event has invalid type "
                             f"{logtext.bounded(self.vif_type)}")
        if not self.href or not isinstance(self.href, str):
            raise EventError(f"{PROVIDER} event has no adapter href "
                             f"(EventData {logtext.bounded(self.href)})")
        object.__setattr__(self, 'mac', norm_mac(self.mac))

    @property
    def lpar_uuid(self) -> str | None:
        """The partition the adapter belongs to (from the href)."""
        return partition_uuid(self.href)

    def detail(self) -> str:
        """The EventDetail JSON posted for this event."""
        return json.dumps({'provider': PROVIDER, 'action': self.action, 'mac': self.mac,
                           'type': self.vif_type})


def parse(detail: Any, href: Any) -> VifEvent | None:
    """The VifEvent of a CUSTOM_CLIENT_EVENT; None if it is not a NOVA_PVM_VIF event.

    Raises EventError (naming the bad value, bounded) for a malformed NOVA_PVM_VIF
    event, whatever made it fail (bad JSON, nesting too deep, wrong types).
    """
    if not detail or not isinstance(detail, str):
        return None
    try:
        body = json.loads(detail)
    except (ValueError, RecursionError, MemoryError) as exc:
        # Other providers' details need not be JSON; only flag ours.
        if PROVIDER in detail:
            raise EventError(f"event detail {logtext.bounded(detail)} is not valid JSON: "
                             f"{logtext.bounded(str(exc), quote=False)}") from None
        return None
    if not isinstance(body, dict) or body.get('provider') != PROVIDER:
        return None
    for key in ('action', 'mac', 'type'):
        if key not in body:
            raise EventError(f"{PROVIDER} event {logtext.bounded(detail)} lacks {key!r}")
    return VifEvent(body['action'], body['mac'], body['type'], href)
