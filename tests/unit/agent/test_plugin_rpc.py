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

"""plugin_rpc: the same messages on the wire as neutron's own agent RPC client."""

from __future__ import annotations

import subprocess
import sys
from unittest import mock

import pytest
from neutron.agent import rpc as neutron_agent_rpc
from neutron.conf.agent import common as agent_common
from neutron_lib.agent import topics
from oslo_config import cfg

from networking_powervm.agent import plugin_rpc

CTX = object()


def sent(module, build, use):
    """(targets, prepare kwargs, calls) one client of ``module`` makes."""
    with mock.patch.object(module.lib_rpc, 'get_client') as get_client, \
            mock.patch.object(plugin_rpc.uuidutils, 'generate_uuid', return_value='u'), \
            mock.patch.object(neutron_agent_rpc.uuidutils, 'generate_uuid', return_value='u'), \
            mock.patch.object(plugin_rpc.timeutils, 'utcnow') as now1, \
            mock.patch.object(neutron_agent_rpc.timeutils, 'utcnow') as now2:
        for now in (now1, now2):
            now.return_value.strftime.return_value = '2026-12-05T00:00:00.000000'
        client = get_client.return_value
        client.prepare.return_value.call.return_value = {}
        use(build(module))
        target = get_client.call_args.args[0]
        return ((target.topic, target.version, target.namespace),
                client.prepare.call_args_list,
                client.prepare.return_value.method_calls)


@pytest.mark.parametrize('use', [
    lambda api: api.get_devices_details_list(CTX, ['fa:16:3e:00:00:01'], 'agent-1', 'h1'),
    lambda api: api.get_network_details(CTX, 'net-1', 'agent-1', 'h1'),
    lambda api: api.update_device_list(CTX, ['fa:16:3e:00:00:01'], ['fa:16:3e:00:00:02'],
                                       'agent-1', 'h1'),
    lambda api: api.get_ports_by_vnic_type_and_host(CTX, 'normal', 'h1'),
], ids=['details', 'network', 'update_device_list', 'bound_ports'])
def test_plugin_calls_match_neutrons_client(use):
    cfg.CONF.set_override('rpc_resources_processing_step', 20)  # neutron's own chunking
    try:
        ours = sent(plugin_rpc, lambda m: m.PluginApi(topics.PLUGIN), use)
        theirs = sent(neutron_agent_rpc, lambda m: m.PluginApi(topics.PLUGIN), use)
    finally:
        cfg.CONF.clear_override('rpc_resources_processing_step')
    assert ours == theirs


@pytest.mark.parametrize('use_call', [True, False])
def test_report_state_matches_neutrons_client(use_call):
    def report(api):
        api.report_state(CTX, {'binary': 'b', 'host': 'h1'}, use_call)

    ours = sent(plugin_rpc, lambda m: m.PluginReportStateAPI(topics.REPORTS, 30), report)
    agent_common.register_agent_state_opts_helper(cfg.CONF)  # neutron's client reads it
    cfg.CONF.set_override('report_interval', 30, 'AGENT')
    try:
        theirs = sent(neutron_agent_rpc, lambda m: m.PluginReportStateAPI(topics.REPORTS),
                      report)
    finally:
        cfg.CONF.clear_override('report_interval', 'AGENT')
    assert ours == theirs


def test_consumers_match_neutrons():
    topic_details = [[topics.PORT, topics.UPDATE]]
    with mock.patch.object(plugin_rpc.lib_rpc, 'Connection') as ours:
        plugin_rpc.create_consumers(['endpoint'], topics.AGENT, topic_details, False)
    with mock.patch.object(neutron_agent_rpc.lib_rpc, 'Connection') as theirs:
        neutron_agent_rpc.create_consumers(['endpoint'], topics.AGENT, topic_details, False)
    assert ours.mock_calls == theirs.mock_calls
    assert ours.return_value.create_consumer.call_args.args[0] == 'q-agent-notifier-port-update'


def test_the_agents_do_not_import_neutrons_agent_rpc_or_objects():
    code = ("import sys, networking_powervm.cmd.sea_agent, networking_powervm.cmd.sriov_agent;"
            "print(sorted(m for m in ('neutron.agent.rpc', 'neutron.objects') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == '[]'
