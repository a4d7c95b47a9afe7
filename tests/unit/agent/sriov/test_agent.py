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

from __future__ import annotations

import json
from types import SimpleNamespace
from unittest import mock

import pytest
from oslo_config import cfg
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import event as pvm_evt
from pypowervm.wrappers import iocard as pvm_card
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import events as pvm_events
from networking_powervm.agent import provision as prov
from networking_powervm.agent.sriov import agent as sriov_agent
from networking_powervm.common import constants as pvm_const
from networking_powervm.common import vif_event
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


def conf_from_file(tmp_path, text):
    path = tmp_path / 'agent.conf'
    path.write_text(text)
    conf = cfg.ConfigOpts()
    pvm_config.register_opts(conf)
    conf(['--config-file', str(path)])
    return conf


def known(mac, port_id='p-1'):
    """get_devices_details_list entry of a port bound to this host."""
    return {'device': mac, 'port_id': port_id, 'mac_address': mac, 'network_id': 'n-1'}


def request(action, mac):
    return prov.ProvisionRequest(action, mac, prov.Origin.EVENT, None)


@pytest.fixture
def host():
    """The captured managed system (patched into System.get) and mocked Neutron RPC."""
    sys_w = test_mappings.system()
    with mock.patch.object(pvm_ms.System, 'get', return_value=[sys_w]) as sys_get, \
            mock.patch('networking_powervm.agent.base.agent_rpc') as rpc, \
            mock.patch('networking_powervm.agent.base.n_context'):
        plugin, state = rpc.PluginApi.return_value, rpc.PluginReportStateAPI.return_value
        plugin.get_devices_details_list.return_value = []
        plugin.update_device_list.return_value = {}

        def relabel(adapter_index, port_index, label):
            adapters = sys_w.asio_config.sriov_adapters
            adapters[adapter_index].phys_ports[port_index].label = label

        yield SimpleNamespace(sys_w=sys_w, sys_get=sys_get, plugin=plugin, state=state,
                              adapter=pvmdata.make_adapter(), relabel=relabel)


def make_agent(host, **agent_opts):
    return sriov_agent.SRIOVAgent(make_conf(**agent_opts), adapter=host.adapter)


@pytest.fixture
def agent(host):
    a = make_agent(host)
    a.setup()
    return a


def reported_configurations(host):
    return host.state.report_state.call_args[0][1]['configurations']


# ------------------------------------------------------------------ options


def test_identity():
    assert (sriov_agent.SRIOVAgent.AGENT_TYPE, sriov_agent.SRIOVAgent.BINARY,
            sriov_agent.SRIOVAgent.VIF_TYPE) == (
        'PowerVM SR-IOV Ethernet agent', 'networking-powervm-sriov-agent', 'pvm_sriov')


def test_capacity_with_five_decimals_refused_before_connecting(host):
    with pytest.raises(sriov_agent.base.ConfigError) as err:
        make_agent(host, vnic_vf_capacity=0.12345)
    assert 'vnic_vf_capacity' in str(err.value) and '0.12345' in str(err.value)
    host.sys_get.assert_not_called()


def test_capacity_with_four_decimals_accepted(host):
    agent = make_agent(host, vnic_vf_capacity=0.1234, vnic_required_vfs=3)
    assert agent.get_configurations() == {pvm_const.CONF_BRIDGE_MAPPINGS: {},
                                          pvm_const.CONF_DEFAULT_REDUNDANCY: 3,
                                          pvm_const.CONF_DEFAULT_CAPACITY: 0.1234}


@pytest.mark.parametrize('line', ['vnic_vf_capacity = 1.5', 'vnic_required_vfs = 0',
                                  'vnic_required_vfs = two'])
def test_out_of_range_values_from_file_refused(tmp_path, line):
    conf = conf_from_file(tmp_path, f'[AGENT]\n{line}\n')
    with pytest.raises(pvm_config.InvalidOption) as err:
        pvm_config.validate(conf)
    assert f'Invalid [agent] {line}: ' in str(err.value)


@pytest.mark.parametrize('line, shown, reason', [
    # oslo.config's range check passes NaN, an empty IntOpt is None, and a float
    # prints 0.00001 as 1e-05: the message shows what the file says.
    ('vnic_vf_capacity = nan', 'vnic_vf_capacity = nan', 'not a number'),
    ('vnic_vf_capacity = 0.00001', 'vnic_vf_capacity = 0.00001', 'at most 4 decimal places'),
    ('vnic_vf_capacity = 0.123450', 'vnic_vf_capacity = 0.123450',
     'at most 4 decimal places'),
    ('vnic_required_vfs =', "vnic_required_vfs = ''", 'must be an integer of at least 1'),
])
def test_values_oslo_lets_through_refused_naming_the_text(tmp_path, line, shown, reason):
    conf = conf_from_file(tmp_path, f'[AGENT]\n{line}\n')
    with pytest.raises(pvm_config.InvalidOption) as err:
        pvm_config.validate(conf)
    assert f'Invalid [agent] {shown}: {reason}' in str(err.value)


def test_trailing_zero_within_four_decimals_accepted(tmp_path):
    conf = conf_from_file(tmp_path, '[AGENT]\nvnic_vf_capacity = 0.12340\n')
    pvm_config.validate(conf)
    assert conf.AGENT.vnic_vf_capacity == 0.1234


# ------------------------------------------------------------------ mappings


def test_setup_reads_mappings_and_heartbeat_carries_them(agent, host):
    agent.report_state()
    state = host.state.report_state.call_args[0][1]
    assert state['agent_type'] == pvm_const.AGENT_TYPE_PVM_SRIOV
    assert state['binary'] == pvm_const.AGENT_BINARY_SRIOV
    assert state['configurations'] == {pvm_const.CONF_BRIDGE_MAPPINGS: {'default': ALL_PORTS},
                                       pvm_const.CONF_DEFAULT_REDUNDANCY: 2,
                                       pvm_const.CONF_DEFAULT_CAPACITY: None}


def test_setup_survives_rest_error(agent, host):
    host.sys_get.side_effect = pvm_exc.Error('REST down')
    agent.setup()  # logged, not raised: the heal loop retries
    assert agent.mappings == {'default': ALL_PORTS}


def config_change_event(as_dict=False):
    detail = pvm_const.SRIOV_PORT_CONFIG_CHANGE
    href = 'https://h:12443/rest/api/uom/ManagedSystem/95329c84-9a01-330f-809e-2e5577110d1e'
    if as_dict:
        return {'etype': 'MODIFY_URI', 'data': href, 'detail': detail}
    return pvm_evt.Event.bld(None, href, detail)


def test_config_change_event_refreshes_and_reports(agent, host):
    host.relabel(0, 0, 'prod')
    assert agent.handle_other_event(config_change_event())
    want = {'prod': ALL_PORTS[:1], 'default': ALL_PORTS[1:]}
    assert reported_configurations(host)[pvm_const.CONF_BRIDGE_MAPPINGS] == want
    assert agent.mappings == want


def test_config_change_dict_event_with_other_details(agent, host):
    host.relabel(1, 3, 'backup')
    event = config_change_event(as_dict=True)
    event['detail'] = 'Other.Change,' + event['detail']
    assert agent.handle_other_event(event)
    assert reported_configurations(host)[pvm_const.CONF_BRIDGE_MAPPINGS]['backup'] == \
        ALL_PORTS[-1:]


def test_unchanged_mappings_not_rereported(agent, host):
    assert agent.handle_other_event(config_change_event())
    host.state.report_state.assert_not_called()


def test_other_events_ignored(agent, host):
    host.sys_get.reset_mock()
    for event in (pvm_evt.Event.bld(None, LPAR_HREF, 'RMCState'),
                  {'etype': 'ADD_URI', 'data': LPAR_HREF, 'detail': None}, object()):
        assert not agent.handle_other_event(event)
    host.sys_get.assert_not_called()


def test_config_change_rest_error_keeps_mappings(agent, host):
    host.sys_get.side_effect = pvm_exc.Error('REST down')
    assert agent.handle_other_event(config_change_event())
    assert agent.mappings == {'default': ALL_PORTS}
    host.state.report_state.assert_not_called()


def test_port_update_refreshes(agent, host):
    host.relabel(0, 1, 'prod')
    agent.port_update(None, port={'id': 'p-1', 'binding:host_id': 'host1'})
    assert reported_configurations(host)[pvm_const.CONF_BRIDGE_MAPPINGS]['prod'] == \
        [ALL_PORTS[1]]


def test_port_update_for_other_host_ignored(agent, host):
    host.relabel(0, 1, 'prod')
    host.sys_get.reset_mock()
    agent.port_update(None, port={'id': 'p-1', 'binding:host_id': 'host2'})
    host.sys_get.assert_not_called()
    assert agent.mappings == {'default': ALL_PORTS}


def test_full_resync_schedules_heal(agent):
    assert not agent._heal_now.is_set()
    agent.full_resync()
    assert agent._heal_now.is_set()


# ------------------------------------------------------------------ VIF events


def vif_event_wrapper(action, mac='AE7A25E59A07', vif_type='pvm_sriov'):
    detail = json.dumps({'provider': pvm_const.EVENT_PROVIDER_NOVA_PVM_VIF, 'action': action,
                         'mac': mac, 'type': vif_type})
    event = pvm_evt.Event.bld(None, LPAR_HREF, detail)
    event.set_parm_value('EventType', pvm_evt.EventType.CUSTOM_CLIENT_EVENT)
    return event


def test_plug_event_of_our_type_queued(agent):
    pvm_events.AgentEventHandler(agent).process([vif_event_wrapper('plug')])
    (req,) = agent.queue.pending
    assert (req.action, req.mac, req.origin) == ('plug', 'ae:7a:25:e5:9a:07', prov.Origin.EVENT)
    assert req.lpar_uuid == '089FFB20-5D19-4A8C-BB80-13650627D985'


def test_sea_event_not_queued(agent):
    pvm_events.AgentEventHandler(agent).process([vif_event_wrapper('plug', vif_type='pvm_sea')])
    assert agent.queue.pending == []


def test_unplug_cancels_pending_plug(agent):
    pvm_events.AgentEventHandler(agent).process([vif_event_wrapper('plug'),
                                                 vif_event_wrapper('unplug')])
    (req,) = agent.queue.pending
    assert req.action == 'unplug'


def test_plug_marks_known_port_up(agent, host):
    host.plugin.get_devices_details_list.return_value = [known(VNIC_MACS[0])]
    outcome = agent.provision([request('plug', VNIC_MACS[0])])
    host.plugin.update_device_list.assert_called_once_with(
        agent.context, [VNIC_MACS[0]], [], agent.agent_id, 'host1')
    assert outcome == prov.Outcome(up={VNIC_MACS[0]})


def test_plug_of_unknown_port_waits(agent, host):
    host.plugin.get_devices_details_list.return_value = [known(VNIC_MACS[0]),
                                                         {'device': VNIC_MACS[1]}]
    outcome = agent.provision([request('plug', VNIC_MACS[0]), request('plug', VNIC_MACS[1])])
    host.plugin.update_device_list.assert_called_once_with(
        agent.context, [VNIC_MACS[0]], [], agent.agent_id, 'host1')
    assert [r.mac for r in outcome.waiting] == [VNIC_MACS[1]]


def test_unplug_marks_port_down(agent, host):
    agent.provision([request('unplug', VNIC_MACS[1])])
    host.plugin.update_device_list.assert_called_once_with(
        agent.context, [], [VNIC_MACS[1]], agent.agent_id, 'host1')
    host.plugin.get_devices_details_list.assert_not_called()


def test_rpc_failure_retried_by_the_base(agent, host):
    host.plugin.update_device_list.side_effect = [RuntimeError('MessagingTimeout'), {}]
    agent.queue.add(request('unplug', VNIC_MACS[1]))
    agent.start_thread('provision', agent.provision_loop)
    try:
        for _ in range(200):
            if host.plugin.update_device_list.call_count >= 2:
                break
            agent.wait(0.05)
    finally:
        agent.stop()
    for thread in agent.workers.threads:
        thread.join(10)
        assert not thread.is_alive()
    assert host.plugin.update_device_list.call_args_list == 2 * [
        mock.call(agent.context, [], [VNIC_MACS[1]], agent.agent_id, 'host1')]


# ------------------------------------------------------------------ heal


@pytest.fixture
def partitions(host):
    """Three captured partitions: the first has the captured vNICs, the second vanishes."""
    lpars = pvmdata.lpars()[:3]
    vnics = pvmdata.load('vnic_feed.txt', pvm_card.VNIC)

    def vnic_get(adapter, parent_type=None, parent_uuid=None):
        if parent_uuid == lpars[0].uuid:
            return vnics
        if parent_uuid == lpars[1].uuid:
            raise pvm_exc.HttpError(mock.Mock(status=404))
        return []

    with mock.patch.object(pvm_lpar.LPAR, 'get', return_value=lpars), \
            mock.patch.object(pvm_card.VNIC, 'get', side_effect=vnic_get) as get:
        yield SimpleNamespace(lpars=lpars, vnic_get=get)


def test_heal_marks_vnics_up_and_ports_whose_vnic_is_gone_down(agent, host, partitions):
    """Neutron binds here a port of the first vNIC (DOWN) and one with no vNIC (ACTIVE:
    its unplug event was lost)."""
    host.plugin.get_ports_by_vnic_type_and_host.return_value = [
        {'id': 'p1', 'mac_address': VNIC_MACS[0], 'status': 'DOWN'},
        {'id': 'p2', 'mac_address': 'fa:16:3e:99:99:99', 'status': 'ACTIVE'}]
    agent.heal()
    for lpar in partitions.lpars:
        partitions.vnic_get.assert_any_call(host.adapter, parent_type=pvm_lpar.LPAR,
                                            parent_uuid=lpar.uuid)
    host.plugin.get_ports_by_vnic_type_and_host.assert_called_once_with(
        agent.context, 'direct', 'host1')
    assert host.plugin.update_device_list.call_args_list == [
        mock.call(agent.context, [VNIC_MACS[0]], [], agent.agent_id, 'host1'),
        mock.call(agent.context, [], ['fa:16:3e:99:99:99'], agent.agent_id, 'host1')]


def test_heal_leaves_ports_whose_status_is_right_alone(agent, host, partitions):
    host.plugin.get_ports_by_vnic_type_and_host.return_value = [
        {'id': 'p1', 'mac_address': VNIC_MACS[0], 'status': 'ACTIVE'},
        {'id': 'p2', 'mac_address': 'fa:16:3e:99:99:99', 'status': 'DOWN'}]
    agent.heal()
    host.plugin.update_device_list.assert_not_called()
    host.plugin.get_devices_details_list.assert_not_called()


def test_an_unplug_during_the_heal_scan_wins(agent, host, partitions):
    """The heal saw the vNIC; its unplug came (and was provisioned) during the scan."""
    host.plugin.get_ports_by_vnic_type_and_host.return_value = [
        {'id': 'p1', 'mac_address': VNIC_MACS[0], 'status': 'DOWN'}]
    vnic_get = partitions.vnic_get.side_effect

    def unplug_during_scan(*args, **kwargs):
        vnics = vnic_get(*args, **kwargs)
        if vnics and not agent.queue.pending:
            agent.handle_vif_event(vif_event.VifEvent('unplug', VNIC_MACS[0], 'pvm_sriov',
                                                      LPAR_HREF))
            agent.provision(agent.queue.drain(0))
        return vnics

    partitions.vnic_get.side_effect = unplug_during_scan
    agent.heal()
    assert host.plugin.update_device_list.call_args_list == [
        mock.call(agent.context, [], [VNIC_MACS[0]], agent.agent_id, 'host1')]


def test_heal_refreshes_mappings(agent, host, partitions):
    host.relabel(1, 0, 'prod')
    agent.heal()
    assert agent.mappings['prod'] == [test_mappings.C9[0]]
    assert reported_configurations(host)[pvm_const.CONF_BRIDGE_MAPPINGS]['prod'] == \
        [test_mappings.C9[0]]


def test_heal_without_known_ports(agent, host, partitions):
    agent.heal()
    host.plugin.update_device_list.assert_not_called()


def test_heal_without_vnics(agent, host, partitions):
    partitions.vnic_get.side_effect = None
    partitions.vnic_get.return_value = []
    agent.heal()
    host.plugin.get_devices_details_list.assert_not_called()


def test_heal_rest_error_propagates_for_retry(agent, host, partitions):
    host.sys_get.side_effect = pvm_exc.Error('REST down')
    with pytest.raises(pvm_exc.Error):
        agent.heal()
