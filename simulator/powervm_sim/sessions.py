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

"""Logon sessions: password and file (local) authentication, expiry.

Like NovaLink, a password logon returns the X-API-Session token in the
LogonResponse; a file logon (``GenerateX-API-SessionFile``) writes the token
to a 0600 file and returns its path in ``X-API-SessionFile``.
"""

from __future__ import annotations

import collections
import hmac
import logging
import os
import pathlib
import secrets
import threading
import time
from dataclasses import dataclass

from lxml import etree

from powervm_sim import xmlsafe
from powervm_sim.atom import WEB_NS
from powervm_sim.errors import http_error
from powervm_sim.rest import RestResponse

LOG = logging.getLogger(__name__)
LOGON_PATH = '/rest/api/web/Logon'
# A session unused this long (seconds) expires; the client logs on again.
DEFAULT_IDLE_TIMEOUT = 1800.0
# Live sessions at most; a logon beyond evicts the least recently used session.
DEFAULT_MAX_SESSIONS = 1000

_RESPONSE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<LogonResponse xmlns="' + WEB_NS + '" schemaVersion="V1_1_0">\n'
    '    <Metadata>\n        <Atom/>\n    </Metadata>\n'
    '    <{tag} kb="ROR" kxe="false">{value}</{tag}>\n'
    '</LogonResponse>\n')


class LogonError(Exception):
    """A logon request that cannot succeed; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class LogonRequest:
    """The parsed LogonRequest body."""

    user: str
    password: str | None
    file_auth: bool


def parse_logon(body: bytes) -> LogonRequest:
    """Parse a LogonRequest XML body; LogonError(400) names what is wrong."""
    try:
        root = xmlsafe.parse(body)
    except xmlsafe.XMLError as exc:
        raise LogonError(400, f'Malformed LogonRequest XML: {exc}') from None
    if etree.QName(root).localname != 'LogonRequest':
        raise LogonError(400, f'Expected LogonRequest, got {etree.QName(root).localname!r}')

    def text(name: str) -> str | None:
        el = root.find(f'{{{WEB_NS}}}{name}')
        if el is None:
            el = root.find(name)
        return None if el is None else (el.text or '')

    user = text('UserID')
    if not user:
        raise LogonError(400, 'LogonRequest has no UserID')
    password = text('Password')
    file_flag = (text('GenerateX-API-SessionFile') or '').strip().lower() == 'true'
    if password is None and not file_flag:
        raise LogonError(400, 'LogonRequest has neither Password nor GenerateX-API-SessionFile')
    return LogonRequest(user=user, password=password, file_auth=file_flag and password is None)


def mask(token: str | None) -> str:
    """A token safe to log: only its first 4 characters."""
    return '<none>' if not token else token[:4] + '****'


class SessionStore:
    """Thread-safe set of live X-API-Session tokens, bounded in number and idle time.

    A session unused for ``idle_timeout`` seconds expires.  At ``max_sessions``
    live sessions a new logon evicts the least recently used one (its client
    gets 401 and logs on again, as after any expiry), so logons -- file-auth
    logons need no password -- never grow the sessions or token files without
    bound.  A session's token file goes when the session goes.
    """

    def __init__(self, user: str, password: str, token_dir: pathlib.Path,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
                 max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        if max_sessions < 1:
            raise ValueError(f'max_sessions must be at least 1, got {max_sessions!r}')
        self._user = user
        self._password = password
        self._token_dir = token_dir
        self._idle = idle_timeout
        self.max_sessions = max_sessions
        self._lock = threading.Lock()
        self._tokens: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._files: dict[str, pathlib.Path] = {}
        self.logons = 0
        self.evicted = 0
        self._remove_stale_files()

    def _remove_stale_files(self) -> None:
        """Token files of an earlier process name sessions no one can use any more."""
        for path in self._token_dir.glob('token_*') if self._token_dir.is_dir() else ():
            path.unlink(missing_ok=True)

    def logon(self, body: bytes) -> tuple[str, bytes]:
        """Handle a LogonRequest; returns (token, LogonResponse XML)."""
        req = parse_logon(body)
        if req.file_auth:
            # Local authentication: trust the caller (it can read the file).
            token = secrets.token_urlsafe(96)
            path = self._write_token_file(token)
            self._add(token, path)
            return token, _RESPONSE.format(tag='X-API-SessionFile', value=path).encode()
        ok_user = hmac.compare_digest(req.user.encode(), self._user.encode())
        ok_pw = hmac.compare_digest((req.password or '').encode(), self._password.encode())
        if not (ok_user and ok_pw):
            raise LogonError(401, f'Logon failed for user {req.user!r}: bad user ID or password')
        token = secrets.token_urlsafe(96)
        self._add(token)
        return token, _RESPONSE.format(tag='X-API-Session', value=token).encode()

    def _new_token(self) -> str:
        """A new live session without a logon body (tests, in-process use)."""
        token = secrets.token_urlsafe(96)
        self._add(token)
        return token

    def _add(self, token: str, path: pathlib.Path | None = None) -> None:
        now = time.monotonic()
        gone: list[str] = []
        with self._lock:
            gone += self._expired(now)
            while len(self._tokens) >= self.max_sessions:
                gone.append(self._tokens.popitem(last=False)[0])
                self.evicted += 1
            self._tokens[token] = now
            if path is not None:
                self._files[token] = path
            self.logons += 1
            paths = [self._files.pop(t) for t in gone if t in self._files]
        self._unlink(paths)
        if gone:
            LOG.info('Sessions: %d expired or evicted (cap %d)', len(gone), self.max_sessions)

    def _expired(self, now: float) -> list[str]:
        """Drop the idle-expired sessions (lock held); the oldest-used come first."""
        gone = []
        if self._idle is None:
            return gone
        for token, last in list(self._tokens.items()):
            if now - last <= self._idle:
                break
            del self._tokens[token]
            gone.append(token)
        return gone

    def _write_token_file(self, token: str) -> pathlib.Path:
        self._token_dir.mkdir(parents=True, exist_ok=True)
        path = self._token_dir / f'token_{secrets.token_hex(8)}'
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as fh:
            fh.write(token + '\n')
        return path

    @staticmethod
    def _unlink(paths: list[pathlib.Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    def valid(self, token: str | None) -> bool:
        """True when ``token`` is live; refreshes its idle timer."""
        if not token:
            return False
        now = time.monotonic()
        with self._lock:
            last = self._tokens.get(token)
            if last is not None and (self._idle is None or now - last <= self._idle):
                self._tokens[token] = now
                self._tokens.move_to_end(token)
                return True
            paths = []
            if last is not None:
                del self._tokens[token]
                paths = [self._files.pop(token)] if token in self._files else []
        self._unlink(paths)
        return False

    def logoff(self, token: str | None) -> bool:
        """Drop ``token``; False if it was not live."""
        with self._lock:
            live = self._tokens.pop(token or '', None) is not None
            paths = [self._files.pop(token)] if token in self._files else []
        self._unlink(paths)
        return live

    def expire_all(self) -> int:
        """Invalidate every session (clients get 401 and re-logon)."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            paths, self._files = list(self._files.values()), {}
        self._unlink(paths)
        return count

    def count(self) -> int:
        """Number of live sessions (idle-expired ones are dropped first)."""
        with self._lock:
            gone = self._expired(time.monotonic())
            paths = [self._files.pop(t) for t in gone if t in self._files]
            count = len(self._tokens)
        self._unlink(paths)
        return count


def handle_logon(store: SessionStore, method: str, path: str, headers: dict[str, str],
                 body: bytes) -> RestResponse:
    """``/rest/api/web/Logon``: PUT logs on, DELETE logs the request's session off."""
    if method == 'DELETE':
        if not store.logoff(headers.get('x-api-session')):
            return http_error(401, path, 'No such session to log off')
        return RestResponse(204, {}, b'')
    if method != 'PUT':
        return http_error(405, path, f'Method {method} not allowed on Logon; use PUT/DELETE')
    try:
        token, xml = store.logon(body)
    except LogonError as exc:
        return http_error(exc.status, path, str(exc))
    LOG.info('Logon: new session %s', mask(token))
    return RestResponse(200, {'content-type': 'application/vnd.ibm.powervm.web+xml; '
                                              'type=LogonResponse'}, xml)
