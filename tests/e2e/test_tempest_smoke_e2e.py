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

"""tempest's network smoke tests against the session's Keystone + Neutron stack.

The full ``tempest.api.network`` run is ``tools/tempest`` (``tox -e tempest``); this
selection keeps ``tools/test`` within its time. The SEA and SR-IOV agents of a
simulator host run meanwhile and must survive it; the Neutron server logs of the
run must hold no networking_powervm error or traceback.
"""

from __future__ import annotations

import pytest

from powervm_testbed import tempest_run
from powervm_testbed.neutron_stack import NeutronStack


def test_tempest_network_smoke_passes_and_agents_survive(
        neutron_stack: NeutronStack, tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp('tempest-smoke')
    with tempest_run.agents_on_simulator(neutron_stack, workdir) as agents:
        result = tempest_run.run(neutron_stack, workdir / 'tempest', smoke=True,
                                 agents=agents)
    detail = f'{result.summary()}; failures {result.failures}; problems {result.problems}; ' \
             f'log {result.log}'
    assert result.failed == 0 and result.returncode == 0, detail
    assert not result.problems, detail
    assert result.passed >= 10, detail
