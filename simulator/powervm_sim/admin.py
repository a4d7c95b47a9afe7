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

"""The simulator's admin API: ``/sim/admin/<action>``, JSON, HTTP basic auth
with the serve ``--user``/``--password``.

=======  =================  ===============================================
method   action             does
=======  =================  ===============================================
GET      stats              request counts, sessions, event queues, faults
DELETE   stats              reset the request counts
GET      state              the host snapshot (``powervm-sim inspect``)
GET      hosts              the URLs of every host this process serves
GET      fault              armed faults
POST     fault              arm a fault (kind, count|fraction+seconds, ...)
DELETE   fault              clear every fault
POST     latency            set the latency profile (profile, scale)
POST     relabel            relabel an SR-IOV port (location_code, label)
POST     expire-sessions    invalidate every session
POST     overflow-events    overflow every event queue (or set max_queue)
POST     cache-cleared      send CACHE_CLEARED to every event queue
POST     restart            in-process restart (sessions and queues dropped)
POST     save               persist the state now
=======  =================  ===============================================
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from powervm_sim.rest import RestResponse


def _authorized(server: Any, headers: dict[str, str]) -> bool:
    auth = headers.get('authorization', '')
    if not auth.lower().startswith('basic '):
        return False
    try:
        user, _, pw = base64.b64decode(auth[6:]).decode().partition(':')
    except (ValueError, UnicodeDecodeError):
        return False
    return server.admin_credentials_ok(user, pw)


def handle(server: Any, method: str, path: str, headers: dict[str, str],
           body: bytes) -> RestResponse:
    """Answer one admin request to ``server`` (a server.SimServer)."""
    if not _authorized(server, headers):
        return _json(401, {'error': 'admin API needs HTTP basic auth with the serve '
                                    '--user/--password'},
                     {'www-authenticate': 'Basic realm="powervm-sim"'})
    try:
        args = json.loads(body) if body else {}
        if not isinstance(args, dict):
            raise ValueError(f'JSON body must be an object, got {type(args).__name__}')
    except (ValueError, UnicodeDecodeError) as exc:
        return _json(400, {'error': f'Bad JSON body: {exc}'})
    action = path[len('/sim/admin'):].strip('/')
    do = _ACTIONS.get((method, action))
    if do is None:
        return _json(404, {'error': f'Unknown admin action {method} /sim/admin/{action}'})
    try:
        return _json(200, do(server, args))
    except KeyError as exc:
        return _json(400, {'error': f'Missing or unknown argument {exc}'})
    except (ValueError, TypeError) as exc:
        return _json(400, {'error': str(exc)})
    except LookupError as exc:
        return _json(404, {'error': str(exc)})


def _stats(server: Any, args: dict) -> dict:
    reqs = server.request_counts()
    return {'requests': reqs, 'total': sum(reqs.values()),
            'sessions': server.sessions.count(), 'logons': server.sessions.logons,
            'sessions_evicted': server.sessions.evicted,
            'events': server.events.stats(), 'faults': server.faults.describe(),
            'latency': server.latency.profile, 'restarts': server.restarts}


def _reset_stats(server: Any, args: dict) -> dict:
    server.request_counts(reset=True)
    return {'ok': True}


def _arm_fault(server: Any, args: dict) -> dict:
    fault = server.faults.arm(str(args['kind']), count=args.get('count'),
                              fraction=args.get('fraction'), seconds=args.get('seconds'),
                              scope=args.get('scope'), resource=args.get('resource'))
    return {'armed': fault.kind, 'count': fault.count, 'fraction': fault.fraction,
            'scope': fault.scope, 'resource': fault.resource}


def _clear_faults(server: Any, args: dict) -> dict:
    server.faults.clear()
    return {'ok': True}


def _latency(server: Any, args: dict) -> dict:
    server.latency.set(str(args['profile']), args.get('scale'))
    return {'latency': server.latency.profile, 'scale': server.latency.scale}


def _relabel(server: Any, args: dict) -> dict:
    server.host.relabel_sriov_port(str(args['location_code']), str(args['label']))
    return {'ok': True}


def _overflow(server: Any, args: dict) -> dict:
    if 'max_queue' in args:
        max_queue = args['max_queue']
        if not isinstance(max_queue, int) or max_queue < 1:
            raise ValueError(f'max_queue must be a positive integer, got {max_queue!r}')
        server.events.max_queue = max_queue
        return {'max_queue': max_queue}
    return {'overflowed': server.events.overflow()}


def _restart(server: Any, args: dict) -> dict:
    server.restart()
    return {'restarts': server.restarts}


def _save(server: Any, args: dict) -> dict:
    server.save()
    return {'ok': True}


_ACTIONS: dict[tuple[str, str], Callable[[Any, dict], dict]] = {
    ('GET', 'stats'): _stats,
    ('DELETE', 'stats'): _reset_stats,
    ('GET', 'state'): lambda server, args: server.snapshot(),
    ('GET', 'hosts'): lambda server, args: {'hosts': list(server.peers)},
    ('GET', 'fault'): lambda server, args: server.faults.describe(),
    ('POST', 'fault'): _arm_fault,
    ('DELETE', 'fault'): _clear_faults,
    ('POST', 'latency'): _latency,
    ('POST', 'relabel'): _relabel,
    ('POST', 'expire-sessions'): lambda server, args: {'expired': server.sessions.expire_all()},
    ('POST', 'overflow-events'): _overflow,
    ('POST', 'cache-cleared'): lambda server, args: {'queues': server.events.cache_cleared()},
    ('POST', 'restart'): _restart,
    ('POST', 'save'): _save,
}


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> RestResponse:
    hdrs = {'content-type': 'application/json'}
    hdrs.update(headers or {})
    return RestResponse(status, hdrs, json.dumps(obj, indent=1, default=str).encode())
