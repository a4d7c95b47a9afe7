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

"""The simulator's bounds against careless or hostile clients (issue 11 point 7):
session idle expiry and cap (token files included), request body read timeout,
event application queues capped and expired.  All over HTTP."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from lxml import etree

from powervm_sim import client
from powervm_sim import sessions as sim_sessions
from powervm_sim.server import SimServer
from tests.functional.conftest import PASSWORD, USER, StubHost, stop

LOGON = '/rest/api/web/Logon'
EVENT = '/rest/api/uom/Event'
FEED = '/rest/api/uom/LogicalPartition'
_LOGON_TYPE = {'Content-Type': 'application/vnd.ibm.powervm.web+xml; type=LogonRequest'}
_WEB_NS = 'http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/'


def _file_logon(url: str) -> str:
    """A file-auth logon with no password, as any local client may make; the token."""
    body = (f'<LogonRequest xmlns="{_WEB_NS}"><UserID>anyone</UserID>'
            '<GenerateX-API-SessionFile>true</GenerateX-API-SessionFile></LogonRequest>')
    resp = requests.put(url + LOGON, data=body, headers=_LOGON_TYPE, timeout=5)
    assert resp.status_code == 200, resp.text
    path = resp.text.split('<X-API-SessionFile kb="ROR" kxe="false">')[1].split('<')[0]
    with open(path) as fh:
        return fh.read().strip()


def _get(url: str, token: str, path: str = FEED, **params) -> requests.Response:
    return requests.get(url + path, headers={'X-API-Session': token}, params=params, timeout=10)


@pytest.fixture
def start(tmp_path):
    """start(**SimServer kwargs) -> a simulator around a StubHost."""
    started = []

    def run(**kwargs):
        server = SimServer(StubHost(), user=USER, password=PASSWORD, state_dir=tmp_path,
                           poll_timeout=0.2, **kwargs).start()
        sim = client.InThreadSim(url=server.url, user=USER, password=PASSWORD,
                                 state_dir=tmp_path, server=server)
        started.append(sim)
        return sim
    yield run
    for sim in started:
        stop(sim)


# ---- sessions ---------------------------------------------------------------------
def test_sessions_expire_when_idle_by_default(start, monkeypatch):
    sim = start()
    token = _file_logon(sim.url)
    assert _get(sim.url, token).status_code == 204
    real = time.monotonic
    later = real() + sim_sessions.DEFAULT_IDLE_TIMEOUT + 1
    monkeypatch.setattr(sim_sessions.time, 'monotonic', lambda: later)
    assert _get(sim.url, token).status_code == 401
    assert list((sim.state_dir / 'sessions').iterdir()) == []  # its token file went too


def test_file_auth_logons_are_capped_least_recently_used_evicted(start):
    sim = start(max_sessions=3)
    tokens = [_file_logon(sim.url) for _ in range(10)]
    assert len(list((sim.state_dir / 'sessions').iterdir())) == 3
    assert [_get(sim.url, t).status_code for t in tokens] == [401] * 7 + [204] * 3
    stats = sim.admin('GET', 'stats')
    assert (stats['sessions'], stats['logons'], stats['sessions_evicted']) == (3, 10, 7)
    # Using a session keeps it: the next logon evicts the least recently used instead.
    assert _get(sim.url, tokens[7]).status_code == 204
    newest = _file_logon(sim.url)
    assert [_get(sim.url, t).status_code for t in tokens[7:] + [newest]] == [204, 401, 204, 204]


def test_token_files_go_with_their_sessions(tmp_path, start):
    stale = tmp_path / 'sessions' / 'token_0123456789abcdef'
    stale.parent.mkdir()
    stale.write_text('from an earlier run\n')
    sim = start()
    assert not stale.exists()
    token = _file_logon(sim.url)
    resp = requests.delete(sim.url + LOGON, headers={'X-API-Session': token}, timeout=5)
    assert resp.status_code == 204
    assert list((tmp_path / 'sessions').iterdir()) == []
    _file_logon(sim.url), _file_logon(sim.url)
    assert sim.admin('POST', 'expire-sessions') == {'expired': 2}
    assert list((tmp_path / 'sessions').iterdir()) == []


# ---- request bodies -----------------------------------------------------------------
def _raw_put(sim, body_parts, pause: float) -> tuple[bytes, float]:
    """PUT Logon declaring 100 body bytes, sending ``body_parts`` ``pause`` s apart;
    (what the server answered, seconds until it answered)."""
    sock = socket.create_connection((sim.host, sim.port), timeout=10)
    start = time.monotonic()
    sock.sendall(f'PUT {LOGON} HTTP/1.1\r\nHost: {sim.host}\r\nContent-Length: 100\r\n'
                 'Content-Type: application/xml\r\n\r\n'.encode())
    answer = b''

    def reader():
        nonlocal answer
        while chunk := sock.recv(65536):
            answer += chunk
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for part in body_parts:
            if answer:
                break
            sock.sendall(part)
            time.sleep(pause)
    except OSError:
        pass  # the server closed the connection
    thread.join(10)
    sock.close()
    return answer, time.monotonic() - start


def test_a_body_that_never_arrives_gets_408_and_the_connection_closes(start):
    sim = start(body_timeout=0.5)
    answer, took = _raw_put(sim, [b'<LogonRequest'], pause=0)
    assert answer.startswith(b'HTTP/1.1 408') and b'within 0.5 seconds' in answer
    assert b'Connection: close' in answer
    assert took < 5
    assert _get(sim.url, _file_logon(sim.url)).status_code == 204  # still serving


def test_a_body_dripped_byte_by_byte_is_cut_off_at_the_deadline(start):
    sim = start(body_timeout=1.0)
    # One byte every 0.2 s would take 20 s: no single read waits long, the total does.
    answer, took = _raw_put(sim, [b'x'] * 100, pause=0.2)
    assert answer.startswith(b'HTTP/1.1 408')
    assert 0.9 < took < 5


def test_slow_clients_do_not_hold_up_others(start):
    sim = start(body_timeout=2.0)
    slow = threading.Thread(target=_raw_put, args=(sim, [b'<'], 0))
    slow.start()
    t0 = time.monotonic()
    assert _get(sim.url, _file_logon(sim.url)).status_code == 204
    assert time.monotonic() - t0 < 1.5
    slow.join(10)


# ---- event application queues ---------------------------------------------------------
def _poll(sim, token: str, appid: str) -> list[str]:
    resp = _get(sim.url, token, EVENT, QUEUE_CLIENTKEY_METHOD='USE_APPLICATIONID',
                QUEUE_APPLICATIONID=appid)
    assert resp.status_code in (200, 204), resp.text
    if resp.status_code == 204:
        return []
    return [e.text for e in etree.fromstring(resp.content).iter('{*}EventType')]


def test_event_queues_are_capped_least_recently_polled_dropped(start):
    sim = start(max_event_apps=2)
    token = _file_logon(sim.url)
    assert _poll(sim, token, 'a') == ['NEW_CLIENT']
    assert _poll(sim, token, 'b') == ['NEW_CLIENT']
    assert _poll(sim, token, 'a') == []
    assert _poll(sim, token, 'c') == ['NEW_CLIENT']  # b polled longest ago
    events = sim.admin('GET', 'stats')['events']
    assert sorted(events['queues']) == ['a', 'c'] and events['dropped_apps'] == 1
    assert _poll(sim, token, 'b') == ['NEW_CLIENT']  # a new client again


def test_event_queues_of_idle_applications_expire(start):
    sim = start(event_app_idle=0.5)
    token = _file_logon(sim.url)
    assert _poll(sim, token, 'gone') == ['NEW_CLIENT']
    assert _poll(sim, token, 'here') == ['NEW_CLIENT']
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        _poll(sim, token, 'here')  # keeps polling (each poll waits 0.2 s)
    sim.admin('POST', 'cache-cleared')
    assert sorted(sim.admin('GET', 'stats')['events']['queues']) == ['here']
    assert _poll(sim, token, 'here') == ['CACHE_CLEARED']
    assert _poll(sim, token, 'gone') == ['NEW_CLIENT']
