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

"""The simulator's server around one host: sessions, faults, latency, events, admin.

``SimServer(host, ...)`` serves a SimHost (or anything with ``handle(req)``,
``on_change``, ``save()``, ``snapshot()``) over HTTP(S) (httpd.py):

* ``/rest/api/web/Logon``: PUT logon (password or file auth), DELETE logoff (sessions.py).
* ``/rest/api/uom/Event``: the Event API (events.py).
* every other ``/rest/api/...``: needs a live X-API-Session, then faults,
  then ``host.handle``, then the latency sleep (outside any lock).
* ``/sim/admin/...``: JSON admin API behind HTTP basic auth (admin.py).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import pathlib
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from typing import Any

from powervm_sim import admin, httpd
from powervm_sim import events as sim_events
from powervm_sim import faults as sim_faults
from powervm_sim import latency as sim_latency
from powervm_sim import sessions as sim_sessions
from powervm_sim import tls as sim_tls
from powervm_sim.errors import http_error
from powervm_sim.resources import SimHost
from powervm_sim.rest import RestRequest, RestResponse

LOG = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024
# Seconds a request body may take to arrive (a slow client is answered 408).
DEFAULT_BODY_TIMEOUT = 30.0
_UUID = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                   r'[0-9a-fA-F]{12}$')
DROP = httpd.DROP


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
                 idle_timeout: float | None = sim_sessions.DEFAULT_IDLE_TIMEOUT,
                 max_body: int = MAX_BODY,
                 max_sessions: int = sim_sessions.DEFAULT_MAX_SESSIONS,
                 body_timeout: float = DEFAULT_BODY_TIMEOUT,
                 max_event_apps: int = sim_events.DEFAULT_MAX_APPS,
                 event_app_idle: float | None = sim_events.DEFAULT_APP_IDLE,
                 listener: httpd.HTTPServer | None = None) -> None:
        if not user or not password:
            raise ValueError('The simulator needs a non-empty --user and --password')
        self.user, self._password = user, password
        self.state_dir = pathlib.Path(state_dir) if state_dir else None
        self._reload_host = reload_host
        self.max_body = max_body
        self.body_timeout = body_timeout
        token_dir = (self.state_dir / 'sessions') if self.state_dir else pathlib.Path(
            '/tmp') / f'powervm-sim-sessions-{id(self)}'
        self.sessions = sim_sessions.SessionStore(user, password, token_dir, idle_timeout,
                                                  max_sessions)
        self.events = sim_events.EventHub(poll_timeout=poll_timeout, max_queue=max_queue,
                                          max_apps=max_event_apps, app_idle=event_app_idle)
        self.faults = sim_faults.FaultInjector()
        self.latency = sim_latency.Latency(latency)
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._host_lock = threading.Lock()
        self.host = host
        self._attach(host)
        self.restarts = 0

        # ``listener``: already bound (build_server binds before it touches any state).
        self.httpd = listener or httpd.listen(bind, port)
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
        # Every host this process serves (hosts.py sets it), for the admin API's ``hosts``.
        self.peers: list[str] = [self.url]

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

    def snapshot(self) -> dict:
        """The host's snapshot (admin ``state``)."""
        with self._host_lock:
            return self.host.snapshot()

    def server_info(self) -> dict:
        """What server.json holds."""
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

    def admin_credentials_ok(self, user: str, password: str) -> bool:
        """True for the serve --user/--password (compared in constant time)."""
        return (hmac.compare_digest(user.encode(), self.user.encode())
                and hmac.compare_digest(password.encode(), self._password.encode()))

    def request_counts(self, reset: bool = False) -> dict[str, int]:
        """Requests served by "METHOD Resource" (admin ``stats``); ``reset`` zeroes them."""
        with self._stats_lock:
            counts = dict(self.stats)
            if reset:
                self.stats.clear()
        return counts

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
        resp = sim_sessions.handle_logon(self.sessions, method, path, headers, body)
        latency = self.latency.delay(method, 'Logon') if resp.status == 200 else 0
        if latency:
            time.sleep(latency)
        return resp

    def _event(self, method: str, path: str, query: dict[str, list[str]],
               body: bytes) -> RestResponse:
        return sim_events.handle(self.events, method, path, query, body, self.url)

    def _admin(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> RestResponse:
        return admin.handle(self, method, path, headers, body)


def build_server(scenario: str, state_dir: pathlib.Path | None, *, user: str, password: str,
                 host_number: int = 1, listener: httpd.HTTPServer | None = None,
                 **kwargs: Any) -> SimServer:
    """A SimServer around ``SimHost.load(scenario, state_dir)`` (restart reloads it).

    It listens first: a port in use (httpd.ListenError) leaves the state untouched.
    ``host_number``: which host of a many-host simulator (hosts.py).
    """
    if listener is None:
        listener = httpd.listen(kwargs.get('bind', '127.0.0.1'), kwargs.get('port', 0))
    try:
        state = pathlib.Path(state_dir) if state_dir else None
        if state is not None:
            state.mkdir(parents=True, exist_ok=True)

        def load() -> Any:
            return SimHost.load(scenario, state, host_number)

        return SimServer(load(), user=user, password=password, state_dir=state,
                         reload_host=load, listener=listener, **kwargs)
    except BaseException:
        listener.server_close()
        raise
