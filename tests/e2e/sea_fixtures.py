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

"""Helpers of the SEA agent e2e tests: a simulator + agent per scenario, bridge checks, plugs.

The test side talks to the simulator with its own pypowervm adapters (never the
agent's), plugs VIFs with the compute library and drives Neutron over its REST API.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypowervm import adapter as pvm_adapter
from pypowervm import exceptions as pvm_exc
from pypowervm import util as pvm_util
from pypowervm.helpers import vios_busy as pvm_busy
from pypowervm.tasks import cna as pvm_cna
from pypowervm.tasks import network_bridger as pvm_bridger
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net

from networking_powervm.common import constants as const
from powervm_sim import client as sim_client
from powervm_testbed.agent_process import AgentProcess
from powervm_testbed.neutron_client import NeutronApiError, NeutronClient, WaitTimeout
from powervm_testbed.neutron_stack import NeutronStack
from powervm_vif import partition, sea_vif

SEA_AGENT = 'networking-powervm-sea-agent'
SIM_USER = 'e2e-admin'
SIM_PASSWORD = 'e2e-sim-password'
HEAL_INTERVAL = 10  # [AGENT] heal_and_optimize_interval of the agents under test
# Generous: a cleanup/heal happens within HEAL_INTERVAL (+ a busy CI box).
HEAL_WAIT = 6 * HEAL_INTERVAL
# heal_and_optimize_interval longer than any test.
NO_PERIODIC_HEAL = 3600
# Set-up timings of the SEA environments, printed at the end of the SEA e2e tests.
SEA_TIMINGS: dict[str, dict[str, float]] = {}
WAIT = 60  # event-driven provisioning, port status changes

# bridge_mappings of each scenario (see simulator/scenarios/*.yaml).
MAPPINGS = {
    'single': 'default:ent8:vios1',
    'redundant': 'default:ent8:vios1',
    'two-bridges': 'physnet1:ent8:vios1,physnet2:ent9:vios2',
}


def unique(prefix: str) -> str:
    """``prefix-<8 hex>``."""
    return f'{prefix}-{secrets.token_hex(4)}'


def random_mac() -> str:
    """A locally administered unicast MAC in Neutron's form (fa:16:3e:xx:xx:xx)."""
    return 'fa:16:3e:' + ':'.join(f'{b:02x}' for b in secrets.token_bytes(3))


def new_adapter(sim: sim_client._Handle, busy_retry: bool = True) -> pvm_adapter.Adapter:
    """A fresh pypowervm Session + Adapter on ``sim`` (VIOS-busy retry as Nova had)."""
    session = pvm_adapter.Session(**sim.session_kwargs(), conn_tries=3)
    helpers = [pvm_busy.vios_busy_retry_helper] if busy_retry else None
    return pvm_adapter.Adapter(session, helpers=helpers)


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = WAIT,
               interval: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned); WaitTimeout otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(what, timeout, value)
        time.sleep(interval)


# ---------------------------------------------------------------- bridges


def bridges(adapter: pvm_adapter.Adapter, host_uuid: str) -> list[pvm_net.NetBridge]:
    """The host's Network Bridges, read now."""
    return pvm_net.NetBridge.get(adapter, parent_type=pvm_ms.System, parent_uuid=host_uuid)


def bridge_of(adapter: pvm_adapter.Adapter, host_uuid: str,
              sea_dev: str = 'ent8') -> pvm_net.NetBridge:
    """The Network Bridge whose (first) SEA is ``sea_dev``."""
    found = [nb for nb in bridges(adapter, host_uuid) if nb.seas[0].dev_name == sea_dev]
    if len(found) != 1:
        raise LookupError(f'expected one Network Bridge with SEA {sea_dev}, found {len(found)}')
    return found[0]


def sea_vlans(sea: pvm_net.SEA) -> set[int]:
    """Tagged VLANs on every trunk adapter of one SEA (primary and additional)."""
    trunks = [sea.primary_adpt, *sea.addl_adpts]
    return {int(v) for ta in trunks for v in ta.tagged_vlans}


def bridge_vlans(adapter: pvm_adapter.Adapter, host_uuid: str,
                 sea_dev: str = 'ent8') -> set[int]:
    """VLANs of a bridge, tagged on EVERY SEA of it (both of a failover pair), plus its PVID."""
    nb = bridge_of(adapter, host_uuid, sea_dev)
    per_sea = [sea_vlans(sea) for sea in nb.seas]
    return set.intersection(*per_sea) | {int(nb.pvid)}


def vlans_by_bridge(adapter: pvm_adapter.Adapter, host_uuid: str) -> dict[str, set[int]]:
    """{first SEA device: VLANs (tagged on all its SEAs + PVID)} of every bridge."""
    out = {}
    for nb in bridges(adapter, host_uuid):
        out[nb.seas[0].dev_name] = (set.intersection(*[sea_vlans(s) for s in nb.seas])
                                    | {int(nb.pvid)})
    return out


def add_vlans(adapter: pvm_adapter.Adapter, host_uuid: str, vlans: list[int],
              sea_dev: str = 'ent8') -> None:
    """Put VLANs on a bridge behind the agent's back (additional trunk adapters)."""
    nb = bridge_of(adapter, host_uuid, sea_dev)
    pvm_bridger.ensure_vlans_on_nb(adapter, host_uuid, nb.uuid, vlans)


def remove_vlan(adapter: pvm_adapter.Adapter, host_uuid: str, vlan: int,
                sea_dev: str = 'ent8') -> None:
    """Remove a VLAN from a bridge behind the agent's back."""
    nb = bridge_of(adapter, host_uuid, sea_dev)
    pvm_bridger.remove_vlan_from_nb(adapter, host_uuid, nb.uuid, vlan)


def add_primary_vlan(adapter: pvm_adapter.Adapter, host_uuid: str, vlan: int,
                     sea_dev: str = 'ent8') -> None:
    """Tag ``vlan`` on the primary trunk adapter (primary load group) of every SEA.

    The agent may write the bridge meanwhile (its cleanup): on 412, read it again
    and retry, as any client of the REST API must.
    """
    for attempt in range(5):
        nb = bridge_of(adapter, host_uuid, sea_dev)
        for sea in nb.seas:
            sea.primary_adpt.tagged_vlans.append(vlan)
        try:
            nb.update()
            return
        except pvm_exc.HttpError as exc:
            if exc.response is None or exc.response.status != 412 or attempt == 4:
                raise


# ---------------------------------------------------------------- compute side


def create_lpar(adapter: pvm_adapter.Adapter, prefix: str = 'e2e-vm') -> Any:
    """A new client partition with a unique name."""
    return partition.create_lpar(adapter, unique(prefix))


def plug(adapter: pvm_adapter.Adapter, host_uuid: str, lpar: Any, mac: str,
         vlan: int, vswitch: str = 'ETHERNET0') -> pvm_net.CNA:
    """Nova's plug: crt_cna + the NOVA_PVM_VIF plug event."""
    return sea_vif.plug_sea(adapter, host_uuid, lpar.uuid, mac, vlan, vswitch=vswitch)


def create_cna_for(adapter: pvm_adapter.Adapter, host_uuid: str, lpar: Any, mac: str,
                   vlan: int) -> pvm_net.CNA:
    """The first half of a plug: the CNA only (the caller posts the event later)."""
    return pvm_cna.crt_cna(adapter, host_uuid, lpar.uuid, pvid=vlan,
                           mac_addr=pvm_util.sanitize_mac_for_api(mac))


def unplug(adapter: pvm_adapter.Adapter, lpar: Any, mac: str) -> str:
    """Nova's unplug: delete the CNA + the unplug event."""
    return sea_vif.unplug_sea(adapter, lpar.uuid, mac)


def create_foreign_cna(adapter: pvm_adapter.Adapter, host_uuid: str, lpar: Any,
                       vlan: int) -> pvm_net.CNA:
    """A CNA no OpenStack port owns (no event, MAC unknown to Neutron)."""
    return pvm_cna.crt_cna(adapter, host_uuid, lpar.uuid, pvid=vlan,
                           mac_addr=pvm_util.sanitize_mac_for_api(random_mac()))


# ---------------------------------------------------------------- environment


@dataclass
class SeaEnv:
    """One simulator + one SEA agent (its own host name) + a Neutron client."""

    scenario: str
    host: str
    sim: sim_client.SubprocessSim
    agent: AgentProcess
    neutron: NeutronClient
    adapter: pvm_adapter.Adapter
    host_uuid: str
    timings: dict[str, float] = field(default_factory=dict)
    networks: list[str] = field(default_factory=list)

    def network(self, preferred: int, physnet: str = 'default',
                avoid: set[int] = frozenset()) -> dict[str, Any]:
        """A VLAN network on ``physnet``: segmentation id ``preferred`` or the next free one.

        The Neutron stack is shared by the session: another test may hold an id.
        """
        net = self.neutron.create_free_vlan_network(unique('sea-net'), physnet, preferred,
                                                    avoid=avoid, tries=50)
        self.networks.append(net['id'])
        return net

    def port(self, net: dict[str, Any], mac: str | None = None,
             **attrs: Any) -> dict[str, Any]:
        """A compute port on ``net`` bound to this agent's host."""
        return self.neutron.create_port(net['id'], host_id=self.host,
                                        device_owner='compute:nova',
                                        device_id=str(uuid.uuid4()), mac=mac, **attrs)

    def delete_networks(self) -> None:
        """Delete the networks (and their ports) made by network(): frees their VLAN ids."""
        for net_id in self.networks:
            try:
                for port in self.neutron.list_ports(network_id=net_id):
                    self.neutron.delete_port(port['id'])
                self.neutron.delete_network(net_id)
            except NeutronApiError:
                pass
        self.networks.clear()

    def wait_status(self, port_id: str, status: str, timeout: float = WAIT) -> dict[str, Any]:
        """Wait until the port has ``status`` (failure shows the agent's log tail)."""
        try:
            return self.neutron.wait_for_port(port_id, status=status, timeout=timeout)
        except WaitTimeout as exc:
            raise AssertionError(f'{exc}\n{self.agent.log_tail(40)}') from None

    def vlans(self, sea_dev: str = 'ent8', fresh: bool = False) -> set[int]:
        """The bridge's VLANs; ``fresh`` uses a new adapter (own logon)."""
        adapter = new_adapter(self.sim) if fresh else self.adapter
        return bridge_vlans(adapter, self.host_uuid, sea_dev)

    def wait_vlans(self, present: set[int] = frozenset(), absent: set[int] = frozenset(),
                   sea_dev: str = 'ent8', timeout: float = WAIT) -> set[int]:
        """Wait until ``present`` are on the bridge and ``absent`` are not; its VLANs."""
        def check() -> set[int] | None:
            vlans = self.vlans(sea_dev)
            return vlans if present <= vlans and not (absent & vlans) else None

        try:
            return wait_until(check, f'bridge {sea_dev}: VLANs {sorted(present)} present, '
                              f'{sorted(absent)} absent', timeout=timeout)
        except WaitTimeout as exc:
            raise AssertionError(f'{exc}; now {sorted(self.vlans(sea_dev))}\n'
                                 f'{self.agent.log_tail(40)}') from None

    def agent_row(self) -> dict[str, Any]:
        """The agent's row in GET /v2.0/agents."""
        rows = self.neutron.list_agents(host=self.host, agent_type=const.AGENT_TYPE_PVM_SEA)
        assert rows, f'no SEA agent row for host {self.host}'
        return rows[0]


def agent_config(stack: NeutronStack, host: str, sim: sim_client._Handle,
                 mappings: str, default_opts: dict[str, Any] | None = None,
                 **agent_opts: Any) -> Path:
    """The agent's config file: stack basics (+ ``default_opts``) + [AGENT] + [powervm]."""
    agent = {'bridge_mappings': mappings, 'heal_and_optimize_interval': HEAL_INTERVAL,
             'report_interval': 2, 'exception_interval': 1,
             'automated_powervm_vlan_cleanup': True, **agent_opts}
    powervm = {'host': sim.host, 'port': sim.port, 'protocol': sim.protocol,
               'username': sim.user, 'password': sim.password, 'timeout': 120}
    sections = {'AGENT': agent, 'powervm': powervm}
    if default_opts:
        sections['DEFAULT'] = dict(default_opts)
    return stack.agent_config(host, sections)


@dataclass
class StartupResult:
    """How a SEA agent run that was expected to stop on its own ended."""

    code: int
    output: str   # stdout/stderr of the process
    log: str      # its oslo.log file


def run_agent_to_exit(stack: NeutronStack, sim: sim_client._Handle, mappings: str,
                      timeout: float = 90) -> StartupResult:
    """Start a SEA agent (own host name) on ``sim`` with ``mappings``; wait for it to exit."""
    host = unique('e2e-sea-startup')
    agent = AgentProcess(SEA_AGENT, agent_config(stack, host, sim, mappings), host,
                         const.AGENT_TYPE_PVM_SEA)
    agent.start()
    try:
        code = agent.wait_exit(timeout)
    finally:
        agent.stop()
    return StartupResult(code, agent.out_file.read_text(errors='replace'), agent.log_text())


@contextlib.contextmanager
def sea_environment(stack: NeutronStack, workdir: Path, scenario: str,
                    mappings: str | None = None, default_opts: dict[str, Any] | None = None,
                    **agent_opts: Any) -> Iterator[SeaEnv]:
    """Start a simulator subprocess and a SEA agent for it; wait until the agent is alive.

    On exit the agent gets SIGTERM (SIGKILL if it hangs), the simulator is stopped.
    """
    t0 = time.monotonic()
    # A short event long-poll: the simulator stops quickly after an agent died mid-poll.
    sim = sim_client.start_subprocess(scenario, workdir / f'sim-{scenario}', user=SIM_USER,
                                      password=SIM_PASSWORD,
                                      extra_args=['--poll-timeout', '3'])
    agent: AgentProcess | None = None
    try:
        timings = {'sim_start': round(time.monotonic() - t0, 1)}
        host = unique(f'e2e-sea-{scenario}')
        conf = agent_config(stack, host, sim, MAPPINGS[scenario] if mappings is None
                            else mappings, default_opts, **agent_opts)
        agent = AgentProcess(SEA_AGENT, conf, host, const.AGENT_TYPE_PVM_SEA)
        neutron = NeutronClient(stack.api_url, project_id=unique('p-sea'))
        t1 = time.monotonic()
        agent.start()
        agent.wait_alive(neutron, timeout=90)
        timings['agent_alive'] = round(time.monotonic() - t1, 1)
        adapter = new_adapter(sim)
        env = SeaEnv(scenario, host, sim, agent, neutron, adapter,
                     partition.host_uuid(adapter), timings)
        try:
            yield env
        finally:
            env.delete_networks()
    finally:
        if agent is not None:
            agent.stop()
        sim.stop()
