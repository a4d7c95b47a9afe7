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

"""ML2 mechanism driver ``pvm_sea``: VLAN ports on PowerVM Shared Ethernet Adapters.

Binds ``normal`` ports on VLAN segments to a live PowerVM SEA agent whose
reported ``bridge_mappings`` contain the segment's physical network. The VIF
type is ``pvm_sea``; ``binding:vif_details['vlan']`` carries the segmentation id
as a string (Nova's PowerVM VIF driver reads ``int(details['vlan'])``).
"""

from typing import Any

from neutron.plugins.ml2.drivers import mech_agent
from neutron_lib import constants as n_const
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

from networking_powervm.common import constants as pvm_const


class PvmSEAMechanismDriver(mech_agent.SimpleAgentMechanismDriverBase):
    """Attach ports to VLANs through the PowerVM Shared Ethernet agent."""

    def __init__(self) -> None:
        super().__init__(
            pvm_const.AGENT_TYPE_PVM_SEA,
            pvm_const.VIF_TYPE_PVM_SEA,
            {portbindings.CAP_PORT_FILTER: False},
            supported_vnic_types=[portbindings.VNIC_NORMAL])

    @property
    def connectivity(self) -> str:
        return portbindings.CONNECTIVITY_L2

    def get_allowed_network_types(self, agent: dict | None = None) -> list[str]:
        """Only VLAN segments: a SEA bridges tagged traffic."""
        return [n_const.TYPE_VLAN]

    def get_mappings(self, agent: dict) -> dict:
        """The agent's physnet -> SEA mappings (from its heartbeat)."""
        return agent['configurations'].get(pvm_const.CONF_BRIDGE_MAPPINGS) or {}

    def get_vif_details(self, context: api.PortContext, agent: dict,
                        segment: dict) -> dict[str, Any]:
        """Static details plus the segment's VLAN (a fresh dict per binding)."""
        details = dict(self.vif_details)
        details[portbindings.VIF_DETAILS_VLAN] = str(segment[api.SEGMENTATION_ID])
        return details
