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

"""The fault campaign: every fault kind, N runs each, the convergence invariant after each.

Against a real stack (Neutron API + RPC server on MariaDB/RabbitMQ with its own
database and vhost, the simulator, the SEA and SR-IOV agent processes with a
short heal interval), for each scenario (``single``, ``redundant``) and each
fault (the simulator's 412 storms, VIOS busy, 503, dropped connections, session
expiry, event-queue overflow and restart; kill -9 of the agents, of
neutron-rpc-server, of the neutron API and of the simulator), ``--runs`` times:
ports are unplugged (some losing their event) and plugged around the fault, then
the invariant of ``powervm_testbed.invariant`` is checked until it holds for a
heal interval or ``heal interval + grace`` passes. Prints one table per agent and
scenario. Usage::

    .venv/bin/python benchmarks/faults.py --quick            # ~2 min
    .venv/bin/python benchmarks/faults.py --runs 3           # the full campaign
    .venv/bin/python benchmarks/faults.py --faults agent-kill,503 --scenarios single

See benchmarks/README.md for the columns.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prettytable import PrettyTable

from powervm_testbed import invariant as inv
from powervm_testbed.fault_campaign import FAULTS, QUICK, FaultHost, RunResult
from powervm_testbed.neutron_stack import NeutronStack

SCENARIOS = ('single', 'redundant')


def _names(text: str, known: Any, what: str) -> list[str]:
    names = [n.strip() for n in text.split(',') if n.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise argparse.ArgumentTypeError(f'unknown {what} {bad or text!r}; choose from '
                                         f'{", ".join(known)}')
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--runs', type=int, default=3, help='runs of each fault (default 3)')
    p.add_argument('--quick', action='store_true',
                   help=f'the short selection: {", ".join(QUICK)} on single, 1 run')
    p.add_argument('--faults', type=lambda t: _names(t, FAULTS, 'fault'),
                   default=list(FAULTS), help='comma-separated faults (default: all)')
    p.add_argument('--scenarios', type=lambda t: _names(t, SCENARIOS, 'scenario'),
                   default=list(SCENARIOS), help='comma-separated (default: single,redundant)')
    p.add_argument('--heal-interval', type=int, default=5,
                   help='[AGENT] heal_and_optimize_interval of the agents (default 5 s)')
    p.add_argument('--grace', type=float, default=25,
                   help='seconds beyond one heal interval to wait for convergence (default 25)')
    p.add_argument('--budget', type=float, default=1800,
                   help='start no new run after this many seconds (default 1800)')
    p.add_argument('--workdir', type=Path, help='configs, logs, simulator state (default: temp)')
    p.add_argument('--json', type=Path, help='write every run (with its violations) here')
    p.add_argument('--verbose', action='store_true', help='print each violation')
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error(f'--runs must be at least 1, got {args.runs}')
    if args.heal_interval < 1:
        p.error(f'--heal-interval must be at least 1, got {args.heal_interval}')
    if args.quick:
        args.runs, args.scenarios = 1, ['single']
        if args.faults == list(FAULTS):
            args.faults = list(QUICK)
    return args


def _secs(values: list[float]) -> str:
    if not values:
        return '-'
    return f'{min(values):.1f}/{statistics.median(values):.1f}/{max(values):.1f}'


def table(results: list[RunResult], scenario: str, agent: str) -> PrettyTable:
    """One agent on one scenario: a row per fault."""
    t = PrettyTable(['fault', 'runs', 'ports wrong (stale ACTIVE/not ACTIVE)',
                     'VLANs wrongly removed',
                     'VLANs left unused', 'crashes (died/tb)', 'not settled', 'flaps',
                     'recovery s min/med/max'])
    t.align = 'r'
    t.align['fault'] = 'l'
    by_fault: dict[str, list[RunResult]] = {}
    for r in results:
        if r.scenario == scenario:
            by_fault.setdefault(r.fault, []).append(r)
    for fault, runs in by_fault.items():
        rs = [r.agents[agent] for r in runs]
        sea = agent == inv.SEA
        t.add_row([fault, len(rs), f'{sum(a.ports_wrong for a in rs)} ('
                   f'{sum(a.stale_active for a in rs)}/{sum(a.not_active for a in rs)})',
                   sum(a.vlans_removed for a in rs) if sea else '-',
                   sum(a.vlans_unused for a in rs) if sea else '-',
                   f'{sum(a.crashed for a in rs)} ({sum(a.died for a in rs)}/'
                   f'{sum(a.tracebacks > 0 for a in rs)})',
                   sum(not a.settled for a in rs), sum(a.flaps for a in rs),
                   _secs([a.recovery for a in rs if a.recovery is not None])])
    return t


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='faults-'))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    def log(msg: str) -> None:
        print(f'[{time.monotonic() - t0:6.1f}s] {msg}', file=sys.stderr, flush=True)

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f'signal {signum}')

    signal.signal(signal.SIGTERM, on_signal)
    results: list[RunResult] = []
    errors: list[str] = []
    stack = NeutronStack(workdir / 'neutron')
    log(f'starting Neutron in {workdir}')
    stopped_early = ''
    try:
        stack.start()
        log(f'Neutron up in {stack.timings["total"]:.1f}s')
        for n, scenario in enumerate(args.scenarios):
            if time.monotonic() - t0 > args.budget:
                stopped_early = f'budget of {args.budget:.0f}s used'
                break
            host = FaultHost(stack, workdir / scenario, scenario,
                             heal_interval=args.heal_interval, grace=args.grace,
                             vlan_base=1100 + 200 * n, log=log)
            log(f'{scenario}: simulator + agents on host {host.host}')
            try:
                host.start()
                for run in range(args.runs):
                    for fault in args.faults:
                        if time.monotonic() - t0 > args.budget:
                            stopped_early = f'budget of {args.budget:.0f}s used'
                            break
                        try:
                            result = host.run(FAULTS[fault])
                        except Exception as exc:  # a harness or stack failure: say so, go on
                            log(f'{scenario} {fault} run {run + 1}: the run itself failed: '
                                f'{type(exc).__name__}: {exc}')
                            errors.append(f'{scenario} {fault}: {exc}')
                            host.repair()
                            continue
                        results.append(result)
                        log(_summary(result, run + 1, args.runs))
                        if args.verbose:
                            for agent, ar in result.agents.items():
                                for v in ar.violations:
                                    log(f'    {agent}: {v}')
                    if stopped_early:
                        break
            finally:
                host.stop()
    except KeyboardInterrupt as exc:
        stopped_early = f'interrupted ({exc})'
    finally:
        log('tearing the stack down')
        stack.stop()
    for scenario in args.scenarios:
        for agent in (inv.SEA, inv.SRIOV):
            if any(r.scenario == scenario for r in results):
                print(f'\n{agent.upper()} agent, scenario {scenario} (heal interval '
                      f'{args.heal_interval}s):')
                print(table(results, scenario, agent))
    print(f'\n{len(results)} runs in {time.monotonic() - t0:.0f}s; logs in {workdir}'
          + (f'; stopped early: {stopped_early}' if stopped_early else ''))
    for err in errors:
        print(f'run failed (not in the tables): {err}')
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    wrong = any(a.ports_wrong or a.vlans_removed or a.vlans_unused or a.crashed
                or not a.settled for r in results for a in r.agents.values())
    return 1 if wrong or stopped_early or errors else 0


def _summary(r: RunResult, run: int, runs: int) -> str:
    parts = []
    for agent, a in r.agents.items():
        rec = f'held after {a.recovery:.1f}s' if a.recovery is not None else 'never held'
        rec += f', {a.flaps} flaps, ' + ('settled' if a.settled else 'NOT settled')
        parts.append(f'{agent}: {a.ports_wrong} ports wrong, {a.vlans_removed} VLANs removed, '
                     f'{a.vlans_unused} left, died={a.died}, tb={a.tracebacks}, {rec}')
    return (f'{r.scenario} {r.fault} run {run}/{runs} ({r.seconds:.0f}s, {r.injected} '
            f'requests faulted, {r.lost_unplugs} unplug events lost'
            + ('' if r.clean_start else ', dirty start') + '): ' + '; '.join(parts))


if __name__ == '__main__':
    sys.exit(main())
