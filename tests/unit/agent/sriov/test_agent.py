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

"""SR-IOV agent: option validation, configurations, events, port status, heal."""

import json
import os
import tempfile
import threading
import unittest
from unittest import mock

from oslo_config import cfg
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import event as pvm_evt
from pypowervm.wrappers import iocard as pvm_card
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import events as pvm_events
from networking_powervm.agent import provision
from networking_powervm.agent.sriov import agent as sriov_agent
from networking_powervm.common import constants as c
from tests.unit.agent import pvmdata
from tests.unit.agent.sriov import test_mappings

ALL_PORTS = test_mappings.C8 + test_mappings.C9
LPAR_HREF = ('https://h:12443/rest/api/uom/LogicalPartition/'
             '089FFB20-5D19-4A8C-BB80-13650627D985/VirtualNICDedicated/1')
VNIC_MACS = ['ae:7a:25:e5:9a:07', 'ae:7a:25:e5:9a:08']


def make_conf(**agent_opts):
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt('host', default='host1')])
    pvm_config.register_opts(conf)
    conf([])
    for name, value in agent_opts.items():
        conf.set_override(name, value, 'AGENT')
    return conf


def known(mac, port_id='p-1'):
    """get_devices_details_list entry of a port bound to this host."""
    return {'device': mac, 'port_id': port_id, 'mac_address': mac, 'network_id': 'n-1'}


class AgentTestBase(unittest.TestCase):

    def setUp(self):
        self.sys_w = test_mappings.system()
        patcher = mock.patch.object(pvm_ms.System, 'get', return_value=[self.sys_w])
        self.sys_get = patcher.start()
        self.addCleanup(patcher.stop)
        patcher = mock.patch('networking_powervm.agent.base.agent_rpc')
        rpc = patcher.start()
        self.addCleanup(patcher.stop)
        # The admin context needs neutron's policy engine (global cfg.CONF): fake it.
        patcher = mock.patch('networking_powervm.agent.base.n_context')
        patcher.start()
        self.addCleanup(patcher.stop)
        self.plugin_rpc = rpc.PluginApi.return_value
        self.state_rpc = rpc.PluginReportStateAPI.return_value
        self.plugin_rpc.get_devices_details_list.return_value = []
        self.plugin_rpc.update_device_list.return_value = {}
        self.adapter = pvmdata.make_adapter()

    def make_agent(self, **agent_opts):
        return sriov_agent.SRIOVAgent(make_conf(**agent_opts), adapter=self.adapter)

    def reported_configurations(self):
        agent_state = self.state_rpc.report_state.call_args[0][1]
        return agent_state['configurations']

    def relabel(self, adapter_index, port_index, label):
        adapters = self.sys_w.asio_config.sriov_adapters
        adapters[adapter_index].phys_ports[port_index].label = label


class ConfigValidationTestCase(AgentTestBase):

    def test_identity(self):
        self.assertEqual('PowerVM SR-IOV Ethernet agent', sriov_agent.SRIOVAgent.AGENT_TYPE)
        self.assertEqual('networking-powervm-sriov-agent', sriov_agent.SRIOVAgent.BINARY)
        self.assertEqual('pvm_sriov', sriov_agent.SRIOVAgent.VIF_TYPE)

    def test_capacity_with_five_decimals_refused_before_connecting(self):
        with self.assertRaises(sriov_agent.ConfigError) as ctx:
            self.make_agent(vnic_vf_capacity=0.12345)
        self.assertIn('vnic_vf_capacity', str(ctx.exception))
        self.assertIn('0.12345', str(ctx.exception))
        self.sys_get.assert_not_called()

    def test_capacity_with_four_decimals_accepted(self):
        agent = self.make_agent(vnic_vf_capacity=0.1234, vnic_required_vfs=3)
        self.assertEqual({c.CONF_BRIDGE_MAPPINGS: {},
                          c.CONF_DEFAULT_REDUNDANCY: 3,
                          c.CONF_DEFAULT_CAPACITY: 0.1234},
                         agent.get_configurations())

    def test_out_of_range_values_from_file_refused(self):
        for line in ('vnic_vf_capacity = 1.5', 'vnic_required_vfs = 0',
                     'vnic_required_vfs = two'):
            with self.subTest(line=line):
                conf = cfg.ConfigOpts()
                pvm_config.register_opts(conf)
                conf(['--config-file', self._tmp_conf(f'[AGENT]\n{line}\n')])
                with self.assertRaises(sriov_agent.ConfigError) as ctx:
                    sriov_agent.validate_conf(conf)
                self.assertIn(f'Invalid [AGENT] {line}: ', str(ctx.exception))

    def test_values_oslo_lets_through_refused_naming_the_text(self):
        # oslo.config's range check passes NaN, an empty IntOpt is None, and a
        # float prints 0.00001 as 1e-05: the message shows what the file says.
        for line, shown, reason in (
                ('vnic_vf_capacity = nan', 'vnic_vf_capacity = nan', 'not a number'),
                ('vnic_vf_capacity = 0.00001', 'vnic_vf_capacity = 0.00001',
                 'at most 4 decimal places'),
                ('vnic_vf_capacity = 0.123450', 'vnic_vf_capacity = 0.123450',
                 'at most 4 decimal places'),
                ('vnic_required_vfs =', "vnic_required_vfs = ''",
                 'must be an integer of at least 1')):
            with self.subTest(line=line):
                conf = cfg.ConfigOpts()
                pvm_config.register_opts(conf)
                conf(['--config-file', self._tmp_conf(f'[AGENT]\n{line}\n')])
                with self.assertRaises(sriov_agent.ConfigError) as ctx:
                    sriov_agent.validate_conf(conf)
                self.assertIn(f'Invalid [AGENT] {shown}: {reason}', str(ctx.exception))

    def test_trailing_zero_within_four_decimals_accepted(self):
        conf = cfg.ConfigOpts()
        pvm_config.register_opts(conf)
        conf(['--config-file', self._tmp_conf('[AGENT]\nvnic_vf_capacity = 0.12340\n')])
        sriov_agent.validate_conf(conf)
        self.assertEqual(0.1234, conf.AGENT.vnic_vf_capacity)

    def _tmp_conf(self, text):
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path


class MappingsReportTestCase(AgentTestBase):

    def setUp(self):
        super().setUp()
        self.agent = self.make_agent()
        self.agent.setup()

    def test_setup_reads_mappings_and_heartbeat_carries_them(self):
        self.agent.report_state()
        state = self.state_rpc.report_state.call_args[0][1]
        self.assertEqual(c.AGENT_TYPE_PVM_SRIOV, state['agent_type'])
        self.assertEqual(c.AGENT_BINARY_SRIOV, state['binary'])
        self.assertEqual({c.CONF_BRIDGE_MAPPINGS: {'default': ALL_PORTS},
                          c.CONF_DEFAULT_REDUNDANCY: 2,
                          c.CONF_DEFAULT_CAPACITY: None},
                         state['configurations'])

    def test_setup_survives_rest_error(self):
        self.sys_get.side_effect = pvm_exc.Error('REST down')
        self.agent.setup()  # logged, not raised: the heal loop retries
        self.assertEqual({'default': ALL_PORTS}, self.agent.mappings)

    def _config_change_event(self, as_dict=False):
        detail = f'{c.SRIOV_PORT_CONFIG_CHANGE}'
        href = 'https://h:12443/rest/api/uom/ManagedSystem/95329c84-9a01-330f-809e-2e5577110d1e'
        if as_dict:
            return {'etype': 'MODIFY_URI', 'data': href, 'detail': detail}
        return pvm_evt.Event.bld(None, href, detail)

    def test_config_change_event_refreshes_and_reports(self):
        self.relabel(0, 0, 'prod')
        self.assertTrue(self.agent.handle_other_event(self._config_change_event()))
        self.assertEqual({'prod': ALL_PORTS[:1], 'default': ALL_PORTS[1:]},
                         self.reported_configurations()[c.CONF_BRIDGE_MAPPINGS])
        self.assertEqual(self.agent.mappings, {'prod': ALL_PORTS[:1],
                                               'default': ALL_PORTS[1:]})

    def test_config_change_dict_event_with_other_details(self):
        self.relabel(1, 3, 'backup')
        event = self._config_change_event(as_dict=True)
        event['detail'] = 'Other.Change,' + event['detail']
        self.assertTrue(self.agent.handle_other_event(event))
        self.assertEqual(ALL_PORTS[-1:],
                         self.reported_configurations()[c.CONF_BRIDGE_MAPPINGS]['backup'])

    def test_unchanged_mappings_not_rereported(self):
        self.assertTrue(self.agent.handle_other_event(self._config_change_event()))
        self.state_rpc.report_state.assert_not_called()

    def test_other_events_ignored(self):
        self.sys_get.reset_mock()
        for event in (pvm_evt.Event.bld(None, LPAR_HREF, 'RMCState'),
                      {'etype': 'ADD_URI', 'data': LPAR_HREF, 'detail': None}, object()):
            self.assertFalse(self.agent.handle_other_event(event))
        self.sys_get.assert_not_called()

    def test_config_change_rest_error_keeps_mappings(self):
        self.sys_get.side_effect = pvm_exc.Error('REST down')
        self.assertTrue(self.agent.handle_other_event(self._config_change_event()))
        self.assertEqual({'default': ALL_PORTS}, self.agent.mappings)
        self.state_rpc.report_state.assert_not_called()

    def test_port_update_refreshes(self):
        self.relabel(0, 1, 'prod')
        self.agent.port_update(None, port={'id': 'p-1', 'binding:host_id': 'host1'})
        self.assertEqual([ALL_PORTS[1]],
                         self.reported_configurations()[c.CONF_BRIDGE_MAPPINGS]['prod'])

    def test_port_update_for_other_host_ignored(self):
        self.relabel(0, 1, 'prod')
        self.sys_get.reset_mock()
        self.agent.port_update(None, port={'id': 'p-1', 'binding:host_id': 'host2'})
        self.sys_get.assert_not_called()
        self.assertEqual({'default': ALL_PORTS}, self.agent.mappings)

    def test_full_resync_schedules_heal(self):
        self.assertFalse(self.agent._heal_now.is_set())
        self.agent.full_resync()
        self.assertTrue(self.agent._heal_now.is_set())


class VifEventTestCase(AgentTestBase):

    def setUp(self):
        super().setUp()
        self.agent = self.make_agent()
        self.handler = pvm_events.AgentEventHandler(self.agent)

    def _vif_event(self, action, mac='AE7A25E59A07', vif_type='pvm_sriov'):
        detail = json.dumps({'provider': c.EVENT_PROVIDER_NOVA_PVM_VIF, 'action': action,
                             'mac': mac, 'type': vif_type})
        event = pvm_evt.Event.bld(None, LPAR_HREF, detail)
        event.set_parm_value('EventType', pvm_evt.EventType.CUSTOM_CLIENT_EVENT)
        return event

    def test_plug_event_of_our_type_queued(self):
        self.handler.process([self._vif_event('plug')])
        (request,) = self.agent.queue.pending
        self.assertEqual(('plug', 'ae:7a:25:e5:9a:07', 'pvm_sriov'),
                         (request.action, request.mac, request.vif_type))
        self.assertEqual('089FFB20-5D19-4A8C-BB80-13650627D985', request.lpar_uuid)

    def test_sea_event_not_queued(self):
        self.handler.process([self._vif_event('plug', vif_type='pvm_sea')])
        self.assertEqual([], self.agent.queue.pending)

    def test_unplug_cancels_pending_plug(self):
        self.handler.process([self._vif_event('plug'), self._vif_event('unplug')])
        (request,) = self.agent.queue.pending
        self.assertEqual('unplug', request.action)

    def _requests(self, *pairs):
        return [provision.ProvisionRequest(action, mac, None, 'pvm_sriov')
                for action, mac in pairs]

    def test_plug_marks_known_port_up(self):
        self.plugin_rpc.get_devices_details_list.return_value = [known(VNIC_MACS[0])]
        self.agent.process_requests(self._requests(('plug', VNIC_MACS[0])))
        self.plugin_rpc.update_device_list.assert_called_once_with(
            self.agent.context, [VNIC_MACS[0]], [], self.agent.agent_id, 'host1')
        self.assertEqual([], self.agent.queue.retrying)

    def test_plug_of_unknown_port_retried(self):
        self.plugin_rpc.get_devices_details_list.return_value = [
            known(VNIC_MACS[0]), {'device': VNIC_MACS[1]}]
        self.agent.process_requests(self._requests(('plug', VNIC_MACS[0]),
                                                   ('plug', VNIC_MACS[1])))
        self.plugin_rpc.update_device_list.assert_called_once_with(
            self.agent.context, [VNIC_MACS[0]], [], self.agent.agent_id, 'host1')
        self.assertEqual([VNIC_MACS[1]], [r.mac for r in self.agent.queue.retrying])

    def test_unplug_marks_port_down(self):
        self.agent.process_requests(self._requests(('unplug', VNIC_MACS[1])))
        self.plugin_rpc.update_device_list.assert_called_once_with(
            self.agent.context, [], [VNIC_MACS[1]], self.agent.agent_id, 'host1')
        self.plugin_rpc.get_devices_details_list.assert_not_called()

    def test_rpc_failure_retried(self):
        self.plugin_rpc.update_device_list.side_effect = RuntimeError('MessagingTimeout')
        self.agent.process_requests(self._requests(('unplug', VNIC_MACS[1])))
        self.assertEqual([('unplug', VNIC_MACS[1])],
                         [(r.action, r.mac) for r in self.agent.queue.retrying])

    def test_worker_thread_marks_up(self):
        self.plugin_rpc.get_devices_details_list.return_value = [known(VNIC_MACS[0])]
        done = threading.Event()
        self.plugin_rpc.update_device_list.side_effect = lambda *a: done.set() or {}
        self.agent.start_workers()
        self.addCleanup(self.agent.stop)
        self.agent.handle_vif_event('plug', VNIC_MACS[0], LPAR_HREF)
        self.assertTrue(done.wait(10))
        args = self.plugin_rpc.update_device_list.call_args[0]
        self.assertEqual(([VNIC_MACS[0]], []), (args[1], args[2]))
        self.agent.stop()
        for thread in self.agent._threads:
            thread.join(10)
            self.assertFalse(thread.is_alive())


class HealTestCase(AgentTestBase):

    def setUp(self):
        super().setUp()
        self.agent = self.make_agent()
        self.lpars = pvmdata.lpars()[:3]
        self.vnics = pvmdata.load('vnic_feed.txt', pvm_card.VNIC)
        patcher = mock.patch.object(pvm_lpar.LPAR, 'get', return_value=self.lpars)
        self.lpar_get = patcher.start()
        self.addCleanup(patcher.stop)

        def vnic_get(adapter, parent_type=None, parent_uuid=None):
            if parent_uuid == self.lpars[0].uuid:
                return self.vnics
            if parent_uuid == self.lpars[1].uuid:
                raise pvm_exc.HttpError(mock.Mock(status=404))
            return []

        patcher = mock.patch.object(pvm_card.VNIC, 'get', side_effect=vnic_get)
        self.vnic_get = patcher.start()
        self.addCleanup(patcher.stop)

    def test_heal_marks_known_vnics_up(self):
        # Neutron has direct ports bound here for the first vNIC and for a MAC
        # that is on no partition.
        self.plugin_rpc.get_ports_by_vnic_type_and_host.return_value = [
            {'id': 'p1', 'mac_address': VNIC_MACS[0]},
            {'id': 'p2', 'mac_address': 'fa:16:3e:99:99:99'}]
        self.agent.heal()
        for lpar in self.lpars:
            self.vnic_get.assert_any_call(self.adapter, parent_type=pvm_lpar.LPAR,
                                          parent_uuid=lpar.uuid)
        self.plugin_rpc.get_ports_by_vnic_type_and_host.assert_called_once_with(
            self.agent.context, 'direct', 'host1')
        self.plugin_rpc.update_device_list.assert_called_once_with(
            self.agent.context, [VNIC_MACS[0]], [], self.agent.agent_id, 'host1')

    def test_heal_refreshes_mappings(self):
        self.relabel(1, 0, 'prod')
        self.agent.heal()
        self.assertEqual([test_mappings.C9[0]], self.agent.mappings['prod'])
        self.assertEqual([test_mappings.C9[0]],
                         self.reported_configurations()[c.CONF_BRIDGE_MAPPINGS]['prod'])

    def test_heal_without_known_ports(self):
        self.agent.heal()
        self.plugin_rpc.update_device_list.assert_not_called()

    def test_heal_without_vnics(self):
        self.vnic_get.side_effect = None
        self.vnic_get.return_value = []
        self.agent.heal()
        self.plugin_rpc.get_devices_details_list.assert_not_called()

    def test_heal_rest_error_propagates_for_retry(self):
        self.sys_get.side_effect = pvm_exc.Error('REST down')
        self.assertRaises(pvm_exc.Error, self.agent.heal)
