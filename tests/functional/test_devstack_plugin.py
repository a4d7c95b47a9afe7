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

"""The devstack plugin, sourced as stack.sh does with devstack's helpers stubbed:
the configuration it writes, the processes it starts, and its simulator mode
against a real powervm-sim the agents' own session logs on to."""

from __future__ import annotations

import configparser
import os
import pathlib
import socket
import stat
import subprocess
import sys
import time

import pytest
from oslo_config import cfg
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net

from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import session as pvm_session

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent

# devstack's helpers, reduced to what the plugin calls; run_process really starts
# the process (in the background, pid in $PIDS) and records its command line.
STUBS = r'''
set -eu
function is_service_enabled {
    local s
    for s in "$@"; do [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0; done
    return 1
}
function trueorfalse {
    local v=${!2:-$1}
    case "$v" in [Tt]rue|1|[Yy]es|on) echo True;; *) echo False;; esac
}
function echo_summary { echo "summary: $*" >> "$CALLS"; }
function die { echo "die: $*" >&2; exit 1; }
function sudo { "$@"; }
function setup_develop { echo "setup_develop $*" >> "$CALLS"; }
function iniset { "$PY" "$INI" set "$@"; }
function iniget { "$PY" "$INI" get "$@"; }
function run_process {
    echo "run_process $1 $2" >> "$CALLS"
    if [[ "$1" == pvm-sim ]]; then
        bash -c "exec $2" > "$PIDS/$1.log" 2>&1 &
        echo $! > "$PIDS/$1.pid"
    fi
}
function stop_process {
    echo "stop_process $1" >> "$CALLS"
    if [[ -f "$PIDS/$1.pid" ]]; then
        kill "$(cat "$PIDS/$1.pid")"
        rm -f "$PIDS/$1.pid"
    fi
}
source "$ROOT/devstack/settings"
for phase in "$@"; do
    source "$ROOT/devstack/plugin.sh" $phase
done
'''

INI_TOOL = r'''
import configparser, sys
op, path, section, option = sys.argv[1:5]
p = configparser.RawConfigParser()
p.optionxform = str
p.read(path)
if op == 'get':
    print(p.get(section, option, fallback=''))
else:
    if not p.has_section(section) and section != 'DEFAULT':
        p.add_section(section)
    p.set(section, option, sys.argv[5])
    with open(path, 'w') as f:
        p.write(f)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def devstack(tmp_path):
    (tmp_path / 'pids').mkdir()
    ini_tool = tmp_path / 'ini.py'
    ini_tool.write_text(INI_TOOL)
    ml2 = tmp_path / 'etc' / 'ml2_conf.ini'
    ml2.parent.mkdir()
    ml2.write_text('[ml2]\nmechanism_drivers = openvswitch\n')
    env = {
        'PATH': os.environ['PATH'], 'HOME': str(tmp_path), 'ROOT': str(ROOT),
        'PY': sys.executable, 'INI': str(ini_tool), 'CALLS': str(tmp_path / 'calls'),
        'PIDS': str(tmp_path / 'pids'), 'DEST': str(tmp_path / 'opt'),
        'DATA_DIR': str(tmp_path / 'data'), 'NEUTRON_BIN_DIR': str(BIN),
        'NETWORKING_POWERVM_DIR': str(ROOT), 'STACK_USER': os.environ.get('USER', 'root'),
        'Q_PLUGIN_CONF_FILE': str(ml2).lstrip('/'),
        'NEUTRON_CONF': str(tmp_path / 'etc' / 'neutron.conf'),
        'PVM_AGENT_CONF': str(tmp_path / 'etc' / 'ml2' / 'networking-powervm.ini'),
        'ENABLED_SERVICES': 'q-svc,pvm-q-sea-agt,pvm-q-sriov-agt',
        'Q_ML2_PLUGIN_MECHANISM_DRIVERS': 'openvswitch',
    }

    def run(*phases: str, **extra: str) -> subprocess.CompletedProcess:
        out = subprocess.run(['bash', '-c', STUBS, 'devstack', *phases],
                             env={**env, **extra}, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out

    yield run, env, tmp_path
    for pid_file in (tmp_path / 'pids').glob('*.pid'):  # a failed test's simulator
        subprocess.run(['kill', pid_file.read_text().strip()], check=False)


def _calls(tmp_path) -> list[str]:
    return (tmp_path / 'calls').read_text().splitlines()


def _ini(path: str) -> configparser.RawConfigParser:
    p = configparser.RawConfigParser()
    p.read(path)
    return p


def test_shell_syntax():
    for name in ('plugin.sh', 'settings'):
        subprocess.run(['bash', '-n', str(ROOT / 'devstack' / name)], check=True)


def test_settings_add_the_mechanism_drivers_of_enabled_agents_once(devstack):
    run, env, _ = devstack
    show = 'source "$ROOT/devstack/settings"; echo "$Q_ML2_PLUGIN_MECHANISM_DRIVERS"'
    script = STUBS.replace('source "$ROOT/devstack/settings"\n', '') + show + '\n' + show
    out = subprocess.run(['bash', '-c', script, 'devstack'], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ['openvswitch,pvm_sea,pvm_sriov'] * 2
    out = subprocess.run(['bash', '-c', script, 'devstack'],
                         env={**env, 'ENABLED_SERVICES': 'q-svc,pvm-q-sriov-agt'},
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['openvswitch,pvm_sriov'] * 2


def test_novalink_mode_configures_ml2_and_the_agents(devstack):
    run, env, tmp_path = devstack
    run('stack install', 'stack post-config', 'stack post-config', 'stack extra',
        PVM_BRIDGE_MAPPINGS='physnet1:ent8:vios1', PVM_REST_HOST='novalink1.example.com',
        PVM_REST_PROTOCOL='https', PVM_REST_USER='neutron', PVM_REST_PASSWORD='pw',
        PVM_REST_CERTPATH='/etc/pvm/certs/')
    ml2 = _ini(str(tmp_path / 'etc' / 'ml2_conf.ini'))
    assert ml2.get('ml2', 'mechanism_drivers') == 'openvswitch,pvm_sea,pvm_sriov'
    agent = _ini(env['PVM_AGENT_CONF'])
    assert dict(agent['agent']) == {'bridge_mappings': 'physnet1:ent8:vios1'}
    assert dict(agent['powervm']) == {'host': 'novalink1.example.com', 'protocol': 'https',
                                      'username': 'neutron', 'password': 'pw',
                                      'certpath': '/etc/pvm/certs/'}
    assert stat.S_IMODE(os.stat(env['PVM_AGENT_CONF']).st_mode) == 0o600
    args = f"--config-file {env['NEUTRON_CONF']} --config-file {env['PVM_AGENT_CONF']}"
    calls = _calls(tmp_path)
    assert f'setup_develop {ROOT}' in calls
    assert f'setup_develop {ROOT}/simulator' not in calls
    assert [c for c in calls if c.startswith('run_process')] == [
        f'run_process pvm-q-sea-agt {BIN}/networking-powervm-sea-agent {args}',
        f'run_process pvm-q-sriov-agt {BIN}/networking-powervm-sriov-agent {args}']


def test_simulator_mode_runs_powervm_sim_that_the_agent_config_logs_on_to(devstack):
    run, env, tmp_path = devstack
    port = _free_port()
    sim = {'PVM_SIMULATOR': 'True', 'PVM_SIM_PORT': str(port), 'PVM_SIM_PASSWORD': 'sim-pw',
           'ENABLED_SERVICES': 'q-svc,pvm-q-sea-agt'}
    run('stack install', 'stack post-config', 'stack extra', **sim)
    calls = _calls(tmp_path)
    assert f'setup_develop {ROOT}/simulator' in calls
    sim_cmd = next(c for c in calls if c.startswith('run_process pvm-sim'))
    assert '--password' not in sim_cmd
    assert [c.split()[1] for c in calls if c.startswith('run_process')] == [
        'pvm-sim', 'pvm-q-sea-agt']

    # The agents' configuration, read and used as the agent does.
    conf = cfg.ConfigOpts()
    pvm_config.register_opts(conf)
    conf(['--config-file', env['PVM_AGENT_CONF']], project='networking-powervm-test')
    assert (conf.powervm.host, conf.powervm.port, conf.powervm.protocol) == (
        '127.0.0.1', port, 'http')
    adapter = pvm_session.build_adapter(conf, tries=1)
    host_uuid = pvm_ms.System.get(adapter)[0].uuid
    bridges = pvm_net.NetBridge.get(adapter, parent_type=pvm_ms.System, parent_uuid=host_uuid)
    assert len(bridges) == 1  # empty bridge_mappings resolves to the one bridge

    run('unstack', **sim)
    assert 'stop_process pvm-sim' in _calls(tmp_path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) != 0:
                break
        time.sleep(0.2)
    else:
        pytest.fail('powervm-sim still listening after unstack')
    run('clean', **sim)
    assert not os.path.exists(env['PVM_AGENT_CONF'])
    assert not (tmp_path / 'data' / 'powervm-sim').exists()
