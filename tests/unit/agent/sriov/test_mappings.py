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

import unittest
from unittest import mock

from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.agent.sriov import mappings
from tests.unit.agent import pvmdata

C8 = [f'U78C7.001.RCH0004-P1-C8-T{i}' for i in range(1, 5)]
C9 = [f'U78C7.001.RCH0004-P1-C9-T{i}' for i in range(1, 5)]


def system():
    """The captured ManagedSystem: adapters C8, C9 shared (4 ports each), 2 dedicated."""
    return pvmdata.load('sys_with_sriov.txt', pvm_ms.System)[0]


class MappingsFromSystemTestCase(unittest.TestCase):

    def setUp(self):
        self.sys_w = system()
        self.adapters = self.sys_w.asio_config.sriov_adapters

    def test_unlabelled_ports_serve_default(self):
        self.assertEqual({'default': C8 + C9}, mappings.mappings_from_system(self.sys_w))

    def test_labels_name_physnets(self):
        c8, c9 = self.adapters[0].phys_ports, self.adapters[1].phys_ports
        c8[0].label = 'prod'
        c9[2].label = 'prod'
        c8[1].label = 'backup'
        c9[3].label = '  '
        self.assertEqual({'prod': [C8[0], C9[2]],
                          'backup': [C8[1]],
                          'default': [C8[2], C8[3], C9[0], C9[1], C9[3]]},
                         mappings.mappings_from_system(self.sys_w))

    def test_dedicated_adapters_skipped(self):
        self.adapters[1].mode = 'Dedicated'
        self.adapters[0].phys_ports[0].label = 'prod'
        self.assertEqual({'prod': C8[:1], 'default': C8[1:]},
                         mappings.mappings_from_system(self.sys_w))

    def test_no_shared_adapter(self):
        for adapter in self.adapters:
            adapter.mode = 'Dedicated'
        self.assertEqual({}, mappings.mappings_from_system(self.sys_w))


class GetMappingsTestCase(unittest.TestCase):

    def test_reads_the_managed_system(self):
        adapter = pvmdata.make_adapter()
        with mock.patch.object(pvm_ms.System, 'get', return_value=[system()]) as get:
            self.assertEqual({'default': C8 + C9}, mappings.get_mappings(adapter))
        get.assert_called_once_with(adapter)

    def test_no_managed_system(self):
        with mock.patch.object(pvm_ms.System, 'get', return_value=[]):
            self.assertRaises(LookupError, mappings.get_mappings, mock.Mock())
