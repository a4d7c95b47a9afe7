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

"""Fault runs against a real stack: plug/unplug around a fault, then check convergence.

One ``FaultHost`` is a simulator (subprocess) with both agents (SEA and SR-IOV,
real processes, short heal interval) serving one host of a running NeutronStack.
``FaultHost.run(fault)`` does one run:

1. new Neutron ports are created for the plugs (before the fault: the API may be
   the thing that dies), victims are picked among the plugged ports;
2. the fault starts; ports are unplugged (some losing their event, per fault)
   and plugged meanwhile, by the compute side, which retries what the fault
   refuses, as Nova would;
3. the fault ends (disarmed, or the killed process is back and ready);
4. the invariant (``powervm_testbed.invariant``) is checked every ``poll``
   seconds until it has held for a heal interval and a bit (a heal pass ran over
   the converged state), or ``heal_interval + grace`` seconds have passed;
5. the run's result per agent: ports wrong, VLANs removed / left unused,
   whether the agent died or logged a traceback, the recovery time.

Unplugged ports are then deleted from Neutron, as Nova does when a VM goes.
Used by ``benchmarks/faults.py`` (the campaign) and ``tests/e2e/test_fault_suite.py``.
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypowervm import adapter as pvm_adapter
from pypowervm import util as pvm_util
from pypowervm.helpers import vios_busy as pvm_busy
from pypowervm.tasks import cna as pvm_cna

from networking_powervm.common import constants as const
from powervm_sim import client as sim_client
from powervm_testbed import invariant as inv
from powervm_testbed.agent_process import AgentProcess
from powervm_testbed.neutron_client import NeutronClient
from powervm_testbed.neutron_stack import NeutronStack
from powervm_vif import events as vif_events
from powervm_vif import partition, sea_vif, sriov_vif

MAPPINGS = 'default:ent8:vios1'   # both built-in scenarios used: single, redundant
SIM_USER, SIM_PASSWORD = 'faults-admin', 'faults-sim-password'
TRACEBACK = 'Traceback (most recent call last)'
STORM_EXTRA = 3.0                 # a 412/busy/503/drop storm lasts a heal interval + this
COMPUTE_RETRY = 60.0              # the compute side retries a refused step this long


# ---------------------------------------------------------------- results


@dataclass
class AgentResult:
    """One run as one agent saw it."""

    ports_wrong: int = 0
    stale_active: int = 0              # ACTIVE, but the adapter is gone (a lost unplug)
    not_active: int = 0                # adapter and VLAN there, but DOWN or BUILD
    vlans_removed: int = 0
    vlans_unused: int = 0
    died: bool = False
    tracebacks: int = 0
    recovery: float | None = None      # fault end -> invariant first held; None: never
    flaps: int = 0                     # times it broke again after holding
    settled: bool = False              # held through a heal pass at the end
    violations: list[str] = field(default_factory=list)

    @property
    def crashed(self) -> bool:
        return self.died or self.tracebacks > 0


@dataclass
class Convergence:
    """How one agent's part of the invariant behaved after the fault ended."""

    first_hold: float | None = None    # seconds after the fault ended; None: never
    flaps: int = 0                     # times it broke again after holding
    settled: bool = False              # held to the end, through a heal pass


@dataclass
class RunResult:
    """One run of one fault on one scenario."""

    scenario: str
    fault: str
    agents: dict[str, AgentResult]
    lost_unplugs: int = 0
    injected: int = 0                  # requests the simulator answered with a fault
    clean_start: bool = True
    seconds: float = 0.0


# ---------------------------------------------------------------- helpers


def retry(step: Callable[[], Any], what: str, timeout: float = COMPUTE_RETRY) -> Any:
    """Run ``step`` until it succeeds (the compute side under a fault); the last error after."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return step()
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise RuntimeError(f'{what} kept failing for {timeout:.0f}s: {exc}') from exc
            time.sleep(0.3)


def kill_stack_process(stack: NeutronStack, name: str) -> None:
    """kill -9 one of the stack's processes ('neutron-api', 'neutron-rpc-server') and its group.

    Reaches into NeutronStack (no public per-process control yet).
    """
    proc = stack._procs[name]
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def respawn_stack_process(stack: NeutronStack, name: str, timeout: float = 180) -> None:
    """Start the killed process again with its original command; wait until it serves."""
    original = stack._spawn

    def only(proc_name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        if proc_name == name:
            original(proc_name, cmd, env)

    stack._spawn = only  # type: ignore[method-assign]
    try:
        stack._start_processes()
    finally:
        del stack._spawn
    ready = {'neutron-api': stack.api_ready, 'neutron-rpc-server': stack.rpc_ready}.get(
        name, lambda: True)
    deadline = time.monotonic() + timeout
    while not ready():
        stack.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f'{name} not ready {timeout:.0f}s after its restart')
        time.sleep(0.3)


@dataclass
class Plugged:
    """A Neutron port whose adapter the compute side created on a partition."""

    port: dict[str, Any]
    agent: str
    lpar: str

    @property
    def mac(self) -> str:
        return self.port['mac_address']


# ---------------------------------------------------------------- agent processes

AGENT_BINARIES = {inv.SEA: ('networking-powervm-sea-agent', const.AGENT_TYPE_PVM_SEA),
                  inv.SRIOV: ('networking-powervm-sriov-agent', const.AGENT_TYPE_PVM_SRIOV)}


def agent_sections(sim: Any, heal_interval: int, report_interval: int = 2
                   ) -> dict[str, dict[str, Any]]:
    """Both agents' options for the simulator host ``sim`` (a handle with host, port, ...)."""
    return {
        # RPC calls to a dead neutron-rpc-server give up after 10 s, not 60.
        'DEFAULT': {'rpc_response_timeout': 10},
        'AGENT': {'bridge_mappings': MAPPINGS, 'heal_and_optimize_interval': heal_interval,
                  'report_interval': report_interval, 'exception_interval': 1,
                  'automated_powervm_vlan_cleanup': True, 'vnic_required_vfs': 2,
                  'vnic_vf_capacity': 0.02},
        'powervm': {'host': sim.host, 'port': sim.port, 'protocol': sim.protocol,
                    'username': sim.user, 'password': sim.password, 'timeout': 60},
    }


def host_agents(stack: NeutronStack, host: str, sections: dict[str, dict[str, Any]],
                binaries: dict[str, str] | None = None) -> dict[str, AgentProcess]:
    """The SEA and SR-IOV agent processes (not started) of ``host``, each with its config.

    ``binaries`` replaces an agent's console script (e.g. a wrapper) by agent name.
    """
    out = {}
    for agent, (binary, atype) in AGENT_BINARIES.items():
        conf = stack.agent_config(host, sections, name=f'{host}-{agent}')
        out[agent] = AgentProcess((binaries or {}).get(agent, binary), conf, host, atype,
                                  log_file=stack.log_dir / f'agent-{host}-{agent}.log')
    return out


# ---------------------------------------------------------------- the host


class FaultHost:
    """A simulator + SEA and SR-IOV agent processes for one host of ``stack``."""

    def __init__(self, stack: NeutronStack, workdir: Path, scenario: str, *,
                 heal_interval: int = 5, grace: float = 25, poll: float = 0.5,
                 sea_ports: int = 3, sriov_ports: int = 2, vlan_base: int = 1100,
                 log: Callable[[str], None] = lambda msg: None) -> None:
        self.stack, self.workdir, self.scenario = stack, Path(workdir), scenario
        self.heal_interval, self.grace, self.poll = heal_interval, grace, poll
        self.sea_ports, self.sriov_ports, self.vlan_base = sea_ports, sriov_ports, vlan_base
        self.log = log
        self.host = f'faults-{scenario}-{uuid.uuid4().hex[:6]}'
        self.neutron = NeutronClient(stack.api_url, project_id=f'p-{self.host}')
        self.rand = random.Random(0)
        self.sim: sim_client.SubprocessSim | None = None
        self.agents: dict[str, AgentProcess] = {}
        self.adapter: pvm_adapter.Adapter | None = None
        self.host_uuid = ''
        self.lpars: list[str] = []
        self.sea_nets: list[dict[str, Any]] = []
        self.sriov_net: dict[str, Any] | None = None
        self.plugged: list[Plugged] = []

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FaultHost:
        """Simulator, both agents alive, partitions, networks, steady plugged ports."""
        self.sim = sim_client.start_subprocess(
            self.scenario, self.workdir / 'sim', user=SIM_USER, password=SIM_PASSWORD,
            extra_args=['--poll-timeout', '3'])
        self.agents = host_agents(self.stack, self.host,
                                  agent_sections(self.sim, self.heal_interval))
        for proc in self.agents.values():
            proc.start()
        for proc in self.agents.values():
            proc.wait_alive(self.neutron, timeout=120)
        self.adapter = self._new_adapter()
        self.host_uuid = partition.host_uuid(self.adapter)
        self.lpars = [partition.create_lpar(self.adapter, f'{self.host}-vm{i}').uuid
                      for i in range(2)]
        self.sea_nets = [self.neutron.create_free_vlan_network(
            f'{self.host}-sea{i}', 'default', self.vlan_base + 10 * i) for i in range(3)]
        self.sriov_net = self.neutron.create_free_vlan_network(
            f'{self.host}-sriov', 'default', self.vlan_base + 50)
        for _ in range(self.sea_ports):
            self._plug(self._new_port(inv.SEA), event=True)
        for _ in range(self.sriov_ports):
            self._plug(self._new_port(inv.SRIOV), event=True)
        report = self.wait_converged(time.monotonic())[0]
        if not report.holds:
            self.log(f'{self.scenario}: the invariant does not hold after set-up: '
                     + '; '.join(map(str, report.violations[:5])))
        return self

    def stop(self) -> None:
        """Agents (SIGTERM), simulator; the Neutron resources go with the stack."""
        for proc in self.agents.values():
            proc.stop()
        if self.adapter is not None:
            try:
                self.adapter.session._logoff()
            except Exception:
                pass
        if self.sim is not None:
            self.sim.stop()

    def _new_adapter(self) -> pvm_adapter.Adapter:
        assert self.sim is not None
        session = pvm_adapter.Session(**self.sim.session_kwargs(), conn_tries=3)
        return pvm_adapter.Adapter(session, helpers=[pvm_busy.vios_busy_retry_helper])

    # ------------------------------------------------------------ compute side
    def _new_port(self, agent: str) -> dict[str, Any]:
        net = self.rand.choice(self.sea_nets) if agent == inv.SEA else self.sriov_net
        assert net is not None
        return retry(lambda: self.neutron.create_port(
            net['id'], host_id=self.host, vnic_type='normal' if agent == inv.SEA else 'direct',
            device_owner='compute:nova', device_id=str(uuid.uuid4())),
            f'creating a {agent} port', timeout=30)

    def _plug(self, port: dict[str, Any], event: bool = True) -> Plugged:
        agent = inv.SEA if port.get('binding:vnic_type', 'normal') == 'normal' else inv.SRIOV
        lpar = self.rand.choice(self.lpars)
        mac = port['mac_address']
        adapter = self.adapter
        if agent == inv.SEA:
            vlan = int(self._segment(port))
            cna = retry(lambda: pvm_cna.crt_cna(adapter, self.host_uuid, lpar, pvid=vlan,
                                                mac_addr=pvm_util.sanitize_mac_for_api(mac)),
                        f'creating the CNA of {mac}')
            href = sea_vif.cna_href(cna)
            if event:
                retry(lambda: vif_events.post_vif_event(
                    adapter, const.EVENT_ACTION_PLUG, mac, const.VIF_TYPE_PVM_SEA, href),
                    f'posting the plug event of {mac}')
        else:
            d = port['binding:vif_details']

            def create() -> Any:
                if sriov_vif.find_vnic(adapter, lpar, mac) is None:
                    sriov_vif.plug_sriov(adapter, self.host_uuid, lpar, mac, int(d['vlan']),
                                         d[const.PHYSICAL_PORTS], d[const.REDUNDANCY],
                                         d[const.CAPACITY], d[const.MAXCAPACITY])
            retry(create, f'creating the vNIC of {mac}')
        plugged = Plugged(port, agent, lpar)
        self.plugged.append(plugged)
        return plugged

    def _unplug(self, plugged: Plugged, event: bool = True) -> None:
        """Delete the adapter; post the unplug event unless ``event`` is False (lost)."""
        adapter, mac, lpar = self.adapter, plugged.mac, plugged.lpar
        if plugged.agent == inv.SEA:
            find: Callable[[], Any] = lambda: sea_vif.find_cna(adapter, lpar, mac)  # noqa: E731
            vif_type = const.VIF_TYPE_PVM_SEA
        else:
            find = lambda: sriov_vif.find_vnic(adapter, lpar, mac)  # noqa: E731
            vif_type = const.VIF_TYPE_PVM_SRIOV
        hrefs: list[str] = []

        def delete() -> None:
            found = find()
            if found is not None:
                href = (sea_vif.cna_href(found) if plugged.agent == inv.SEA else found.href)
                found.delete()
                hrefs.append(href)
        retry(delete, f'deleting the adapter of {mac}')
        if event and hrefs:
            retry(lambda: vif_events.post_vif_event(adapter, const.EVENT_ACTION_UNPLUG, mac,
                                                    vif_type, hrefs[-1]),
                  f'posting the unplug event of {mac}')
        self.plugged.remove(plugged)

    def _segment(self, port: dict[str, Any]) -> int:
        net = next(n for n in self.sea_nets if n['id'] == port['network_id'])
        return int(net['provider:segmentation_id'])

    # ------------------------------------------------------------ checking
    def check(self, baseline: inv.HostState | None = None) -> inv.Report:
        """The invariant now."""
        assert self.sim is not None
        return inv.check_host(self.neutron, self.sim, self.host, MAPPINGS, baseline=baseline)

    def wait_converged(self, since: float, baseline: inv.HostState | None = None
                       ) -> tuple[inv.Report, dict[str, Convergence]]:
        """Poll until the invariant held for a heal interval (+2 s) or the deadline.

        Returns the last report and, per agent, when its part first held (seconds
        after ``since``), how often it broke again, and whether it held to the end
        for a heal interval + 2 s (a heal pass ran over the converged state).
        """
        settle = self.heal_interval + 2
        deadline = since + self.heal_interval + self.grace
        conv = {a: Convergence() for a in (inv.SEA, inv.SRIOV)}
        held_since: dict[str, float | None] = dict.fromkeys(conv)
        while True:
            now = time.monotonic()
            try:
                report = self.check(baseline)
            except Exception as exc:  # Neutron API restarting: not yet converged
                report = inv.Report([inv.Violation('unreadable', f'check failed: {exc}')])
            for agent, c in conv.items():
                ok = not report.of(agent) and not report.of(None, ['unreadable'])
                if not ok:
                    if held_since[agent] is not None:
                        c.flaps += 1
                    held_since[agent] = None
                elif held_since[agent] is None:
                    held_since[agent] = now
                    if c.first_hold is None:
                        c.first_hold = max(0.0, now - since)
            if report.holds and all(t is not None and now - t >= settle
                                    for t in held_since.values()):
                break
            if now >= deadline:
                break
            time.sleep(self.poll)
        for agent, c in conv.items():
            t = held_since[agent]
            c.settled = t is not None and time.monotonic() - t >= settle - self.poll
        return report, conv

    # ------------------------------------------------------------ one run
    def run(self, fault: Fault, plugs: int = 2, unplugs: int = 2) -> RunResult:
        """One run of ``fault`` (see the module docstring)."""
        t0 = time.monotonic()
        for proc in self.agents.values():
            if not proc.running:  # died in an earlier run: counted there; start again
                proc.start().wait_alive(self.neutron, timeout=120)
        start_report = self.check()
        offsets = {a: (_size(p.log_file), _size(p.out_file)) for a, p in self.agents.items()}
        new_ports = [self._new_port(inv.SEA) for _ in range(plugs)] + [self._new_port(inv.SRIOV)]
        victims = (self.rand.sample([p for p in self.plugged if p.agent == inv.SEA], unplugs)
                   + self.rand.sample([p for p in self.plugged if p.agent == inv.SRIOV], 1))
        baseline = inv.host_state_from_snapshot(self.sim.admin('GET', 'state'))
        ctx = RunContext(self, new_ports, victims)
        injected = self._injected()
        fault.inject(ctx)
        injected = max(0, self._injected() - injected)
        t_end = time.monotonic()
        report, conv = self.wait_converged(t_end, baseline)
        results = {}
        for agent, proc in self.agents.items():
            found = report.of(agent)
            port_ids = {v.port_id for v in found if v.kind in inv.PORT_KINDS}
            results[agent] = AgentResult(
                ports_wrong=len(port_ids),
                stale_active=sum(v.kind == inv.PORT_STATUS and v.expected == inv.DOWN
                                 for v in found),
                not_active=sum(v.kind == inv.PORT_STATUS and v.expected == inv.ACTIVE
                               for v in found),
                vlans_removed=len(report.of(agent, [inv.VLAN_REMOVED])),
                vlans_unused=len(report.of(agent, [inv.VLAN_UNUSED])),
                died=not proc.running,
                tracebacks=_count(proc.log_file, offsets[agent][0], TRACEBACK)
                + _count(proc.out_file, offsets[agent][1], TRACEBACK),
                recovery=conv[agent].first_hold, flaps=conv[agent].flaps,
                settled=conv[agent].settled, violations=[str(v) for v in found])
        self._forget(ctx.unplugged)
        return RunResult(self.scenario, fault.name, results, ctx.lost, injected,
                         start_report.holds, time.monotonic() - t0)

    def _injected(self) -> int:
        assert self.sim is not None
        return sum(self.sim.admin('GET', 'stats')['faults']['injected'].values())

    def repair(self) -> None:
        """After a run that raised: every process back (simulator, stack, agents)."""
        assert self.sim is not None
        if self.sim.proc is not None and self.sim.proc.poll() is not None:
            self.sim.restart_process()
        self.sim.admin('DELETE', 'fault')
        for name, proc in list(self.stack._procs.items()):
            if proc.poll() is not None:
                respawn_stack_process(self.stack, name)
        for proc in self.agents.values():
            if not proc.running:
                proc.start().wait_alive(self.neutron, timeout=120)
        # Adapters the run may have left half-known: keep only those still on the host.
        state = inv.host_state_from_snapshot(self.sim.admin('GET', 'state'))
        macs = {a.mac for a in state.adapters} | state.vnic_macs
        self.plugged = [p for p in self.plugged if inv.norm_mac(p.mac) in macs]

    def _forget(self, unplugged: list[Plugged]) -> None:
        """Delete the Neutron ports of unplugged adapters (as Nova does when a VM goes)."""
        for p in unplugged:
            try:
                retry(lambda p=p: self.neutron.delete_port(p.port['id']),
                      f'deleting port {p.port["id"]}', timeout=30)
            except RuntimeError as exc:
                self.log(str(exc))


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def _count(path: Path | None, offset: int, needle: str) -> int:
    if path is None:
        return 0
    try:
        with open(path, 'rb') as f:
            f.seek(offset)
            return f.read().decode(errors='replace').count(needle)
    except OSError:
        return 0


# ---------------------------------------------------------------- faults


@dataclass
class RunContext:
    """What a fault's inject() works with: the host, ports to plug, adapters to unplug."""

    host: FaultHost
    new_ports: list[dict[str, Any]]
    victims: list[Plugged]
    unplugged: list[Plugged] = field(default_factory=list)
    lost: int = 0

    def churn(self, lose_events: bool = False) -> None:
        """Unplug the victims (their events lost with ``lose_events``), plug the new ports."""
        for victim in self.victims:
            self.host._unplug(victim, event=not lose_events)
            self.unplugged.append(victim)
            self.lost += int(lose_events)
        for port in self.new_ports:
            self.host._plug(port, event=True)
        self.victims, self.new_ports = [], []


@dataclass
class Fault:
    """A fault kind: ``inject`` starts it, churns ports and returns once it is over."""

    name: str
    inject: Callable[[RunContext], None]
    what: str
    storm: bool = False                # the simulator answers requests with faults


def _storm(kind: str, fraction: float, scope: str | None = None
           ) -> Callable[[RunContext], None]:
    def inject(ctx: RunContext) -> None:
        sim = ctx.host.sim
        seconds = ctx.host.heal_interval + STORM_EXTRA  # a heal pass runs into it
        args = {'kind': kind, 'fraction': fraction, 'seconds': seconds}
        if scope:
            args['scope'] = scope
        sim.admin('POST', 'fault', **args)
        started = time.monotonic()
        ctx.churn()
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        sim.admin('DELETE', 'fault')
    return inject


def _expire_sessions(ctx: RunContext) -> None:
    ctx.host.sim.admin('POST', 'expire-sessions')
    ctx.churn()
    ctx.host.sim.admin('POST', 'expire-sessions')


def _event_overflow(ctx: RunContext) -> None:
    # The unplug events are lost: the adapters go, the queues overflow (MISSING_EVENTS).
    ctx.churn(lose_events=True)
    ctx.host.sim.admin('POST', 'overflow-events')


def _sim_restart(ctx: RunContext) -> None:
    ctx.host.sim.admin('POST', 'restart')
    ctx.churn()


def _sim_kill(ctx: RunContext) -> None:
    ctx.churn()
    ctx.host.sim.kill()
    time.sleep(1)
    ctx.host.sim.restart_process(kill=True)


def _agent_kill(ctx: RunContext) -> None:
    for proc in ctx.host.agents.values():
        proc.kill()
    ctx.churn()
    for proc in ctx.host.agents.values():
        proc.start()
    for proc in ctx.host.agents.values():
        proc.wait_alive(ctx.host.neutron, timeout=120)


def _stack_kill(name: str) -> Callable[[RunContext], None]:
    def inject(ctx: RunContext) -> None:
        kill_stack_process(ctx.host.stack, name)
        ctx.churn()
        respawn_stack_process(ctx.host.stack, name)
    return inject


FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault('412-storm', _storm('412', 0.6), '60% of writes answer 412 for a heal interval + '
          '3s', True),
    Fault('vios-busy', _storm('busy', 0.6), '60% of requests answer VIOS busy for a heal '
          'interval + 3s', True),
    Fault('503', _storm('503', 0.6), '60% of requests answer 503 for a heal interval + 3s',
          True),
    Fault('dropped', _storm('drop', 0.4), '40% of connections dropped for a heal interval + '
          '3s', True),
    Fault('session-expiry', _expire_sessions, 'every session expired before and after'),
    Fault('event-overflow', _event_overflow, 'unplug events lost, queues overflow '
          '(MISSING_EVENTS)'),
    Fault('sim-restart', _sim_restart, 'simulator restart (sessions, event queues gone)'),
    Fault('agent-kill', _agent_kill, 'kill -9 of both agents, churn, restart'),
    Fault('rpc-kill', _stack_kill('neutron-rpc-server'), 'kill -9 of neutron-rpc-server, '
          'churn, restart'),
    Fault('api-kill', _stack_kill('neutron-api'), 'kill -9 of the neutron API, churn, '
          'restart'),
    Fault('sim-kill', _sim_kill, 'churn, kill -9 of the simulator, restart'),
)}
QUICK = ('503', 'event-overflow', 'sim-restart', 'agent-kill')
