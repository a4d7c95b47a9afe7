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

"""What ``powervm-sim serve``, ``admin`` and ``inspect`` do (cli.py parses their arguments)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from powervm_sim import hosts as sim_hosts
from powervm_sim import httpd
from powervm_sim import inspect as sim_inspect
from powervm_sim.client import AdminError, admin_call
from powervm_sim.resources import SimHost


def serve(args: argparse.Namespace) -> int:
    """Serve ``--hosts`` hosts until SIGTERM/SIGINT; state saved on the way out."""
    logging.basicConfig(level=args.log_level,
                        format='%(asctime)s %(levelname)s %(name)s %(message)s')
    try:
        servers = sim_hosts.build_servers(
            args.scenario, args.state_dir, args.hosts, user=args.user, password=args.password,
            bind=args.host, port=args.port, tls=args.tls, latency=args.latency,
            poll_timeout=args.poll_timeout, max_queue=args.max_queue,
            idle_timeout=args.session_idle_timeout, max_sessions=args.max_sessions,
            body_timeout=args.body_timeout, max_event_apps=args.max_event_apps,
            event_app_idle=args.event_app_idle)
    except httpd.ListenError as exc:
        print(f'powervm-sim serve: {exc.strerror}', file=sys.stderr)
        return 1
    for server in servers:
        for spec in args.fault:
            server.faults.arm(**spec)
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for server in servers:
        server.start()
    sim_hosts.write_server_json(args.state_dir, servers)
    for server in servers:
        print(f'powervm-sim listening on {server.url}', flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        for server in servers:
            server.shutdown(save=True)
        print('powervm-sim stopped; state saved', flush=True)
    return 0


def _admin_request(args: argparse.Namespace) -> tuple[str, dict]:
    """(HTTP method, JSON body) of the admin action ``args`` ask for."""
    action, body, method = args.action, {}, 'POST'
    if action == 'fault':
        if args.clear:
            method = 'DELETE'
        else:
            body = {k: v for k, v in {'kind': args.kind, 'count': args.count,
                                      'fraction': args.fraction, 'seconds': args.seconds,
                                      'scope': args.scope, 'resource': args.resource,
                                      }.items() if v is not None}
    elif action == 'latency':
        body = {'profile': args.profile, **({'scale': args.scale} if args.scale else {})}
    elif action == 'relabel':
        body = {'location_code': args.location_code, 'label': args.label}
    elif action == 'overflow-events' and args.max_queue:
        body = {'max_queue': args.max_queue}
    elif action in ('stats', 'state', 'hosts'):
        method = 'GET'
    return method, body


def _urls(args: argparse.Namespace) -> list[str]:
    """``--url``, or with ``--all-hosts`` every host the simulator at ``--url`` serves."""
    if not args.all_hosts:
        return [args.url]
    return admin_call(args.url, args.user, args.password, 'GET', 'hosts',
                      verify=args.cacert or False)['hosts']


def admin(args: argparse.Namespace) -> int:
    """One admin call to ``--url`` (or to every host with ``--all-hosts``); prints JSON."""
    if args.action == 'fault' and not args.clear and not args.kind:
        print('powervm-sim admin fault: give a KIND or --clear', file=sys.stderr)
        return 2
    method, body = _admin_request(args)
    results = {}
    try:
        for url in _urls(args):
            results[url] = admin_call(url, args.user, args.password, method, args.action,
                                      verify=args.cacert or False, **body)
    except AdminError as exc:
        print(f'powervm-sim admin: {exc}', file=sys.stderr)
        return 1
    except OSError as exc:
        print(f'powervm-sim admin: cannot reach {args.url}: {exc}', file=sys.stderr)
        return 1
    out = results if args.all_hosts else results[args.url]
    print(json.dumps(out, indent=2, default=str))
    return 0


def inspect(args: argparse.Namespace) -> int:
    """The state of one host, or of every host (``--all-hosts``, or a many-host state dir)."""
    if args.url:
        if not (args.user and args.password):
            print('powervm-sim inspect: --url needs --user and --password', file=sys.stderr)
            return 2
        try:
            snaps = {url: admin_call(url, args.user, args.password, 'GET', 'state',
                                     verify=args.cacert or False) for url in _urls(args)}
        except (AdminError, OSError) as exc:
            print(f'powervm-sim inspect: {exc}', file=sys.stderr)
            return 1
    elif args.state_dir:
        if not args.state_dir.is_dir():
            print(f'powervm-sim inspect: no such state dir {str(args.state_dir)!r}',
                  file=sys.stderr)
            return 2
        dirs = sim_hosts.host_dirs(args.state_dir) or [args.state_dir]
        snaps = {str(d): SimHost.load(args.scenario, d, n).snapshot()
                 for n, d in enumerate(dirs, 1)}
    else:
        print('powervm-sim inspect: give --state-dir DIR or --url URL', file=sys.stderr)
        return 2
    if len(snaps) == 1:
        [snap] = snaps.values()
        print(json.dumps(snap, indent=2, default=str) if args.json else sim_inspect.render(snap))
    elif args.json:
        print(json.dumps(snaps, indent=2, default=str))
    else:
        print('\n\n'.join(f'##### {where}\n{sim_inspect.render(snap)}'
                          for where, snap in snaps.items()))
    return 0
