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

"""The NOVA_PVM_VIF wire format: building, parsing, MACs, partition hrefs, bounded errors."""

from __future__ import annotations

import json

import pytest

from networking_powervm.common import constants as pvm_const
from networking_powervm.common import vif_event

LPAR = '0C8BC782-E312-40F7-ACAD-81EB3B9FB06D'
HREF = ('https://127.0.0.1:12443/rest/api/uom/ManagedSystem/c5d782c7-44e4-3086-ad15-'
        f'b16fb039d63b/LogicalPartition/{LPAR.lower()}/ClientNetworkAdapter/'
        '4204d084-77a5-329c-9d3b-2f5ccffe2803')


def detail(**body):
    return json.dumps({'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'mac': 'FA163E0A0B0C',
                       'type': 'pvm_sea', **body})


@pytest.mark.parametrize('raw', ['FA163E0A0B0C', 'fa:16:3e:0a:0b:0c', 'FA-16-3E-0A-0B-0C',
                                 'fa16.3e0a.0b0c', ' fa:16:3e:0a:0b:0c '])
def test_norm_mac_accepts_every_common_notation(raw):
    assert vif_event.norm_mac(raw) == 'fa:16:3e:0a:0b:0c'


@pytest.mark.parametrize('raw', ['FA163E0A0B', 'zz163e0a0b0c', '', None, 12])
def test_norm_mac_rejects_and_names_value(raw):
    with pytest.raises(vif_event.EventError, match=repr(raw).replace('(', r'\(')):
        vif_event.norm_mac(raw)


def test_norm_mac_error_is_bounded():
    with pytest.raises(vif_event.EventError) as err:
        vif_event.norm_mac('x' * 100_000)
    assert len(str(err.value)) < 300


def test_deep_json_is_a_malformed_event_not_a_recursion_error():
    deep = '{"provider": "NOVA_PVM_VIF", "x": ' + '[' * 100_000 + ']' * 100_000 + '}'
    with pytest.raises(vif_event.EventError, match='not valid JSON') as err:
        vif_event.parse(deep, HREF)
    assert len(str(err.value)) < 1000


def test_built_detail_parses_back_to_the_same_event():
    event = vif_event.VifEvent('unplug', 'FA-16-3E-0A-0B-0C', pvm_const.VIF_TYPE_PVM_SRIOV, HREF)
    assert json.loads(event.detail()) == {'provider': 'NOVA_PVM_VIF', 'action': 'unplug',
                                          'mac': 'fa:16:3e:0a:0b:0c', 'type': 'pvm_sriov'}
    assert vif_event.parse(event.detail(), HREF) == event
    assert event.lpar_uuid == LPAR


@pytest.mark.parametrize('action, mac, vif_type, href, named', [
    ('replug', 'FA163E0A0B0C', 'pvm_sea', HREF, "'replug'"),
    ('plug', 'nope', 'pvm_sea', HREF, "'nope'"),
    ('plug', 'FA163E0A0B0C', 7, HREF, '7'),
    ('plug', 'FA163E0A0B0C', 'pvm_sea', '', 'href'),
])
def test_building_a_bad_event_names_the_value(action, mac, vif_type, href, named):
    with pytest.raises(vif_event.EventError, match=named):
        vif_event.VifEvent(action, mac, vif_type, href)


@pytest.mark.parametrize('text', [None, '', 'SRIOVPhysicalPort.ConfigChange', '[1, 2]',
                                  json.dumps({'provider': 'OTHER', 'action': 'plug'})])
def test_other_details_are_not_vif_events(text):
    assert vif_event.parse(text, HREF) is None


@pytest.mark.parametrize('text, named', [
    ('{"provider": "NOVA_PVM_VIF", "action": ', 'not valid JSON'),
    (json.dumps({'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'type': 'pvm_sea'}), "'mac'"),
    (detail(action='replug'), "'replug'"),
])
def test_malformed_vif_events_raise_naming_the_problem(text, named):
    with pytest.raises(vif_event.EventError, match=named):
        vif_event.parse(text, HREF)


@pytest.mark.parametrize('href, uuid', [
    (HREF, LPAR),
    (HREF.replace('LogicalPartition', 'VirtualIOServer'), LPAR),
    (f'https://h/rest/api/uom/LogicalPartition/{LPAR}/VirtualNICDedicated/1', LPAR),
    ('https://x/rest/api/uom/ManagedSystem/c5d782c7-44e4-3086-ad15-b16fb039d63b', None),
    ('https://x/rest/api/uom/ManagedSystem/abc', None),
    (None, None),
])
def test_partition_uuid_of_an_adapter_href(href, uuid):
    assert vif_event.partition_uuid(href) == uuid
