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

"""Many hosts on one Neutron: N simulated hosts, 2N agent processes, one Neutron stack.

For each N of ``--hosts-list`` (one ``powervm-sim serve --hosts N``, a SEA and an
SR-IOV agent per host, each its own process, host name and config):

* agents started -> all 2N alive in GET /v2.0/agents;
* a burst of plugs over all hosts (``--plugs-per-host``, SEA: partition + CNA +
  bound port, then every plug event posted at once) -> all ACTIVE: p50 / max;
* an idle window (``--idle`` s): neutron-server CPU % (API + RPC server, all
  their processes), per host; the AMQP packets/s clients sent the broker on the
  stack's own vhost; alive->dead flaps of the agents (must be 0); heal passes
  and the most of them ending within one second;
* RSS of each agent process (median per agent type);
* storm ``rpc``: kill -9 of neutron-rpc-server, ``--outage`` s down, started
  again; storm ``vhost``: the stack's vhost loses its permissions and
  connections for ``--outage`` s (clear_permissions, close_all_connections
  --vhost, set_permissions; the RabbitMQ server itself is never touched).
  Each: agents seen dead, end of the fault -> all alive, -> all plugged ports
  ACTIVE, peak AMQP packets/s, and the agents' resync heals (Full resync ->
  next heal end): how many, first-to-last spread, most within one second;
* after the rpc storm, a ``--spread-window`` of periodic heals: passes and the
  most ending within one second (bunched agents heal together).

``--jitter on,off`` runs each N with the agents' heal/back-off jitter on (the
product) and off (heal_timer's rng replaced by one answering 0: exact
intervals, resyncs at once: the timing before the jitter).

The agents' ``rpc_response_timeout`` is ``--rpc-timeout`` (default 60, as an
operator runs them); with 10 s (the fault campaign's) a large burst on one RPC
worker times out and its device calls are asked again while the server still
works through the first ones.

Usage::

    .venv/bin/python benchmarks/scale_bench.py --hosts-list 1,5 [--idle 30]
    .venv/bin/python benchmarks/scale_bench.py --hosts-list 20 --jitter on,off --storms rpc

See benchmarks/README.md (Scale) for the figures of a run.
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
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import plug_bench as pb  # noqa: E402
import scale_parts as sp  # noqa: E402

from powervm_testbed import fault_campaign as fc  # noqa: E402
from powervm_testbed import services  # noqa: E402
from powervm_testbed.neutron_client import NeutronClient  # noqa: E402
from powervm_testbed.neutron_stack import NeutronStack  # noqa: E402

NAN = float('nan')


def _sleep(seconds: float, check: Any) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        check()
        time.sleep(min(2.0, max(0.0, end - time.monotonic())))


class Run:
    """One N, one jitter mode, one repeat."""

    def __init__(self, stack: NeutronStack, args: argparse.Namespace, workdir: Path,
                 count: int, jitter: bool, rep: int, vlan_base: int, log: Any) -> None:
        self.stack, self.args, self.count, self.jitter = stack, args, count, jitter
        self.log = log
        self.tag = f's{count}{"j" if jitter else "n"}{rep}'
        self.vlan_base = vlan_base
        binaries = None if jitter else sp.no_jitter_binaries(workdir / 'bin')
        self.neutron = NeutronClient(stack.api_url, project_id=f'scale-{self.tag}')
        self.hosts = sp.ScaleHosts(stack, workdir, count, self.tag,
                                   heal_interval=args.heal_interval,
                                   report_interval=args.report_interval,
                                   rpc_timeout=args.rpc_timeout,
                                   latency=args.latency, binaries=binaries)
        self.agents = self.hosts.agents
        self.watch = sp.AgentWatch(stack.api_url, {h.name for h in self.hosts.hosts})
        self.traffic = sp.VhostTraffic(stack.vhost)
        self.nets: list[str] = []
        self.ports: list[str] = []
        self.r: dict[str, Any] = {'hosts': count, 'agents': len(self.agents),
                                  'jitter': 'on' if jitter else 'off'}

    def check(self) -> None:
        self.hosts.check_running()

    def run(self) -> dict[str, Any]:
        try:
            self._start()
            if self.args.plugs_per_host:
                self._plugs()
            self._idle()
            for storm in self.args.storms:
                self._storm(storm)
        except Exception as exc:  # noqa: BLE001 - report what was measured, go on
            self.r['error'] = f'{type(exc).__name__}: {exc}'[:300]
            self.log(f'{self.tag}: FAILED: {self.r["error"]}')
        finally:
            self.watch.close()
            self.hosts.stop()
            self.neutron.close()
        return self.r

    def _start(self) -> None:
        t0 = time.monotonic()
        self.hosts.start_agents()
        at = self.watch.wait_all(len(self.agents), self.args.timeout, self.check)
        self.r['start_s'] = at - t0 if at else NAN
        self.log(f'{self.tag}: {self.watch.count_alive()}/{len(self.agents)} agents alive '
                 f'after {time.monotonic() - t0:.1f}s')
        _sleep(self.args.settle, self.check)  # the start-up heals

    def _plugs(self) -> None:
        nets = [self.neutron.create_free_vlan_network(f'{self.tag}-net{i}', 'default',
                                                      self.vlan_base + i)
                for i in range(self.args.vlans)]
        self.nets = [n['id'] for n in nets]
        plugs = self.hosts.prepare_plugs(self.neutron, self.args.plugs_per_host, nets)
        self.ports = [p['port_id'] for p in plugs]
        posted = sp.post_plugs(plugs)
        active = sp.wait_active(self.neutron, self.nets, self.ports, self.args.poll,
                                self.args.timeout, self.check)
        lat = [active[p] - posted[p] for p in active]
        self.r.update(plugs=len(plugs), plug_p50=pb.percentile(lat, 50) if lat else NAN,
                      plug_max=max(lat, default=NAN), plug_timeouts=len(plugs) - len(active))
        self.log(f'{self.tag}: {len(active)}/{len(plugs)} plugs ACTIVE, p50 '
                 f'{self.r["plug_p50"]:.2f}s max {self.r["plug_max"]:.2f}s')
        _sleep(self.args.settle, self.check)  # what the burst left (devices up, heals)

    def _idle(self) -> None:
        pids = sp.server_pids(self.stack)
        flaps0, e0 = self.watch.flaps, time.time()
        s0, c0 = self.traffic.sample(), sp.cpu_seconds(pids)
        _sleep(self.args.idle, self.check)
        s1, c1 = self.traffic.sample(), sp.cpu_seconds(pids)
        cpu = (c1 - c0) / max(1e-6, s1[0] - s0[0]) * 100
        heals = sp.heal_ends(self.agents, e0, time.time())
        rss = self.hosts.rss_mib()
        self.r.update(cpu_pct=cpu, cpu_pct_host=cpu / self.count,
                      amqp_s=sp.VhostTraffic.rate(s0, s1), flaps=self.watch.flaps - flaps0,
                      idle_heals=len(heals), idle_heal_peak=sp.peak_in(heals),
                      rss_sea=statistics.median(rss.get(fc.inv.SEA, [NAN])),
                      rss_sriov=statistics.median(rss.get(fc.inv.SRIOV, [NAN])))
        self.log(f'{self.tag}: idle {self.args.idle:.0f}s: neutron-server CPU {cpu:.1f}%, '
                 f'{self.r["amqp_s"]:.1f} AMQP packets/s, flaps {self.r["flaps"]}')

    def _storm(self, kind: str) -> None:
        a = self.args
        sampler = sp.RateSampler(self.traffic, a.sample_every)
        e0 = time.time()
        if kind == 'rpc':
            fc.kill_stack_process(self.stack, 'neutron-rpc-server')
            _sleep(a.outage, self.check)
            fc.respawn_stack_process(self.stack, 'neutron-rpc-server')
        else:
            self.traffic.outage(services.RABBIT_USER, a.outage)
        t_back = time.monotonic()
        dead = len(self.agents) - self.watch.count_alive()
        at = self.watch.wait_all(len(self.agents), a.timeout, self.check)
        active_s, not_active = NAN, len(self.ports)
        while self.ports and time.monotonic() - t_back < a.timeout:
            status = sp.port_status(self.neutron, self.nets)
            not_active = sum(status.get(p) != 'ACTIVE' for p in self.ports)
            if not not_active:
                active_s = time.monotonic() - t_back
                break
            time.sleep(a.poll)
        window = t_back + a.resync_window
        _sleep(max(0.0, window - time.monotonic()), self.check)
        resyncs = sp.resync_heal_ends(self.agents, e0, time.time())
        self.r.update({f'{kind}_dead': dead, f'{kind}_alive_s': at - t_back if at else NAN,
                       f'{kind}_active_s': active_s, f'{kind}_not_active': not_active,
                       f'{kind}_peak_amqp_s': sampler.stop(), f'{kind}_resyncs': len(resyncs),
                       f'{kind}_resync_spread_s': sp.spread(resyncs),
                       f'{kind}_resync_peak': sp.peak_in(resyncs)})
        self.log(f'{self.tag}: storm {kind}: {dead} dead, all alive after '
                 f'{self.r[f"{kind}_alive_s"]:.1f}s, {len(resyncs)} resync heals over '
                 f'{self.r[f"{kind}_resync_spread_s"]:.1f}s')
        if kind == 'rpc' and a.spread_window:
            e1 = time.time()
            _sleep(a.spread_window, self.check)
            heals = sp.heal_ends(self.agents, e1, time.time())
            self.r.update(after_heals=len(heals), after_heal_peak=sp.peak_in(heals))


# --------------------------------------------------------------------------- output

def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per key the median of the runs' numbers (nan ignored), else the first value."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for r in runs for k in r):
        vals = [r.get(key) for r in runs]
        nums = [v for v in vals if isinstance(v, int | float) and not math.isnan(v)]
        out[key] = statistics.median(nums) if nums else vals[0]
    return out


def _f(value: Any, fmt: str = '.1f') -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    return format(value, fmt) if isinstance(value, int | float) else str(value)


def print_tables(rows: list[dict[str, Any]], storms: list[str]) -> None:
    print('\nstart-up, plug burst, idle window (medians over repeats)')
    print(f'{"N":>3} {"jit":>3} {"agents":>6} {"alive s":>8} {"plugs":>5} {"p50 s":>6} '
          f'{"max s":>6} {"srvCPU%":>8} {"%/host":>7} {"AMQP/s":>7} {"flaps":>5} '
          f'{"heals":>5} {"pk/1s":>5} {"RSS sea":>8} {"RSS sriov":>9}')
    for r in rows:
        print(f'{r["hosts"]:>3} {r["jitter"]:>3} {r["agents"]:>6} {_f(r.get("start_s")):>8} '
              f'{_f(r.get("plugs"), "d"):>5} {_f(r.get("plug_p50"), ".2f"):>6} '
              f'{_f(r.get("plug_max"), ".2f"):>6} {_f(r.get("cpu_pct")):>8} '
              f'{_f(r.get("cpu_pct_host")):>7} {_f(r.get("amqp_s")):>7} '
              f'{_f(r.get("flaps"), ".0f"):>5} {_f(r.get("idle_heals"), ".0f"):>5} '
              f'{_f(r.get("idle_heal_peak"), ".0f"):>5} {_f(r.get("rss_sea"), ".0f"):>8} '
              f'{_f(r.get("rss_sriov"), ".0f"):>9}')
    if not storms:
        return
    print('\nstorms: fault end -> all agents alive (alive s), -> that and all plugged ports '
          'ACTIVE (+ACTIVE); resync heals')
    print(f'{"N":>3} {"jit":>3} {"storm":>5} {"dead":>4} {"alive s":>8} {"+ACTIVE":>8} '
          f'{"!ACT":>4} {"peak AMQP/s":>11} {"resyncs":>7} {"spread s":>8} {"pk/1s":>5} '
          f'{"heals after":>11} {"pk/1s":>5}')
    for r in rows:
        for s in storms:
            after = (_f(r.get('after_heals'), '.0f'), _f(r.get('after_heal_peak'), '.0f')) \
                if s == 'rpc' else ('', '')
            print(f'{r["hosts"]:>3} {r["jitter"]:>3} {s:>5} {_f(r.get(f"{s}_dead"), ".0f"):>4} '
                  f'{_f(r.get(f"{s}_alive_s")):>8} {_f(r.get(f"{s}_active_s")):>8} '
                  f'{_f(r.get(f"{s}_not_active"), ".0f"):>4} '
                  f'{_f(r.get(f"{s}_peak_amqp_s")):>11} {_f(r.get(f"{s}_resyncs"), ".0f"):>7} '
                  f'{_f(r.get(f"{s}_resync_spread_s")):>8} '
                  f'{_f(r.get(f"{s}_resync_peak"), ".0f"):>5} {after[0]:>11} {after[1]:>5}')


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])

    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(',') if x.strip()]

    p.add_argument('--hosts-list', type=ints, default=[1, 5, 10, 20])
    p.add_argument('--repeats', type=int, default=1, help='runs per N (medians printed)')
    p.add_argument('--jitter', default='on', help='on, off or on,off (see the docstring)')
    p.add_argument('--plugs-per-host', type=int, default=10)
    p.add_argument('--vlans', type=int, default=2, help='fresh VLAN networks per run')
    p.add_argument('--idle', type=float, default=30, help='idle window seconds')
    p.add_argument('--storms', default='rpc,vhost', help='rpc, vhost, both or ""')
    p.add_argument('--outage', type=float, default=None,
                   help='seconds a storm lasts (default: agent_down_time + 5: agents die)')
    p.add_argument('--heal-interval', type=int, default=60,
                   help="the agents' heal_and_optimize_interval")
    p.add_argument('--report-interval', type=int, default=5)
    p.add_argument('--rpc-timeout', type=int, default=60,
                   help="the agents' rpc_response_timeout (60: oslo.messaging's default)")
    p.add_argument('--agent-down-time', type=int, default=20)
    p.add_argument('--rpc-workers', type=int, default=1)
    p.add_argument('--rpc-state-report-workers', type=int, default=0)
    p.add_argument('--resync-window', type=float, default=None,
                   help='seconds after a storm in which resync heals are looked for '
                        '(default: 10 %% of the heal interval, at most 30, + 20)')
    p.add_argument('--spread-window', type=float, default=None,
                   help='seconds of periodic heals watched after the rpc storm '
                        '(default: the heal interval; 0 skips)')
    p.add_argument('--settle', type=float, default=10,
                   help='seconds waited after all are alive and after the plug burst, '
                        'before the idle window')
    p.add_argument('--latency', default='none', help='simulator latency profile')
    p.add_argument('--poll', type=float, default=0.5)
    p.add_argument('--sample-every', type=float, default=3.0,
                   help='seconds between broker counter samples during a storm')
    p.add_argument('--timeout', type=float, default=300)
    p.add_argument('--workdir', type=Path)
    p.add_argument('--json', type=Path)
    args = p.parse_args(argv)
    args.jitter_modes = [m.strip() == 'on' for m in args.jitter.split(',') if m.strip()]
    args.storms = [s.strip() for s in args.storms.split(',') if s.strip()]
    if set(args.storms) - {'rpc', 'vhost'}:
        p.error('--storms takes rpc and/or vhost')
    if args.outage is None:
        args.outage = args.agent_down_time + 5
    if args.resync_window is None:
        args.resync_window = min(30, 0.1 * args.heal_interval) + 20
    if args.spread_window is None:
        args.spread_window = args.heal_interval
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='scale-bench-'))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    def log(msg: str) -> None:
        print(f'[{time.monotonic() - t0:6.1f}s] {msg}', file=sys.stderr, flush=True)

    stack = NeutronStack(workdir / 'neutron', auth='noauth',
                         agent_down_time=args.agent_down_time, rpc_workers=args.rpc_workers,
                         rpc_state_report_workers=args.rpc_state_report_workers)
    log(f'starting Neutron in {workdir}')
    stack.start()
    rows, raw = [], []
    try:
        log(f'Neutron up in {stack.timings["total"]:.1f}s')
        vlan = 1000
        for count in args.hosts_list:
            for jitter in args.jitter_modes:
                runs = []
                for rep in range(args.repeats):
                    runs.append(Run(stack, args, workdir, count, jitter, rep, vlan, log).run())
                    vlan += args.vlans + 10
                raw += runs
                rows.append(median_of(runs))
    finally:
        stack.stop()
        print('command: ' + shlex.join([sys.executable, *sys.argv]))
        print(f'neutron: rpc_workers={args.rpc_workers} rpc_state_report_workers='
              f'{args.rpc_state_report_workers} agent_down_time={args.agent_down_time}; '
              f'agents: report_interval={args.report_interval} heal_and_optimize_interval='
              f'{args.heal_interval} rpc_response_timeout={args.rpc_timeout}; '
              f'storms {args.outage:.0f}s; {os.cpu_count()} CPUs, load '
              f'{os.getloadavg()[0]:.1f}; {time.strftime("%Y-%m-%d %H:%M")}')
        if rows:
            print_tables(rows, args.storms)
        for r in raw:
            if 'error' in r:
                print(f'N={r["hosts"]} jitter {r["jitter"]}: {r["error"]}')
        print(f'(total run {time.monotonic() - t0:.0f}s; logs in {workdir})')
        if args.json:
            args.json.write_text(json.dumps({'args': vars(args), 'runs': raw}, indent=2,
                                            default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
