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

"""e2e fixtures: one real stack (Keystone, Neutron API + RPC server, MariaDB, RabbitMQ) per session.

Environment knobs: ``NPVM_E2E_AUTH`` (keystone | noauth, default keystone),
``NPVM_E2E_MECHANISM_DRIVERS`` (default ``pvm_sea,pvm_sriov``), ``NPVM_E2E_DEBUG=1``.
Missing services make the ``neutron_stack`` fixture fail with what to install.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from powervm_testbed.neutron_client import NeutronClient
from powervm_testbed.neutron_stack import (
    DEFAULT_MECHANISM_DRIVERS,
    AgentStateReporter,
    NeutronStack,
    StackError,
)
from powervm_testbed.services import ServicesError
from tests.e2e.sea_fixtures import NO_PERIODIC_HEAL, SEA_TIMINGS, SeaEnv, sea_environment

_E2E_DIR = Path(__file__).parent
_started: list[NeutronStack] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/e2e carry the ``e2e`` marker (select or deselect with -m)."""
    for item in items:
        if _E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope='session')
def neutron_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NeutronStack]:
    """A started NeutronStack shared by the whole session (stopped and dropped at the end)."""
    stack = NeutronStack(
        tmp_path_factory.mktemp('neutron-stack'),
        mechanism_drivers=os.environ.get('NPVM_E2E_MECHANISM_DRIVERS',
                                         DEFAULT_MECHANISM_DRIVERS),
        debug=os.environ.get('NPVM_E2E_DEBUG') == '1',
        auth=os.environ.get('NPVM_E2E_AUTH', 'keystone'))
    try:
        stack.start()
    except (StackError, ServicesError) as exc:
        pytest.fail(f'the e2e Neutron stack did not start: {exc}', pytrace=False)
    stack.timings['memory_mib'] = stack.memory_rss_mb()
    _started.append(stack)
    try:
        yield stack
    finally:
        t0 = time.monotonic()
        stack.stop()
        stack.timings['stop'] = time.monotonic() - t0


@pytest.fixture
def neutron(neutron_stack: NeutronStack) -> Iterator[NeutronClient]:
    """An admin client of the stack's API for a fresh project (isolates tests' resources)."""
    client = NeutronClient(neutron_stack.api_url, project_id=f'p-{uuid.uuid4().hex[:12]}')
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def agent_reporter(neutron_stack: NeutronStack) -> Iterator[AgentStateReporter]:
    """Reports fake agent heartbeats to the stack over RPC (neutron's PluginReportStateAPI)."""
    reporter = AgentStateReporter(neutron_stack.transport_url)
    try:
        yield reporter
    finally:
        reporter.close()


# ---- SEA scenarios: a simulator + SEA agent each, on the session's stack
def _record(name: str, env: SeaEnv) -> None:
    SEA_TIMINGS[name] = dict(env.timings)


@pytest.fixture(scope='module')
def single_env(neutron_stack: NeutronStack,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaEnv]:
    """`single` scenario simulator + SEA agent shared by the module's single-host tests."""
    with sea_environment(neutron_stack, tmp_path_factory.mktemp('sea-single'),
                         'single') as env:
        _record('single', env)
        yield env


@pytest.fixture
def redundant_env(neutron_stack: NeutronStack,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaEnv]:
    """`redundant` scenario (failover SEA pair = one bridge) + its own agent."""
    with sea_environment(neutron_stack, tmp_path_factory.mktemp('sea-redundant'),
                         'redundant') as env:
        _record('redundant', env)
        yield env


@pytest.fixture
def two_bridges_env(neutron_stack: NeutronStack,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaEnv]:
    """`two-bridges` scenario (physnet1 -> ent8/vios1, physnet2 -> ent9/vios2) + its agent."""
    with sea_environment(neutron_stack, tmp_path_factory.mktemp('sea-two-bridges'),
                         'two-bridges') as env:
        _record('two-bridges', env)
        yield env


@pytest.fixture
def throwaway_env(neutron_stack: NeutronStack,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaEnv]:
    """A `single` simulator + agent a test may stop (e.g. the SIGTERM test)."""
    with sea_environment(neutron_stack, tmp_path_factory.mktemp('sea-throwaway'),
                         'single') as env:
        _record('throwaway', env)
        yield env


@pytest.fixture
def resync_env(neutron_stack: NeutronStack,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaEnv]:
    """A `single` simulator + agent whose periodic heal never comes during a test.

    Only start-up and a full resync heal it; debug logging on (every request logged).
    """
    with sea_environment(neutron_stack, tmp_path_factory.mktemp('sea-resync'), 'single',
                         default_opts={'debug': True},
                         heal_and_optimize_interval=NO_PERIODIC_HEAL) as env:
        _record('resync', env)
        yield env


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how long the stack took to start and how much memory it used."""
    for stack in _started:
        t = stack.timings
        keystone = (f'keystone prepare {t.get("keystone_prepare", 0):.1f}s, ready '
                    f'{t.get("keystone_ready", 0):.1f}s, ' if stack.keystone else '')
        terminalreporter.write_line(
            f'neutron stack (MariaDB, auth {stack.auth}): start {t.get("total", 0):.1f}s '
            f'(migrate {t.get("migrate", 0):.1f}s, {keystone}processes '
            f'{t.get("processes", 0):.1f}s), {t.get("memory_mib", 0):.0f} MiB (all processes), '
            f'stop {t.get("stop", 0):.1f}s; logs in {stack.log_dir}')
