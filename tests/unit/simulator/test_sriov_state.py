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

"""SR-IOV scenario parsing, persistence, relabel and snapshot."""

import copy
import json
import re

import pytest

from powervm_sim import sriov
from tests.unit.simulator.test_sriov_helpers import SCENARIO, FakeHost


def _scenario():
    return copy.deepcopy(SCENARIO)


def test_scenario_defaults_and_values():
    adapters = sriov.adapters_from_scenario(_scenario())
    assert [a.sriov_adapter_id for a in adapters] == [1, 2, 3]
    a1, a2, a3 = adapters
    assert [p.port_id for p in a1.ports] == [0, 1]
    t1 = a1.ports[0]
    assert (t1.label, t1.link_up, t1.type, t1.granularity, t1.max_vfs) == (
        'physnet1', True, 'converged', 200, 20)
    assert a1.ports[1].link_up is False
    assert a2.ports[0].granularity == 250 and a2.ports[0].allocated == 9000
    assert a3.mode == 'Dedicated' and not a3.usable and a3.ports == []
    assert sriov.adapters_from_scenario(None) == []


@pytest.mark.parametrize('mutate, needle', [
    (lambda s: s[0].pop('location_code'), 'sriov[0].location_code: None'),
    (lambda s: s[0]['ports'][0].update(location_code='a b'), "ports[0].location_code: 'a b'"),
    (lambda s: s[0]['ports'][1].update(link_up='yes'), 'sriov[0].ports[1].link_up'),
    (lambda s: s[0]['ports'][0].update(capacity_granularity=0), 'capacity_granularity'),
    (lambda s: s[0]['ports'][0].update(capacity_granularity=150),
     'sriov[0].ports[0].capacity_granularity'),
    (lambda s: s[0]['ports'][0].update(max_vfs=0), 'sriov[0].ports[0].max_vfs'),
    (lambda s: s[0]['ports'][0].update(bogus=1), 'bogus'),
    (lambda s: s[0]['ports'][0].update(type='fibre'), "'fibre'"),
    (lambda s: s[1]['ports'][0].update(location_code='U78C7.001.RCH0004-P1-C8-T1'),
     'U78C7.001.RCH0004-P1-C8-T1 is used twice'),
    (lambda s: s[1].update(sriov_adapter_id=1), 'sriov[1].sriov_adapter_id'),
    (lambda s: s[0].update(mode='Shared'), "sriov[0].mode: 'Shared'"),
    (lambda s: s[0].update(ports=[]), 'sriov[0].ports'),
    (lambda s: s[0]['ports'][1].update(port_id=0), 'port_id values are not unique'),
    (lambda s: s[0]['ports'][0].update(configured_vfs=21), 'configured_vfs'),
])
def test_scenario_errors_name_the_field(mutate, needle):
    items = _scenario()
    mutate(items)
    with pytest.raises(ValueError, match=re.escape(needle)):
        sriov.adapters_from_scenario(items)


def test_scenario_shorthand_of_builtin_scenarios():
    adapters = sriov.adapters_from_scenario(
        [{'location': 'U78C7.001.RCH0004-P1-C8', 'ports': [{'label': 'default'}, {}]}])
    assert [(p.location_code, p.port_id, p.label) for p in adapters[0].ports] == [
        ('U78C7.001.RCH0004-P1-C8-T1', 0, 'default'), ('U78C7.001.RCH0004-P1-C8-T2', 1, '')]
    with pytest.raises(ValueError, match='not both'):
        sriov.adapters_from_scenario([{'location': 'A', 'location_code': 'A', 'ports': [{}]}])


def test_scenario_not_a_list():
    with pytest.raises(ValueError, match='sriov: expected a list'):
        sriov.adapters_from_scenario({'location_code': 'x'})


def test_persistence_round_trip_through_json():
    host = FakeHost()
    adapters = host.state.sriov_adapters
    adapters[0].ports[0].allocated = 400
    vnic = sriov.Vnic(uuid='u1', lpar_uuid='L', lpar_id=3, slot=4, mac='FA163E000001',
                      pvid=7, backing_devices=[sriov.BackingDevice(
                          vios_uuid='V', sriov_adapter_id=1, port_id=0, capacity=400,
                          max_capacity=10000, lport_uuid='lp')])
    d = json.loads(json.dumps(sriov.state_to_dict(adapters, [vnic])))
    adapters2, vnics2 = sriov.state_from_dict(d)
    assert adapters2 == adapters
    assert vnics2 == [vnic]


def test_state_from_dict_malformed():
    with pytest.raises(ValueError, match='malformed SR-IOV state'):
        sriov.state_from_dict({'adapters': [{'nope': 1}]})


def test_relabel_port():
    adapters = sriov.adapters_from_scenario(_scenario())
    sriov.relabel_port(adapters, 'U78C7.001.RCH0004-P1-C9-T2', 'physnet9')
    assert adapters[1].ports[1].label == 'physnet9'
    with pytest.raises(ValueError, match='U78C7.001.RCH0004-P1-C9-T7'):
        sriov.relabel_port(adapters, 'U78C7.001.RCH0004-P1-C9-T7', 'x')


def test_snapshot_shows_labels_and_capacity():
    snap = sriov.snapshot(sriov.adapters_from_scenario(_scenario()), [])
    c9t1 = next(p for p in snap['ports'] if p['location_code'] == 'U78C7.001.RCH0004-P1-C9-T1')
    assert c9t1['label'] == 'physnet1'
    assert (c9t1['capacity_used'], c9t1['capacity_left']) == (90.0, 10.0)
    assert snap['vnics'] == []
