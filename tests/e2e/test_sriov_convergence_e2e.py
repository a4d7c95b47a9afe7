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

"""SR-IOV agent convergence end to end: a port is ACTIVE iff its vNIC is on the host.

One simulator and one SR-IOV agent (heal every HEAL_INTERVAL seconds) for the
module; vNICs are made and removed with pypowervm as Nova's driver did, and
unplug events are lost on purpose (the vNIC deleted without an event, the agent
killed meanwhile).
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pypowervm import adapter as pvm_adapter
from pypowervm import util as pvm_util
from pypowervm.wrappers import iocard
from pypowervm.wrappers import logical_partition as pvm_lpar

from networking_powervm.common import constants as pvm_const
from powervm_sim.client import SubprocessSim, start_subprocess
from powervm_testbed.agent_process import AgentProcess
from powervm_testbed.neutron_client import NeutronClient, WaitTimeout
from powervm_testbed.neutron_stack import NeutronStack
from powervm_vif import partition, sriov_vif
from tests.e2e import sriov_fixtures as fx

HEAL_INTERVAL = 10
WAIT = 6 * HEAL_INTERVAL
HEAL_DONE = 'Heal and optimize done'


@dataclass
class Env:
    sim: SubprocessSim
    host: str
    adapter: pvm_adapter.Adapter
    host_uuid: str
    agent: AgentProcess
    neutron: NeutronClient
    lpar: str


@pytest.fixture(scope='module')
def env(neutron_stack: NeutronStack, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Env]:
    sim = start_subprocess('single', tmp_path_factory.mktemp('sriov-conv-sim'),
                           user='conv-admin', password='conv-e2e-password')
    host = f'sriov-conv-{uuid.uuid4().hex[:8]}'
    agent = None
    adapter = None
    try:
        conf, log = fx.agent_config(neutron_stack, host, 'sriov', {
            'powervm': fx.powervm_section(sim),
            'AGENT': {'heal_and_optimize_interval': HEAL_INTERVAL, 'exception_interval': 1,
                      'vnic_required_vfs': 1}})
        agent = AgentProcess('networking-powervm-sriov-agent', conf, host,
                             pvm_const.AGENT_TYPE_PVM_SRIOV, log_file=log).start()
        neutron = NeutronClient(neutron_stack.api_url, project_id=f'p-{uuid.uuid4().hex[:8]}')
        agent.wait_alive(neutron, timeout=WAIT)
        adapter = fx.new_adapter(sim)
        lpar = partition.create_lpar(adapter, f'conv-{uuid.uuid4().hex[:8]}').uuid
        yield Env(sim, host, adapter, partition.host_uuid(adapter), agent, neutron, lpar)
    finally:
        if agent is not None:
            agent.stop()
        if adapter is not None:
            fx.log_off(adapter)
        sim.stop()


def host_vnic_macs(env: Env) -> set[str]:
    """MACs (Neutron form) of every vNIC on the host, read now."""
    reader = fx.new_adapter(env.sim)
    try:
        macs = set()
        for lpar in pvm_lpar.LPAR.get(reader):
            for vnic in fx.lpar_vnics(reader, lpar.uuid):
                mac = pvm_util.sanitize_mac_for_api(vnic.mac).lower()
                macs.add(':'.join(mac[i:i + 2] for i in range(0, 12, 2)))
        return macs
    finally:
        fx.log_off(reader)


def wrong_ports(env: Env) -> list[str]:
    """Bound direct ports whose status is not ACTIVE iff their vNIC is on the host."""
    macs = host_vnic_macs(env)
    wrong = []
    for port in env.neutron.list_ports(**{'binding:host_id': env.host}):
        if port.get('binding:vif_type') != pvm_const.VIF_TYPE_PVM_SRIOV:
            continue
        want = 'ACTIVE' if port['mac_address'] in macs else 'DOWN'
        if port['status'] != want:
            wrong.append(f"{port['id']} ({port['mac_address']}): {port['status']}, want {want}")
    return wrong


def wait_converged(env: Env) -> None:
    try:
        env.neutron.wait_for(lambda: wrong_ports(env), lambda wrong: not wrong, timeout=WAIT,
                             what='every bound SR-IOV port converged')
    except WaitTimeout as exc:
        raise AssertionError(f'{exc}\n{env.agent.log_tail(40)}') from None


def plugged_ports(env: Env, count: int, vlan: int) -> list[dict[str, Any]]:
    net = env.neutron.create_free_vlan_network(f'conv-{vlan}', 'default', vlan)
    ports = []
    for _ in range(count):
        port = env.neutron.create_port(net['id'], host_id=env.host, vnic_type='direct',
                                       device_owner='compute:nova', device_id=env.lpar)
        d = port['binding:vif_details']
        sriov_vif.plug_sriov(env.adapter, env.host_uuid, env.lpar, port['mac_address'],
                             int(d['vlan']), d[pvm_const.PHYSICAL_PORTS],
                             d[pvm_const.REDUNDANCY], d[pvm_const.CAPACITY])
        ports.append(port)
    for port in ports:
        env.neutron.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)
    return ports


def delete_vnic_silently(env: Env, mac: str) -> None:
    """An unplug whose event is lost: the vNIC goes, no event reaches the agent."""
    vnic = sriov_vif.find_vnic(env.adapter, env.lpar, mac)
    assert isinstance(vnic, iocard.VNIC)
    vnic.delete()


def test_lost_unplugs_are_marked_down(env: Env) -> None:
    ports = plugged_ports(env, 3, 3101)
    for port in ports[:2]:
        delete_vnic_silently(env, port['mac_address'])
    assert env.sim.admin('POST', 'overflow-events')['overflowed'] >= 1
    for port in ports[:2]:
        env.neutron.wait_for_port(port['id'], status='DOWN', timeout=WAIT)
    assert env.neutron.get_port(ports[2]['id'])['status'] == 'ACTIVE'
    wait_converged(env)


def test_unplug_while_the_agent_is_down_is_marked_down(env: Env) -> None:
    ports = plugged_ports(env, 2, 3102)
    assert env.agent.kill() == -signal.SIGKILL
    sriov_vif.unplug_sriov(env.adapter, env.lpar, ports[0]['mac_address'])
    env.agent.start()
    env.agent.wait_alive(env.neutron, timeout=WAIT)
    env.neutron.wait_for_port(ports[0]['id'], status='DOWN', timeout=WAIT)
    wait_converged(env)
    assert env.neutron.get_port(ports[1]['id'])['status'] == 'ACTIVE'


def test_heal_over_healthy_ports_changes_no_status_or_revision(env: Env) -> None:
    ports = plugged_ports(env, 2, 3103)
    wait_converged(env)

    def snapshot() -> dict[str, tuple[str, int]]:
        return {p['id']: (q['status'], q['revision_number'])
                for p in ports for q in [env.neutron.get_port(p['id'])]}

    before = snapshot()
    heals = env.agent.log_text().count(HEAL_DONE)
    env.neutron.wait_for(lambda: env.agent.log_text().count(HEAL_DONE), lambda n: n >= heals + 2,
                         timeout=WAIT, what='two more heal passes')
    assert snapshot() == before
