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

"""ML2 mechanism driver ``pvm_sriov``: vNIC ports backed by PowerVM SR-IOV VFs.

Binds ``direct`` ports on flat and VLAN segments to a live PowerVM SR-IOV agent
whose ``bridge_mappings`` (physnet -> physical port location codes) has the
segment's physical network. ``binding:vif_details``:

- ``vlan``: segmentation id as a string; ``'0'`` (untagged PVID) for flat,
  because Nova's PowerVM SR-IOV VIF driver reads ``int(details['vlan'])``.
- ``physical_network``, ``physical_ports`` (the agent's location codes).
- ``redundancy`` (int): binding:profile ``vnic_required_vfs``, else the agent's
  ``default_redundancy``, else 1.
- ``capacity`` (float or None): binding:profile ``capacity``, else the agent's
  ``default_capacity``, else None (platform default).
- ``maxcapacity`` (float or None): binding:profile ``maxcapacity``.

A bad binding:profile value is logged (naming value and port) and the port is
left unbound, so it ends up ``binding_failed``.
"""

from typing import Any

from neutron.plugins.ml2.drivers import mech_agent
from neutron_lib import constants as n_const
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api
from oslo_log import log

from networking_powervm.common import constants as pvm_const
from networking_powervm.common import profile as pvm_profile

LOG = log.getLogger(__name__)

FLAT_VLAN = '0'
DEFAULT_REDUNDANCY = 1


class PvmSRIOVMechanismDriver(mech_agent.SimpleAgentMechanismDriverBase):
    """Attach ports through the PowerVM SR-IOV (vNIC) agent."""

    def __init__(self) -> None:
        super().__init__(
            pvm_const.AGENT_TYPE_PVM_SRIOV,
            pvm_const.VIF_TYPE_PVM_SRIOV,
            {portbindings.CAP_PORT_FILTER: False},
            supported_vnic_types=[portbindings.VNIC_DIRECT])

    @property
    def connectivity(self) -> str:
        return portbindings.CONNECTIVITY_L2

    def get_allowed_network_types(self, agent: dict | None = None) -> list[str]:
        """Flat (untagged) and VLAN segments."""
        return [n_const.TYPE_FLAT, n_const.TYPE_VLAN]

    def get_mappings(self, agent: dict) -> dict:
        """The agent's physnet -> [physical port location codes]."""
        return agent['configurations'].get(pvm_const.CONF_BRIDGE_MAPPINGS) or {}

    def physnet_in_mappings(self, physnet: str, mappings: dict) -> bool:
        """A physnet is usable only if the agent has ports on it."""
        return bool(mappings.get(physnet))

    def bind_port(self, context: api.PortContext) -> None:
        """Refuse the binding up front when the binding:profile is bad."""
        vnic_type = context.current.get(portbindings.VNIC_TYPE, portbindings.VNIC_NORMAL)
        if vnic_type in self.supported_vnic_types:
            try:
                pvm_profile.parse_profile(context.current.get(portbindings.PROFILE))
            except pvm_profile.BadProfileValue as exc:
                LOG.error('Refusing to bind port %(port)s: bad binding:profile '
                          'value %(err)s.',
                          {'port': context.current['id'], 'err': exc})
                return
        super().bind_port(context)

    def try_to_bind_segment_for_agent(self, context: api.PortContext, segment: dict,
                                      agent: dict) -> bool:
        if not self.check_segment_for_agent(segment, agent):
            return False
        try:
            details = self.get_vif_details(context, agent, segment)
        except pvm_profile.BadProfileValue as exc:
            LOG.error('Refusing to bind port %(port)s to agent on host %(host)s: '
                      'bad value %(err)s.',
                      {'port': context.current['id'], 'host': agent.get('host'),
                       'err': exc})
            return False
        context.set_binding(segment[api.ID], self.vif_type, details)
        return True

    def get_vif_details(self, context: api.PortContext, agent: dict,
                        segment: dict) -> dict[str, Any]:
        """Details for Nova's SR-IOV VIF driver (raises BadProfileValue)."""
        profile = context.current.get(portbindings.PROFILE) or {}
        settings = pvm_profile.parse_profile(profile)
        conf = agent['configurations']

        physnet = segment[api.PHYSICAL_NETWORK]
        ports = list(self.get_mappings(agent)[physnet])
        redundancy = self._redundancy(settings, profile, conf, physnet, ports)
        capacity = settings.get(pvm_const.CAPACITY)
        if capacity is None:
            capacity = pvm_profile.parse_fraction(
                pvm_const.CONF_DEFAULT_CAPACITY, conf.get(pvm_const.CONF_DEFAULT_CAPACITY))
        maxcapacity = settings.get(pvm_const.MAXCAPACITY)
        pvm_profile.check_maxcapacity(maxcapacity, capacity)

        if segment[api.NETWORK_TYPE] == n_const.TYPE_VLAN:
            vlan = str(segment[api.SEGMENTATION_ID])
        else:
            vlan = FLAT_VLAN
        details = dict(self.vif_details)
        details.update({
            portbindings.VIF_DETAILS_VLAN: vlan,
            'physical_network': physnet,
            pvm_const.PHYSICAL_PORTS: ports,
            pvm_const.REDUNDANCY: redundancy,
            pvm_const.CAPACITY: capacity,
            pvm_const.MAXCAPACITY: maxcapacity,
        })
        return details

    @staticmethod
    def _redundancy(settings: dict[str, Any], profile: dict, conf: dict, physnet: str,
                    ports: list[str]) -> int:
        """VFs per vNIC: the profile's, else the agent's default; at most one per port.

        Raises BadProfileValue naming the value when the agent reports fewer
        physical ports for the physnet than the VFs asked for.
        """
        key, redundancy = pvm_const.VNIC_REQUIRED_VFS, settings.get(pvm_const.REDUNDANCY)
        given = profile.get(key)
        if redundancy is None:
            key, given = (pvm_const.CONF_DEFAULT_REDUNDANCY,
                          conf.get(pvm_const.CONF_DEFAULT_REDUNDANCY))
            redundancy = (DEFAULT_REDUNDANCY if given is None else
                          pvm_profile.parse_redundancy(key, given))
        if redundancy > len(ports):
            raise pvm_profile.BadProfileValue(
                key, given, f'more VFs than the {len(ports)} physical port(s) the '
                                 f'agent reports for physical network {physnet!r}')
        return redundancy
