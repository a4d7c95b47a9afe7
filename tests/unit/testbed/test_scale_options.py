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

"""NeutronStack's RPC worker options and the fault campaign's agent configs (no processes)."""

from __future__ import annotations

import configparser
from pathlib import Path

from networking_powervm.common import constants as const
from powervm_testbed import fault_campaign as fc
from powervm_testbed.neutron_stack import NeutronStack


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return parser


def test_rpc_worker_options_reach_neutron_conf(tmp_path):
    stack = NeutronStack(tmp_path, auth='noauth', rpc_workers=2, rpc_state_report_workers=1)
    stack.write_configs()
    conf = _ini(stack.neutron_conf)
    assert conf['DEFAULT']['rpc_workers'] == '2'
    assert conf['DEFAULT']['rpc_state_report_workers'] == '1'
    assert stack.pids() == [] and stack.pids('neutron-rpc-server') == []


def test_default_rpc_workers_are_one_and_no_state_report_worker(tmp_path):
    stack = NeutronStack(tmp_path, auth='noauth')
    stack.write_configs()
    conf = _ini(stack.neutron_conf)
    assert (conf['DEFAULT']['rpc_workers'], conf['DEFAULT']['rpc_state_report_workers']) == (
        '1', '0')


class _Sim:
    host, port, protocol, user, password = '127.0.0.1', 12345, 'http', 'u', 'p'


def test_host_agents_write_one_config_per_agent_of_the_host(tmp_path):
    stack = NeutronStack(tmp_path, auth='noauth')
    stack.write_configs()
    agents = fc.host_agents(stack, 'scale-h01', fc.agent_sections(_Sim(), 30, report_interval=7),
                            binaries={fc.inv.SEA: '/bin/true'})
    assert set(agents) == {fc.inv.SEA, fc.inv.SRIOV}
    sea, sriov = agents[fc.inv.SEA], agents[fc.inv.SRIOV]
    assert sea.binary == '/bin/true' and sriov.binary.endswith('networking-powervm-sriov-agent')
    assert (sea.agent_type, sriov.agent_type) == (const.AGENT_TYPE_PVM_SEA,
                                                  const.AGENT_TYPE_PVM_SRIOV)
    assert sea.config_file != sriov.config_file and sea.log_file != sriov.log_file
    for proc in agents.values():
        conf = _ini(proc.config_file)
        assert conf['DEFAULT']['host'] == 'scale-h01'
        assert conf['AGENT']['heal_and_optimize_interval'] == '30'
        assert conf['AGENT']['report_interval'] == '7'
        assert conf['powervm']['port'] == '12345'
        assert not proc.running
