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

"""What ``networking-powervm-status`` reports: the host as the SEA agent sees it,
the Neutron ports bound to the host, and the drift between them.

Plain data and one pure function (:func:`compute_drift`), so the rules are
tested without a REST API or a Neutron.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Drift kinds.
VLAN_MISSING = 'vlan_missing'      # a port bound here has an adapter, its VLAN is not on its bridge
NO_ADAPTER = 'no_adapter'          # a port bound here has no adapter on the host
UNUSED_VLAN = 'unused_vlan'        # a VLAN on a bridge that no adapter on its switch uses
UNKNOWN_MAC = 'unknown_mac'        # an adapter with an OpenStack MAC that Neutron does not know
NO_BRIDGE = 'no_bridge'            # a port bound here whose physical network has no bridge


@dataclass
class LoadGroup:
    pvid: int
    vlans: list[int]


@dataclass
class Bridge:
    uuid: str
    physnets: list[str]
    seas: list[str]               # sea_dev@vios_name
    vswitch_id: int | None
    pvid: int | None
    load_groups: list[LoadGroup]
    vlans: list[int]              # every VLAN on the bridge (PVID and tagged)
    unused_vlans: list[int]       # what the agent's cleanup would remove


@dataclass
class Adapter:
    mac: str                      # aa:bb:cc:dd:ee:ff
    partition: str
    pvid: int | None
    tagged_vlans: list[int]
    vswitch_id: int | None


@dataclass
class Port:
    id: str
    mac: str
    status: str
    vif_type: str
    network_id: str
    physnet: str | None
    vlan: int | None              # None: flat, or unknown


@dataclass
class Drift:
    kind: str
    detail: str
    port_id: str | None = None
    mac: str | None = None
    vlan: int | None = None
    bridge: str | None = None


@dataclass
class Report:
    host: str
    rest_api: str
    bridges: list[Bridge]
    adapters: list[Adapter]
    ports: list[Port]
    drift: list[Drift] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_openstack_mac(mac: str, base_mac: str) -> bool:
    """True if ``mac`` has Neutron's base_mac prefix (3 octets, 4 if its 4th is not 00)."""
    base = base_mac.lower().split(':')
    prefix = base[:4] if len(base) == 6 and base[3] != '00' else base[:3]
    return mac.lower().split(':')[:len(prefix)] == prefix


def compute_drift(bridges: list[Bridge], adapters: list[Adapter], ports: list[Port],
                  known_macs: set[str], base_mac: str, sea_vif_type: str) -> list[Drift]:
    """The drift between the host and Neutron, sorted by kind then subject.

    :param known_macs: the MACs of ``adapters`` that Neutron has a port for (any host).
    :param sea_vif_type: ports of this VIF type are the SEA agent's (VLAN checks).
    """
    drift: list[Drift] = []
    by_physnet = {p: b for b in bridges for p in b.physnets}
    adapter_of = {a.mac: a for a in adapters}
    for port in sorted(ports, key=lambda p: p.mac):
        if port.vif_type != sea_vif_type:
            continue
        if port.mac not in adapter_of:
            drift.append(Drift(NO_ADAPTER, f'port {port.id} ({port.mac}) is bound to this host '
                               'but no partition has an adapter with its MAC',
                               port_id=port.id, mac=port.mac, vlan=port.vlan))
            continue
        bridge = by_physnet.get(port.physnet or '')
        if bridge is None:
            drift.append(Drift(NO_BRIDGE, f'port {port.id} is on physical network '
                               f'{port.physnet!r}, which no bridge serves (bridge_mappings)',
                               port_id=port.id, mac=port.mac, vlan=port.vlan))
            continue
        if port.vlan is not None and port.vlan not in bridge.vlans:
            drift.append(Drift(VLAN_MISSING, f'VLAN {port.vlan} of port {port.id} is not on '
                               f'bridge {"/".join(bridge.seas)}', port_id=port.id,
                               mac=port.mac, vlan=port.vlan, bridge=bridge.uuid))
    for bridge in bridges:
        for vlan in bridge.unused_vlans:
            drift.append(Drift(UNUSED_VLAN, f'VLAN {vlan} on bridge {"/".join(bridge.seas)} '
                               'is used by no adapter', vlan=vlan, bridge=bridge.uuid))
    for adapter in sorted(adapters, key=lambda a: a.mac):
        if is_openstack_mac(adapter.mac, base_mac) and adapter.mac not in known_macs:
            drift.append(Drift(UNKNOWN_MAC, f'adapter {adapter.mac} of partition '
                               f'{adapter.partition} has an OpenStack MAC that Neutron '
                               'does not know', mac=adapter.mac, vlan=adapter.pvid))
    return drift
