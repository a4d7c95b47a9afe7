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

"""The SEA agent against its floor: Neutron floor, REST floor, simulator service time.

For each workload (1 plug on an existing VLAN, 1 plug on a new VLAN, N concurrent
plugs on new VLANs, start-up heal of ``large``, a periodic heal pass of ``large``
with nothing changed (a pass of the heal timer: its REST reads and RPCs), a cleanup
of 50 unused VLANs) it measures, in one run:

* (a) Neutron floor: a stand-in agent on the same Neutron that makes only the RPCs
  the workload needs (neutron's PluginApi, the agent's chunking), no REST;
* (b) REST floor: only the unavoidable pypowervm requests (event delivery, bridge
  read, one bridge write per bridge; the host scan for the start-up heal) on a
  simulator of its own under ``--latency``;
* (c) the same requests at latency ``none``: the simulator's own service time
  (as a client sees it, so an upper bound);
* the real ``networking-powervm-sea-agent`` (debug logging) and its ratio to
  floor = (a) and (b) combined as the plug path orders them.

Also a timeline of one batch per plug workload (agent log + simulator request log)
and the idle RSS/CPU of both agents.  Usage::

    .venv/bin/python benchmarks/floor_bench.py [--repeats 3] [--plugs 10,50,100]
        [--latency novalink] [--large-ports 200] [--skip-large] [--json out.json]

See benchmarks/README.md for how to read the figures.
"""

from __future__ import annotations

# The threading backend of oslo.service, before anything imports oslo_messaging.
from oslo_service import backend as _backend  # isort: skip

try:
    _backend.init_backend(_backend.BackendType.THREADING)
except _backend.exceptions.BackendAlreadySelected:  # pragma: no cover
    pass

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import floor_parts as fp  # noqa: E402
import plug_bench as pb  # noqa: E402
import psutil  # noqa: E402
from pypowervm.tasks import network_bridger as pvm_bridger  # noqa: E402
from pypowervm.wrappers import managed_system as pvm_ms  # noqa: E402
from pypowervm.wrappers import network as pvm_net  # noqa: E402

from networking_powervm.common import constants as const  # noqa: E402
from powervm_testbed.agent_process import AgentProcess  # noqa: E402
from powervm_testbed.neutron_client import NeutronClient  # noqa: E402
from powervm_testbed.neutron_stack import AgentStateReporter, NeutronStack  # noqa: E402

PHYSNET = pb.PHYSNET
AGENT_HOST, FLOOR_HOST = pb.PLUG_HOST, 'floor-standin'  # plug_bench's helpers bind to PLUG_HOST
LARGE_HOST, CLEAN_HOST = 'floor-large', 'floor-clean'
# The large agent's heal_and_optimize_interval; its periodic figure is the timer's pass
# number PERIODIC_PASS (pass 1 is the start-up's).
LARGE_HEAL_INTERVAL = 10
PERIODIC_PASS = 3
CLEANUP_VLANS = 50
FIRST_CLEAN_VLAN = 3000
FIRST_FLOOR_VLAN = 2000  # the floors' VLANs (the agent's plugs use plug_bench's, from 1000)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float('nan')


@dataclass
class Figures:
    """One workload: per-repeat figures of every part, medians on demand."""

    name: str
    steps: dict[str, list[float]] = field(default_factory=dict)  # floor steps, per repeat
    agent: list[float] = field(default_factory=list)
    agent_p50: list[float] = field(default_factory=list)
    agent_rest: Counter[str] = field(default_factory=Counter)
    agent_rpc: Counter[str] = field(default_factory=Counter)
    floor_rest: Counter[str] = field(default_factory=Counter)
    floor_rpc: Counter[str] = field(default_factory=Counter)
    repeats: int = 0
    note: str = ''
    timeline: list[tuple[float, float, str, str, int]] = field(default_factory=list)

    def add(self, step: str, seconds: float) -> None:
        self.steps.setdefault(step, []).append(seconds)

    def med(self, step: str) -> float:
        return median(self.steps.get(step, []))


# --------------------------------------------------------------------------- set-up

def start_sim(workdir: Path, name: str, scenario: str) -> pb.Sim:
    """A simulator subprocess at latency none (each part switches the profile)."""
    return pb.Sim(scenario, workdir / name, 'none')


# oslo.log's default levels, but oslo.messaging (RPC calls) and urllib3 (REST requests)
# at debug, for the timeline; chatty libraries quiet.
AGENT_LOG_LEVELS = ','.join([
    'amqp=WARN', 'amqplib=WARN', 'sqlalchemy=WARN', 'oslo.messaging=DEBUG',
    'oslo_messaging=DEBUG', 'iso8601=WARN', 'urllib3.connectionpool=DEBUG',
    'urllib3.util.retry=WARN', 'stevedore=WARN', 'keystoneauth=WARN',
    'oslo_policy=INFO', 'charset_normalizer=WARN', 'oslo_concurrency.lockutils=WARN'])


def start_agent(stack: NeutronStack, host: str, sim: pb.Sim, binary: str = 'sea',
                heal_interval: int = 86400) -> AgentProcess:
    """The real agent (debug logging) for ``host`` against ``sim``."""
    h = sim.handle
    agent_opts: dict[str, Any] = {'heal_and_optimize_interval': heal_interval,
                                  'exception_interval': 2}
    if binary == 'sea':
        agent_opts['bridge_mappings'] = f'{PHYSNET}:ent8:vios1'
        agent_type, name = const.AGENT_TYPE_PVM_SEA, 'networking-powervm-sea-agent'
    else:
        agent_opts['vnic_required_vfs'] = 1
        agent_type, name = const.AGENT_TYPE_PVM_SRIOV, 'networking-powervm-sriov-agent'
    ini = stack.agent_config(host, {
        'DEFAULT': {'debug': True, 'default_log_levels': AGENT_LOG_LEVELS},
        'AGENT': agent_opts,
        'powervm': {'host': h.host, 'port': h.port, 'protocol': h.protocol,
                    'username': h.user, 'password': h.password},
    }, name=f'{host}-{binary}')
    agent = AgentProcess(name, ini, host, agent_type)
    if agent.log_file is not None:
        agent.log_file.unlink(missing_ok=True)
    agent.start()
    return agent


def wait_heals(agent: AgentProcess, count: int, timeout: float) -> list[tuple[float, float]]:
    """Wait until the agent logged ``count`` 'Heal and optimize done' lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = fp.heal_done(agent.log_file)
        if len(done) >= count:
            return done
        pb.check_running(agent)
        time.sleep(0.5)
    raise RuntimeError(f'agent on {agent.host}: no heal #{count} within {timeout}s')


def rest_counts(counts: Counter[str]) -> Counter[str]:
    """GET / write counts of a window, event traffic and logons left out."""
    br = pb.RestBreakdown.of(counts)
    return Counter({'GET': br.gets, 'write': br.writes, 'NB write': br.bridge_writes})


def mac_of(n: int) -> str:
    return f'fa:16:3e:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}'


# --------------------------------------------------------------------------- plugs

class Plugs:
    """The plug workloads: the real agent, the Neutron floor and the REST floor."""

    def __init__(self, stack: NeutronStack, neutron: NeutronClient, workdir: Path,
                 nfloor: fp.NeutronFloor, latency: str, poll: float, timeout: float,
                 log: Any) -> None:
        self.stack, self.neutron, self.nfloor = stack, neutron, nfloor
        self.latency, self.poll, self.timeout, self.log = latency, poll, timeout, log
        self.sim = start_sim(workdir, 'sim-agent', 'single')
        self.fsim = start_sim(workdir, 'sim-floor', 'single')
        self.bench = pb.PlugBench(stack, neutron, self.sim, latency, poll, timeout)
        self.rest = fp.RestFloor(self.fsim, pb.compute_adapter)
        self.agent: AgentProcess | None = None
        self.next_vlan = FIRST_FLOOR_VLAN
        self.next_mac = 1 << 20  # stand-in ports' MACs, apart from the agent's
        self.nb_uuid = ''
        self._floor_nets: dict[str, list[str]] = {}  # workload -> its networks

    def close(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        for closer in (self.rest.close, self.bench.adapter.session._logoff):
            try:
                closer()
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
        self.sim.stop()
        self.fsim.stop()

    def start(self) -> None:
        self.agent = start_agent(self.stack, AGENT_HOST, self.sim)
        self.bench.agent = self.agent
        self.agent.wait_alive(self.neutron, timeout=120)
        self.sim.wait_quiet(quiet=2.0)
        self.nb_uuid = pvm_net.NetBridge.get(self.bench.adapter, parent_type=pvm_ms.System,
                                             parent_uuid=self.bench.host_uuid)[0].uuid
        warm, _, _ = self.bench.round(1, 1)
        self.log(f'plug: agent alive; warm-up plug (not counted) {warm[0]:.2f}s')

    # -- the real agent
    def agent_round(self, fig: Figures, size: int, nvlans: int, timeline: bool) -> None:
        b = self.bench
        if nvlans == 0:  # the batch's VLAN is put on the bridge first (at latency none)
            b.sim.set_latency('none')
            pvm_bridger.ensure_vlans_on_nb(b.adapter, b.host_uuid, self.nb_uuid,
                                           [b.next_vlan])
        plugs = b.prepare(size, max(1, nvlans))
        b.sim.set_latency(self.latency)
        before, _ = b.sim.wait_quiet(quiet=1.0)
        t_epoch = time.time()
        start_at = pb._post_all(b.adapter, plugs)
        active = pb.wait_active(self.neutron, AGENT_HOST, [p['port_id'] for p in plugs],
                                self.poll, self.timeout, on_poll=lambda: pb.check_running(
                                    self.agent))
        after, _ = b.sim.wait_quiet(quiet=1.5)
        t_end = time.time()
        if len(active) < size:
            raise RuntimeError(f'{fig.name}: {size - len(active)} port(s) not ACTIVE')
        lat = [active[p['port_id']] - start_at[p['port_id']] for p in plugs]
        fig.agent.append(max(lat))
        fig.agent_p50.append(median(lat))
        fig.agent_rest += rest_counts(pb.delta(after, before))
        rpc = fp.agent_rpc_calls(self.agent.log_file, t_epoch, t_end)
        fig.agent_rpc += fp.count_rpc(rpc)
        if timeline:
            all_active = t_epoch + max(active.values()) - min(start_at.values())
            marks = [fp.Mark(t_epoch, 'plug events posted', 'bench'),
                     fp.Mark(all_active, 'all ports seen ACTIVE (Neutron poll)', 'bench')]
            marks += rpc + fp.agent_rest_calls(self.agent.log_file, t_epoch, t_end)
            fig.timeline = [(a - t_epoch, z - t_epoch, w, s, n)
                            for a, z, w, s, n in fp.collapse(marks)]

    # -- (a) Neutron floor
    def neutron_round(self, fig: Figures, size: int, nvlans: int) -> None:
        # Fresh bound ports every repeat, as the agent's batches have: a port's first
        # devices up also clears its binding's provisioning block (reused ports, set
        # DOWN again, would not cost Neutron that). The networks are the workload's own.
        if fig.name not in self._floor_nets:
            vlans = [self.next_vlan + i for i in range(max(1, nvlans))]
            self.next_vlan += len(vlans)
            self._floor_nets[fig.name] = list(
                pb.create_networks(self.neutron, vlans, f'floor-{vlans[0]}').values())
        nets = self._floor_nets[fig.name]
        macs = [mac_of(self.next_mac + i) for i in range(size)]
        self.next_mac += size
        ports = pb.create_ports(self.neutron, [
            {'network_id': nets[i % len(nets)], 'mac_address': mac,
             'name': f'floor-{mac}', 'device_id': f'floor-vm-{mac}',
             'binding:host_id': FLOOR_HOST} for i, mac in enumerate(macs)], chunk=25)
        ids = [p['id'] for p in ports]
        try:
            self._neutron_floor(fig, size, macs, ids)
        finally:
            for port_id in ids:
                self.neutron.delete_port(port_id)

    def _neutron_floor(self, fig: Figures, size: int, macs: list[str],
                       ids: list[str]) -> None:
        before = Counter(self.nfloor.calls)
        done: dict[str, Any] = {}

        def rpc_path() -> None:  # as the agent orders them: details, then devices up
            try:
                done['details'], details = fp.timed(
                    lambda: self.nfloor.details(macs, FLOOR_HOST))
                if len([d for d in details if d.get('port_id')]) < size:
                    raise RuntimeError(f'{fig.name}: the Neutron floor got details of '
                                       f'{len(details)}/{size} ports')
                self.nfloor.up(macs, FLOOR_HOST)
            except Exception as exc:
                done['error'] = exc

        def check() -> None:
            if 'error' in done:
                raise done['error']

        # Polled from the first RPC on, the same way as the agent's plugs (the poller
        # does not know when devices up answered): the poll lag is in both figures.
        t0 = time.monotonic()
        rpcs = threading.Thread(target=rpc_path, name='floor-rpc', daemon=True)
        rpcs.start()
        active = pb.wait_active(self.neutron, FLOOR_HOST, ids, self.poll, self.timeout,
                                on_poll=check)
        rpcs.join()
        check()
        if len(active) < size:
            raise RuntimeError(f'{fig.name}: Neutron floor: {size - len(active)} not ACTIVE')
        fig.add('details', done['details'])
        fig.add('up', max(active.values()) - t0 - done['details'])
        fig.floor_rpc += Counter(self.nfloor.calls) - before

    # -- (b) REST floor under the profile, (c) the same at latency none
    def rest_round(self, fig: Figures, size: int, nvlans: int) -> None:
        for profile, prefix in ((self.latency, ''), ('none', 'sim ')):
            self.fsim.set_latency('none')
            vlans = [self.next_vlan + i for i in range(nvlans)]
            self.next_vlan += nvlans
            macs = [mac_of(self.next_mac + i) for i in range(size)]
            self.next_mac += size
            self.fsim.set_latency(profile)
            before = self.fsim.requests()
            fig.add(prefix + 'event', self.rest.events(macs))
            fig.add(prefix + 'read', self.rest.bridge_read())
            if vlans:
                fig.add(prefix + 'write', self.rest.bridge_add(vlans))
            if not prefix:
                fig.floor_rest += rest_counts(pb.delta(self.fsim.requests(), before))
            if vlans:  # keep the floor's bridge small for the next rounds
                self.fsim.set_latency('none')
                self.rest.bridge_remove(vlans)

    def run(self, name: str, size: int, nvlans: int, repeats: int) -> Figures:
        fig = Figures(name, repeats=repeats)
        # A project per workload: its networks and ports stay within the default quotas.
        project = f'floor-{size}-{nvlans}'
        self.neutron = self.bench.neutron = NeutronClient(self.stack.api_url, project,
                                                          timeout=180)
        for rnd in range(repeats):
            self.agent_round(fig, size, nvlans, timeline=rnd == repeats - 1)
            self.neutron_round(fig, size, nvlans)
            self.rest_round(fig, size, nvlans)
            self.log(f'{name}: repeat {rnd + 1}/{repeats}: agent {fig.agent[-1]:.2f}s, '
                     f'details {fig.steps["details"][-1]:.2f}s, up {fig.steps["up"][-1]:.2f}s, '
                     f'event {fig.steps["event"][-1]:.2f}s, '
                     f'write {fig.steps.get("write", [0])[-1]:.2f}s')
        return fig


def plug_floor(fig: Figures, prefix: str = '') -> float:
    """event -> max(details, bridge read) -> bridge write -> devices up."""
    neutron = fig.med('details') if not prefix else 0.0
    up = fig.med('up') if not prefix else 0.0
    write = fig.med(prefix + 'write') if fig.steps.get(prefix + 'write') else 0.0
    return fig.med(prefix + 'event') + max(neutron, fig.med(prefix + 'read')) + write + up


# --------------------------------------------------------------------------- large

def run_large(stack: NeutronStack, neutron: NeutronClient, workdir: Path,
              nfloor: fp.NeutronFloor, reporter: Any, nports: int, latency: str,
              repeats: int, timeout: float, log: Any) -> tuple[Figures, Figures]:
    """Start-up heal and periodic heal pass of ``large``: agent, Neutron and REST floors."""
    sim = start_sim(workdir, 'sim-large', 'large')
    start, periodic = Figures('start-up heal, large'), Figures('periodic heal, large')
    agent: AgentProcess | None = None
    rest: fp.RestFloor | None = None
    try:
        state = sim.handle.admin('GET', 'state')
        pairs = [(p, c) for p in state['partitions'] if p.get('openstack_managed')
                 for c in p['cnas']]
        stride = max(1, len(pairs) // nports)
        chosen = [pairs[min(len(pairs) - 1, i * stride + (i // 10) % stride)]
                  for i in range(min(nports, len(pairs)))]
        vlans = sorted({c['pvid'] for _, c in chosen})
        nets = pb.create_networks(neutron, vlans, 'large')
        specs = [{'network_id': nets[c['pvid']],
                  'mac_address': ':'.join(c['mac'][i:i + 2] for i in range(0, 12, 2)).lower(),
                  'name': f'{p["name"]}-{c["slot"]}', 'device_id': p['uuid'],
                  'binding:host_id': LARGE_HOST} for p, c in chosen]
        with fp.Heartbeat(reporter, [LARGE_HOST], PHYSNET):
            ports = pb.create_ports(neutron, specs, chunk=25)
        macs = sorted(s['mac_address'] for s in specs)
        log(f'large: {len(pairs)} CNAs, {len(ports)} ports bound over {len(vlans)} VLANs')
        rest = fp.RestFloor(sim, pb.compute_adapter)
        for rnd in range(repeats):
            # Each start-up finds the bound ports DOWN and their VLANs missing, so each
            # heal asks details of, writes the bridge for and brings up all of them (the
            # floor's work too), as the first one did.
            sim.set_latency('none')
            rest.bridge_remove(vlans)
            nfloor.down(macs, LARGE_HOST)
            sim.set_latency(latency)
            before = sim.requests()
            t_epoch = time.time()
            agent = start_agent(stack, LARGE_HOST, sim, heal_interval=LARGE_HEAL_INTERVAL)
            done = wait_heals(agent, 1, timeout)
            mid = sim.requests()
            start.agent.append(done[0][1])
            start.add('agent start -> heal done', done[0][0] - t_epoch)
            start.agent_rest += rest_counts(pb.delta(mid, before))
            start.agent_rpc += fp.count_rpc(fp.agent_rpc_calls(agent.log_file, t_epoch,
                                                               done[0][0]))
            # The timer's passes: the first re-reads what the start-up pass wrote (its
            # events), the second is the one measured: nothing changed since the one before.
            wait_heals(agent, PERIODIC_PASS - 1, timeout)
            mid = sim.requests()
            done = wait_heals(agent, PERIODIC_PASS, timeout + LARGE_HEAL_INTERVAL)
            end = sim.requests()
            pas = done[PERIODIC_PASS - 1]
            periodic.agent.append(pas[1])
            periodic.agent_rest += rest_counts(pb.delta(end, mid))
            periodic.agent_rpc += fp.count_rpc(fp.agent_rpc_calls(
                agent.log_file, pas[0] - pas[1] - 0.01, pas[0]))
            cost = fp.heal_costs(agent.log_file)[PERIODIC_PASS - 1]
            log(f'large: periodic pass: {cost[0]} REST reads, {cost[1]} writes '
                f'(full scan: {cost[2]}) by its own log line')
            agent.stop()
            agent = None
            log(f'large: repeat {rnd + 1}/{repeats}: start-up heal {start.agent[-1]:.1f}s, '
                f'periodic heal {periodic.agent[-1]:.1f}s')
        # The floors, the agent stopped; the stand-in keeps the host alive.
        with fp.Heartbeat(reporter, [LARGE_HOST], PHYSNET):
            for _ in range(repeats):
                nfloor.down(macs, LARGE_HOST)  # as the agent found them
                calls = Counter(nfloor.calls)
                t_bound, bound = fp.timed(lambda: nfloor.bound(LARGE_HOST))
                t_det, _ = fp.timed(lambda: nfloor.details(macs, LARGE_HOST))
                t_up, _ = fp.timed(lambda: nfloor.up(macs, LARGE_HOST))
                if len(bound) < len(macs):
                    raise RuntimeError(f'large: Neutron lists {len(bound)} bound ports')
                for fig in (start, periodic):
                    fig.add('bound', t_bound)
                start.add('details', t_det)
                start.add('up', t_up)
                start.floor_rpc += Counter(nfloor.calls) - calls
                periodic.floor_rpc['get_ports_by_vnic_type_and_host'] += 1
                for profile, prefix in ((latency, ''), ('none', 'sim ')):
                    sim.set_latency(profile)
                    r0 = sim.requests()
                    start.add(prefix + 'scan', rest.scan())
                    r1 = sim.requests()
                    read = rest.bridge_read()
                    start.add(prefix + 'read', read)
                    periodic.add(prefix + 'read', read)
                    r2 = sim.requests()
                    periodic.add(prefix + 'vios', rest.vios_read())
                    r3 = sim.requests()
                    sim.set_latency('none')
                    rest.bridge_remove(vlans)
                    sim.set_latency(profile)
                    r4 = sim.requests()
                    start.add(prefix + 'write', rest.bridge_add(vlans))
                    if not prefix:  # requests of the floors themselves, not the set-up
                        start.floor_rest += rest_counts(pb.delta(r2, r0) + pb.delta(
                            sim.requests(), r4))
                        periodic.floor_rest += rest_counts(pb.delta(r3, r1))
        start.repeats = periodic.repeats = repeats
        start.note = 'agent figure: its heal pass ("Heal and optimize done in")'
        periodic.note = (f'the heal timer\'s pass #{PERIODIC_PASS} (heal_and_optimize_interval '
                         f'{LARGE_HEAL_INTERVAL}s): nothing changed since the pass before')
        return start, periodic
    finally:
        if agent is not None:
            agent.stop()
        if rest is not None:
            rest.close()
        sim.stop()


def start_floor(fig: Figures, prefix: str = '') -> float:
    """max(scan + bridge read, bound ports) -> details -> bridge write -> devices up."""
    neutron = 0.0 if prefix else fig.med('bound')
    rest = fig.med(prefix + 'scan') + fig.med(prefix + 'read')
    after = 0.0 if prefix else fig.med('details') + fig.med('up')
    write = fig.med(prefix + 'write') if fig.steps.get(prefix + 'write') else 0.0
    return max(rest, neutron) + after + write


def periodic_floor(fig: Figures, prefix: str = '') -> float:
    """max(bridge + VIOS read, bound ports): nothing to change."""
    return max(fig.med(prefix + 'read') + fig.med(prefix + 'vios'),
               0.0 if prefix else fig.med('bound'))


# --------------------------------------------------------------------------- cleanup, idle

def run_cleanup_idle(stack: NeutronStack, workdir: Path, nfloor: fp.NeutronFloor,
                     reporter: Any, neutron: NeutronClient, latency: str, repeats: int,
                     timeout: float, log: Any) -> tuple[Figures, dict[str, dict[str, float]]]:
    """Idle RSS/CPU of both agents, then the cleanup of 50 unused VLANs (agent + floors)."""
    sim = start_sim(workdir, 'sim-clean', 'single')
    fig = Figures('cleanup of 50 unused VLANs', repeats=repeats)
    agents: dict[str, AgentProcess] = {}
    rest: fp.RestFloor | None = None
    idle: dict[str, dict[str, float]] = {}
    try:
        for kind in ('sea', 'sriov'):
            agents[kind] = start_agent(stack, CLEAN_HOST, sim, kind)
        for agent in agents.values():
            agent.wait_alive(neutron, timeout=120)
        wait_heals(agents['sea'], 1, timeout)
        time.sleep(5)  # past start-up
        for kind, agent in agents.items():
            proc = psutil.Process(agent.pid)
            procs = [proc, *proc.children(recursive=True)]
            for p in procs:
                p.cpu_percent(None)
            time.sleep(10)
            idle[kind] = {'rss_mib': sum(p.memory_info().rss for p in procs) / 2 ** 20,
                          'cpu_pct': sum(p.cpu_percent(None) for p in procs)}
        log(f'idle: {idle}')
        agents['sriov'].stop()
        rest = fp.RestFloor(sim, pb.compute_adapter)
        vlans = list(range(FIRST_CLEAN_VLAN, FIRST_CLEAN_VLAN + CLEANUP_VLANS))
        sea = agents['sea']
        for rnd in range(repeats):
            sim.set_latency('none')
            rest.bridge_add(vlans)
            sim.set_latency(latency)
            before = sim.requests()
            t_epoch = time.time()
            sim.handle.admin('POST', 'cache-cleared')
            done = wait_heals(sea, rnd + 2, timeout)
            fig.agent.append(done[-1][1])
            fig.agent_rest += rest_counts(pb.delta(sim.requests(), before))
            fig.agent_rpc += fp.count_rpc(fp.agent_rpc_calls(sea.log_file, t_epoch,
                                                             done[-1][0]))
            left = _vlans_on_bridge(sim) & set(vlans)
            if left:
                raise RuntimeError(f'cleanup: VLANs {sorted(left)} still on the bridge')
        sea.stop()
        with fp.Heartbeat(reporter, [CLEAN_HOST], PHYSNET):
            for _ in range(repeats):
                fig.add('bound', fp.timed(lambda: nfloor.bound(CLEAN_HOST))[0])
                fig.floor_rpc['get_ports_by_vnic_type_and_host'] += 1
                for profile, prefix in ((latency, ''), ('none', 'sim ')):
                    sim.set_latency('none')
                    rest.bridge_add(vlans)
                    sim.set_latency(profile)
                    before = sim.requests()
                    fig.add(prefix + 'read', rest.bridge_read())
                    fig.add(prefix + 'write', rest.bridge_remove(vlans))
                    if not prefix:
                        fig.floor_rest += rest_counts(pb.delta(sim.requests(), before))
        fig.note = 'agent figure: the heal pass that removed them (CACHE_CLEARED)'
        return fig, idle
    finally:
        for agent in agents.values():
            agent.stop()
        if rest is not None:
            rest.close()
        sim.stop()


def _vlans_on_bridge(sim: pb.Sim) -> set[int]:
    state = sim.handle.admin('GET', 'state')
    return {v for nb in state.get('bridges', []) for lg in nb.get('load_groups', [])
            for ta in lg.get('trunk_adapters', lg.get('trunks', [])) for v in ta.get('vlans', [])}


def cleanup_floor(fig: Figures, prefix: str = '') -> float:
    """max(bridge read, bound ports) -> one bridge write (read + update)."""
    return max(fig.med(prefix + 'read'), 0.0 if prefix else fig.med('bound')) + \
        fig.med(prefix + 'write')


# --------------------------------------------------------------------------- output

def _counts(c: Counter[str], repeats: int) -> str:
    return ' '.join(f'{k}={v / repeats:g}' for k, v in sorted(c.items()) if v) or '-'


RPC_SHORT = {'get_devices_details_list': 'details', 'update_device_list': 'up',
             'get_ports_by_vnic_type_and_host': 'bound'}


def _rpc(c: Counter[str], repeats: int) -> str:
    return ' '.join(f'{RPC_SHORT.get(k, k)}={v / repeats:g}' for k, v in sorted(c.items())
                    if v) or '-'


def print_table(rows: list[tuple[Figures, float, float, float, str]], latency: str) -> None:
    """rows: (figures, neutron floor, REST floor, floor, how the floor combines)."""
    print(f'\nfloor vs agent (medians; latency profile {latency}; seconds)')
    head = (f'{"workload":<30} {"Neutron(a)":>10} {"REST(b)":>8} {"sim(c)":>7} {"floor":>7} '
            f'{"agent":>7} {"ratio":>6}')
    print(head)
    print('-' * len(head))
    for fig, neutron, rest, floor, _ in rows:
        sim = fig.steps.get('_sim', [float('nan')])[0]
        print(f'{fig.name:<30} {neutron:>10.2f} {rest:>8.2f} {sim:>7.2f} {floor:>7.2f} '
              f'{median(fig.agent):>7.2f} {median(fig.agent) / floor:>6.2f}')
    print('\nper workload (per repeat): floor steps; REST requests; RPC calls')
    for fig, _, _, _, how in rows:
        steps = ', '.join(f'{k} {median(v):.2f}' for k, v in fig.steps.items()
                          if not k.startswith('_'))
        p50 = f'; agent p50 {median(fig.agent_p50):.2f}s' if fig.agent_p50 else ''
        print(f'  {fig.name} (x{fig.repeats}){p50}: floor = {how}')
        print(f'    floor steps: {steps}')
        print(f'    REST  agent: {_counts(fig.agent_rest, fig.repeats)}; '
              f'floor: {_counts(fig.floor_rest, fig.repeats)}')
        print(f'    RPC   agent: {_rpc(fig.agent_rpc, fig.repeats)}; '
              f'floor: {_rpc(fig.floor_rpc, fig.repeats)}')
        if fig.note:
            print(f'    ({fig.note})')


def print_timelines(figs: list[Figures]) -> None:
    for fig in figs:
        if not fig.timeline:
            continue
        print(f'\ntimeline of one batch: {fig.name} (seconds after the events were posted; '
              'from the agent\'s debug log: RPC = sent, REST = answered)')
        prev = 0.0
        for first, last, what, src, n in fig.timeline:
            span = f'{first:6.2f}' + (f'-{last:6.2f}' if n > 1 else ' ' * 7)
            print(f'  {span} (+{first - prev:5.2f}) {src:<5} {what}' + (f' x{n}' if n > 1
                                                                      else ''))
            prev = last
        steps = fp.attribute(fig.timeline)
        print('  attribution: ' + ', '.join(f'{k} {v:.2f}s' for k, v in sorted(
            steps.items(), key=lambda kv: -kv[1])))


# --------------------------------------------------------------------------- main

def emit(rows: list[tuple[Figures, float, float, float, str]], latency: str,
         figs: list[Figures]) -> None:
    """Print finished workloads at once (a run stopped later keeps them)."""
    print_table(rows, latency)
    print_timelines(figs)
    sys.stdout.flush()


def print_idle(idle: dict[str, dict[str, float]]) -> None:
    if idle:
        print('\nidle agents after start-up (psutil, 10 s each)')
        for kind, vals in idle.items():
            print(f'  {kind:<6} RSS {vals["rss_mib"]:6.1f} MiB   CPU {vals["cpu_pct"]:5.1f} %')
    sys.stdout.flush()


def _plugs(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(',') if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid --plugs {text!r}: use e.g. 10,50,100') from None
    if any(not 1 <= s <= 200 for s in sizes):
        raise argparse.ArgumentTypeError(f'invalid --plugs {text!r}: each must be 1-200')
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--repeats', type=int, default=2, help='repeats per workload (default 2)')
    p.add_argument('--plugs', type=_plugs, default=[10, 50, 100],
                   help='concurrent-plug batch sizes on new VLANs (default 10,50,100)')
    p.add_argument('--latency', choices=('novalink', 'none'), default='novalink')
    p.add_argument('--large-ports', type=int, default=200)
    p.add_argument('--skip-large', action='store_true', help='no start-up/periodic heal')
    p.add_argument('--skip-plugs', action='store_true')
    p.add_argument('--skip-cleanup', action='store_true', help='no cleanup / idle figures')
    p.add_argument('--poll', type=float, default=0.2, help='Neutron poll interval (s)')
    p.add_argument('--timeout', type=float, default=400, help='per batch / heal (s)')
    p.add_argument('--workdir', type=Path, help='keep everything here (default: a temp dir)')
    p.add_argument('--json', type=Path, help='write the figures to this JSON file')
    p.add_argument('--timelines-of', type=Path, metavar='JSON',
                   help='only print the timelines (and their attribution) of a --json file')
    args = p.parse_args(argv)
    if args.repeats < 1 or args.large_ports < 1:
        p.error('--repeats and --large-ports must be positive')
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.timelines_of:
        saved = json.loads(args.timelines_of.read_text())
        print(f'timelines of: {saved["command"]}')
        print_timelines([Figures(w['name'], timeline=[tuple(t) for t in w['timeline']])
                         for w in saved['workloads']])
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='floor-bench-'))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    def log(msg: str) -> None:
        print(f'[{time.monotonic() - t0:6.1f}s] {msg}', file=sys.stderr, flush=True)

    command = ' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    load = os.getloadavg()
    rows: list[tuple[Figures, float, float, float, str]] = []
    plug_figs: list[Figures] = []
    idle: dict[str, dict[str, float]] = {}
    print(f'command: {command}\nmachine: {os.cpu_count()} CPUs, load average at start '
          f'{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}', flush=True)
    stack = NeutronStack(workdir / 'neutron')
    log(f'starting Neutron in {workdir}')
    stack.start()
    reporter = AgentStateReporter(stack.transport_url)
    try:
        neutron = NeutronClient(stack.api_url, project_id='floor-bench', timeout=180)
        nfloor = fp.NeutronFloor(reporter)
        if not args.skip_plugs:
            plugs = None
            try:
                with fp.Heartbeat(reporter, [FLOOR_HOST], PHYSNET):
                    plugs = Plugs(stack, neutron, workdir, nfloor, args.latency, args.poll,
                                  args.timeout, log)
                    plugs.start()
                    workloads = [('1 plug, existing VLAN', 1, 0), ('1 plug, new VLAN', 1, 1)]
                    workloads += [(f'{n} plugs, {pb.default_vlans(n)} new VLANs', n,
                                   pb.default_vlans(n)) for n in args.plugs]
                    for name, size, nvlans in workloads:
                        fig = plugs.run(name, size, nvlans, args.repeats)
                        plug_figs.append(fig)
                        fig.steps['_sim'] = [plug_floor(fig, 'sim ')]
                        rest = fig.med('event') + fig.med('read') + (
                            fig.med('write') if 'write' in fig.steps else 0.0)
                        how = ('event -> max(details, bridge read) -> '
                               + ('bridge write -> ' if nvlans else '') + 'devices up')
                        rows.append((fig, fig.med('details') + fig.med('up'), rest,
                                     plug_floor(fig), how))
                        emit(rows[-1:], args.latency, [fig])
            finally:
                if plugs is not None:
                    plugs.close()
        if not args.skip_large:
            start, periodic = run_large(
                stack, NeutronClient(stack.api_url, 'floor-bench-large', timeout=180), workdir,
                nfloor, reporter, args.large_ports, args.latency, args.repeats, args.timeout,
                log)
            start.steps['_sim'] = [start_floor(start, 'sim ')]
            periodic.steps['_sim'] = [periodic_floor(periodic, 'sim ')]
            rows.append((start, start.med('bound') + start.med('details') + start.med('up'),
                         start.med('scan') + start.med('read') + (
                             start.med('write') if 'write' in start.steps else 0.0),
                         start_floor(start),
                         'max(scan + bridge read, bound ports) -> details -> '
                         + ('bridge write -> ' if 'write' in start.steps else '') + 'up'))
            rows.append((periodic, periodic.med('bound'),
                         periodic.med('read') + periodic.med('vios'), periodic_floor(periodic),
                         'max(bridge + VIOS read, bound ports)'))
            emit(rows[-2:], args.latency, [])
        if not args.skip_cleanup:
            fig, idle = run_cleanup_idle(stack, workdir, nfloor, reporter, neutron,
                                         args.latency, args.repeats, args.timeout, log)
            fig.steps['_sim'] = [cleanup_floor(fig, 'sim ')]
            rows.append((fig, fig.med('bound'), fig.med('read') + fig.med('write'),
                         cleanup_floor(fig), 'max(bridge read, bound ports) -> bridge write'))
            emit(rows[-1:], args.latency, [])
            print_idle(idle)
    finally:
        reporter.close()
        stack.stop()
    print('\n======== all workloads of this run')
    print(f'command: {command}')
    print(f'machine: {os.cpu_count()} CPUs, load average at start {load[0]:.1f} '
          f'{load[1]:.1f} {load[2]:.1f}, at the end {os.getloadavg()[0]:.1f} '
          '(shared: compare within this run)')
    print_table(rows, args.latency)
    print_timelines(plug_figs)
    print_idle(idle)
    print(f'\n(total run {time.monotonic() - t0:.0f}s; logs in {workdir})')
    if args.json:
        args.json.write_text(json.dumps({
            'command': command, 'latency': args.latency, 'idle': idle,
            'workloads': [{'name': f.name, 'steps': f.steps, 'agent': f.agent,
                           'agent_p50': f.agent_p50, 'neutron_floor': n, 'rest_floor': r,
                           'floor': fl, 'agent_rest': f.agent_rest, 'agent_rpc': f.agent_rpc,
                           'floor_rest': f.floor_rest, 'floor_rpc': f.floor_rpc,
                           'timeline': f.timeline} for f, n, r, fl, _ in rows]},
            indent=2, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
