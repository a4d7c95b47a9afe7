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

"""The convergence invariant checker on small hand-built host states."""

from __future__ import annotations

import dataclasses

import pytest

from powervm_testbed import invariant as inv

MAC1, MAC2, MAC3 = 'fa:16:3e:00:00:01', 'fa:16:3e:00:00:02', 'fa:16:3e:00:00:03'
MAPPINGS = 'default:ent8:vios1'


def bridge(vlans: set[int] = frozenset(), second: set[int] | None = None,
           primary: set[int] = frozenset()) -> inv.Bridge:
    """ent8 on vios1 (and vios2 with ``second``): PVID 1, trunk PVID 4094 for extra VLANs."""
    seas = (('vios1', 'ent8'),) + ((('vios2', 'ent8'),) if second is not None else ())
    sea_vlans = (frozenset(vlans | primary),) + (
        (frozenset(second | primary),) if second is not None else ())
    trunks = frozenset((v, d) for v, _ in seas for d in ('ent5', 'ent6'))
    return inv.Bridge('nb-1', seas, 0, 1, sea_vlans, frozenset({1} | primary), trunks,
                      frozenset({1, 4094}))


def cna(mac: str, pvid: int, part: str = 'vm1', **kw: object) -> inv.Adapter:
    return inv.Adapter(part, mac, pvid, **kw)


def host(*adapters: inv.Adapter, nb: inv.Bridge | None = None,
         vnics: set[str] = frozenset()) -> inv.HostState:
    return inv.HostState(tuple(adapters), frozenset(vnics), (nb or bridge(),))


def sea_port(mac: str, status: str, vlan: int = 100, **kw: object) -> inv.Port:
    return inv.Port(f'p-{mac[-2:]}', mac, status, inv.SEA, segmentation_id=vlan, **kw)


def sriov_port(mac: str, status: str) -> inv.Port:
    return inv.Port(f'v-{mac[-2:]}', mac, status, inv.SRIOV, segmentation_id=300)


def kinds(violations: list[inv.Violation]) -> list[tuple[str, str | None, int | None]]:
    return [(v.kind, v.port_id, v.vlan) for v in violations]


# ---------------------------------------------------------------- SEA ports


def test_plugged_port_with_vlan_on_bridge_active_holds() -> None:
    state = host(cna(MAC1, 100), nb=bridge({100}))
    assert inv.check([sea_port(MAC1, 'ACTIVE')], state, MAPPINGS) == []


def test_port_without_adapter_must_be_down() -> None:
    state = host(nb=bridge())
    assert inv.check([sea_port(MAC1, 'DOWN')], state, MAPPINGS) == []
    [v] = inv.check([sea_port(MAC1, 'ACTIVE')], state, MAPPINGS)
    assert (v.kind, v.port_id, v.expected, v.actual, v.agent) == (
        inv.PORT_STATUS, 'p-01', 'DOWN', 'ACTIVE', inv.SEA)
    assert 'no client adapter' in v.why


def test_plugged_port_left_down_or_build_is_wrong() -> None:
    state = host(cna(MAC1, 100), nb=bridge({100}))
    for status in ('DOWN', 'BUILD'):
        [v] = inv.check([sea_port(MAC1, status)], state, MAPPINGS)
        assert (v.kind, v.expected, v.actual) == (inv.PORT_STATUS, 'ACTIVE', status)


def test_active_port_whose_vlan_is_not_on_the_bridge_is_wrong_and_missing() -> None:
    state = host(cna(MAC1, 100), nb=bridge({200}))
    got = inv.check([sea_port(MAC1, 'ACTIVE')], state, MAPPINGS, cleanup=False)
    assert kinds(got) == [(inv.VLAN_MISSING, 'p-01', 100), (inv.PORT_STATUS, 'p-01', None)]
    assert got[1].expected == 'DOWN' and 'not on bridge vios1/ent8' in got[1].why


def test_down_port_whose_vlan_is_missing_is_consistent_but_not_provisioned() -> None:
    state = host(cna(MAC1, 100), nb=bridge())
    assert kinds(inv.check([sea_port(MAC1, 'DOWN')], state, MAPPINGS)) == [
        (inv.VLAN_MISSING, 'p-01', 100)]
    assert inv.check([sea_port(MAC1, 'DOWN')], state, MAPPINGS, strict=False) == []


def test_failover_pair_needs_the_vlan_on_both_seas() -> None:
    state = host(cna(MAC1, 100), nb=bridge({100}, second=set()))
    got = inv.check([sea_port(MAC1, 'ACTIVE')], state, MAPPINGS, cleanup=False)
    assert [v.kind for v in got] == [inv.VLAN_MISSING, inv.PORT_STATUS]
    state = host(cna(MAC1, 100), nb=bridge({100}, second={100}))
    assert inv.check([sea_port(MAC1, 'ACTIVE')], state, MAPPINGS) == []


def test_flat_port_uses_the_bridge_pvid() -> None:
    port = sea_port(MAC1, 'ACTIVE', vlan=None, network_type='flat')
    assert inv.check([port], host(cna(MAC1, 1)), MAPPINGS) == []


def test_admin_down_port_must_be_down() -> None:
    state = host(cna(MAC1, 100), nb=bridge({100}))
    port = sea_port(MAC1, 'ACTIVE', admin_state_up=False)
    [v] = inv.check([port], state, MAPPINGS)
    assert (v.expected, v.actual) == ('DOWN', 'ACTIVE') and 'admin down' in v.why


def test_port_on_an_unmapped_physnet_must_be_down() -> None:
    state = host(cna(MAC1, 100), nb=bridge({100}))
    port = sea_port(MAC1, 'ACTIVE', physnet='physnet9')
    [v] = inv.check([port], state, MAPPINGS)
    assert v.expected == 'DOWN' and "'physnet9' maps to no bridge" in v.why


def test_vios_and_trunk_adapters_are_not_a_ports_adapter() -> None:
    state = host(cna(MAC1, 100, part='vios1', on_vios=True), nb=bridge({100}))
    [v] = inv.check([sea_port(MAC1, 'ACTIVE')], state, MAPPINGS, cleanup=False)
    assert v.expected == 'DOWN'


# ---------------------------------------------------------------- SR-IOV ports


def test_sriov_port_active_iff_its_vnic_exists() -> None:
    with_vnic = host(vnics={MAC2})
    assert inv.check([sriov_port(MAC2, 'ACTIVE')], with_vnic, MAPPINGS) == []
    assert inv.check([sriov_port(MAC2, 'DOWN')], host(), MAPPINGS) == []
    [v] = inv.check([sriov_port(MAC2, 'ACTIVE')], host(), MAPPINGS)
    assert (v.agent, v.expected, v.actual) == (inv.SRIOV, 'DOWN', 'ACTIVE')
    [v] = inv.check([sriov_port(MAC2, 'DOWN')], with_vnic, MAPPINGS)
    assert (v.agent, v.expected, v.actual) == (inv.SRIOV, 'ACTIVE', 'DOWN')


def test_a_cna_does_not_make_an_sriov_port_active() -> None:
    [v] = inv.check([sriov_port(MAC2, 'ACTIVE')], host(cna(MAC2, 300)), MAPPINGS)
    assert v.expected == 'DOWN'


# ---------------------------------------------------------------- VLANs


def test_vlan_removed_while_in_use_is_reported_against_the_baseline() -> None:
    before = host(cna(MAC3, 2000, part='legacy'), nb=bridge({2000, 100}))
    after = host(cna(MAC3, 2000, part='legacy'), nb=bridge(set()))
    assert kinds(inv.check([], after, MAPPINGS, baseline=before)) == [
        (inv.VLAN_REMOVED, None, 2000)]
    # Without a baseline nothing says it was ever there; VLAN 100 had no user: fine to remove.
    assert inv.check([], after, MAPPINGS) == []


def test_tagged_vlans_and_client_trunk_adapters_count_as_in_use() -> None:
    before = host(cna(MAC3, 100, vlans=(53, 54), part='novalink', trunk=True),
                  nb=bridge({100, 53, 54}))
    after = host(cna(MAC3, 100, vlans=(53, 54), part='novalink', trunk=True),
                 nb=bridge({53}))
    assert kinds(inv.check([], after, MAPPINGS, baseline=before)) == [
        (inv.VLAN_REMOVED, None, 54), (inv.VLAN_REMOVED, None, 100)]


def test_adapters_on_another_vswitch_do_not_keep_a_vlan() -> None:
    state = host(cna(MAC3, 100, vswitch_id=1), nb=bridge({100}))
    assert kinds(inv.check([], state, MAPPINGS)) == [(inv.VLAN_UNUSED, None, 100)]


def test_the_bridges_own_trunk_adapters_do_not_keep_a_vlan() -> None:
    own = cna(MAC3, 4094, vlans=(100,), part='vios1', trunk=True, on_vios=True,
              dev_name='ent6')
    assert kinds(inv.check([], host(own, nb=bridge({100})), MAPPINGS)) == [
        (inv.VLAN_UNUSED, None, 100)]
    foreign = dataclasses.replace(own, dev_name='ent20', pvid=77)
    assert inv.check([], host(foreign, nb=bridge({100})), MAPPINGS) == []


def test_unused_vlan_left_only_counts_with_cleanup_and_never_the_primary() -> None:
    state = host(nb=bridge({100, 200}, primary={300}))
    assert kinds(inv.check([], state, MAPPINGS)) == [
        (inv.VLAN_UNUSED, None, 100), (inv.VLAN_UNUSED, None, 200)]
    assert inv.check([], state, MAPPINGS, cleanup=False) == []


def test_unused_vlan_on_one_sea_of_a_pair_is_left_over() -> None:
    state = host(nb=bridge(set(), second={100}))
    assert kinds(inv.check([], state, MAPPINGS)) == [(inv.VLAN_UNUSED, None, 100)]


# ---------------------------------------------------------------- inputs


def test_mappings_resolve_by_sea_and_vios_or_default_for_one_bridge() -> None:
    nb = bridge()
    state = inv.HostState(bridges=(nb,))
    assert inv.resolve_bridges('physnet1:ent8:vios1', state) == {'physnet1': nb}
    assert inv.resolve_bridges('physnet1:ent8:vios2', state) == {}
    assert inv.resolve_bridges({'physnet1': 'ent8'}, state) == {'physnet1': nb}
    assert inv.resolve_bridges('', state) == {'default': nb}
    with pytest.raises(ValueError, match="'physnet1'"):
        inv.parse_mappings('physnet1')


SNAPSHOT = {
    'partitions': [
        {'name': 'vm1', 'cnas': [{'mac': 'FA163E000001', 'pvid': 100, 'vswitch_id': 0,
                                  'addl_vlans': [], 'trunk_pri': None, 'dev_name': ''}],
         'vnics': [{'mac': 'FA163E000002', 'pvid': 300}]},
    ],
    'vioses': [{'name': 'vios1', 'cnas': []}, {'name': 'vios2', 'cnas': []}],
    'bridges': [{
        'uuid': 'nb-1', 'vswitch_id': 0, 'pvid': 1,
        'seas': [{'vios': 'vios1', 'dev_name': 'ent8'}, {'vios': 'vios2', 'dev_name': 'ent8'}],
        'load_groups': [
            {'pvid': 1, 'primary': True, 'trunk_adapters': [
                {'vios': 'vios1', 'sea': 'ent8', 'dev_name': 'ent5', 'pvid': 1, 'vlans': [7]},
                {'vios': 'vios2', 'sea': 'ent8', 'dev_name': 'ent5', 'pvid': 1, 'vlans': [7]}]},
            {'pvid': 4094, 'primary': False, 'trunk_adapters': [
                {'vios': 'vios1', 'sea': 'ent8', 'dev_name': 'ent6', 'pvid': 4094,
                 'vlans': [100, 200]},
                {'vios': 'vios2', 'sea': 'ent8', 'dev_name': 'ent6', 'pvid': 4094,
                 'vlans': [100]}]}]}],
}


def test_snapshot_of_the_simulator_becomes_a_host_state() -> None:
    state = inv.host_state_from_snapshot(SNAPSHOT)
    [nb] = state.bridges
    assert nb.name == 'vios1/ent8'
    assert nb.vlans == {1, 7, 100}
    assert nb.any_vlans == {1, 7, 100, 200}
    assert nb.protected == {1, 7}
    assert state.vnic_macs == {MAC2}
    assert [(a.mac, a.pvid) for a in state.adapters] == [(MAC1, 100)]
    ports = [sea_port(MAC1, 'ACTIVE'), sriov_port(MAC2, 'ACTIVE')]
    assert kinds(inv.check(ports, state, MAPPINGS)) == [(inv.VLAN_UNUSED, None, 200)]


class FakeNeutron:
    """list_ports / list_networks as the test bed's NeutronClient answers them."""

    def __init__(self) -> None:
        self.filters: dict[str, object] = {}

    def list_ports(self, **filters: object) -> list[dict]:
        self.filters = filters
        base = {'binding:host_id': 'h1', 'admin_state_up': True, 'network_id': 'n1'}
        return [{**base, 'id': 'a', 'mac_address': MAC1, 'status': 'ACTIVE',
                 'binding:vif_type': 'pvm_sea'},
                {**base, 'id': 'b', 'mac_address': MAC2, 'status': 'DOWN',
                 'binding:vif_type': 'pvm_sriov'},
                {**base, 'id': 'c', 'mac_address': MAC3, 'status': 'DOWN',
                 'binding:vif_type': 'binding_failed'}]

    def list_networks(self, **filters: object) -> list[dict]:
        return [{'id': 'n1', 'provider:network_type': 'vlan',
                 'provider:physical_network': 'default', 'provider:segmentation_id': 100}]


def test_neutron_ports_of_our_vif_types_with_their_segment() -> None:
    neutron = FakeNeutron()
    ports = inv.neutron_ports(neutron, 'h1')
    assert neutron.filters == {'binding:host_id': 'h1'}
    assert ports == [inv.Port('a', MAC1, 'ACTIVE', inv.SEA, True, 'vlan', 'default', 100),
                     inv.Port('b', MAC2, 'DOWN', inv.SRIOV, True, 'vlan', 'default', 100)]


class FakeSim:
    """A simulator handle whose admin ``GET state`` answers SNAPSHOT."""

    def admin(self, method: str, action: str, **args: object) -> dict:
        assert (method, action) == ('GET', 'state')
        return SNAPSHOT


def test_check_host_reads_neutron_and_the_simulator() -> None:
    report = inv.check_host(FakeNeutron(), FakeSim(), 'h1', MAPPINGS)
    # Port b's vNIC is on the host but it is DOWN; VLAN 200 is on one SEA, unused.
    assert not report.holds
    assert kinds(report.violations) == [(inv.PORT_STATUS, 'b', None),
                                        (inv.VLAN_UNUSED, None, 200)]
    assert report.of(inv.SRIOV)[0].expected == 'ACTIVE'
    assert [p.id for p in report.ports] == ['a', 'b']


def test_violation_reads_as_one_line() -> None:
    v = inv.Violation(inv.PORT_STATUS, 'no vNIC', inv.SRIOV, 'p1', 'DOWN', 'ACTIVE')
    assert str(v) == 'port_status: port p1, expected DOWN, actual ACTIVE (no vNIC)'
