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

"""Tests of the pvm_sea mechanism driver on neutron's standard agent-driver test base."""

from neutron.tests.unit.plugins.ml2 import _test_mech_agent as base
from neutron_lib import constants as n_const
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

from networking_powervm.common import constants as pvm_const
from networking_powervm.ml2 import mech_pvm_sea


class PvmSEAMechanismBaseTestCase(base.AgentMechanismBaseTestCase):
    VIF_TYPE = pvm_const.VIF_TYPE_PVM_SEA
    AGENT_TYPE = pvm_const.AGENT_TYPE_PVM_SEA
    # What a successful VLAN binding must carry (test_type_vlan uses VLAN 1234).
    VIF_DETAILS = {portbindings.CAP_PORT_FILTER: False,
                   portbindings.VIF_DETAILS_CONNECTIVITY: portbindings.CONNECTIVITY_L2,
                   portbindings.VIF_DETAILS_VLAN: '1234'}

    GOOD_MAPPINGS = {'fake_physical_network': 'ent5'}
    GOOD_CONFIGS = {'bridge_mappings': GOOD_MAPPINGS}
    BAD_MAPPINGS = {'wrong_physical_network': 'ent5'}
    BAD_CONFIGS = {'bridge_mappings': BAD_MAPPINGS}

    AGENTS = [{'alive': True, 'configurations': GOOD_CONFIGS,
               'host': 'host', 'agent_type': AGENT_TYPE}]
    AGENTS_DEAD = [{'alive': False, 'configurations': GOOD_CONFIGS,
                    'host': 'dead_host', 'agent_type': AGENT_TYPE}]
    AGENTS_BAD = [{'alive': False, 'configurations': GOOD_CONFIGS,
                   'host': 'bad_host_1', 'agent_type': AGENT_TYPE},
                  {'alive': True, 'configurations': BAD_CONFIGS,
                   'host': 'bad_host_2', 'agent_type': AGENT_TYPE}]

    def setUp(self):
        super().setUp()
        self.driver = mech_pvm_sea.PvmSEAMechanismDriver()
        self.driver.initialize()


class PvmSEAMechanismGenericTestCase(PvmSEAMechanismBaseTestCase,
                                     base.AgentMechanismGenericTestCase):
    pass


class PvmSEAMechanismVlanTestCase(PvmSEAMechanismBaseTestCase,
                                  base.AgentMechanismVlanTestCase):

    def _bind(self, agents, segments, vnic_type=portbindings.VNIC_NORMAL):
        context = base.FakePortContext(self.AGENT_TYPE, agents, segments,
                                       vnic_type=vnic_type)
        self.driver.bind_port(context)
        return context

    def test_vif_type_and_vlan_detail(self):
        context = self._bind(self.AGENTS, self.VLAN_SEGMENTS)
        self.assertEqual('vlan_segment_id', context._bound_segment_id)
        self.assertEqual('pvm_sea', context._bound_vif_type)
        self.assertEqual(1234, int(context._bound_vif_details['vlan']))
        self.assertFalse(context._bound_vif_details[portbindings.CAP_PORT_FILTER])

    def test_vif_details_not_shared_between_bindings(self):
        first = self._bind(self.AGENTS, self.VLAN_SEGMENTS)
        other = [dict(self.VLAN_SEGMENTS[1], **{api.SEGMENTATION_ID: 77,
                                                api.ID: 'other'})]
        second = self._bind(self.AGENTS, other)
        self.assertEqual('1234', first._bound_vif_details['vlan'])
        self.assertEqual('77', second._bound_vif_details['vlan'])
        self.assertNotIn('vlan', self.driver.vif_details)

    def test_dead_agent_refused(self):
        context = self._bind(self.AGENTS_DEAD, self.VLAN_SEGMENTS)
        self._check_unbound(context)

    def test_missing_physnet_refused(self):
        agents = [{'alive': True, 'configurations': self.BAD_CONFIGS,
                   'host': 'host', 'agent_type': self.AGENT_TYPE}]
        context = self._bind(agents, self.VLAN_SEGMENTS)
        self._check_unbound(context)

    def test_agent_without_mappings_refused(self):
        agents = [{'alive': True, 'configurations': {},
                   'host': 'host', 'agent_type': self.AGENT_TYPE}]
        context = self._bind(agents, self.VLAN_SEGMENTS)
        self._check_unbound(context)

    def test_other_agent_type_refused(self):
        agents = [dict(self.AGENTS[0], agent_type=n_const.AGENT_TYPE_OVS)]
        context = self._bind(agents, self.VLAN_SEGMENTS)
        self._check_unbound(context)

    def test_direct_vnic_refused(self):
        context = self._bind(self.AGENTS, self.VLAN_SEGMENTS,
                             vnic_type=portbindings.VNIC_DIRECT)
        self._check_unbound(context)

    def test_binds_second_agent_physnet(self):
        agents = [{'alive': True,
                   'configurations': {'bridge_mappings': {
                       'other': 'ent4', 'fake_physical_network': 'ent5'}},
                   'host': 'host', 'agent_type': self.AGENT_TYPE}]
        context = self._bind(agents, self.VLAN_SEGMENTS)
        self._check_bound(context, self.VLAN_SEGMENTS[1])


class PvmSEAMechanismRefusedTypesTestCase(PvmSEAMechanismBaseTestCase):
    """Flat and tunnel segments are never bound, even with the physnet mapped."""

    def _assert_refused(self, segment):
        context = base.FakePortContext(self.AGENT_TYPE, self.AGENTS, [segment])
        self.driver.bind_port(context)
        self._check_unbound(context)

    def test_flat_refused(self):
        self._assert_refused(base.AgentMechanismFlatTestCase.FLAT_SEGMENTS[1])

    def test_gre_refused(self):
        self._assert_refused(base.AgentMechanismGreTestCase.GRE_SEGMENTS[1])

    def test_vxlan_refused(self):
        self._assert_refused({api.ID: 'vxlan_segment_id',
                              api.NETWORK_TYPE: n_const.TYPE_VXLAN,
                              api.SEGMENTATION_ID: 1234,
                              api.NETWORK_ID: 'fake_network_id'})

    def test_local_refused(self):
        self._assert_refused(base.AgentMechanismLocalTestCase.LOCAL_SEGMENTS[1])

    def test_vlan_picked_among_refused_segments(self):
        vlan = base.AgentMechanismVlanTestCase.VLAN_SEGMENTS[1]
        segments = [base.AgentMechanismFlatTestCase.FLAT_SEGMENTS[1],
                    base.AgentMechanismGreTestCase.GRE_SEGMENTS[1], vlan]
        context = base.FakePortContext(self.AGENT_TYPE, self.AGENTS, segments)
        self.driver.bind_port(context)
        self._check_bound(context, vlan)

    def test_allowed_network_types(self):
        self.assertEqual([n_const.TYPE_VLAN], self.driver.get_allowed_network_types())


class PvmSEAEntryPointTestCase(PvmSEAMechanismBaseTestCase):

    def test_entry_point_loads_driver(self):
        from importlib import metadata
        eps = metadata.entry_points(group='neutron.ml2.mechanism_drivers')
        (ep,) = [e for e in eps if e.name == 'pvm_sea']
        self.assertIs(mech_pvm_sea.PvmSEAMechanismDriver, ep.load())
