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

"""The fault suite's short selection: after each fault and one heal, the invariant holds.

One simulator (``single``) with the SEA and SR-IOV agent processes (heal interval
5 s) on the session's Neutron stack. Each fault of ``fault_campaign.QUICK`` runs
once: ports are unplugged (for event-overflow with their events lost) and plugged
around it; then, for both agents, every port bound to the host must be ACTIVE iff
its adapter (and, SEA, its VLAN on the bridge) is there, DOWN otherwise, held
through a heal pass; no VLAN in use removed, none left unused; no agent died or
logged a traceback. The full campaign is ``benchmarks/faults.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from powervm_testbed import invariant as inv
from powervm_testbed.fault_campaign import FAULTS, QUICK, FaultHost
from powervm_testbed.neutron_stack import NeutronStack


@pytest.fixture(scope='module')
def fault_host(neutron_stack: NeutronStack,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultHost]:
    """Simulator + both agents with a 5 s heal interval, ports plugged, for the module."""
    host = FaultHost(neutron_stack, tmp_path_factory.mktemp('fault-suite'), 'single',
                     heal_interval=5, grace=25, vlan_base=2300)
    try:
        host.start()
        yield host
    finally:
        host.stop()


def test_checker_sees_the_same_host_over_rest_as_over_the_admin_api(
        fault_host: FaultHost) -> None:
    over_rest = inv.host_state_from_pypowervm(fault_host.adapter)
    over_admin = inv.host_state_from_snapshot(fault_host.sim.admin('GET', 'state'))

    def adapters(state: inv.HostState) -> set[tuple]:
        return {(a.partition, a.mac, a.pvid, a.vlans, a.vswitch_id, a.trunk, a.on_vios)
                for a in state.adapters}

    assert adapters(over_rest) == adapters(over_admin)
    assert len(over_admin.adapters) >= fault_host.sea_ports
    assert over_rest.vnic_macs == over_admin.vnic_macs
    assert len(over_admin.vnic_macs) == fault_host.sriov_ports
    assert over_rest.bridges == over_admin.bridges


@pytest.mark.parametrize('fault', QUICK)
def test_invariant_holds_after_fault_and_one_heal(fault_host: FaultHost, fault: str) -> None:
    result = fault_host.run(FAULTS[fault])
    if FAULTS[fault].storm:
        assert result.injected > 0, f'the simulator injected no {fault} fault'
    if fault == 'event-overflow':
        assert result.lost_unplugs > 0

    problems = []
    for agent in (inv.SEA, inv.SRIOV):
        got = result.agents[agent]
        problems += [f'{agent}: {v}' for v in got.violations]
        if not got.settled:
            problems.append(f'{agent}: did not hold through a heal pass (first held after '
                            f'{got.recovery}s, broke again {got.flaps} time(s))')
        if got.died:
            problems.append(f'{agent}: the agent process died')
        if got.tracebacks:
            problems.append(f'{agent}: the agent logged {got.tracebacks} traceback(s)')
    assert problems == [], (
        f'{fault} ({FAULTS[fault].what}); {result.lost_unplugs} unplug event(s) lost:\n  '
        + '\n  '.join(problems) + '\n'
        + '\n'.join(fault_host.agents[a].log_tail(25) for a in (inv.SEA, inv.SRIOV)))
