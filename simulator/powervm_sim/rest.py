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

"""One REST request and its answer, as the HTTP server and the resource handlers see them.

``RestRequest``/``RestResponse`` are HTTP-neutral; ``BadRequest`` is how a
handler refuses (the host turns it into an HttpErrorResponse and drops the
events the refused request queued); ``Host`` is what handlers may use of the
host; the rest builds the answers every family gives (entry, feed, 304).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from powervm_sim import atom, xmlsafe
from powervm_sim.model import HostState, sim_uuid


@dataclass
class RestRequest:
    """One REST request as the HTTP server hands it to ``SimHost.handle``."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b''
    base_url: str = 'http://127.0.0.1:12080'

    @property
    def base(self) -> str:
        """Scheme and authority the client used, without a trailing slash."""
        return self.base_url.rstrip('/')


@dataclass
class RestResponse:
    """The answer: status, headers (lower-case keys) and body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b''


class BadRequest(Exception):
    """A request the platform refuses; ``status`` defaults to 400."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Host(Protocol):
    """What resource handlers use of the host (``resources.SimHost``)."""

    state: HostState
    lock: threading.RLock

    @property
    def sys_uuid(self) -> str: ...

    def commit(self, *touched: str) -> None: ...

    def emit(self, uri: str, event_type: str, detail: str = '') -> None: ...

    def cached(self, key: tuple, render: Callable[[], str]) -> str: ...


NO_CONTENT = RestResponse(204, {}, b'')


def groups(req: RestRequest) -> set[str] | None:
    """Requested extended groups; None = the server default (all)."""
    if 'group' not in req.query:
        return None
    return {g for v in req.query['group'] for g in v.split(',') if g}


def self_href(req: RestRequest) -> str:
    """The request's own URL (query included), as SELF links carry it."""
    qs = '&'.join(f'{k}={v}' for k, vals in req.query.items() for v in vals)
    return req.base + req.path.split('?')[0] + (f'?{qs}' if qs else '')


def entry_response(req: RestRequest, kind: str, uuid: str, etag: str, content: str,
                   status: int = 200) -> RestResponse:
    """One object as a stand-alone entry (304 when If-None-Match matches)."""
    if req.method == 'GET' and req.headers.get('if-none-match') == etag:
        return RestResponse(304, {'etag': etag}, b'')
    href = self_href(req).split('?')[0]
    if not href.endswith('/' + uuid):
        # A create is PUT to the feed: the new entry's SELF link is its own URI.
        href = f'{href}/{uuid}'
    body = atom.entry(kind, uuid, content, self_href=href, etag=etag, standalone=True)
    return RestResponse(status, {'content-type': atom.CONTENT_TYPE, 'etag': etag},
                        body.encode('utf-8'))


def feed_response(req: RestRequest, sys_uuid: str, kind: str,
                  items: list[tuple[str, str, str]]) -> RestResponse:
    """A feed of (uuid, etag, content) items; 204 when empty, 304 when unchanged."""
    if not items:
        return NO_CONTENT
    etag = atom.signed_crc(','.join(e for _u, e, _c in items))
    if req.headers.get('if-none-match') == etag:
        return RestResponse(304, {'etag': etag}, b'')
    href = self_href(req)
    base, _, qs = href.partition('?')
    q = f'?{qs}' if qs else ''
    entries = [atom.entry(kind, u, c, self_href=f'{base}/{u}{q}', etag=e) for u, e, c in items]
    body = feed_document(req.base, sys_uuid, href, entries)
    return RestResponse(200, {'content-type': atom.CONTENT_TYPE, 'etag': etag},
                        body.encode('utf-8'))


def feed_document(base: str, sys_uuid: str, href: str, entries: list[str]) -> str:
    """A resource feed: the Atom feed with the MANAGEMENT_CONSOLE link the API adds."""
    mc = sim_uuid(sys_uuid, 'ManagementConsole')
    return atom.feed(sim_uuid(href.split('?')[0]), href, entries,
                     [('MANAGEMENT_CONSOLE', f'{base}/rest/api/uom/ManagementConsole/{mc}')])


def check_if_match(req: RestRequest, etag: str, what: str) -> None:
    """412 when the request's If-Match names another etag than the current one."""
    want = req.headers.get('if-match')
    if want is not None and want != etag:
        raise BadRequest(f'etag mismatch for {what}: If-Match {want} but the current '
                         f'etag is {etag}; re-read and retry', 412)


def parse_body(req: RestRequest, kind: str) -> etree._Element:
    """The ``kind`` element of a PUT/POST body (bare or in an Atom entry)."""
    ctype = req.headers.get('content-type', '')
    want = atom.uom_type(kind)
    if ctype.replace(' ', '').split(';charset')[0] != want.replace(' ', ''):
        raise BadRequest(f'content type {ctype!r} is not supported here; expected '
                         f'{want!r}', 415)
    try:
        root = xmlsafe.parse(req.body)
    except xmlsafe.XMLError as e:
        raise BadRequest(f'bad {kind} body: {e}') from None
    if etree.QName(root).localname == 'entry':
        content = root.find('{*}content')
        if content is None or not len(content):
            raise BadRequest('Atom entry without content')
        root = content[0]
    if etree.QName(root).localname != kind:
        raise BadRequest(f'body element {etree.QName(root).localname!r} is not a {kind}')
    return root


def not_allowed(req: RestRequest, what: str | None = None) -> BadRequest:
    """The 405 for ``req`` (raise it)."""
    return BadRequest(f'{req.method} not allowed on {what or req.path}', 405)


def not_found(what: str) -> BadRequest:
    """The 404 for ``what`` (raise it)."""
    return BadRequest(f'{what} not found', 404)
