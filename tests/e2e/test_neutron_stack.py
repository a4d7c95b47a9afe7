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

"""The real Neutron stack: ML2 loads our drivers, binds over real agent state from RPC."""

from __future__ import annotations

import concurrent.futures
import configparser
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from networking_powervm.common import constants as pvm_const
from powervm_testbed.neutron_client import NeutronApiError, NeutronClient
from powervm_testbed.neutron_stack import AgentStateReporter, NeutronStack, write_policy

SEA_MAPPINGS = {'default': 'ent8'}
SRIOV_PORTS = ['U78C7.001.RCH0004-P1-C8-T1', 'U78C7.001.RCH0004-P1-C8-T2']


def _host(prefix: str) -> str:
    return f'{prefix}-{uuid.uuid4().hex[:8]}'


def _report_sea(reporter: AgentStateReporter, host: str) -> None:
    reporter.report(host, pvm_const.AGENT_TYPE_PVM_SEA, pvm_const.AGENT_BINARY_SEA,
                    {pvm_const.CONF_BRIDGE_MAPPINGS: SEA_MAPPINGS}, start_flag=True)


def test_ml2_registered_our_mechanism_drivers(neutron_stack: NeutronStack) -> None:
    for log in (neutron_stack.rpc_log, neutron_stack.api_log):
        lines = [ln for ln in log.read_text().splitlines()
                 if 'Registered mechanism drivers' in ln]
        assert lines, f'no "Registered mechanism drivers" line in {log}'
        assert "'pvm_sea'" in lines[-1] and "'pvm_sriov'" in lines[-1], lines[-1]


def test_vlan_network_on_physnet_default(neutron: NeutronClient) -> None:
    net = neutron.create_network('sea-net', physnet='default')
    assert net['provider:network_type'] == 'vlan'
    assert net['provider:physical_network'] == 'default'
    assert pvm_const.MIN_VLAN <= net['provider:segmentation_id'] <= pvm_const.MAX_VLAN
    assert neutron.get_network(net['id'])['id'] == net['id']
    assert net['project_id'] == neutron.project_id


def test_unknown_physnet_is_refused(neutron: NeutronClient) -> None:
    with pytest.raises(NeutronApiError) as err:
        neutron.create_network('bad', physnet='nosuchnet', segmentation_id=10)
    assert err.value.status == 400
    assert 'nosuchnet' in err.value.body


def test_port_on_host_without_agent_fails_binding(neutron: NeutronClient) -> None:
    net = neutron.create_network('no-agent-net', physnet='default', segmentation_id=101)
    port = neutron.create_port(net['id'], host_id='no-agent-host')
    assert port['binding:host_id'] == 'no-agent-host'
    assert port['binding:vif_type'] == 'binding_failed'
    assert port['status'] == 'DOWN'
    neutron.delete_port(port['id'])
    with pytest.raises(NeutronApiError) as err:
        neutron.get_port(port['id'])
    assert err.value.status == 404


def test_reported_agent_is_alive_in_api(neutron: NeutronClient,
                                        agent_reporter: AgentStateReporter) -> None:
    host = _host('sea-host')
    _report_sea(agent_reporter, host)
    agent = neutron.wait_for_agent(host, pvm_const.AGENT_TYPE_PVM_SEA, timeout=10)
    assert agent['alive'] is True
    assert agent['binary'] == pvm_const.AGENT_BINARY_SEA
    assert agent['configurations'][pvm_const.CONF_BRIDGE_MAPPINGS] == SEA_MAPPINGS


def test_port_binds_pvm_sea_to_live_agent(neutron: NeutronClient,
                                          agent_reporter: AgentStateReporter) -> None:
    host = _host('sea-host')
    _report_sea(agent_reporter, host)
    net = neutron.create_network('sea-bind-net', physnet='default', segmentation_id=1234)
    port = neutron.create_port(net['id'], host_id=host, device_owner='compute:nova',
                               device_id=str(uuid.uuid4()))
    assert port['binding:vif_type'] == pvm_const.VIF_TYPE_PVM_SEA
    assert port['binding:vif_details']['vlan'] == '1234'
    assert port['binding:vnic_type'] == 'normal'
    # Persisted, not only in the create answer.
    assert neutron.get_port(port['id'])['binding:vif_type'] == pvm_const.VIF_TYPE_PVM_SEA


def test_sea_agent_without_the_physnet_fails_binding(
        neutron: NeutronClient, agent_reporter: AgentStateReporter) -> None:
    host = _host('sea-host')
    _report_sea(agent_reporter, host)  # maps only 'default'
    net = neutron.create_network('physnet1-net', physnet='physnet1', segmentation_id=200)
    port = neutron.create_port(net['id'], host_id=host)
    assert port['binding:vif_type'] == 'binding_failed'


def test_direct_port_binds_pvm_sriov_to_live_agent(
        neutron: NeutronClient, agent_reporter: AgentStateReporter) -> None:
    host = _host('sriov-host')
    agent_reporter.report(host, pvm_const.AGENT_TYPE_PVM_SRIOV, pvm_const.AGENT_BINARY_SRIOV,
                          {pvm_const.CONF_BRIDGE_MAPPINGS: {'default': SRIOV_PORTS}},
                          start_flag=True)
    net = neutron.create_network('sriov-net', physnet='default', segmentation_id=300)
    port = neutron.create_port(net['id'], host_id=host, vnic_type='direct')
    assert port['binding:vif_type'] == pvm_const.VIF_TYPE_PVM_SRIOV
    details = port['binding:vif_details']
    assert details['vlan'] == '300'
    assert details[pvm_const.PHYSICAL_PORTS] == SRIOV_PORTS
    assert details[pvm_const.REDUNDANCY] == 1


def test_rebinding_to_agent_host_after_failure(neutron: NeutronClient,
                                               agent_reporter: AgentStateReporter) -> None:
    net = neutron.create_network('rebind-net', physnet='default', segmentation_id=400)
    port = neutron.create_port(net['id'], host_id='no-agent-host')
    assert port['binding:vif_type'] == 'binding_failed'
    host = _host('sea-host')
    _report_sea(agent_reporter, host)
    port = neutron.bind_port(port['id'], host)
    assert port['binding:host_id'] == host
    assert port['binding:vif_type'] == pvm_const.VIF_TYPE_PVM_SEA
    assert port['binding:vif_details']['vlan'] == '400'


def test_agent_config_points_agents_at_the_stack(neutron_stack: NeutronStack) -> None:
    path = neutron_stack.agent_config('cfg-host', {
        'AGENT': {'bridge_mappings': {'default': 'ent8', 'physnet1': 'ent9'},
                  'report_interval': 2},
        'powervm': {'base_url': 'https://127.0.0.1:12443'}})
    parser = configparser.ConfigParser()
    parser.read(path)
    assert parser['DEFAULT']['transport_url'] == neutron_stack.transport_url
    assert parser['DEFAULT']['host'] == 'cfg-host'
    assert parser['AGENT']['report_interval'] == '2'  # extra overrides the default
    assert parser['AGENT']['bridge_mappings'] == 'default:ent8,physnet1:ent9'
    assert parser['powervm']['base_url'] == 'https://127.0.0.1:12443'
    assert Path(parser['oslo_concurrency']['lock_path']).is_dir()
    default_interval = configparser.ConfigParser()
    default_interval.read(neutron_stack.agent_config('cfg-host-2'))
    assert int(default_interval['AGENT']['report_interval']) * 2 < neutron_stack.agent_down_time


def test_openstack_cli_lists_agents_with_the_printed_environment(
        neutron_stack: NeutronStack, agent_reporter: AgentStateReporter) -> None:
    """The ``export OS_CLOUD=... OS_CLIENT_CONFIG_FILE=...`` line the demo prints works."""
    host = _host('cli-host')
    _report_sea(agent_reporter, host)
    line = neutron_stack.os_cloud_env()
    assert line.startswith('export ')
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(kv.split('=', 1) for kv in line.removeprefix('export ').split())
    openstack = str(Path(sys.executable).parent / 'openstack')
    res = subprocess.run([openstack, 'network', 'agent', 'list', '--host', host, '-f', 'json'],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [(r['Host'], r['Agent Type'], r['Alive']) for r in rows] == [
        (host, pvm_const.AGENT_TYPE_PVM_SEA, True)]


def test_policy_overrides_reference_no_rule(tmp_path: Path) -> None:
    """The noauth policy file stands on its own: no enforcer state can leave it undefined."""
    path = tmp_path / 'policy.yaml'
    write_policy(path)
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    enforcer = oslo_policy.Enforcer(conf, policy_file=str(path))
    enforcer.load_rules(True)  # no defaults registered, as at a worker's first requests
    assert set(enforcer.rules) == {'create_port:binding:profile',
                                   'update_port:binding:profile'}
    assert enforcer.check_rules(raise_on_violation=True)


def test_admin_creates_right_after_an_api_worker_respawn(neutron_stack: NeutronStack) -> None:
    """Concurrent first requests of a new API worker are all authorized (issue 11, point 9)."""
    # A worker boots for seconds to a minute on a busy 2-core box: a generous timeout.
    clients = [NeutronClient(neutron_stack.api_url, project_id=f'p-{uuid.uuid4().hex[:8]}',
                             timeout=240)
               for _ in range(6)]
    for client in clients:
        client.list_networks(name='warm-up')  # tokens and endpoints before the respawn
    master = psutil.Process(neutron_stack.describe()['pids']['neutron-api'])
    old = {w.pid for w in master.children()}
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    NeutronClient.wait_for(lambda: {w.pid for w in master.children()} - old, bool,
                           timeout=60, what='a new neutron API worker')

    def create(client: NeutronClient) -> dict:
        return client.create_network('after-respawn', physnet='default')

    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        nets = list(pool.map(create, clients))
    assert [n['provider:physical_network'] for n in nets] == ['default'] * len(clients)
    log = neutron_stack.api_log.read_text(errors='replace')
    assert 'reference a rule that is not defined' not in log
    for client in clients:
        client.close()
