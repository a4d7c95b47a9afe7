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

"""Fixtures of the SEA agent e2e tests (imported by test_sea_agent_e2e.py).

Each simulator + agent pair gets its own agent host name; the Neutron stack is the
session's ``neutron_stack``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from powervm_testbed.neutron_stack import NeutronStack
from tests.e2e.sea_fixtures import SeaEnv, sea_environment

TIMINGS: dict[str, dict[str, float]] = {}
# heal_and_optimize_interval longer than any test.
NO_PERIODIC_HEAL = 3600


def _record(name: str, env: SeaEnv) -> None:
    TIMINGS[name] = dict(env.timings)


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
