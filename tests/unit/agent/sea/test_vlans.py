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

"""VLAN usage and batched removal from Network Bridges."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import network as pvm_net

from networking_powervm.agent.sea import vlans
from tests.unit.agent import pvmdata

PRIMARY_PVID = 2227


def bridge(name='nbbr_network_bridge_failover.txt', extra=(1001, 1002), primary_tagged=()):
    """The captured bridge (primary PVID 2227, trunk 4094 with VLAN 1000) plus VLANs."""
    nb = pvmdata.net_bridges(name)[0]
    for sea in nb.seas:
        sea.addl_adpts[0].tagged_vlans.extend(extra)
        sea.primary_adpt.tagged_vlans.extend(primary_tagged)
    for trunk in nb.load_grps[1].trunk_adapters:
        trunk.tagged_vlans.extend(extra)
    return nb


def trunks(nb):
    return [[(t.pvid, sorted(t.tagged_vlans)) for t in sea.addl_adpts] for sea in nb.seas]


def cna(pvid, tagged=(), trunk=False):
    return SimpleNamespace(pvid=pvid, tagged_vlans=list(tagged), is_trunk=trunk)


def test_vlans_of_adapters_counts_pvids_and_tagged_of_every_adapter_but_sea_trunks():
    adapters = [cna(10), cna(20, [21, 22]), cna(30, [31], trunk=True),
                SimpleNamespace(pvid=40, tagged_vlans=[41], is_trunk=True, loc_code='SEA-C3')]
    assert vlans.vlans_of_adapters(adapters, sea_trunks={'SEA-C3'}) == {10, 20, 21, 22, 30, 31}


def test_vlans_of_adapters_on_one_switch_keeps_unknown_switch():
    adapters = [SimpleNamespace(pvid=10, tagged_vlans=[11], is_trunk=False, vswitch_id=0),
                SimpleNamespace(pvid=20, tagged_vlans=[], is_trunk=False, vswitch_id=1),
                SimpleNamespace(pvid=30, tagged_vlans=[], is_trunk=False, vswitch_id=None)]
    assert vlans.vlans_of_adapters(adapters, 0) == {10, 11, 30}
    assert vlans.vlans_of_adapters(adapters, 1) == {20, 30}
    assert vlans.vlans_of_adapters(adapters) == {10, 11, 20, 30}


def test_removable_excludes_in_use_and_primary():
    nb = bridge(primary_tagged=(5,))
    assert vlans.removable_vlans(nb, in_use={1001}) == [1000, 1002]
    assert PRIMARY_PVID in vlans.protected_vlans(nb) and 5 in vlans.protected_vlans(nb)


def test_primary_vlans_never_stripped_even_if_asked():
    nb = bridge(primary_tagged=(5,))
    assert vlans.strip_vlans(nb, [5, PRIMARY_PVID, 4094]) == []
    assert nb.supports_vlan(5) and nb.supports_vlan(PRIMARY_PVID)
    assert nb.arbitrary_pvids == [4094]


def test_strip_removes_from_both_seas_of_a_redundant_pair():
    nb = bridge()
    assert vlans.strip_vlans(nb, [1000, 1002]) == [1000, 1002]
    assert trunks(nb) == [[(4094, [1001])], [(4094, [1001])]]
    assert [sorted(t.tagged_vlans) for t in nb.load_grps[1].trunk_adapters] == [[1001], [1001]]


def test_emptied_trunk_pair_and_load_group_removed():
    nb = bridge()
    assert vlans.strip_vlans(nb, [1000, 1001, 1002]) == [1000, 1001, 1002]
    assert trunks(nb) == [[], []]
    assert [lg.pvid for lg in nb.load_grps] == [PRIMARY_PVID]
    assert nb.list_vlans() == [PRIMARY_PVID]


def test_load_balanced_bridge_keeps_its_only_additional_trunk():
    nb = bridge()
    nb.load_balance = True
    vlans.strip_vlans(nb, [1000, 1001, 1002])
    assert trunks(nb) == [[(4094, [])], [(4094, [])]]


@pytest.fixture
def nb_get():
    with mock.patch.object(pvm_net.NetBridge, 'get') as get, \
            mock.patch.object(pvm_net.NetBridge, 'update', autospec=True) as upd:
        yield get, upd


def test_remove_vlans_one_update_per_bridge(nb_get):
    get, upd = nb_get
    get.return_value = bridge()
    removed = vlans.remove_vlans_from_nb(mock.Mock(), 'host', 'nb', lambda nb: [1000, 1002])
    assert removed == [1000, 1002]
    assert upd.call_count == 1
    assert trunks(upd.call_args[0][0]) == [[(4094, [1001])], [(4094, [1001])]]


def test_remove_vlans_nothing_to_do_no_update(nb_get):
    get, upd = nb_get
    get.return_value = bridge()
    assert vlans.remove_vlans_from_nb(mock.Mock(), 'host', 'nb', lambda nb: []) == []
    upd.assert_not_called()


def etag_error(status=412):
    return pvm_exc.HttpError(mock.Mock(status=status, body='', reqmethod='POST', reqpath='/x',
                                       reason='Precondition Failed', reqheaders={},
                                       reqbody='', headers={}))


def test_remove_vlans_rereads_and_recomputes_on_412(nb_get):
    get, upd = nb_get
    first, second = bridge(), bridge(extra=(1001,))
    get.side_effect = [first, second]
    upd.side_effect = [etag_error(), None]
    seen = []

    def compute(nb):
        seen.append(nb)
        return vlans.removable_vlans(nb, in_use={1001})

    assert vlans.remove_vlans_from_nb(mock.Mock(), 'host', 'nb', compute) == [1000]
    assert seen == [first, second]
    assert upd.call_count == 2


def test_remove_vlans_other_errors_raise(nb_get):
    get, upd = nb_get
    get.return_value = bridge()
    upd.side_effect = etag_error(500)
    with pytest.raises(pvm_exc.HttpError):
        vlans.remove_vlans_from_nb(mock.Mock(), 'host', 'nb', lambda nb: [1000])
    assert upd.call_count == 1


def test_guard_reports_vlans_provisioned_since_mark():
    guard = vlans.VlanGuard()
    guard.add([5])
    gen = guard.mark()
    guard.add([7])
    assert guard.since(gen) == {7}


# ------------------------------------------------ trunk adapters of client partitions


def test_client_partition_trunk_adapter_vlans_are_in_use():
    """pypowervm's fake_cna.txt: a partition's trunk adapter, PVID 100 with tagged 53-55."""
    trunk = pvmdata.cnas('fake_cna.txt')
    assert trunk.is_trunk and trunk.pvid == 100 and trunk.tagged_vlans == [53, 54, 55]
    assert vlans.vlans_of_adapters([trunk], vswitch_id=0) == {53, 54, 55, 100}


def test_only_the_bridges_own_sea_trunk_adapters_are_left_out():
    """cna_feed1.txt: a VIOS's adapters, two of them its SEA's trunks (PVID 1 and 4094)."""
    vios_cnas = pvmdata.cnas('cna_feed1.txt')
    client_trunk = pvmdata.cnas('fake_cna.txt')
    nb = pvmdata.net_bridges('nbbr_network_bridge.txt')[0]
    for sea in nb.seas:   # the bridge's trunks are the VIOS's adapters C3 and C4
        for trunk, loc in zip([sea.primary_adpt, *sea.addl_adpts],
                              ['U8247.42L.2120FBA-V2-C3', 'U8247.42L.2120FBA-V2-C4'],
                              strict=True):
            trunk.set_parm_value('LocationCode', loc)
    sea_trunks = vlans.sea_trunk_locations([nb])
    assert sea_trunks == {'U8247.42L.2120FBA-V2-C3', 'U8247.42L.2120FBA-V2-C4'}
    used = vlans.vlans_of_adapters([*vios_cnas, client_trunk], vswitch_id=0,
                                   sea_trunks=sea_trunks)
    # The SEA's own trunks (1/2227 and 4094/2207,2210) are not 'use'; the client's trunk is.
    assert used == {53, 54, 55, 100}
    # Every trunk adapter not the bridge's counts, on any partition.
    assert vlans.vlans_of_adapters(vios_cnas, vswitch_id=0) == {1, 2227, 4094, 2207, 2210}
