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

"""Tests of the pvm_sriov mechanism driver on neutron's standard agent-driver test base."""

from unittest import mock

from neutron.tests.unit.plugins.ml2 import _test_mech_agent as base
from neutron_lib import constants as n_const
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

from networking_powervm.common import constants as pvm_const
from networking_powervm.common import profile as pvm_profile
from networking_powervm.ml2 import mech_pvm_sriov

PORTS = [f'U78C9.001.WZS094N-P1-C7-T{n}' for n in (1, 2, 3, 4)]
VLAN_SEGMENT = base.AgentMechanismVlanTestCase.VLAN_SEGMENTS[1]
FLAT_SEGMENT = base.AgentMechanismFlatTestCase.FLAT_SEGMENTS[1]


class PvmSRIOVMechanismBaseTestCase(base.AgentMechanismBaseTestCase):
    VIF_TYPE = pvm_const.VIF_TYPE_PVM_SRIOV
    CAP_PORT_FILTER = False
    AGENT_TYPE = pvm_const.AGENT_TYPE_PVM_SRIOV
    VNIC_TYPE = portbindings.VNIC_DIRECT

    GOOD_MAPPINGS = {'fake_physical_network': PORTS}
    GOOD_CONFIGS = {'bridge_mappings': GOOD_MAPPINGS,
                    'default_redundancy': 2, 'default_capacity': None}
    BAD_MAPPINGS = {'wrong_physical_network': ['U78C9.001.WZS094N-P1-C6-T1']}
    BAD_CONFIGS = {'bridge_mappings': BAD_MAPPINGS,
                   'default_redundancy': 2, 'default_capacity': None}

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
        self.driver = mech_pvm_sriov.PvmSRIOVMechanismDriver()
        self.driver.initialize()

    def _agent(self, **conf):
        configurations = dict(self.GOOD_CONFIGS, **conf)
        return [{'alive': True, 'configurations': configurations,
                 'host': 'host', 'agent_type': self.AGENT_TYPE}]

    def _bind(self, segments=(VLAN_SEGMENT,), agents=None, profile=None,
              vnic_type=portbindings.VNIC_DIRECT):
        context = base.FakePortContext(
            self.AGENT_TYPE, self.AGENTS if agents is None else agents,
            list(segments), vnic_type=vnic_type, profile=profile)
        self.driver.bind_port(context)
        return context


class PvmSRIOVMechanismGenericTestCase(PvmSRIOVMechanismBaseTestCase,
                                       base.AgentMechanismGenericTestCase):
    pass


class PvmSRIOVMechanismVlanTestCase(PvmSRIOVMechanismBaseTestCase,
                                    base.AgentMechanismVlanTestCase):

    def test_vlan_vif_details(self):
        context = self._bind()
        self.assertEqual('vlan_segment_id', context._bound_segment_id)
        self.assertEqual('pvm_sriov', context._bound_vif_type)
        self.assertEqual({portbindings.CAP_PORT_FILTER: False,
                          portbindings.VIF_DETAILS_CONNECTIVITY: portbindings.CONNECTIVITY_L2,
                          'vlan': '1234',
                          'physical_network': 'fake_physical_network',
                          'physical_ports': PORTS,
                          'redundancy': 2,
                          'capacity': None,
                          'maxcapacity': None},
                         context._bound_vif_details)

    def test_dead_agent_refused(self):
        self._check_unbound(self._bind(agents=self.AGENTS_DEAD))

    def test_missing_physnet_refused(self):
        self._check_unbound(self._bind(agents=self._agent(bridge_mappings=self.BAD_MAPPINGS)))

    def test_physnet_without_ports_refused(self):
        agents = self._agent(bridge_mappings={'fake_physical_network': []})
        self._check_unbound(self._bind(agents=agents))

    def test_normal_vnic_refused(self):
        self._check_unbound(self._bind(vnic_type=portbindings.VNIC_NORMAL))

    def test_physical_ports_are_the_physnets_ports(self):
        agents = self._agent(bridge_mappings={'fake_physical_network': PORTS[:2],
                                              'default': PORTS[2:]})
        context = self._bind(agents=agents)
        self.assertEqual(PORTS[:2], context._bound_vif_details['physical_ports'])

    def test_tunnel_segments_refused(self):
        gre = base.AgentMechanismGreTestCase.GRE_SEGMENTS[1]
        vxlan = dict(gre, **{api.ID: 'vxlan', api.NETWORK_TYPE: n_const.TYPE_VXLAN})
        self._check_unbound(self._bind(segments=[gre, vxlan]))


class PvmSRIOVMechanismFlatTestCase(PvmSRIOVMechanismBaseTestCase,
                                    base.AgentMechanismFlatTestCase):

    def test_flat_vlan_is_zero(self):
        context = self._bind(segments=[FLAT_SEGMENT])
        self.assertEqual('flat_segment_id', context._bound_segment_id)
        self.assertEqual('0', context._bound_vif_details['vlan'])
        self.assertEqual(0, int(context._bound_vif_details['vlan']))
        self.assertEqual('fake_physical_network',
                         context._bound_vif_details['physical_network'])


class PvmSRIOVProfileTestCase(PvmSRIOVMechanismBaseTestCase):
    """binding:profile settings and the agent's defaults."""

    def test_profile_overrides_agent_defaults(self):
        agents = self._agent(default_redundancy=3, default_capacity=0.1)
        context = self._bind(agents=agents, profile={
            'vnic_required_vfs': 1, 'capacity': 0.25, 'maxcapacity': 0.5})
        details = context._bound_vif_details
        self.assertEqual(1, details['redundancy'])
        self.assertEqual(0.25, details['capacity'])
        self.assertEqual(0.5, details['maxcapacity'])

    def test_agent_defaults_used(self):
        agents = self._agent(default_redundancy=3, default_capacity=0.1)
        details = self._bind(agents=agents, profile={})._bound_vif_details
        self.assertEqual(3, details['redundancy'])
        self.assertEqual(0.1, details['capacity'])
        self.assertIsNone(details['maxcapacity'])

    def test_string_values_accepted(self):
        context = self._bind(profile={'vnic_required_vfs': '4', 'capacity': '0.0125',
                                      'maxcapacity': '1'})
        details = context._bound_vif_details
        self.assertEqual(4, details['redundancy'])
        self.assertIsInstance(details['redundancy'], int)
        self.assertEqual(0.0125, details['capacity'])
        self.assertEqual(1.0, details['maxcapacity'])

    def test_agent_without_defaults(self):
        agents = [{'alive': True, 'host': 'host', 'agent_type': self.AGENT_TYPE,
                   'configurations': {'bridge_mappings': self.GOOD_MAPPINGS}}]
        details = self._bind(agents=agents)._bound_vif_details
        self.assertEqual(1, details['redundancy'])
        self.assertIsNone(details['capacity'])

    def test_capacity_bounds_accepted(self):
        for cap in (0, 1, 0.0001, '0.5000'):
            details = self._bind(profile={'capacity': cap})._bound_vif_details
            self.assertEqual(float(cap), details['capacity'])

    def test_maxcapacity_equal_to_capacity_accepted(self):
        details = self._bind(profile={'capacity': 0.3, 'maxcapacity': 0.3})._bound_vif_details
        self.assertEqual(0.3, details['maxcapacity'])

    def _assert_refused(self, profile, bad, agents=None):
        with mock.patch.object(mech_pvm_sriov.LOG, 'error') as log_error:
            context = self._bind(agents=agents, profile=profile)
        self._check_unbound(context)
        self.assertEqual(1, log_error.call_count)
        fmt, args = log_error.call_args[0]
        message = fmt % args
        self.assertIn(base.PORT_ID, message)
        self.assertIn(repr(bad), message)

    def test_bad_profile_values_refused(self):
        cases = [
            ({'capacity': 'lots'}, 'lots'),
            ({'capacity': ''}, ''),
            ({'capacity': 1.5}, 1.5),
            ({'capacity': -0.1}, -0.1),
            ({'capacity': 0.12345}, 0.12345),
            ({'capacity': '0.00001'}, '0.00001'),
            ({'capacity': 'nan'}, 'nan'),
            ({'capacity': [0.1]}, [0.1]),
            ({'capacity': True}, True),
            ({'vnic_required_vfs': 0}, 0),
            ({'vnic_required_vfs': -2}, -2),
            ({'vnic_required_vfs': 1.5}, 1.5),
            ({'vnic_required_vfs': 'two'}, 'two'),
            ({'maxcapacity': 1.01}, 1.01),
            ({'maxcapacity': 'x'}, 'x'),
            ({'capacity': 0.5, 'maxcapacity': 0.4}, 0.4),
        ]
        for profile, bad in cases:
            with self.subTest(profile=profile):
                self._assert_refused(profile, bad)

    def test_maxcapacity_below_agent_default_capacity_refused(self):
        agents = self._agent(default_capacity=0.5)
        self._assert_refused({'maxcapacity': 0.2}, 0.2, agents=agents)

    def test_more_vfs_than_the_physnets_physical_ports_refused(self):
        for value in (5, '5', 1000000, 10 ** 30):
            with self.subTest(value=value):
                self._assert_refused({'vnic_required_vfs': value}, value)

    def test_as_many_vfs_as_physical_ports_accepted(self):
        details = self._bind(profile={'vnic_required_vfs': 4})._bound_vif_details
        self.assertEqual(4, details['redundancy'])

    def test_agent_default_above_the_physnets_ports_refused(self):
        self._assert_refused({}, 5, agents=self._agent(default_redundancy=5))

    def test_bad_agent_default_refused(self):
        self._assert_refused({}, 'None', agents=self._agent(default_capacity='None'))

    def test_bad_profile_ignored_for_other_vnic_types(self):
        with mock.patch.object(mech_pvm_sriov.LOG, 'error') as log_error:
            context = self._bind(profile={'capacity': 'lots'},
                                 vnic_type=portbindings.VNIC_NORMAL)
        self._check_unbound(context)
        log_error.assert_not_called()

    def test_bind_never_raises_on_any_profile(self):
        for profile in ({'capacity': object()}, {'vnic_required_vfs': None},
                        {'vnic_required_vfs': float('inf')}, {'maxcapacity': {}}):
            with self.subTest(profile=profile):
                self._bind(profile=profile)


class ProfileParsingTestCase(base.base.BaseTestCase):
    """The pure validators used by the driver."""

    def test_parse_profile(self):
        self.assertEqual({}, pvm_profile.parse_profile(None))
        self.assertEqual({}, pvm_profile.parse_profile({'capacity': None}))
        self.assertEqual({'redundancy': 2, 'capacity': 0.05, 'maxcapacity': 0.1},
                         pvm_profile.parse_profile({'vnic_required_vfs': '2.0',
                                                    'capacity': '0.0500',
                                                    'maxcapacity': 0.1,
                                                    'unrelated': 'x'}))

    def test_error_names_key_and_value(self):
        exc = self.assertRaises(pvm_profile.BadProfileValue,
                                pvm_profile.parse_fraction, 'capacity', '0.123456')
        self.assertEqual('capacity', exc.key)
        self.assertIn("capacity='0.123456'", str(exc))
        self.assertIn('4 decimal places', str(exc))
        exc = self.assertRaises(pvm_profile.BadProfileValue,
                                pvm_profile.parse_redundancy, 'vnic_required_vfs', 0)
        self.assertIn('at least 1', str(exc))

    def test_not_a_dict(self):
        self.assertRaises(pvm_profile.BadProfileValue, pvm_profile.parse_profile, ['x'])


class PvmSRIOVEntryPointTestCase(PvmSRIOVMechanismBaseTestCase):

    def test_entry_point_loads_driver(self):
        from importlib import metadata
        eps = metadata.entry_points(group='neutron.ml2.mechanism_drivers')
        (ep,) = [e for e in eps if e.name == 'pvm_sriov']
        self.assertIs(mech_pvm_sriov.PvmSRIOVMechanismDriver, ep.load())
