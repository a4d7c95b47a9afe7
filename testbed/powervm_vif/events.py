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

"""Posting the NOVA_PVM_VIF event, as Nova's PowerVM driver did on VIF plug/unplug.

Its wire format is the product's (networking_powervm.common.vif_event), shared
with the agents that read it.
"""

from __future__ import annotations

from pypowervm import adapter as pvm_adapter
from pypowervm.wrappers import event as pvm_event

from networking_powervm.common import vif_event


def post_vif_event(adapter: pvm_adapter.Adapter, action: str, mac: str, vif_type: str,
                   href: str) -> None:
    """Broadcast the plug/unplug CUSTOM_CLIENT_EVENT (data = the adapter's href).

    Raises ValueError naming a bad action, MAC, type or href before posting anything.
    """
    event = vif_event.VifEvent(action, mac, vif_type, href)
    pvm_event.Event.bld(adapter, data=event.href, detail=event.detail()).create()
