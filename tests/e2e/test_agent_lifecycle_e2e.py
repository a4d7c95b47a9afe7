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

"""The agents' service lifecycle with real processes: SIGUSR2 writes a Guru
Meditation Report, SIGHUP reloads mutable options and reopens the log file
without dropping queued provisioning, RPC timeouts back off (neutron's
rpc_response_max_timeout registered) while the RPC server does not answer,
and SIGINT stops cleanly within seconds."""

from __future__ import annotations

import configparser
import contextlib
import signal
import time
from collections.abc import Iterator

import psutil
import pytest

from powervm_testbed.neutron_stack import NeutronStack
from tests.e2e.sea_fixtures import (
    NO_PERIODIC_HEAL,
    SeaEnv,
    create_lpar,
    plug,
    sea_environment,
    wait_until,
)

# neutron-lib's BackingOffClient, on a MessagingTimeout.
BACKOFF_WAIT = 'Waiting for'
BACKOFF_INCREASE = 'Increasing timeout for'


@pytest.fixture(scope='module')
def env(neutron_stack: NeutronStack,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaEnv]:
    """One SEA agent whose RPC calls time out after 5 s; no periodic heal."""
    with sea_environment(neutron_stack, tmp_path_factory.mktemp('sea-lifecycle'), 'single',
                         default_opts={'rpc_response_timeout': 5},
                         heal_and_optimize_interval=NO_PERIODIC_HEAL) as sea_env:
        yield sea_env


def _out(env: SeaEnv) -> str:
    return env.agent.out_file.read_text(errors='replace')


def _set_option(env: SeaEnv, section: str, name: str, value: object) -> None:
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(env.agent.config_file)
    parser.set(section, name, str(value))
    with open(env.agent.config_file, 'w') as f:
        parser.write(f)


def test_resolved_bridges_logged_at_info_at_startup(env: SeaEnv) -> None:
    [bridge] = [line for line in env.agent.log_text().splitlines()
                if 'Bridge mapping: physical network' in line]
    assert ' INFO ' in bridge
    assert 'physical network default -> SEA ent8 (Network Bridge ' in bridge


def test_sigusr2_writes_a_guru_meditation_report(env: SeaEnv) -> None:
    before = _out(env).count('Guru Meditation')
    env.agent.signal(signal.SIGUSR2)
    wait_until(lambda: _out(env).count('Guru Meditation') > before, 'a GMR on stderr',
               timeout=20)
    report = _out(env).rsplit('Guru Meditation', 1)[1]
    assert 'Threads' in report and 'Configuration' in report
    assert 'heal_and_optimize_interval' in report
    assert env.sim.password not in report  # secret options are masked
    time.sleep(1)
    assert env.agent.running


def test_sighup_reloads_and_reopens_logs_keeping_queued_provisioning(env: SeaEnv) -> None:
    pid = env.agent.pid
    net = env.network(2401)
    vlan = net['provider:segmentation_id']
    lpar = create_lpar(env.adapter)
    port = env.port(net)
    before = sum(env.sim.admin('GET', 'fault')['injected'].values())
    # The next bridge updates fail: the plug stays queued, retried.
    env.sim.admin('POST', 'fault', kind='503', count=4, scope='writes',
                  resource='NetworkBridge')
    plug(env.adapter, env.host_uuid, lpar, port['mac_address'], vlan)
    wait_until(lambda: sum(env.sim.admin('GET', 'fault')['injected'].values()) > before,
               'the agent hit the fault (the plug is queued)', timeout=120)

    # logrotate: move the file away, then SIGHUP; and a mutable option changed.
    log = env.agent.log_file
    rotated = log.with_name(log.name + '.1')
    log.rename(rotated)
    _set_option(env, 'AGENT', 'exception_interval', 2)
    env.agent.signal(signal.SIGHUP)

    wait_until(lambda: log.exists() and 'Configuration reloaded' in log.read_text(),
               'the reload logged in a reopened log file', timeout=20)
    assert 'exception_interval' in log.read_text()  # oslo.config logs the change
    env.wait_status(port['id'], 'ACTIVE', timeout=90)  # the queued plug was not dropped
    env.wait_vlans(present={vlan})
    assert env.agent.pid == pid and env.agent.running
    assert 'Traceback' not in log.read_text(), env.agent.log_tail()


@contextlib.contextmanager
def _rpc_server_stopped(stack: NeutronStack) -> Iterator[None]:
    """SIGSTOP the neutron RPC server (and its workers): calls time out until SIGCONT."""
    parent = psutil.Process(stack._procs['neutron-rpc-server'].pid)
    procs = [parent, *parent.children(recursive=True)]
    for proc in procs:
        proc.suspend()
    try:
        yield
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.resume()


def test_rpc_timeouts_back_off(env: SeaEnv, neutron_stack: NeutronStack) -> None:
    log = env.agent.log_file
    net = env.network(2451)
    vlan = net['provider:segmentation_id']
    lpar = create_lpar(env.adapter)
    port = env.port(net)
    start = len(log.read_text())
    with _rpc_server_stopped(neutron_stack):
        # The plug makes the agent ask Neutron for the port's details: no answer.
        plug(env.adapter, env.host_uuid, lpar, port['mac_address'], vlan)
        wait_until(lambda: f'{BACKOFF_INCREASE} get_devices_details_list' in
                   log.read_text()[start:], 'the RPC client increased its timeout',
                   timeout=150)
    new = log.read_text()[start:]
    assert BACKOFF_WAIT in new
    assert 'NoSuchOptError' not in new
    # The server answers again: the plug completes, heartbeats get through.
    env.wait_status(port['id'], 'ACTIVE', timeout=180)
    beat = env.agent_row()['heartbeat_timestamp']
    wait_until(lambda: env.agent_row()['heartbeat_timestamp'] != beat,
               'a heartbeat after the RPC server came back', timeout=90)
    assert env.agent.running


def test_sigint_stops_within_seconds_without_a_traceback(env: SeaEnv) -> None:
    out_before = len(_out(env))
    t0 = time.monotonic()
    env.agent.signal(signal.SIGINT)
    code = env.agent.wait_exit(timeout=10)
    assert code == 0, env.agent.log_tail()
    # The stop is bounded by base.SHUTDOWN_TIMEOUT (3 s) whatever the threads are doing.
    assert time.monotonic() - t0 < 5
    log = env.agent.log_text()
    assert 'SIGINT received' in log
    text = log.split('SIGINT received')[-1] + _out(env)[out_before:]
    assert 'KeyboardInterrupt' not in text and 'CRITICAL' not in text
    assert 'Traceback' not in text
