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

"""bridge_mappings parsing and resolution against captured Network Bridges."""

from __future__ import annotations

import pytest

from networking_powervm.agent.sea import mappings as m
from tests.unit.agent import pvmdata

NB_UUID = 'b6a027a8-5c0b-3ac0-8547-b516f5ba6151'
VIOS1 = '3443DB77-AED1-47ED-9AA5-3DB9C6CF7089'
VIOS2 = '3443DB77-AED1-47ED-9AA5-3DB9C6CF708A'
NAMES = {VIOS1: 'vios1', VIOS2: 'vios2'}


def test_parse():
    assert m.parse_bridge_mappings(' physnet1:ent5:vios1 , ,physnet2:ent8:vios2') == [
        m.BridgeMapping('physnet1', 'ent5', 'vios1'), m.BridgeMapping('physnet2', 'ent8', 'vios2')]
    assert m.parse_bridge_mappings('') == []
    assert m.parse_bridge_mappings(None) == []
    assert m.parse_bridge_mappings(['p:ent5:v']) == [m.BridgeMapping('p', 'ent5', 'v')]


@pytest.mark.parametrize('bad', ['physnet1:ent5', 'physnet1::vios1', 'a:b:c:d', 'physnet1'])
def test_parse_errors_name_the_entry(bad):
    with pytest.raises(m.MappingError, match=bad):
        m.parse_bridge_mappings(f'ok:ent5:vios1,{bad}')


def test_one_bridge_no_mapping_is_default():
    nbs = pvmdata.net_bridges()
    assert m.resolve_bridges([], nbs, NAMES) == {
        'default': m.ResolvedBridge('default', NB_UUID, 'ent5')}


def test_no_bridges():
    with pytest.raises(m.MappingError, match='No Network Bridge'):
        m.resolve_bridges([], [], NAMES)


def test_several_bridges_and_no_mapping():
    nbs = pvmdata.net_bridges('nbbr_network_bridge_peer.txt')
    with pytest.raises(m.MappingError, match='2 Network Bridges.*bridge_mappings is empty'):
        m.resolve_bridges([], nbs, NAMES)


def test_mapping_resolves():
    nbs = pvmdata.net_bridges()
    res = m.resolve_bridges(m.parse_bridge_mappings('physnet1:ent5:vios1'), nbs, NAMES)
    assert res == {'physnet1': m.ResolvedBridge('physnet1', NB_UUID, 'ent5')}


def test_vios_not_found():
    with pytest.raises(m.MappingError, match="VIOS 'viosX' not found"):
        m.resolve_bridges(m.parse_bridge_mappings('physnet1:ent5:viosX'),
                          pvmdata.net_bridges(), NAMES)


def test_sea_not_found():
    with pytest.raises(m.MappingError, match="'physnet1:ent9:vios1'.*'ent9'"):
        m.resolve_bridges(m.parse_bridge_mappings('physnet1:ent9:vios1'),
                          pvmdata.net_bridges(), NAMES)


def test_sea_on_other_vios_not_found():
    # ent5 of vios2 is not in the single-VIOS bridge.
    with pytest.raises(m.MappingError, match='vios2'):
        m.resolve_bridges(m.parse_bridge_mappings('physnet1:ent5:vios2'),
                          pvmdata.net_bridges(), NAMES)


@pytest.mark.parametrize('vios', ['vios1', 'vios2'])
def test_redundant_pair_either_vios_resolves_to_the_one_bridge(vios):
    nbs = pvmdata.net_bridges('nbbr_network_bridge_failover.txt')
    res = m.resolve_bridges(m.parse_bridge_mappings(f'physnet1:ent5:{vios}'), nbs, NAMES)
    assert res['physnet1'].nb_uuid == NB_UUID


def test_redundant_pair_both_listed_is_fine():
    nbs = pvmdata.net_bridges('nbbr_network_bridge_failover.txt')
    res = m.resolve_bridges(
        m.parse_bridge_mappings('physnet1:ent5:vios1,physnet1:ent5:vios2'), nbs, NAMES)
    assert list(res) == ['physnet1']


def test_one_physnet_on_two_bridges_is_an_error():
    nbs = pvmdata.net_bridges('nbbr_network_bridge_peer.txt')
    nbs[1].seas[0].element.find('DeviceName').text = 'ent6'
    with pytest.raises(m.MappingError, match="'physnet1'.*already mapped"):
        m.resolve_bridges(m.parse_bridge_mappings('physnet1:ent5:vios1,physnet1:ent6:vios1'),
                          nbs, NAMES)
