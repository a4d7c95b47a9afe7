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

"""HTTP(S) server of the simulator: logon/logoff, sessions, routing, admin API.

``SimServer(host, ...)`` serves a SimHost (or anything with ``handle(req)``,
``on_change``, ``save()``, ``snapshot()``) on a ThreadingHTTPServer:

* ``/rest/api/web/Logon``: PUT logon (password or file auth), DELETE logoff.
* ``/rest/api/uom/Event``: the Event API (events.py).
* every other ``/rest/api/...``: needs a live X-API-Session, then faults,
  then ``host.handle``, then the latency sleep (outside any lock).
* ``/sim/admin/...``: JSON admin API behind HTTP basic auth (see ``_admin``).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import pathlib
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from powervm_sim import events as sim_events
from powervm_sim import faults as sim_faults
from powervm_sim import latency as sim_latency
from powervm_sim import payloads as sim_payloads
from powervm_sim import sessions as sim_sessions
from powervm_sim import tls as sim_tls
from powervm_sim.errors import http_error
from powervm_sim.model import RestRequest, RestResponse

LOG = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024
ATOM = 'application/atom+xml'
_UUID = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                   r'[0-9a-fA-F]{12}$')
DROP = object()  # sentinel response: close the connection without answering


def resource_of(path: str) -> str:
    """The resource type a REST path addresses (last non-UUID segment).

    ``.../LogicalPartition/search/(...)`` and ``.../LogicalPartition/<uuid>/quick/X``
    address LogicalPartition.
    """
    parts = [p for p in path.split('?', 1)[0].split('/') if p]
    if parts[:2] == ['rest', 'api']:
        parts = parts[3:]
    for marker in ('search', 'quick'):
        if marker in parts[1:]:
            parts = parts[:parts.index(marker, 1)]
    names = [p for p in parts if not _UUID.match(p)]
    return names[-1] if names else '/'


class SimServer:
    """The simulator's HTTP server around one host."""

    def __init__(self, host: Any, *, user: str, password: str,
                 bind: str = '127.0.0.1', port: int = 0,
                 state_dir: pathlib.Path | None = None,
                 reload_host: Callable[[], Any] | None = None,
                 tls: bool = False, latency: str = 'none', poll_timeout: float = 10.0,
                 max_queue: int = sim_events.DEFAULT_MAX_QUEUE,
                 idle_timeout: float | None = None, max_body: int = MAX_BODY) -> None:
        if not user or not password:
            raise ValueError('The simulator needs a non-empty --user and --password')
        self.user, self._password = user, password
        self.state_dir = pathlib.Path(state_dir) if state_dir else None
        self._reload_host = reload_host
        self.max_body = max_body
        token_dir = (self.state_dir / 'sessions') if self.state_dir else pathlib.Path(
            '/tmp') / f'powervm-sim-sessions-{id(self)}'
        self.sessions = sim_sessions.SessionStore(user, password, token_dir, idle_timeout)
        self.events = sim_events.EventHub(poll_timeout=poll_timeout, max_queue=max_queue)
        self.faults = sim_faults.FaultInjector()
        self.latency = sim_latency.Latency(latency)
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._host_lock = threading.Lock()
        self.host = host
        self._attach(host)
        self.restarts = 0

        self.httpd = _HTTPServer((bind, port), _Handler)
        self.httpd.sim = self
        self.scheme = 'http'
        self.cert_path: pathlib.Path | None = None
        if tls:
            if self.state_dir is None:
                raise ValueError('--tls needs a --state-dir for the certificate')
            cert, key = sim_tls.ensure_certificate(self.state_dir, bind)
            ctx = sim_tls.server_context(cert, key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
            self.scheme, self.cert_path = 'https', cert
        self.bind = bind
        self.port = self.httpd.server_address[1]
        self.events.base_url = self.url
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:40123."""
        host = f'[{self.bind}]' if ':' in self.bind else self.bind
        return f'{self.scheme}://{host}:{self.port}'

    def _attach(self, host: Any) -> None:
        host.on_change = self.events.on_change

    def start(self) -> SimServer:
        """Serve in a background daemon thread; returns self."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name='powervm-sim',
                                        kwargs={'poll_interval': 0.2}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``shutdown``."""
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self, save: bool = True) -> None:
        """Stop serving, wake pollers, save state."""
        self.events.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=10)
        if save:
            self.save()

    def save(self) -> None:
        """Persist the host state (if it has a state dir)."""
        if self.state_dir is not None:
            with self._host_lock:
                self.host.save()

    def restart(self) -> None:
        """In-process restart: drop sessions and event queues, reload state."""
        with self._host_lock:
            if self.state_dir is not None:
                self.host.save()
            if self._reload_host is not None:
                self.host.on_change = None
                self.host = self._reload_host()
                self._attach(self.host)
            self.sessions.expire_all()
            self.events.reset()
            self.restarts += 1

    def server_info(self) -> dict:
        """What server.json holds."""
        import os
        return {'url': self.url, 'pid': os.getpid(), 'host': self.bind, 'port': self.port,
                'scheme': self.scheme, 'admin_url': self.url + '/sim/admin',
                'admin_user': self.user,
                'cert': str(self.cert_path) if self.cert_path else None,
                # A dir without <host>.crt: pypowervm then has requests verify the chain
                # (set REQUESTS_CA_BUNDLE to 'cert'); see tls.py.
                'certpath': str(self.cert_path.parent) + '/' if self.cert_path else None,
                'state_dir': str(self.state_dir) if self.state_dir else None}

    def write_server_json(self) -> pathlib.Path | None:
        """Write state_dir/server.json (no password in it)."""
        if self.state_dir is None:
            return None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / 'server.json'
        tmp = path.with_suffix('.tmp')
        tmp.write_text(json.dumps(self.server_info(), indent=2))
        tmp.replace(path)
        return path

    def count(self, key: str) -> None:
        """Count one request for the stats."""
        with self._stats_lock:
            self.stats[key] += 1

    # -- request dispatch --------------------------------------------------
    def dispatch(self, method: str, raw_path: str, headers: dict[str, str],
                 body: bytes, base_url: str) -> RestResponse | object:
        """Answer one request (or DROP)."""
        parsed = urllib.parse.urlsplit(raw_path)
        path = parsed.path
        if path.startswith('/sim/admin'):
            return self._admin(method, path, headers, body)
        if not path.startswith('/rest/api/'):
            return http_error(404, path, f'Unknown URI {path!r}')
        try:
            query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True,
                                          strict_parsing=bool(parsed.query))
        except ValueError:
            return http_error(400, path, f'Bad query string {parsed.query!r}')
        resource = resource_of(path)
        self.count(f'{method} {resource}')
        if path.rstrip('/') == '/rest/api/web/Logon':
            return self._logon(method, path, headers, body)
        if not self.sessions.valid(headers.get('x-api-session')):
            return http_error(401, path, 'The X-API-Session is missing, expired or invalid; '
                                         'log on again')
        if method in ('PUT', 'POST') and body:
            ctype = headers.get('content-type', '')
            if 'xml' not in ctype:
                return http_error(415, path, f'Unsupported Content-Type {ctype!r}; '
                                             'expected an application/vnd.ibm.powervm.* XML type')
        fault = self.faults.take(method, resource)
        if fault is not None:
            return self._fault(fault, path)
        if path.rstrip('/') == '/rest/api/uom/Event':
            return self._event(method, path, query, body)
        req = RestRequest(method=method, path=path, query=query, headers=headers, body=body,
                          base_url=base_url)
        resp = self.host.handle(req)
        delay = self.latency.delay(method, resource, resp.body.count(b'<entry'))
        if delay:
            time.sleep(delay)
        return resp

    def _fault(self, kind: str, path: str) -> RestResponse | object:
        LOG.info('Injecting fault %s into %s', kind, path)
        if kind == 'drop':
            return DROP
        if kind == 'etag_mismatch':
            return http_error(412, path, 'The object was modified by another request; '
                                         'refresh it (etag mismatch)')
        if kind == 'vios_busy':
            return http_error(500, path, sim_faults.VIOS_BUSY_MESSAGE,
                              reason='Unknown internal error.')
        return http_error(503, path, 'Service Unavailable: the REST server is starting or '
                                     'overloaded', reason='Unknown internal error.')

    def _logon(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> RestResponse:
        if method == 'DELETE':
            if not self.sessions.logoff(headers.get('x-api-session')):
                return http_error(401, path, 'No such session to log off')
            return RestResponse(204, {}, b'')
        if method != 'PUT':
            return http_error(405, path, f'Method {method} not allowed on Logon; use PUT/DELETE')
        try:
            token, xml = self.sessions.logon(body)
        except sim_sessions.LogonError as exc:
            return http_error(exc.status, path, str(exc))
        LOG.info('Logon: new session %s', sim_sessions.mask(token))
        latency = self.latency.delay(method, 'Logon')
        if latency:
            time.sleep(latency)
        return RestResponse(200, {'content-type': 'application/vnd.ibm.powervm.web+xml; '
                                                  'type=LogonResponse'}, xml)

    def _event(self, method: str, path: str, query: dict[str, list[str]],
               body: bytes) -> RestResponse:
        base = self.url
        if method == 'PUT':
            try:
                data, detail = sim_events.parse_custom_event(body)
            except ValueError as exc:
                return http_error(400, path, str(exc))
            evt = sim_events.custom_event(self.events, data, detail)
            return RestResponse(200, {'content-type': ATOM},
                                sim_events.entry_xml(evt, base, standalone=True).encode())
        if method != 'GET':
            return http_error(405, path, f'Method {method} not allowed on Event; use GET/PUT')
        qmethod = query.get('QUEUE_CLIENTKEY_METHOD', ['USE_APPLICATIONID'])[0]
        if qmethod != 'USE_APPLICATIONID':
            return http_error(400, path, f'Unsupported QUEUE_CLIENTKEY_METHOD {qmethod!r}')
        appid = query.get('QUEUE_APPLICATIONID', [''])[0]
        if not appid:
            return http_error(400, path, 'QUEUE_APPLICATIONID query parameter is required')
        evts = self.events.poll(appid)
        if not evts:
            return RestResponse(204, {}, b'')
        body = sim_events.feed_xml(evts, base)
        # Like every feed (see event_feed.txt), the Event feed carries an ETag.
        return RestResponse(200, {'content-type': ATOM, 'etag': sim_events.feed_etag(evts)},
                            body)

    # -- admin API ---------------------------------------------------------
    def _admin_ok(self, headers: dict[str, str]) -> bool:
        auth = headers.get('authorization', '')
        if not auth.lower().startswith('basic '):
            return False
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(':')
        except (ValueError, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(user.encode(), self.user.encode())
                and hmac.compare_digest(pw.encode(), self._password.encode()))

    def _admin(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> RestResponse:
        if not self._admin_ok(headers):
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
        try:
            return _json(200, self._admin_action(method, action, args))
        except KeyError as exc:
            return _json(400, {'error': f'Missing or unknown argument {exc}'})
        except (ValueError, TypeError) as exc:
            return _json(400, {'error': str(exc)})
        except LookupError as exc:
            return _json(404, {'error': str(exc)})

    def _admin_action(self, method: str, action: str, args: dict) -> dict:
        key = (method, action)
        if key == ('GET', 'stats'):
            with self._stats_lock:
                reqs = dict(self.stats)
            return {'requests': reqs, 'total': sum(reqs.values()),
                    'sessions': self.sessions.count(), 'logons': self.sessions.logons,
                    'events': self.events.stats(), 'faults': self.faults.describe(),
                    'latency': self.latency.profile, 'restarts': self.restarts}
        if key == ('DELETE', 'stats'):
            with self._stats_lock:
                self.stats.clear()
            return {'ok': True}
        if key == ('GET', 'state'):
            with self._host_lock:
                return self.host.snapshot()
        if key == ('GET', 'fault'):
            return self.faults.describe()
        if key == ('POST', 'fault'):
            if args.get('kind') == 'expire_sessions':
                return {'expired': self.sessions.expire_all()}
            fault = self.faults.arm(str(args['kind']), count=args.get('count'),
                                    fraction=args.get('fraction'), seconds=args.get('seconds'),
                                    scope=args.get('scope'), resource=args.get('resource'))
            return {'armed': fault.kind, 'count': fault.count, 'fraction': fault.fraction,
                    'scope': fault.scope, 'resource': fault.resource}
        if key == ('DELETE', 'fault'):
            self.faults.clear()
            return {'ok': True}
        if key == ('POST', 'latency'):
            self.latency.set(str(args['profile']), args.get('scale'))
            return {'latency': self.latency.profile, 'scale': self.latency.scale}
        if key == ('POST', 'relabel'):
            self.host.relabel_sriov_port(str(args['location_code']), str(args['label']))
            return {'ok': True}
        if key == ('POST', 'expire-sessions'):
            return {'expired': self.sessions.expire_all()}
        if key == ('POST', 'overflow-events'):
            if 'max_queue' in args:
                max_queue = args['max_queue']
                if not isinstance(max_queue, int) or max_queue < 1:
                    raise ValueError(f'max_queue must be a positive integer, got {max_queue!r}')
                self.events.max_queue = max_queue
                return {'max_queue': max_queue}
            return {'overflowed': self.events.overflow()}
        if key == ('POST', 'cache-cleared'):
            return {'queues': self.events.cache_cleared()}
        if key == ('POST', 'restart'):
            self.restart()
            return {'restarts': self.restarts}
        if key == ('POST', 'save'):
            self.save()
            return {'ok': True}
        raise LookupError(f'Unknown admin action {method} /sim/admin/{action}')


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> RestResponse:
    hdrs = {'content-type': 'application/json'}
    hdrs.update(headers or {})
    return RestResponse(status, hdrs, json.dumps(obj, indent=1, default=str).encode())


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: socketserver's default of 5 resets connections when
    # a burst of clients (e.g. 100 compute-side event posts) connects at once.
    request_queue_size = 256
    sim: SimServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.debug('Connection error from %s', client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'powervm-sim'
    sys_version = ''
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The query string may carry application ids; log the bare path only.
        LOG.debug('%s %s', self.address_string(), (format % args).split('?', 1)[0])

    def do_GET(self) -> None:  # noqa: N802
        self._serve('GET')

    def do_PUT(self) -> None:  # noqa: N802
        self._serve('PUT')

    def do_POST(self) -> None:  # noqa: N802
        self._serve('POST')

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve('DELETE')

    def _not_allowed(self) -> None:
        # Any other method gets the API's HttpErrorResponse, not http.server's HTML 501.
        path = self.path.split('?', 1)[0]
        try:
            _body, err = self._read_body(self.server.sim.max_body, path)
        except OSError:
            self.close_connection = True
            return
        self._send(err or http_error(405, path, f'Method {self.command} is not supported; '
                                                'use GET, PUT, POST or DELETE'))

    do_HEAD = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed  # noqa: N815

    def _serve(self, method: str) -> None:
        sim = self.server.sim
        path = self.path.split('?', 1)[0]
        try:
            body, err = self._read_body(sim.max_body, path)
            if err is not None:
                resp: RestResponse | object = err
            else:
                headers = {k.lower(): v for k, v in self.headers.items()}
                host = headers.get('host') or f'{sim.bind}:{sim.port}'
                resp = sim.dispatch(method, self.path, headers, body, f'{sim.scheme}://{host}')
        except Exception as exc:  # the server never dies on a request
            LOG.exception('Internal error on %s %s', method, path)
            resp = http_error(500, path, f'Internal simulator error: {type(exc).__name__}: {exc}')
        if resp is DROP:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        assert isinstance(resp, RestResponse)
        self._send(resp)

    def _read_body(self, max_body: int, path: str) -> tuple[bytes, RestResponse | None]:
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            return self._read_chunked(max_body, path)
        raw = self.headers.get('Content-Length', '0') or '0'
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            return b'', http_error(400, path, f'Bad Content-Length {raw!r}')
        if length > max_body:
            self.close_connection = True
            return b'', http_error(413, path, f'Request body of {length} bytes exceeds the '
                                              f'{max_body} byte limit',
                                   reason='Request Entity Too Large')
        return self.rfile.read(length), None

    def _read_chunked(self, max_body: int, path: str) -> tuple[bytes, RestResponse | None]:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(65537).split(b';', 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.close_connection = True
                return b'', http_error(400, path, f'Bad chunk size {line!r}')
            if size == 0:
                while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
                    pass
                return b''.join(chunks), None
            total += size
            if total > max_body:
                self.close_connection = True
                return b'', http_error(413, path, f'Request body exceeds the {max_body} byte '
                                                  'limit', reason='Request Entity Too Large')
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _send(self, resp: RestResponse) -> None:
        self.send_response(resp.status)
        headers = {k.lower(): v for k, v in resp.headers.items()}
        headers.setdefault('x-mc-type', 'PVM')
        headers.setdefault('x-hmc-schema-version', sim_payloads.SCHEMA)
        if resp.body or resp.status not in (204, 304):
            headers['content-length'] = str(len(resp.body))
        else:
            headers.pop('content-length', None)
        if self.close_connection:
            headers['connection'] = 'close'
        for name, value in headers.items():
            self.send_header(_canonical(name), value)
        self.end_headers()
        if resp.body and self.command != 'HEAD':
            self.wfile.write(resp.body)


def _canonical(name: str) -> str:
    special = {'x-mc-type': 'X-MC-Type', 'etag': 'ETag', 'x-api-session': 'X-API-Session',
               'x-hmc-schema-version': 'X-HMC-Schema-Version'}
    return special.get(name, '-'.join(p.capitalize() for p in name.split('-')))


def build_server(scenario: str, state_dir: pathlib.Path | None, *, user: str, password: str,
                 **kwargs: Any) -> SimServer:
    """A SimServer around ``SimHost.load(scenario, state_dir)`` (restart reloads it)."""
    from powervm_sim.resources import SimHost

    state = pathlib.Path(state_dir) if state_dir else None
    if state is not None:
        state.mkdir(parents=True, exist_ok=True)

    def load() -> Any:
        return SimHost.load(scenario, state)

    return SimServer(load(), user=user, password=password, state_dir=state,
                     reload_host=load, **kwargs)
