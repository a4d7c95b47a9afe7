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

"""physnet -> SR-IOV port location codes, from pypowervm's sys_with_sriov.txt capture."""

from unittest import mock

import pytest
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.agent.sriov import mappings
from tests.unit.agent import pvmdata

C8 = [f'U78C7.001.RCH0004-P1-C8-T{i}' for i in range(1, 5)]
C9 = [f'U78C7.001.RCH0004-P1-C9-T{i}' for i in range(1, 5)]


def system():
    """The captured ManagedSystem: adapters C8, C9 shared (4 ports each), 2 dedicated."""
    return pvmdata.load('sys_with_sriov.txt', pvm_ms.System)[0]


@pytest.fixture
def sys_w():
    return system()


@pytest.fixture
def adapters(sys_w):
    return sys_w.asio_config.sriov_adapters


def test_unlabelled_ports_serve_default(sys_w):
    assert mappings.mappings_from_system(sys_w) == {'default': C8 + C9}


def test_labels_name_physnets(sys_w, adapters):
    c8, c9 = adapters[0].phys_ports, adapters[1].phys_ports
    c8[0].label = 'prod'
    c9[2].label = 'prod'
    c8[1].label = 'backup'
    c9[3].label = '  '
    assert mappings.mappings_from_system(sys_w) == {
        'prod': [C8[0], C9[2]], 'backup': [C8[1]],
        'default': [C8[2], C8[3], C9[0], C9[1], C9[3]]}


def test_dedicated_adapters_skipped(sys_w, adapters):
    adapters[1].mode = 'Dedicated'
    adapters[0].phys_ports[0].label = 'prod'
    assert mappings.mappings_from_system(sys_w) == {'prod': C8[:1], 'default': C8[1:]}


def test_no_shared_adapter(sys_w, adapters):
    for adapter in adapters:
        adapter.mode = 'Dedicated'
    assert mappings.mappings_from_system(sys_w) == {}


def test_get_mappings_reads_the_managed_system():
    adapter = pvmdata.make_adapter()
    with mock.patch.object(pvm_ms.System, 'get', return_value=[system()]) as get:
        assert mappings.get_mappings(adapter) == {'default': C8 + C9}
    get.assert_called_once_with(adapter)


def test_get_mappings_without_managed_system():
    with mock.patch.object(pvm_ms.System, 'get', return_value=[]):
        with pytest.raises(LookupError):
            mappings.get_mappings(mock.Mock())
