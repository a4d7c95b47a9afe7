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

"""The convergence invariant: what Neutron shows must match the host, whatever was lost.

For every Neutron port bound to the host (after a fault and one heal interval):

* a SEA port (``pvm_sea``) is ACTIVE iff its client network adapter (CNA, by MAC)
  is on the host, its VLAN (the segmentation id; the bridge PVID for flat) is on
  the Network Bridge its physical network maps to (tagged on every SEA of the
  bridge), and it is admin up; DOWN otherwise;
* an SR-IOV port (``pvm_sriov``) is ACTIVE iff its vNIC (by MAC) is on the host
  and it is admin up; DOWN otherwise;
* (strict) a SEA port whose adapter is on the host has its VLAN on its bridge:
  the agent provisioned it (``vlan_missing`` otherwise);
* no VLAN any adapter on the bridge's virtual switch uses was removed from the
  bridge since ``baseline`` (``vlan_removed``); the bridge's own SEA trunk
  adapters are the only adapters that do not count as users;
* with cleanup on, no VLAN is left on a mapped bridge that no adapter uses,
  except the bridge PVID and the primary load group's (``vlan_unused``).

``check`` is pure (hand-built states in unit tests); ``host_state_from_snapshot``
reads the simulator's admin ``GET state`` (never faulted), ``host_state_from_pypowervm``
any PowerVM REST API (a real NovaLink too), ``neutron_ports`` the Neutron API.
``check_host`` ties them together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pypowervm.wrappers import iocard
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

ACTIVE, DOWN = 'ACTIVE', 'DOWN'
SEA, SRIOV = 'sea', 'sriov'
VIF_TYPES = {'pvm_sea': SEA, 'pvm_sriov': SRIOV}
DEFAULT_PHYSNET = 'default'

# Violation kinds.
PORT_STATUS = 'port_status'
VLAN_MISSING = 'vlan_missing'
VLAN_REMOVED = 'vlan_removed'
VLAN_UNUSED = 'vlan_unused'
PORT_KINDS = frozenset({PORT_STATUS, VLAN_MISSING})


@dataclass(frozen=True)
class Adapter:
    """A virtual Ethernet adapter of a partition (client or VIOS)."""

    partition: str
    mac: str                       # Neutron form, aa:bb:cc:dd:ee:ff
    pvid: int | None
    vlans: tuple[int, ...] = ()    # tagged (additional) VLANs
    vswitch_id: int | None = 0
    trunk: bool = False
    on_vios: bool = False
    dev_name: str = ''


@dataclass(frozen=True)
class Bridge:
    """A Network Bridge: one SEA, or a failover pair."""

    uuid: str
    seas: tuple[tuple[str, str], ...]   # (VIOS name, SEA device), primary first
    vswitch_id: int
    pvid: int
    sea_vlans: tuple[frozenset[int], ...]  # tagged VLANs of each SEA (all its trunks)
    protected: frozenset[int] = frozenset()  # PVID + primary load group's VLANs
    trunks: frozenset[tuple[str, str]] = frozenset()  # (VIOS, trunk device) of its SEAs
    trunk_pvids: frozenset[int] = frozenset()  # PVIDs of its load groups

    @property
    def name(self) -> str:
        """``vios/sea_dev`` of the primary SEA."""
        return '/'.join(self.seas[0]) if self.seas else self.uuid

    @property
    def vlans(self) -> frozenset[int]:
        """VLANs the bridge carries: tagged on every SEA, plus its PVID."""
        common = frozenset.intersection(*self.sea_vlans) if self.sea_vlans else frozenset()
        return common | {self.pvid}

    @property
    def any_vlans(self) -> frozenset[int]:
        """VLANs tagged on at least one SEA, plus its PVID."""
        return frozenset().union(*self.sea_vlans, {self.pvid})


@dataclass(frozen=True)
class HostState:
    """What the host has: adapters of every partition, vNIC MACs, Network Bridges."""

    adapters: tuple[Adapter, ...] = ()
    vnic_macs: frozenset[str] = frozenset()
    bridges: tuple[Bridge, ...] = ()

    def bridge(self, uuid: str) -> Bridge | None:
        return next((b for b in self.bridges if b.uuid == uuid), None)


@dataclass(frozen=True)
class Port:
    """A Neutron port bound to the host, with its network's provider attributes."""

    id: str
    mac: str
    status: str
    agent: str                 # SEA or SRIOV (from binding:vif_type)
    admin_state_up: bool = True
    network_type: str | None = 'vlan'
    physnet: str | None = DEFAULT_PHYSNET
    segmentation_id: int | None = None


@dataclass(frozen=True)
class Violation:
    """One way the invariant does not hold."""

    kind: str
    why: str
    agent: str | None = None
    port_id: str | None = None
    expected: str | None = None
    actual: str | None = None
    vlan: int | None = None
    bridge: str | None = None

    def __str__(self) -> str:
        parts = [self.kind]
        if self.port_id:
            parts.append(f'port {self.port_id}')
        if self.expected or self.actual:
            parts.append(f'expected {self.expected}, actual {self.actual}')
        if self.vlan is not None:
            parts.append(f'VLAN {self.vlan}')
        if self.bridge:
            parts.append(f'bridge {self.bridge}')
        return ': '.join([parts[0], ', '.join(parts[1:])]) + f' ({self.why})'


@dataclass
class MappingEntry:
    """One ``physnet:sea_dev:vios`` entry of bridge_mappings."""

    physnet: str
    sea_dev: str
    vios: str | None = None


def parse_mappings(mappings: str | Mapping[str, str] | None) -> list[MappingEntry]:
    """``physnet:sea_dev[:vios],...`` (or {physnet: 'sea_dev[:vios]'}) as entries.

    ValueError names a malformed entry. Independent of the agent's own parser.
    """
    if not mappings:
        return []
    if isinstance(mappings, Mapping):
        items = [f'{k}:{v}' for k, v in mappings.items()]
    else:
        items = [i.strip() for i in mappings.split(',') if i.strip()]
    out = []
    for item in items:
        parts = [p.strip() for p in item.split(':')]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f'bad bridge mapping {item!r}: need physnet:sea_dev[:vios]')
        out.append(MappingEntry(parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    return out


def resolve_bridges(mappings: str | Mapping[str, str] | None,
                    host: HostState) -> dict[str, Bridge]:
    """physnet -> Bridge; no mappings and one bridge on the host serve ``default``."""
    entries = parse_mappings(mappings)
    if not entries:
        return {DEFAULT_PHYSNET: host.bridges[0]} if len(host.bridges) == 1 else {}
    out = {}
    for ent in entries:
        for nb in host.bridges:
            if any(dev == ent.sea_dev and (ent.vios is None or vios == ent.vios)
                   for vios, dev in nb.seas):
                out[ent.physnet] = nb
                break
    return out


# ---------------------------------------------------------------- the check


def vlans_in_use(host: HostState, nb: Bridge) -> set[int]:
    """VLANs used by any adapter on the bridge's virtual switch but its own SEA trunks."""
    used: set[int] = set()
    for ad in host.adapters:
        if ad.vswitch_id is not None and int(ad.vswitch_id) != int(nb.vswitch_id):
            continue
        if ad.trunk and ad.on_vios and _is_bridge_trunk(ad, nb):
            continue
        if ad.pvid is not None:
            used.add(int(ad.pvid))
        used.update(int(v) for v in ad.vlans)
    return used


def _is_bridge_trunk(ad: Adapter, nb: Bridge) -> bool:
    if ad.dev_name and nb.trunks:
        return (ad.partition, ad.dev_name) in nb.trunks
    return ad.pvid in nb.trunk_pvids


def _port_violations(port: Port, host: HostState, bridges: dict[str, Bridge],
                     client_macs: set[str], strict: bool) -> list[Violation]:
    out: list[Violation] = []
    if port.agent == SRIOV:
        has_adapter = port.mac in host.vnic_macs
        expected = ACTIVE if has_adapter and port.admin_state_up else DOWN
        why = ('vNIC on the host' if has_adapter else 'no vNIC with its MAC on the host')
        if not port.admin_state_up:
            why += ', admin down'
    else:
        has_adapter = port.mac in client_macs
        nb = bridges.get(port.physnet or '')
        vlan = _port_vlan(port, nb)
        on_bridge = nb is not None and vlan is not None and vlan in nb.vlans
        expected = ACTIVE if has_adapter and on_bridge and port.admin_state_up else DOWN
        if not has_adapter:
            why = 'no client adapter with its MAC on the host'
        elif nb is None:
            why = f'physical network {port.physnet!r} maps to no bridge'
        elif not on_bridge:
            why = f'adapter on the host, VLAN {vlan} not on bridge {nb.name}'
        else:
            why = f'adapter on the host, VLAN {vlan} on bridge {nb.name}'
        if not port.admin_state_up:
            why += ', admin down'
        if strict and has_adapter and nb is not None and vlan is not None and not on_bridge \
                and port.admin_state_up:
            out.append(Violation(VLAN_MISSING, 'its adapter is on the host but its VLAN is '
                                 'not on the bridge after a heal', SEA, port.id,
                                 vlan=vlan, bridge=nb.name))
    if port.status != expected:
        out.append(Violation(PORT_STATUS, why, port.agent, port.id, expected, port.status))
    return out


def _port_vlan(port: Port, nb: Bridge | None) -> int | None:
    if port.network_type == 'flat':
        return nb.pvid if nb is not None else None
    return int(port.segmentation_id) if port.segmentation_id is not None else None


def check(ports: Iterable[Port], host: HostState,
          mappings: str | Mapping[str, str] | None, *, baseline: HostState | None = None,
          cleanup: bool = True, strict: bool = True) -> list[Violation]:
    """Every violation of the invariant (empty: it holds)."""
    bridges = resolve_bridges(mappings, host)
    client_macs = {a.mac for a in host.adapters if not a.on_vios and not a.trunk}
    out: list[Violation] = []
    for port in sorted(ports, key=lambda p: p.id):
        out += _port_violations(port, host, bridges, client_macs, strict)
    for nb in host.bridges:
        in_use = vlans_in_use(host, nb)
        before = baseline.bridge(nb.uuid) if baseline is not None else None
        if before is not None:
            for vlan in sorted((before.vlans - nb.vlans) & in_use):
                out.append(Violation(VLAN_REMOVED, 'removed from the bridge while an adapter '
                                     'on its virtual switch uses it', SEA, vlan=vlan,
                                     bridge=nb.name))
    if cleanup:
        for nb in {b.uuid: b for b in bridges.values()}.values():
            unused = nb.any_vlans - nb.protected - {nb.pvid} - vlans_in_use(host, nb)
            for vlan in sorted(unused):
                out.append(Violation(VLAN_UNUSED, 'left on the bridge, no adapter uses it '
                                     '(cleanup is on)', SEA, vlan=vlan, bridge=nb.name))
    return out


# ---------------------------------------------------------------- gathering


def norm_mac(mac: str) -> str:
    """Neutron form of a MAC in any notation."""
    bare = ''.join(c for c in str(mac).lower() if c in '0123456789abcdef')
    return ':'.join(bare[i:i + 2] for i in range(0, 12, 2))


def host_state_from_snapshot(snap: Mapping[str, Any]) -> HostState:
    """A HostState from the simulator's admin ``GET state`` (``powervm-sim inspect`` data)."""
    adapters: list[Adapter] = []
    vnics: set[str] = set()
    for part, on_vios in [(p, False) for p in snap.get('partitions', [])] + \
            [(v, True) for v in snap.get('vioses', [])]:
        for c in part.get('cnas', []):
            adapters.append(Adapter(part['name'], norm_mac(c['mac']), c.get('pvid'),
                                    tuple(c.get('addl_vlans') or ()), c.get('vswitch_id'),
                                    c.get('trunk_pri') is not None, on_vios,
                                    c.get('dev_name') or ''))
        vnics.update(norm_mac(v['mac']) for v in part.get('vnics', []))
    bridges = []
    for b in snap.get('bridges', []):
        seas = tuple((s['vios'], s['dev_name']) for s in b['seas'])
        per_sea: dict[tuple[str, str], set[int]] = {s: set() for s in seas}
        protected = {int(b['pvid'])}
        trunks, pvids = set(), set()
        for lg in b.get('load_groups', []):
            pvids.add(int(lg['pvid']))
            for ta in lg['trunk_adapters']:
                per_sea.setdefault((ta['vios'], ta['sea']), set()).update(ta['vlans'])
                trunks.add((ta['vios'], ta['dev_name']))
                if lg.get('primary'):
                    protected.update(ta['vlans'])
                    protected.add(int(ta['pvid']))
        bridges.append(Bridge(b['uuid'], seas, int(b['vswitch_id']), int(b['pvid']),
                              tuple(frozenset(per_sea[s]) for s in seas),
                              frozenset(protected), frozenset(trunks), frozenset(pvids)))
    return HostState(tuple(adapters), frozenset(vnics), tuple(bridges))


def _pvm_adapter(partition: str, cna: Any, on_vios: bool) -> Adapter:
    return Adapter(partition, norm_mac(cna.mac), cna.pvid,
                   tuple(int(v) for v in cna.tagged_vlans or ()), cna.vswitch_id,
                   bool(cna.is_trunk), on_vios, getattr(cna, 'dev_name', '') or '')


def host_state_from_pypowervm(adapter: Any) -> HostState:
    """A HostState read with pypowervm (a real NovaLink, or the simulator over REST)."""
    host_uuid = pvm_ms.System.get(adapter)[0].uuid
    adapters: list[Adapter] = []
    vnics: set[str] = set()
    for lpar in pvm_lpar.LPAR.get(adapter):
        adapters += [_pvm_adapter(lpar.name, c, False)
                     for c in pvm_net.CNA.get(adapter, parent=lpar)]
        vnics.update(norm_mac(v.mac) for v in iocard.VNIC.get(
            adapter, parent_type=pvm_lpar.LPAR, parent_uuid=lpar.uuid))
    names = {}
    for vios in pvm_vios.VIOS.get(adapter, xag=[]):
        names[vios.uuid.upper()] = vios.name
        adapters += [_pvm_adapter(vios.name, c, True)
                     for c in pvm_net.CNA.get(adapter, parent=vios)]
    bridges = []
    for nb in pvm_net.NetBridge.get(adapter, parent_type=pvm_ms.System, parent_uuid=host_uuid):
        seas, per_sea, trunks, protected = [], [], set(), {int(nb.pvid)}
        for sea in nb.seas:
            vios = names.get(str(sea.vio_uri or '').rstrip('/').rsplit('/', 1)[-1].upper(), '')
            seas.append((vios, sea.dev_name))
            tas = [t for t in [sea.primary_adpt, *sea.addl_adpts] if t is not None]
            per_sea.append(frozenset(int(v) for t in tas for v in t.tagged_vlans))
            trunks.update((vios, t.dev_name) for t in tas)
            if sea.primary_adpt is not None:
                protected.add(int(sea.primary_adpt.pvid))
                protected.update(int(v) for v in sea.primary_adpt.tagged_vlans)
        pvids = frozenset(int(lg.pvid) for lg in nb.load_grps)
        bridges.append(Bridge(nb.uuid, tuple(seas), int(nb.vswitch_id), int(nb.pvid),
                              tuple(per_sea), frozenset(protected), frozenset(trunks), pvids))
    return HostState(tuple(adapters), frozenset(vnics), tuple(bridges))


class PortLister(Protocol):
    """What neutron_ports needs of a Neutron client (the test bed's NeutronClient fits)."""

    def list_ports(self, **filters: Any) -> list[Any]: ...

    def list_networks(self, **filters: Any) -> list[Any]: ...


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    """obj[name] (API name) or obj.<name> (openstacksdk attribute), first found."""
    for name in names:
        if isinstance(obj, Mapping) and name in obj:
            return obj[name]
        value = getattr(obj, name.replace(':', '_'), None)
        if value is not None:
            return value
    return default


def neutron_ports(neutron: PortLister, host: str) -> list[Port]:
    """Our agents' ports bound to ``host`` (binding:vif_type pvm_sea / pvm_sriov)."""
    ports = neutron.list_ports(**{'binding:host_id': host})
    nets = {_attr(n, 'id'): n for n in neutron.list_networks()}
    out = []
    for p in ports:
        agent = VIF_TYPES.get(_attr(p, 'binding:vif_type', 'binding_vif_type'))
        if agent is None:
            continue
        net = nets.get(_attr(p, 'network_id'), {})
        seg = _attr(net, 'provider:segmentation_id', 'provider_segmentation_id')
        out.append(Port(_attr(p, 'id'), norm_mac(_attr(p, 'mac_address')),
                        _attr(p, 'status'), agent,
                        bool(_attr(p, 'admin_state_up', 'is_admin_state_up', default=True)),
                        _attr(net, 'provider:network_type', 'provider_network_type'),
                        _attr(net, 'provider:physical_network', 'provider_physical_network'),
                        int(seg) if seg is not None else None))
    return out


class StateReader(Protocol):
    """A simulator handle (powervm_sim.client) with its admin API."""

    def admin(self, method: str, action: str, **args: Any) -> dict: ...


@dataclass
class Report:
    """One evaluation: the violations, the ports looked at, the host seen."""

    violations: list[Violation]
    ports: list[Port] = field(default_factory=list)
    host: HostState = field(default_factory=HostState)

    @property
    def holds(self) -> bool:
        return not self.violations

    def of(self, agent: str | None = None, kinds: Iterable[str] | None = None
           ) -> list[Violation]:
        """Violations of one agent and/or kinds."""
        kinds = set(kinds) if kinds is not None else None
        return [v for v in self.violations
                if (agent is None or v.agent == agent) and (kinds is None or v.kind in kinds)]


def read_host(source: StateReader | Any) -> HostState:
    """The host's state from a simulator handle (admin API) or a pypowervm Adapter."""
    if hasattr(source, 'admin'):
        return host_state_from_snapshot(source.admin('GET', 'state'))
    return host_state_from_pypowervm(source)


def check_host(neutron: PortLister, source: StateReader | Any, host: str,
               mappings: str | Mapping[str, str] | None, *,
               baseline: HostState | None = None, cleanup: bool = True,
               strict: bool = True) -> Report:
    """Read Neutron's ports of ``host`` and the host (see read_host); check the invariant."""
    ports = neutron_ports(neutron, host)
    state = read_host(source)
    return Report(check(ports, state, mappings, baseline=baseline, cleanup=cleanup,
                        strict=strict), ports, state)
