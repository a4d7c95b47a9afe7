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

"""The Event API: per-application queues, long poll, custom events, overflow.

GET /rest/api/uom/Event?QUEUE_CLIENTKEY_METHOD=USE_APPLICATIONID&QUEUE_APPLICATIONID=id
returns the queued events of application ``id`` as an Atom feed; a new
application first gets NEW_CLIENT.  With nothing queued the request blocks
up to ``poll_timeout`` seconds and then answers 204 (pypowervm reads that as
an empty feed).  A queue longer than ``max_queue`` is emptied and gets
MISSING_EVENTS.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from powervm_sim import atom, xmlsafe
from powervm_sim.errors import http_error
from powervm_sim.rest import RestResponse

EVENT_PATH = '/rest/api/uom/Event'
# The event types of object changes (EventType values).
ADD, MODIFY, DELETE = 'ADD_URI', 'MODIFY_URI', 'DELETE_URI'
EVENT_TYPES = frozenset({
    'INVALID_URI', 'CACHE_CLEARED', 'MISSING_EVENTS', 'ADD_URI', 'MODIFY_URI',
    'DELETE_URI', 'NEW_CLIENT', 'HIDDEN_URI', 'VISIBLE_URI', 'CUSTOM_CLIENT_EVENT'})
DEFAULT_MAX_QUEUE = 1000
# Application queues at most; a new application beyond evicts the least recently polled.
DEFAULT_MAX_APPS = 200
# An application that has not polled for this long (seconds) loses its queue; if it
# comes back it is a new client again (NEW_CLIENT), and resyncs.
DEFAULT_APP_IDLE = 900.0


@dataclass(frozen=True)
class Event:
    """One queued event."""

    eid: str
    etype: str
    data: str
    detail: str


class EventHub:
    """All application queues; thread-safe."""

    def __init__(self, poll_timeout: float = 10.0, max_queue: int = DEFAULT_MAX_QUEUE,
                 base_url: str = '', max_apps: int = DEFAULT_MAX_APPS,
                 app_idle: float | None = DEFAULT_APP_IDLE) -> None:
        if max_apps < 1:
            raise ValueError(f'max_apps must be at least 1, got {max_apps!r}')
        self.poll_timeout = poll_timeout
        self.max_queue = max_queue
        self.max_apps = max_apps
        self.app_idle = app_idle
        self.base_url = base_url
        self._cond = threading.Condition()
        self._queues: dict[str, collections.deque[Event]] = {}
        self._seen: dict[str, float] = {}  # application -> when it last polled
        self._polling: collections.Counter[str] = collections.Counter()
        self.dropped_apps = 0
        self._next_id = int(time.time() * 1000)
        self._closed = False
        self.published = 0

    def _event(self, etype: str, data: str = '', detail: str = '') -> Event:
        self._next_id += 1
        return Event(str(self._next_id), etype, data, detail)

    def _absolute(self, uri: str) -> str:
        return self.base_url + uri if uri.startswith('/') else uri

    def publish(self, etype: str, data: str = '', detail: str = '',
                absolute: bool = True) -> Event:
        """Queue an event to every application (``data`` paths become URLs)."""
        if etype not in EVENT_TYPES:
            raise ValueError(f'Unknown EventType {etype!r}')
        with self._cond:
            self._sweep(time.monotonic())
            data = self._absolute(data or '') if absolute else (data or '')
            evt = self._event(etype, data, detail or '')
            for queue in self._queues.values():
                queue.append(evt)
                if len(queue) > self.max_queue:
                    queue.clear()
                    queue.append(self._event('MISSING_EVENTS'))
            self.published += 1
            self._cond.notify_all()
            return evt

    def on_change(self, uri: str, event_type: str, detail: str) -> None:
        """SimHost.on_change hook."""
        self.publish(event_type, uri, detail)

    def _broadcast_special(self, etype: str) -> int:
        with self._cond:
            self._sweep(time.monotonic())
            for queue in self._queues.values():
                queue.clear()
                queue.append(self._event(etype))
            self._cond.notify_all()
            return len(self._queues)

    def overflow(self) -> int:
        """Overflow every queue now (each gets MISSING_EVENTS); returns the count."""
        return self._broadcast_special('MISSING_EVENTS')

    def cache_cleared(self) -> int:
        """Send CACHE_CLEARED to every queue; returns the count."""
        return self._broadcast_special('CACHE_CLEARED')

    def reset(self) -> None:
        """Forget every application (server restart)."""
        with self._cond:
            self._queues.clear()
            self._seen.clear()
            self._cond.notify_all()

    def _sweep(self, now: float) -> None:
        """Drop the queues of applications idle past ``app_idle`` (lock held)."""
        if self.app_idle is None:
            return
        for appid, seen in list(self._seen.items()):
            if now - seen > self.app_idle and not self._polling[appid]:
                self._drop(appid)

    def _drop(self, appid: str) -> None:
        self._queues.pop(appid, None)
        self._seen.pop(appid, None)
        self.dropped_apps += 1

    def _new_client(self, appid: str, now: float) -> collections.deque[Event]:
        """A queue for a new application, making room under ``max_apps`` (lock held)."""
        self._sweep(now)
        while len(self._queues) >= self.max_apps:
            idle = [a for a in self._queues if not self._polling[a]] or list(self._queues)
            self._drop(min(idle, key=lambda a: self._seen.get(a, 0.0)))
        queue = self._queues[appid] = collections.deque([self._event('NEW_CLIENT')])
        return queue

    def close(self) -> None:
        """Wake every waiting poll (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def poll(self, appid: str, timeout: float | None = None) -> list[Event]:
        """Take the queued events of ``appid``, waiting up to ``timeout`` seconds."""
        timeout = self.poll_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self._cond:
            self._polling[appid] += 1
            try:
                while True:
                    now = time.monotonic()
                    self._seen[appid] = now
                    queue = self._queues.get(appid)
                    if queue is None:  # new, reset or evicted: a new client (again)
                        queue = self._new_client(appid, now)
                    if queue:
                        events = list(queue)
                        queue.clear()
                        return events
                    remaining = deadline - now
                    if remaining <= 0 or self._closed:
                        return []
                    self._cond.wait(remaining)
            finally:
                self._polling[appid] -= 1
                if not self._polling[appid]:
                    del self._polling[appid]
                if appid in self._queues:
                    self._seen[appid] = time.monotonic()

    def stats(self) -> dict:
        """Queue lengths by application."""
        with self._cond:
            self._sweep(time.monotonic())
            return {'queues': {k: len(v) for k, v in self._queues.items()},
                    'published': self.published, 'max_queue': self.max_queue,
                    'poll_timeout': self.poll_timeout, 'max_apps': self.max_apps,
                    'app_idle': self.app_idle, 'dropped_apps': self.dropped_apps}


def parse_custom_event(body: bytes) -> tuple[str, str]:
    """(data, detail) of an Event PUT body; ValueError names what is wrong."""
    try:
        root = xmlsafe.parse(body)
    except xmlsafe.XMLError as exc:
        raise ValueError(f'Malformed Event XML: {exc}') from None
    if etree.QName(root).localname == 'entry':
        found = [el for el in root.iter() if etree.QName(el).localname == 'Event']
        if not found:
            raise ValueError('Atom entry has no Event content')
        root = found[0]
    if etree.QName(root).localname != 'Event':
        raise ValueError(f'Expected an Event element, got {etree.QName(root).localname!r}')
    values = {}
    for el in root:
        if isinstance(el.tag, str):
            values[etree.QName(el).localname] = el.text or ''
    etype = values.get('EventType')
    if etype not in (None, '', 'CUSTOM_CLIENT_EVENT'):
        raise ValueError(f'Only CUSTOM_CLIENT_EVENT can be posted, got EventType {etype!r}')
    return values.get('EventData', ''), values.get('EventDetail', '')


def entry_xml(evt: Event, base_url: str, standalone: bool = False) -> str:
    """One Event as an Atom entry (shape of event_feed.txt)."""
    atom_id = str(uuid.uuid5(uuid.NAMESPACE_URL, 'event-' + evt.eid))

    def field(name: str, value: str) -> str:
        if not value:
            return f'<{name} kxe="false" kb="ROR"/>'
        return f'<{name} kxe="false" kb="ROR">{escape(value)}</{name}>'

    content = (f'<Event:Event xmlns:Event="{atom.UOM_NS}" xmlns="{atom.UOM_NS}" '
               'xmlns:ns2="http://www.w3.org/XML/1998/namespace/k2" schemaVersion="V1_3_0">'
               f'<Metadata><Atom><AtomID>{atom_id}</AtomID><AtomCreated>0</AtomCreated>'
               '</Atom></Metadata>'
               + field('EventType', evt.etype) + field('EventID', evt.eid)
               + field('EventData', evt.data) + field('EventDetail', evt.detail)
               + '</Event:Event>')
    return atom.entry('Event', atom_id, content, self_href=f'{base_url}{EVENT_PATH}/{atom_id}',
                      etag=evt.eid, standalone=standalone)


def feed_xml(events: list[Event], base_url: str) -> bytes:
    """The Event feed for one poll."""
    body = atom.feed(str(uuid.uuid4()), base_url + EVENT_PATH,
                     [entry_xml(e, base_url) for e in events])
    return body.encode('utf-8')


def feed_etag(events: list[Event]) -> str:
    """The ETag of one poll's feed (signed 32-bit decimal, like the API's)."""
    return atom.signed_crc(','.join(e.eid for e in events))


def custom_event(hub: EventHub, data: str, detail: str) -> Event:
    """Publish a CUSTOM_CLIENT_EVENT and return it (for the PUT reply)."""
    return hub.publish('CUSTOM_CLIENT_EVENT', data, detail, absolute=False)


def handle(hub: EventHub, method: str, path: str, query: dict[str, list[str]],
           body: bytes, base_url: str) -> RestResponse:
    """``/rest/api/uom/Event``: GET polls an application's queue, PUT posts a custom event."""
    if method == 'PUT':
        try:
            data, detail = parse_custom_event(body)
        except ValueError as exc:
            return http_error(400, path, str(exc))
        evt = custom_event(hub, data, detail)
        return RestResponse(200, {'content-type': atom.CONTENT_TYPE},
                            entry_xml(evt, base_url, standalone=True).encode())
    if method != 'GET':
        return http_error(405, path, f'Method {method} not allowed on Event; use GET/PUT')
    qmethod = query.get('QUEUE_CLIENTKEY_METHOD', ['USE_APPLICATIONID'])[0]
    if qmethod != 'USE_APPLICATIONID':
        return http_error(400, path, f'Unsupported QUEUE_CLIENTKEY_METHOD {qmethod!r}')
    appid = query.get('QUEUE_APPLICATIONID', [''])[0]
    if not appid:
        return http_error(400, path, 'QUEUE_APPLICATIONID query parameter is required')
    evts = hub.poll(appid)
    if not evts:
        return RestResponse(204, {}, b'')
    # Like every feed (see event_feed.txt), the Event feed carries an ETag.
    return RestResponse(200, {'content-type': atom.CONTENT_TYPE, 'etag': feed_etag(evts)},
                        feed_xml(evts, base_url))
