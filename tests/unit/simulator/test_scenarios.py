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

"""Scenario validation: built-ins load, bad fields are named."""

import pytest

from powervm_sim import scenarios
from powervm_sim.scenarios import ScenarioError, build_state

BASE = {'vioses': [{'name': 'vios1', 'id': 1}],
        'bridges': [{'vswitch': 'ETHERNET0', 'pvid': 1,
                     'seas': [{'vios': 'vios1', 'dev_name': 'ent8'}]}]}


@pytest.mark.parametrize('name', scenarios.BUILTINS)
def test_builtins_load(name):
    st = scenarios.load_scenario(name)
    assert st.bridges and st.vioses
    assert sum(p.is_mgmt for p in st.partitions) == 1


def test_large_is_generated():
    st = scenarios.load_scenario('large')
    assert len(st.partitions) == 1001
    assert sum(len(p.cnas) for p in st.partitions) == 2000
    assert len(st.all_macs()) == 2001  # + the trunk adapter


@pytest.mark.parametrize('patch, field', [
    ({'bridges': [{'vswitch': 'ETHERNET0', 'pvid': 1,
                   'seas': [{'vios': 'vios9', 'dev_name': 'ent8'}]}]},
     "vios: unknown VIOS 'vios9'"),
    ({'bridges': [{'vswitch': 'ETHERNET0', 'pvid': 5000,
                   'seas': [{'vios': 'vios1', 'dev_name': 'ent8'}]}]}, 'bridges[0].pvid'),
    ({'vioses': [{'name': 'vios1', 'id': 'x'}]}, 'vioses[0].id'),
    ({'partitions': [{'name': 'a', 'type': 'Windows'}]}, 'partitions[0].type'),
    ({'partitions': [{'name': 'a', 'cnas': [{'pvid': 2, 'mac': 'zz'}]}]}, 'cnas[0].mac'),
    ({'partitions': [{'name': 'a', 'cnas': [{'pvid': 2, 'trunk_pri': 16}]}]},
     'partitions[0].cnas[0].trunk_pri: 16'),
    ({'generate': {'count': 0}}, 'generate.count'),
    ({'bogus': 1}, 'bogus'),
])
def test_validation_errors_name_the_field(patch, field):
    with pytest.raises(ScenarioError) as e:
        build_state({**BASE, **patch})
    assert field in str(e.value)


def test_a_client_partition_may_own_a_trunk_adapter():
    st = build_state({**BASE, 'partitions': [{'name': 'novalink', 'mgmt': True, 'cnas': [
        {'pvid': 100, 'vlans': [53, 54, 55], 'vswitch': 0, 'trunk_pri': 1}]}]})
    [cna] = st.partitions[0].cnas
    assert (cna.pvid, cna.vlans, cna.vswitch_id, cna.trunk_pri) == (100, [53, 54, 55], 0, 1)


def test_unknown_scenario_name():
    with pytest.raises(ScenarioError, match='nope'):
        scenarios.load_scenario('nope')
