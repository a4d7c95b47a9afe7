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

"""``powervm-sim serve | inspect | admin``."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import pathlib
import sys
from collections.abc import Sequence

from powervm_sim import commands, scenarios
from powervm_sim import events as sim_events
from powervm_sim import faults as sim_faults
from powervm_sim import hosts as sim_hosts
from powervm_sim import latency as sim_latency
from powervm_sim import server as server_mod
from powervm_sim import sessions as sim_sessions

# Environment variable that may carry the password (not visible in the process list).
PASSWORD_ENV = 'POWERVM_SIM_PASSWORD'
DISTRIBUTION = 'powervm-sim'


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid port {value!r}: not an integer') from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f'invalid port {value!r}: must be 0-65535')
    return port


def positive_arg(kind: type) -> object:
    """An argparse type: a number of ``kind`` above 0, errors naming the value."""
    def parse(value: str) -> float | int:
        try:
            num = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'invalid value {value!r}: not a {kind.__name__}') from None
        if num <= 0:
            raise argparse.ArgumentTypeError(f'invalid value {value!r}: must be > 0')
        return num
    return parse


def latency_arg(value: str) -> str:
    """An argparse type: a latency profile name."""
    try:
        return sim_latency.validate_profile(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


FAULT_SPEC = 'KIND[:COUNT] or KIND:FRACTION@SECONDS, then optional ,scope=S and ,resource=R'


def _fault_spec(value: str) -> dict:
    """A --fault value, e.g. 412:3, busy:1, 503:0.5@30, 412:2,resource=NetworkBridge.

    The spec is checked here exactly as the admin API would check it, so a bad
    one stops ``serve`` with a message naming it.
    """
    head, *opts = value.split(',')
    kind, _, rest = head.partition(':')
    try:
        spec: dict = {'kind': kind}
        if '@' in rest:
            frac, _, secs = rest.partition('@')
            spec.update(fraction=float(frac), seconds=float(secs))
        else:
            spec['count'] = int(rest) if rest else 1
        for opt in opts:
            name, eq, val = opt.partition('=')
            if name not in ('scope', 'resource') or not eq:
                raise ValueError(f'unknown option {opt!r}; use scope=... or resource=...')
            spec[name] = val
        sim_faults.FaultInjector().arm(**spec)  # validates; the real one is armed by serve
        return spec
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f'invalid fault {value!r}: {exc}') from None


def version() -> str:
    """This distribution's version (package metadata)."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return 'unknown (not installed)'


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog='powervm-sim',
                                     description='PowerVM REST API simulator (NovaLink)')
    parser.add_argument('--version', action='version', version=f'%(prog)s {version()}')
    sub = parser.add_subparsers(dest='command', required=True)

    serve = sub.add_parser('serve', help='run the simulator')
    serve.add_argument('--host', default='127.0.0.1',
                       help='address to listen on (default: %(default)s)')
    serve.add_argument('--port', type=_port, default=12080,
                       help='TCP port; 0 picks a free one (default: %(default)s)')
    serve.add_argument('--hosts', type=positive_arg(int), default=1,
                       help='serve this many hosts of the scenario, host n on port PORT+n-1, '
                            'each its own ManagedSystem, state, events and sessions '
                            f'(at most {sim_hosts.MAX_HOSTS}; default: %(default)s)')
    serve.add_argument('--scenario', default='single',
                       help=f'built-in name ({", ".join(scenarios.BUILTINS)}) or a YAML file')
    serve.add_argument('--state-dir', type=pathlib.Path, required=True,
                       help='directory of the host state (state.json), server.json, '
                            'session token files and the TLS certificate')
    serve.add_argument('--user', required=True,
                       help='user ID for password logons and the admin API')
    serve.add_argument('--password', default=os.environ.get(PASSWORD_ENV),
                       help=f'default: ${PASSWORD_ENV} (keeps it out of the process list)')
    serve.add_argument('--latency', type=latency_arg, default='none',
                       help=f'latency profile: {", ".join(sim_latency.PROFILES)} '
                            '(default: %(default)s)')
    serve.add_argument('--tls', action='store_true',
                       help='serve https with a self-signed certificate kept in the state dir')
    serve.add_argument('--poll-timeout', type=positive_arg(float), default=10.0,
                       help='Event long-poll timeout in seconds')
    serve.add_argument('--max-queue', type=positive_arg(int),
                       default=sim_events.DEFAULT_MAX_QUEUE,
                       help='events per application queue before MISSING_EVENTS')
    serve.add_argument('--session-idle-timeout', type=positive_arg(float),
                       default=sim_sessions.DEFAULT_IDLE_TIMEOUT,
                       help='seconds an unused session lives (default: %(default)s)')
    serve.add_argument('--max-sessions', type=positive_arg(int),
                       default=sim_sessions.DEFAULT_MAX_SESSIONS,
                       help='live sessions at most; a logon beyond evicts the least recently '
                            'used one (default: %(default)s)')
    serve.add_argument('--body-timeout', type=positive_arg(float),
                       default=server_mod.DEFAULT_BODY_TIMEOUT,
                       help='seconds a request body may take to arrive, else 408 '
                            '(default: %(default)s)')
    serve.add_argument('--max-event-apps', type=positive_arg(int),
                       default=sim_events.DEFAULT_MAX_APPS,
                       help='Event API application queues at most; a new application beyond '
                            'evicts the least recently polled one (default: %(default)s)')
    serve.add_argument('--event-app-idle', type=positive_arg(float),
                       default=sim_events.DEFAULT_APP_IDLE,
                       help='seconds without a poll after which an application\'s event queue '
                            'is dropped (default: %(default)s)')
    serve.add_argument('--fault', type=_fault_spec, action='append', default=[],
                       help=f'arm a fault at start: {FAULT_SPEC}, e.g. '
                            '412:3,resource=NetworkBridge')
    serve.add_argument('--log-level', default='INFO',
                       choices=['DEBUG', 'INFO', 'WARNING', 'ERROR'],
                       help='log level (default: %(default)s)')

    insp = sub.add_parser('inspect', help='print the state as tables')
    insp.add_argument('--state-dir', type=pathlib.Path,
                      help='read the state saved in this directory (no server needed)')
    insp.add_argument('--scenario', default='single',
                      help='scenario used when the state dir has no saved state yet')
    _remote_args(insp, required=False)
    insp.add_argument('--json', action='store_true', help='raw snapshot JSON')

    adm = sub.add_parser('admin', help='call the admin API of a running simulator')
    _remote_args(adm, required=True)
    asub = adm.add_subparsers(dest='action', required=True)
    f = asub.add_parser('fault', help='arm (or --clear) a fault')
    f.add_argument('kind', nargs='?', help=', '.join(sim_faults.KINDS) + ' or 412/503/busy')
    f.add_argument('--count', type=positive_arg(int),
                   help='fault the next COUNT matching requests (default: 1)')
    f.add_argument('--fraction', type=float,
                   help='fault this fraction (0-1] of matching requests for --seconds')
    f.add_argument('--seconds', type=positive_arg(float),
                   help='how long a --fraction fault lasts')
    f.add_argument('--scope', choices=sim_faults.SCOPES,
                   help='only writes, only reads, or all requests (default: all; writes '
                        'for 412)')
    f.add_argument('--resource', help='only this resource type, e.g. NetworkBridge')
    f.add_argument('--clear', action='store_true', help='clear every armed fault')
    lat = asub.add_parser('latency', help='set the latency profile')
    lat.add_argument('profile', type=latency_arg,
                     help=', '.join(sim_latency.PROFILES))
    lat.add_argument('--scale', type=float, help='multiply every delay by SCALE')
    rel = asub.add_parser('relabel', help='relabel an SR-IOV physical port')
    rel.add_argument('location_code', help='the physical port, e.g. U78C7.001.RCH0004-P1-C8-T1')
    rel.add_argument('label', help='the new label (physical network name)')
    ovf = asub.add_parser('overflow-events',
                          help='overflow every event queue now (MISSING_EVENTS), or set '
                               '--max-queue')
    ovf.add_argument('--max-queue', type=positive_arg(int),
                     help='set the events per queue before MISSING_EVENTS instead')
    for name, text in (('expire-sessions', 'invalidate every session'),
                       ('hosts', 'the URLs of every host the simulator serves'),
                       ('cache-cleared', 'send CACHE_CLEARED to every event queue'),
                       ('restart', 'in-process restart: sessions and event queues dropped'),
                       ('stats', 'request counts, sessions, event queues, faults'),
                       ('state', 'the host state as JSON'),
                       ('save', 'persist the state now')):
        asub.add_parser(name, help=text)
    return parser


def _remote_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument('--url', required=required, help='e.g. http://127.0.0.1:12080')
    parser.add_argument('--user', required=required, help='the serve --user')
    parser.add_argument('--password', default=os.environ.get(PASSWORD_ENV),
                        help=f'default: ${PASSWORD_ENV}')
    parser.add_argument('--cacert', help='CA/cert file to verify an https simulator')
    parser.add_argument('--all-hosts', action='store_true',
                        help='every host the simulator at --url serves (serve --hosts N)')


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``powervm-sim``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ('serve', 'admin') and not args.password:
        parser.error(f'{args.command}: --password (or ${PASSWORD_ENV}) is required')
    try:
        if args.command == 'serve':
            return commands.serve(args)
        if args.command == 'admin':
            return commands.admin(args)
        return commands.inspect(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f'powervm-sim {args.command}: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
