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

"""HTTP/1.1 mechanics of the simulator: a threading server, request bodies
(Content-Length or chunked, bounded), answers with the headers NovaLink sends,
and dropped connections (``DROP``).  What to answer is ``SimServer.dispatch``'s.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from powervm_sim.errors import http_error
from powervm_sim.payloads import SCHEMA
from powervm_sim.rest import RestResponse

LOG = logging.getLogger(__name__)
DROP = object()  # sentinel response: close the connection without answering


class HTTPServer(ThreadingHTTPServer):
    """The listening server; ``sim`` is the SimServer that answers requests."""

    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: socketserver's default of 5 resets connections when
    # a burst of clients (e.g. 100 compute-side event posts) connects at once.
    request_queue_size = 256
    sim: Any  # server.SimServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.debug('Connection error from %s', client_address, exc_info=True)


class ListenError(OSError):
    """The server cannot listen where asked; the message names the address and port."""


def listen(bind: str, port: int) -> HTTPServer:
    """A server bound and listening on ``bind``:``port`` (0 picks a free port)."""
    try:
        return HTTPServer((bind, port), Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(exc.errno, f'port {port} on {bind} is already in use') from None
        raise ListenError(exc.errno, f'cannot listen on {bind} port {port}: '
                                     f'{exc.strerror or exc}') from None


class _Slow(Exception):
    """The request body did not arrive by its deadline."""


class Handler(BaseHTTPRequestHandler):
    """One connection: reads each request, asks ``server.sim.dispatch``, writes the answer.

    ``timeout``: an idle or stalled connection (no request line or headers) is
    closed after this many seconds; a body must arrive within ``sim.body_timeout``.
    """

    timeout = 300
    protocol_version = 'HTTP/1.1'
    server_version = 'powervm-sim'
    sys_version = ''
    server: HTTPServer

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
        """The request body, or the error answer (400, 413, or 408 when it is too slow)."""
        sim = self.server.sim
        deadline = time.monotonic() + sim.body_timeout
        try:
            if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
                return self._read_chunked(max_body, path, deadline)
            raw = self.headers.get('Content-Length', '0') or '0'
            try:
                length = int(raw)
                if length < 0:
                    raise ValueError
            except ValueError:
                self.close_connection = True
                return b'', http_error(400, path, f'Bad Content-Length {raw!r}')
            if length > max_body:
                return b'', self._too_large(path, f'Request body of {length} bytes exceeds '
                                                  f'the {max_body} byte limit')
            return self._read(length, deadline), None
        except _Slow:
            self.close_connection = True
            LOG.info('Request body of %s %s not received within %ss; connection closed',
                     self.command, path, sim.body_timeout)
            return b'', http_error(408, path, f'The request body did not arrive within '
                                              f'{sim.body_timeout} seconds',
                                   reason='Request Timeout')
        finally:
            self.connection.settimeout(self.timeout)

    def _too_large(self, path: str, message: str) -> RestResponse:
        self.close_connection = True
        return http_error(413, path, message, reason='Request Entity Too Large')

    def _recv(self, size: int, deadline: float) -> bytes:
        """At most ``size`` bytes, waiting no later than ``deadline``; b'' at EOF."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Slow
        self.connection.settimeout(remaining)
        try:
            return self.rfile.read1(size)
        except TimeoutError:
            raise _Slow from None

    def _read(self, length: int, deadline: float) -> bytes:
        chunks, left = [], length
        while left > 0:
            data = self._recv(min(left, 65536), deadline)
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        return b''.join(chunks)

    def _readline(self, limit: int, deadline: float) -> bytes:
        line = b''
        while len(line) < limit and not line.endswith(b'\n'):
            data = self._recv(1, deadline)
            if not data:
                break
            line += data
        return line

    def _read_chunked(self, max_body: int, path: str,
                      deadline: float) -> tuple[bytes, RestResponse | None]:
        chunks, total = [], 0
        while True:
            line = self._readline(65537, deadline).split(b';', 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.close_connection = True
                return b'', http_error(400, path, f'Bad chunk size {line[:40]!r}')
            if size == 0:
                while self._readline(65537, deadline) not in (b'\r\n', b'\n', b''):
                    pass
                return b''.join(chunks), None
            total += size
            if total > max_body:
                return b'', self._too_large(path, f'Request body exceeds the {max_body} byte '
                                                  'limit')
            chunks.append(self._read(size, deadline))
            self._readline(3, deadline)

    def _send(self, resp: RestResponse) -> None:
        self.send_response(resp.status)
        headers = {k.lower(): v for k, v in resp.headers.items()}
        headers.setdefault('x-mc-type', 'PVM')
        headers.setdefault('x-hmc-schema-version', SCHEMA)
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


