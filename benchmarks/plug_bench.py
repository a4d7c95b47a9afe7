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

"""Plug->ACTIVE latency and REST cost of the SEA agent; start-up heal on a large host.

Runs a real Neutron stack (API + RPC server, MariaDB, RabbitMQ), the PowerVM REST
simulator and the ``networking-powervm-sea-agent`` process, then:

* plug: for each size N in --sizes, N ports (over several fresh VLANs) are created
  and bound in Neutron, their CNAs created on N partitions, then the N plug events
  are posted at once.  Per port the clock runs from posting its event until Neutron
  shows it ACTIVE (one list call for all ports every --poll seconds).  The simulator's
  request counters give REST requests per plug and the Network Bridge writes per batch.
* large: the agent is started against the ``large`` scenario (1000 partitions x 2
  CNAs) with --large-ports of those CNAs' ports already bound in Neutron; prints how
  long until they are all ACTIVE and until the REST traffic of the heal stops.

Usage::

    .venv/bin/python benchmarks/plug_bench.py [--sizes 1,10,100] [--latency novalink]
        [--rounds 3] [--large-ports 200] [--skip-large] [--json out.json]

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
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent import futures  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from networking_powervm.common import constants as const  # noqa: E402
from powervm_sim import client as sim_client  # noqa: E402
from powervm_testbed.agent_process import AgentProcess  # noqa: E402
from powervm_testbed.neutron_client import NeutronClient  # noqa: E402
from powervm_testbed.neutron_stack import (  # noqa: E402
    AgentStateReporter,
    NeutronStack,
)

PHYSNET = 'default'
PLUG_HOST = 'bench-plug'
LARGE_HOST = 'bench-large'
FIRST_PLUG_VLAN = 1000  # plug batches use fresh VLANs from here (not on the bridge yet)
WRITE_METHODS = ('PUT', 'POST', 'DELETE')
# Requests that are not the agent's provisioning work: the compute side's event
# posts and the agent's event long polls (reported separately).
EVENT_POST, EVENT_POLL = 'PUT Event', 'GET Event'
BRIDGE_RESOURCES = ('NetworkBridge', 'LoadGroup', 'VirtualNetwork')
RETRIES: Counter[str] = Counter()  # event posts retried after a connection reset


# --------------------------------------------------------------------------- helpers

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0-100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def default_vlans(plugs: int) -> int:
    """VLANs a batch of ``plugs`` ports spreads over: one per 5 ports, 1 to 20."""
    return max(1, min(20, math.ceil(plugs / 5)))


def delta(after: dict[str, int], before: dict[str, int]) -> Counter[str]:
    """Per-key request count increase between two stats snapshots."""
    out: Counter[str] = Counter()
    for key, val in after.items():
        if val - before.get(key, 0):
            out[key] = val - before.get(key, 0)
    return out


@dataclass
class RestBreakdown:
    """REST requests of one measured window, split by kind."""

    gets: int = 0
    writes: int = 0
    bridge_writes: int = 0
    event_posts: int = 0
    event_polls: int = 0
    logons: int = 0
    by_key: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, counts: Counter[str]) -> RestBreakdown:
        out = cls(by_key=dict(sorted(counts.items())))
        for key, val in counts.items():
            method, _, resource = key.partition(' ')
            if key == EVENT_POST:
                out.event_posts += val
            elif key == EVENT_POLL:
                out.event_polls += val
            elif resource == 'Logon':
                out.logons += val
            elif method == 'GET':
                out.gets += val
            elif method in WRITE_METHODS:
                out.writes += val
                if resource in BRIDGE_RESOURCES:
                    out.bridge_writes += val
        return out


class Sim:
    """A ``powervm-sim`` subprocess and its request counters."""

    def __init__(self, scenario: str, state_dir: Path, latency: str) -> None:
        self.handle = sim_client.start_subprocess(
            scenario, state_dir, extra_args=['--latency', latency, '--log-level', 'WARNING'],
            timeout=180)

    def requests(self) -> dict[str, int]:
        return dict(self.handle.admin('GET', 'stats')['requests'])

    def set_latency(self, profile: str) -> None:
        self.handle.admin('POST', 'latency', profile=profile)

    def wait_quiet(self, quiet: float = 1.5, timeout: float = 300,
                   poll: float = 0.25) -> tuple[dict[str, int], float]:
        """Wait until no request but event polls/posts arrives for ``quiet`` seconds.

        Returns (the last stats, monotonic time of the last counted change).
        """
        def work(stats: dict[str, int]) -> dict[str, int]:
            return {k: v for k, v in stats.items() if k not in (EVENT_POLL, EVENT_POST)}

        last = self.requests()
        changed = time.monotonic()
        deadline = changed + timeout
        while time.monotonic() < deadline:
            time.sleep(poll)
            now = self.requests()
            if work(now) != work(last):
                changed = time.monotonic()
            last = now
            if time.monotonic() - changed >= quiet:
                break
        return last, changed

    def stop(self) -> None:
        self.handle.stop()


def agent_ini(stack: NeutronStack, host: str, sim: Sim) -> Path:
    """The SEA agent's config file for ``host`` talking to ``sim`` (no periodic heal)."""
    h = sim.handle
    return stack.agent_config(host, {
        'AGENT': {'bridge_mappings': f'{PHYSNET}:ent8:vios1',
                  'heal_and_optimize_interval': 86400, 'exception_interval': 2},
        'powervm': {'host': h.host, 'port': h.port, 'protocol': h.protocol,
                    'username': h.user, 'password': h.password},
    })


def start_agent(stack: NeutronStack, host: str, sim: Sim) -> tuple[AgentProcess, float]:
    """Start the SEA agent process for ``host``; (the process, its monotonic start time)."""
    agent = AgentProcess('networking-powervm-sea-agent', agent_ini(stack, host, sim), host,
                         const.AGENT_TYPE_PVM_SEA)
    if agent.log_file is not None:
        agent.log_file.unlink(missing_ok=True)
    started = time.monotonic()
    agent.start()
    return agent, started


def check_running(agent: AgentProcess) -> None:
    """Raise with the log tail if the agent process exited."""
    if not agent.running:
        raise RuntimeError(f'the SEA agent on {agent.host} exited with {agent.returncode}\n'
                           + agent.log_tail())


def wait_active(neutron: NeutronClient, host: str, port_ids: list[str], poll: float,
                timeout: float, on_poll: Any = None) -> dict[str, float]:
    """Monotonic time each port was first seen ACTIVE (one list call per poll).

    Polls come every tenth of the time elapsed (at least 0.02 s apart, at most
    ``poll``): a sub-second figure is not rounded up by a whole poll interval,
    and a long wait does not load Neutron with polls.
    """
    seen: dict[str, float] = {}
    start = time.monotonic()
    deadline = start + timeout
    pending = set(port_ids)
    while pending and time.monotonic() < deadline:
        ports = neutron.list_ports(**{'binding:host_id': host, 'status': 'ACTIVE',
                                      'fields': ['id']})
        now = time.monotonic()
        for port in ports:
            if port['id'] in pending:
                seen[port['id']] = now
                pending.discard(port['id'])
        if on_poll is not None:
            on_poll()
        if pending:
            time.sleep(min(poll, max(0.02, (time.monotonic() - start) / 10)))
    return seen


def create_sea_ports(neutron: NeutronClient, plugs: list[dict[str, Any]],
                     specs: list[dict[str, Any]]) -> None:
    """Create the plugs' ports (one spec each, bound to a host) and set each plug's
    'port_id'; a port not bound to pvm_sea is an error."""
    for p, spec, port in zip(plugs, specs, create_ports(neutron, specs), strict=True):
        if port.get('binding:vif_type') != const.VIF_TYPE_PVM_SEA:
            raise RuntimeError(f'port {port["id"]} not bound to pvm_sea on '
                               f'{spec["binding:host_id"]}: vif_type '
                               f'{port.get("binding:vif_type")!r}')
        p['port_id'] = port['id']


def create_networks(neutron: NeutronClient, vlans: list[int], tag: str) -> dict[int, str]:
    """One VLAN network per VLAN on PHYSNET; {vlan: network id}."""
    return {vlan: neutron.create_network(f'{tag}-vlan{vlan}', physnet=PHYSNET,
                                         segmentation_id=vlan)['id'] for vlan in vlans}


def create_ports(neutron: NeutronClient, specs: list[dict[str, Any]],
                 chunk: int = 50) -> list[dict[str, Any]]:
    """Bulk-create ports (each spec: network_id, mac_address, name, device_id)."""
    made: list[dict[str, Any]] = []
    for start in range(0, len(specs), chunk):
        body = [{**s, 'project_id': neutron.project_id, 'device_owner': 'compute:nova'}
                for s in specs[start:start + chunk]]
        made += neutron.request('POST', 'ports', {'ports': body})['ports']
    return made


def compute_adapter(sim: Sim) -> Any:
    from pypowervm import adapter as pvm_adapter

    session = pvm_adapter.Session(**sim.handle.session_kwargs(), conn_tries=3)
    return pvm_adapter.Adapter(session)


# --------------------------------------------------------------------------- plug bench

@dataclass
class PlugResult:
    """Figures of all rounds of one batch size."""

    size: int
    vlans: int
    rounds: int
    latencies: list[float]
    p50: float
    p95: float
    max: float
    rest: RestBreakdown
    bridge_writes_per_batch: list[int]
    timeouts: int

    def per_plug(self, value: int) -> float:
        return value / (self.size * self.rounds)


def _post_all(adapter: Any, plugs: list[dict[str, Any]]) -> dict[str, float]:
    """Post the plug events of ``plugs`` at once (one thread each); {port id: post time}."""
    from powervm_vif import events as vif_events

    start_at: dict[str, float] = {}
    gate = threading.Barrier(len(plugs))

    def post(p: dict[str, Any]) -> None:
        from pypowervm import exceptions as pvm_exc

        gate.wait()
        start_at[p['port_id']] = time.monotonic()
        try:
            vif_events.post_vif_event(adapter, const.EVENT_ACTION_PLUG, p['mac'],
                                      const.VIF_TYPE_PVM_SEA, p['href'])
        except pvm_exc.ConnectionError:  # the simulator reset the connection: post again
            RETRIES['event_post'] += 1
            vif_events.post_vif_event(adapter, const.EVENT_ACTION_PLUG, p['mac'],
                                      const.VIF_TYPE_PVM_SEA, p['href'])

    with futures.ThreadPoolExecutor(len(plugs)) as pool:
        for fut in [pool.submit(post, p) for p in plugs]:
            fut.result()
    return start_at


class PlugBench:
    """The plug benchmark on the ``single`` scenario (agent on PLUG_HOST)."""

    def __init__(self, stack: NeutronStack, neutron: NeutronClient, sim: Sim,
                 latency: str, poll: float, timeout: float) -> None:
        from powervm_vif import partition

        self.stack, self.neutron, self.sim = stack, neutron, sim
        self.latency, self.poll, self.timeout = latency, poll, timeout
        self.adapter = compute_adapter(sim)
        self.host_uuid = partition.host_uuid(self.adapter)
        self.next_vlan = FIRST_PLUG_VLAN
        self.count = 0
        self.agent: AgentProcess | None = None

    def start_agent(self) -> None:
        self.agent, _ = start_agent(self.stack, PLUG_HOST, self.sim)
        self.agent.wait_alive(self.neutron, timeout=120)
        self.sim.wait_quiet(quiet=2.0)  # its start-up heal is done

    def prepare(self, size: int, nvlans: int) -> list[dict[str, Any]]:
        """Partitions, bound ports and CNAs of one batch (at latency none)."""
        from pypowervm.tasks import cna as pvm_cna
        from pypowervm.util import sanitize_mac_for_api

        from powervm_vif import partition, sea_vif

        self.sim.set_latency('none')
        vlans = list(range(self.next_vlan, self.next_vlan + nvlans))
        self.next_vlan += nvlans
        nets = create_networks(self.neutron, vlans, f'plug-{vlans[0]}')
        first, self.count = self.count, self.count + size
        plugs = [{'name': f'bench-{n:05d}', 'vlan': vlans[i % nvlans],
                  'mac': f'fa:16:3e:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}'}
                 for i, n in enumerate(range(first, first + size))]

        def setup(p: dict[str, Any]) -> None:
            p['lpar_uuid'] = partition.create_lpar(self.adapter, p['name']).uuid
            cna = pvm_cna.crt_cna(self.adapter, self.host_uuid, p['lpar_uuid'],
                                  pvid=p['vlan'], mac_addr=sanitize_mac_for_api(p['mac']))
            p['href'] = sea_vif.cna_href(cna)

        with futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(setup, plugs))
        create_sea_ports(self.neutron, plugs, [
            {'network_id': nets[p['vlan']], 'mac_address': p['mac'], 'name': p['name'],
             'device_id': p['lpar_uuid'], 'binding:host_id': PLUG_HOST} for p in plugs])
        return plugs

    def round(self, size: int, nvlans: int) -> tuple[list[float], Counter[str], int]:
        """One batch: (latencies of the ports that went ACTIVE, REST counts, timeouts)."""
        assert self.agent is not None
        plugs = self.prepare(size, nvlans)
        self.sim.set_latency(self.latency)
        before, _ = self.sim.wait_quiet(quiet=1.0)
        start_at = _post_all(self.adapter, plugs)
        active = wait_active(self.neutron, PLUG_HOST, [p['port_id'] for p in plugs], self.poll,
                             self.timeout, on_poll=lambda: check_running(self.agent))
        after, _ = self.sim.wait_quiet(quiet=1.5)
        lat = [active[pid] - start_at[pid] for pid in active]
        return lat, delta(after, before), size - len(active)

    def run(self, size: int, rounds: int, nvlans: int, log: Any) -> PlugResult:
        """``rounds`` batches of ``size`` concurrent plugs."""
        lat: list[float] = []
        nb_writes: list[int] = []
        total: Counter[str] = Counter()
        timeouts = 0
        for rnd in range(rounds):
            r_lat, counts, r_timeouts = self.round(size, nvlans)
            lat += r_lat
            total.update(counts)
            timeouts += r_timeouts
            nb_writes.append(RestBreakdown.of(counts).bridge_writes)
            log(f'plug: {size} x round {rnd + 1}/{rounds}: {len(r_lat)}/{size} ACTIVE, '
                f'slowest {max(r_lat, default=math.nan):.2f}s, bridge writes {nb_writes[-1]}')
        return PlugResult(
            size=size, vlans=nvlans, rounds=rounds, latencies=[round(x, 3) for x in lat],
            p50=percentile(lat, 50) if lat else math.nan,
            p95=percentile(lat, 95) if lat else math.nan,
            max=max(lat) if lat else math.nan, rest=RestBreakdown.of(total),
            bridge_writes_per_batch=nb_writes, timeouts=timeouts)


def run_plug(stack: NeutronStack, neutron: NeutronClient, workdir: Path, sizes: list[int],
             rounds: int, latency: str, poll: float, vlans_override: int | None,
             timeout: float, log: Any) -> list[PlugResult]:
    """The plug benchmark; one result per size."""
    sim = Sim('single', workdir / 'sim-single', 'none')
    bench: PlugBench | None = None
    try:
        bench = PlugBench(stack, neutron, sim, latency, poll, timeout)
        bench.start_agent()
        warm, _, _ = bench.round(1, 1)  # the agent's first plug pays one-time costs
        log(f'plug: agent alive on {PLUG_HOST}; warm-up plug (not counted) {warm[0]:.2f}s')
        return [bench.run(size, rounds, vlans_override or default_vlans(size), log)
                for size in sizes]
    finally:
        if bench is not None:
            if bench.agent is not None:
                bench.agent.stop()
            bench.adapter.session._logoff()  # now, while the simulator still answers
        sim.stop()


# --------------------------------------------------------------------------- large bench

@dataclass
class LargeResult:
    """Figures of the start-up heal on the large scenario."""

    partitions: int
    cnas: int
    ports: int
    vlans: int
    agent_running_s: float | None
    all_active_s: float | None
    rest_quiet_s: float
    active: int
    rest: RestBreakdown
    heal_passes: int


def _log_time(path: Path, pattern: str) -> float | None:
    """Epoch seconds of the first oslo.log line of ``path`` matching ``pattern``."""
    try:
        text = path.read_text(errors='replace')
    except OSError:
        return None
    for line in text.splitlines():
        if re.search(pattern, line):
            m = re.match(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)', line)
            if m:
                return time.mktime(time.strptime(m.group(1)[:19], '%Y-%m-%d %H:%M:%S')) \
                    + float('0.' + m.group(1)[20:])
    return None


def run_large(stack: NeutronStack, neutron: NeutronClient, workdir: Path, nports: int,
              latency: str, poll: float, timeout: float, log: Any) -> LargeResult:
    """Start-up heal of an agent on the ``large`` scenario with ``nports`` bound ports."""
    t0 = time.monotonic()
    sim = Sim('large', workdir / 'sim-large', latency)
    agent: AgentProcess | None = None
    try:
        state = sim.handle.admin('GET', 'state')
        parts = [p for p in state['partitions'] if p.get('openstack_managed')]
        cnas = [c for p in parts for c in p['cnas']]
        # Spread over the host (and its VLANs), as instances booted over time would be.
        pairs = [(p, c) for p in parts for c in p['cnas']]
        stride = max(1, len(pairs) // nports)
        chosen = [pairs[min(len(pairs) - 1, i * stride + (i // 10) % stride)]
                  for i in range(min(nports, len(pairs)))]
        vlans = sorted({c['pvid'] for _, c in chosen})
        log(f'large: simulator up in {time.monotonic() - t0:.1f}s ({len(parts)} partitions, '
            f'{len(cnas)} CNAs); binding {len(chosen)} ports over {len(vlans)} VLANs')
        nets = create_networks(neutron, vlans, 'large')
        # Ports bound while an agent is alive on the host, as before an agent restart.
        specs = [{'network_id': nets[c['pvid']],
                  'mac_address': ':'.join(c['mac'][i:i + 2] for i in range(0, 12, 2)).lower(),
                  'name': f'{p["name"]}-{c["slot"]}', 'device_id': p['uuid'],
                  'binding:host_id': LARGE_HOST} for p, c in chosen]
        with AgentStateReporter(stack.transport_url) as reporter:
            stop = threading.Event()

            def beat() -> None:
                while not stop.is_set():
                    reporter.report(LARGE_HOST, const.AGENT_TYPE_PVM_SEA,
                                    const.AGENT_BINARY_SEA,
                                    {const.CONF_BRIDGE_MAPPINGS: {PHYSNET: 'ent8'}},
                                    start_flag=True)
                    stop.wait(2)

            beater = threading.Thread(target=beat, daemon=True)
            beater.start()
            try:
                time.sleep(1)
                ports = create_ports(neutron, specs, chunk=25)
            finally:
                stop.set()
                beater.join()
        unbound = [p['id'] for p in ports if p.get('binding:vif_type') != const.VIF_TYPE_PVM_SEA]
        if unbound:
            raise RuntimeError(f'{len(unbound)} large-scenario port(s) not bound to pvm_sea')
        before = sim.requests()
        started_epoch = time.time()
        agent, started = start_agent(stack, LARGE_HOST, sim)
        active = wait_active(neutron, LARGE_HOST, [p['id'] for p in ports], poll, timeout,
                             on_poll=lambda: check_running(agent))
        after, last_change = sim.wait_quiet(quiet=10.0, timeout=timeout)
        counts = delta(after, before)
        running = (_log_time(agent.log_file, r'running on host')
                   if agent.log_file is not None else None)
        return LargeResult(
            partitions=len(parts), cnas=len(cnas), ports=len(ports), vlans=len(vlans),
            agent_running_s=None if running is None else running - started_epoch,
            all_active_s=(max(active.values()) - started
                          if len(active) == len(ports) else None),
            rest_quiet_s=last_change - started, active=len(active),
            rest=RestBreakdown.of(counts),
            heal_passes=counts.get('GET LogicalPartition', 0))
    finally:
        if agent is not None:
            agent.stop()
        sim.stop()


# --------------------------------------------------------------------------- output

def print_plug(results: list[PlugResult], latency: str) -> None:
    print(f'\nplug -> ACTIVE (latency profile {latency}; REST figures per plug, agent side; '
          'bridge writes per batch)')
    head = (f'{"plugs":>5} {"vlans":>5} {"rounds":>6} {"p50 s":>7} {"p95 s":>7} {"max s":>7} '
            f'{"GET/plug":>9} {"write/plug":>10} {"NB writes/batch":>16} {"timeouts":>8}')
    print(head)
    print('-' * len(head))
    for r in results:
        print(f'{r.size:>5} {r.vlans:>5} {r.rounds:>6} {r.p50:>7.2f} {r.p95:>7.2f} '
              f'{r.max:>7.2f} {r.per_plug(r.rest.gets):>9.2f} {r.per_plug(r.rest.writes):>10.2f}'
              f' {",".join(map(str, r.bridge_writes_per_batch)):>16} {r.timeouts:>8}')
    for r in results:
        keys = ', '.join(f'{k} {v}' for k, v in r.rest.by_key.items())
        print(f'  {r.size:>3} plugs x {r.rounds}: {keys}')


def print_large(r: LargeResult, latency: str) -> None:
    print(f'\nstart-up heal, large scenario (latency profile {latency})')
    print(f'  host: {r.partitions} partitions, {r.cnas} CNAs; {r.ports} bound ports over '
          f'{r.vlans} VLANs; {r.active}/{r.ports} ACTIVE')
    fmt = (lambda v: 'n/a' if v is None else f'{v:.1f}s')  # noqa: E731
    print(f'  agent start -> "running" log line: {fmt(r.agent_running_s)}; '
          f'-> all ports ACTIVE: {fmt(r.all_active_s)}; -> last REST request of the heal: '
          f'{r.rest_quiet_s:.1f}s')
    print(f'  REST requests: {r.rest.gets} GET, {r.rest.writes} writes '
          f'({r.rest.bridge_writes} Network Bridge), {r.rest.logons} logon, '
          f'{r.rest.event_polls} event polls; heal passes (LPAR feed reads): {r.heal_passes}')
    print('  ' + ', '.join(f'{k} {v}' for k, v in r.rest.by_key.items()))


# --------------------------------------------------------------------------- main

def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(',') if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid --sizes {text!r}: use e.g. 1,10,100') from None
    if any(s < 1 or s > 500 for s in sizes):
        raise argparse.ArgumentTypeError(f'invalid --sizes {text!r}: each must be 1-500')
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sizes', type=_sizes, default=[1, 10, 100],
                   help='concurrent plugs per batch (default 1,10,100; empty: no plug bench)')
    p.add_argument('--rounds', type=int, default=3, help='batches per size (default 3)')
    p.add_argument('--vlans', type=int, default=None,
                   help='VLANs per batch (default: one per 5 plugs, 1-20)')
    p.add_argument('--latency', choices=('novalink', 'none'), default='novalink')
    p.add_argument('--large-ports', type=int, default=200,
                   help='bound ports on the large host (default 200)')
    p.add_argument('--skip-large', action='store_true')
    p.add_argument('--poll', type=float, default=0.2, help='Neutron poll interval (s)')
    p.add_argument('--timeout', type=float, default=300, help='per-batch/heal timeout (s)')
    p.add_argument('--workdir', type=Path, help='keep everything here (default: a temp dir)')
    p.add_argument('--json', type=Path, help='write the results to this JSON file')
    p.add_argument('--debug', action='store_true', help='debug logs of Neutron and the agent')
    args = p.parse_args(argv)
    if args.rounds < 1 or (args.vlans is not None and args.vlans < 1) or args.large_ports < 1:
        p.error('--rounds, --vlans and --large-ports must be positive')
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='plug-bench-'))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    def log(msg: str) -> None:
        print(f'[{time.monotonic() - t0:6.1f}s] {msg}', file=sys.stderr, flush=True)

    out: dict[str, Any] = {'latency': args.latency, 'cpus': os.cpu_count(),
                           'sizes': args.sizes, 'rounds': args.rounds}
    stack = NeutronStack(workdir / 'neutron', debug=args.debug)
    log(f'starting Neutron in {workdir}')
    stack.start()
    try:
        log(f'Neutron up in {stack.timings["total"]:.1f}s')
        neutron = NeutronClient(stack.api_url, project_id='plug-bench')
        plug: list[PlugResult] = []
        if args.sizes:
            plug = run_plug(stack, neutron, workdir, args.sizes, args.rounds, args.latency,
                            args.poll, args.vlans, args.timeout, log)
            out['plug'] = [asdict(r) for r in plug]
            print_plug(plug, args.latency)
        large = None
        if not args.skip_large:
            # Own project: the plug part may have used much of the network quota (100).
            large = run_large(stack, NeutronClient(stack.api_url, project_id='plug-bench-large'),
                              workdir, args.large_ports, args.latency, args.poll, args.timeout,
                              log)
            out['large'] = asdict(large)
            print_large(large, args.latency)
    finally:
        stack.stop()
    out['event_post_retries'] = RETRIES['event_post']
    print(f'\nplug event posts retried after a connection reset: {RETRIES["event_post"]}')
    print(f'(total run {time.monotonic() - t0:.0f}s; logs in {workdir})')
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
