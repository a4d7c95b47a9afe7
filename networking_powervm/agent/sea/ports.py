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

"""What the SEA agent needs of a Neutron port: its physical network, VLAN and admin state.

pvm_sea binds VLAN segments only, so a port whose details name another
network type, or a VLAN outside 1-4094, cannot be provisioned (UnusablePort
names the value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neutron_lib import constants as n_const
from neutron_lib.api.definitions import provider_net as provider

from networking_powervm.common import constants as pvm_const
from networking_powervm.common import logtext


class UnusablePort(ValueError):
    """Neutron's details of a port the SEA agent cannot provision; names the value."""


@dataclass(frozen=True)
class SeaPort:
    """A Neutron port as the SEA agent provisions it."""

    mac: str
    port_id: str
    physnet: str | None
    vlan: int
    admin_up: bool

    @classmethod
    def from_details(cls, mac: str, det: dict[str, Any]) -> SeaPort:
        """Build from get_devices_details_list's entry; UnusablePort if not a VLAN port."""
        return cls(mac, det['port_id'], det.get('physical_network'), vlan_of(det),
                   bool(det.get('admin_state_up', True)))

    @classmethod
    def from_network(cls, mac: str, port: dict[str, Any], net: dict[str, Any]) -> SeaPort:
        """Build from a port dict and its network's provider attributes (one segment).

        UnusablePort if the network has no single VLAN segment.
        """
        seg = {'port_id': port.get('id'), 'network_type': net.get(provider.NETWORK_TYPE),
               'segmentation_id': net.get(provider.SEGMENTATION_ID)}
        return cls(mac, port.get('id'), net.get(provider.PHYSICAL_NETWORK), vlan_of(seg),
                   bool(port.get('admin_state_up', True)))


def vlan_of(det: dict[str, Any]) -> int:
    """The VLAN of a port's segment; UnusablePort for other types or a bad VLAN id."""
    ntype = det.get('network_type')
    if ntype != n_const.TYPE_VLAN:
        raise UnusablePort(f"port {det.get('port_id')} has network type "
                           f"{logtext.bounded(ntype)}; the SEA agent serves "
                           f"{n_const.TYPE_VLAN} segments only")
    seg = det.get('segmentation_id')
    try:
        vlan = int(seg)
    except (TypeError, ValueError):
        vlan = -1
    if not pvm_const.MIN_VLAN <= vlan <= pvm_const.MAX_VLAN:
        raise UnusablePort(f"port {det.get('port_id')} has invalid VLAN {logtext.bounded(seg)}")
    return vlan
