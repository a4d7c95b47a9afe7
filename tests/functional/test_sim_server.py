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

"""Server mechanics (logon, sessions, events, faults, bad input) via pypowervm and HTTP."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest
import requests
from pypowervm import exceptions as pvm_exc
from pypowervm.adapter import RawEventHandler
from pypowervm.helpers import vios_busy
from pypowervm.wrappers import event as pvm_event

from powervm_sim.client import AdminError
from tests.functional.conftest import PASSWORD, USER, new_adapter


class Collector(RawEventHandler):
    """Collects raw events; wait_for blocks until a predicate matches."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.cond = threading.Condition()

    def process(self, events: list[dict]) -> None:
        with self.cond:
            self.events.extend(events)
            self.cond.notify_all()

    def wait_for(self, pred, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for evt in self.events:
                    if pred(evt):
                        return evt
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'event not seen; got {self.events}')
                self.cond.wait(left)


def _lpar_feed_path() -> str:
    return '/rest/api/uom/LogicalPartition'


def test_password_logon_sets_pvm_traits(stub_sim):
    adpt = new_adapter(stub_sim)
    assert adpt.session.mc_type == 'PVM'
    assert adpt.traits.local_api is not None
    assert not adpt.traits.vnet_aware  # NovaLink, not HMC
    assert adpt.session.schema_version == 'V1_1_0'
    assert stub_sim.server.sessions.count() == 1


def test_file_logon_writes_private_token_file(stub_sim):
    adpt = new_adapter(stub_sim, file_auth=True)
    files = list((stub_sim.state_dir / 'sessions').iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert files[0].read_text().strip() == adpt.session._sessToken
    # The token works for a real request.
    assert adpt.read('LogicalPartition').feed.entries == []


def test_wrong_password_is_401(stub_sim):
    sim = stub_sim
    with pytest.raises(pvm_exc.HttpError) as err:
        from pypowervm.adapter import Session
        Session(host=sim.host, port=sim.port, protocol='http', username=USER,
                password='wrong')
    assert err.value.response.status == 401
    assert USER in err.value.her_wrap.message


def test_request_without_session_is_401(stub_sim):
    resp = requests.get(stub_sim.url + _lpar_feed_path(), timeout=5)
    assert resp.status_code == 401
    assert resp.headers['X-MC-Type'] == 'PVM'
    assert b'HttpErrorResponse' in resp.content


def test_relogon_after_expiry(stub_sim):
    adpt = new_adapter(stub_sim)
    old = adpt.session._sessToken
    assert stub_sim.admin('POST', 'expire-sessions')['expired'] == 1
    assert adpt.read('LogicalPartition').feed.entries == []  # 401 -> re-logon -> retry
    assert adpt.session._sessToken != old
    assert stub_sim.server.sessions.logons == 2


def test_logoff_invalidates_token(stub_sim):
    adpt = new_adapter(stub_sim)
    token = adpt.session._sessToken
    adpt.session._logoff()
    resp = requests.get(stub_sim.url + _lpar_feed_path(), headers={'X-API-Session': token},
                        timeout=5)
    assert resp.status_code == 401


def test_idle_timeout_expires_session(tmp_path):
    from powervm_sim.server import SimServer
    from tests.functional.conftest import StubHost
    server = SimServer(StubHost(), user=USER, password=PASSWORD, state_dir=tmp_path,
                       idle_timeout=0.05).start()
    try:
        token = server.sessions._new_token()
        assert server.sessions.valid(token)
        time.sleep(0.1)
        resp = requests.get(server.url + _lpar_feed_path(),
                            headers={'X-API-Session': token}, timeout=5)
        assert resp.status_code == 401
    finally:
        server.shutdown()


def test_event_listener_new_client_modify_and_custom(stub_sim):
    adpt = new_adapter(stub_sim)
    listener = adpt.session.get_event_listener()  # primes with NEW_CLIENT
    coll = Collector()
    listener.subscribe(coll)
    try:
        # A change in the host reaches the listener as MODIFY_URI with a full URL.
        requests.post(stub_sim.url + '/rest/api/uom/ManagedSystem/x', data=b'<a/>',
                      headers={'X-API-Session': adpt.session._sessToken,
                               'Content-Type': 'application/vnd.ibm.powervm.uom+xml'},
                      timeout=5)
        evt = coll.wait_for(lambda e: e['EventType'] == 'MODIFY_URI')
        assert evt['EventData'] == stub_sim.url + '/rest/api/uom/ManagedSystem/x'
        # A custom client event from a second client, as Nova's driver posts it.
        other = new_adapter(stub_sim)
        created = pvm_event.Event.bld(other, data='http://h/x', detail='{"a": 1}').create()
        assert created.etype == 'CUSTOM_CLIENT_EVENT'
        evt = coll.wait_for(lambda e: e['EventType'] == 'CUSTOM_CLIENT_EVENT')
        assert (evt['EventData'], evt['EventDetail']) == ('http://h/x', '{"a": 1}')
    finally:
        listener.shutdown()


def test_event_get_new_client_then_empty(stub_sim):
    adpt = new_adapter(stub_sim)
    first = pvm_event.Event.get(adpt, 'app1')
    assert [e.etype for e in first] == ['NEW_CLIENT']
    assert pvm_event.Event.get(adpt, 'app1') == []  # long poll timed out -> 204


def test_overflow_and_cache_cleared(stub_sim):
    adpt = new_adapter(stub_sim)
    pvm_event.Event.get(adpt, 'app1')
    stub_sim.admin('POST', 'overflow-events', max_queue=3)
    for i in range(5):
        stub_sim.server.events.publish('ADD_URI', f'/rest/api/uom/X/{i}')
    got = pvm_event.Event.get(adpt, 'app1')
    assert got[0].etype == 'MISSING_EVENTS'
    assert [e.data for e in got[1:]] == [stub_sim.url + '/rest/api/uom/X/4']
    stub_sim.admin('POST', 'cache-cleared')
    assert [e.etype for e in pvm_event.Event.get(adpt, 'app1')] == ['CACHE_CLEARED']
    stub_sim.admin('POST', 'overflow-events')
    assert [e.etype for e in pvm_event.Event.get(adpt, 'app1')] == ['MISSING_EVENTS']


def test_event_bad_query_and_body(stub_sim):
    adpt = new_adapter(stub_sim)
    hdrs = {'X-API-Session': adpt.session._sessToken}
    resp = requests.get(stub_sim.url + '/rest/api/uom/Event?QUEUE_CLIENTKEY_METHOD=FOO',
                        headers=hdrs, timeout=5)
    assert resp.status_code == 400 and b"'FOO'" in resp.content
    resp = requests.put(stub_sim.url + '/rest/api/uom/Event', data=b'<Event><EventType>'
                        b'ADD_URI</EventType></Event>',
                        headers={**hdrs, 'Content-Type': 'application/xml'}, timeout=5)
    assert resp.status_code == 400 and b"'ADD_URI'" in resp.content


def test_412_fault_on_writes_only(stub_sim):
    adpt = new_adapter(stub_sim)
    stub_sim.admin('POST', 'fault', kind='412', count=1)
    assert adpt.read('LogicalPartition').feed.entries == []  # reads pass
    hdrs = {'X-API-Session': adpt.session._sessToken, 'Content-Type': 'application/xml'}
    url = stub_sim.url + '/rest/api/uom/ManagedSystem/x'
    assert requests.post(url, data=b'<a/>', headers=hdrs, timeout=5).status_code == 412
    assert requests.post(url, data=b'<a/>', headers=hdrs, timeout=5).status_code == 200


def test_vios_busy_fault_is_retried_by_pypowervm_helper(stub_sim):
    adpt = new_adapter(stub_sim)
    stub_sim.admin('POST', 'fault', kind='vios_busy', count=2)
    sleeps = []
    helper = vios_busy.vios_busy_retry_helper

    def fast(func):
        return helper(func, max_retries=3, delay=0)

    orig, vios_busy.SLEEP = vios_busy.SLEEP, sleeps.append
    try:
        assert adpt.read('LogicalPartition', helpers=[fast]).feed.entries == []
    finally:
        vios_busy.SLEEP = orig
    assert len(sleeps) == 2
    assert stub_sim.server.faults.injected['vios_busy'] == 2


def test_vios_busy_without_helper_is_http_error(stub_sim):
    adpt = new_adapter(stub_sim)
    stub_sim.admin('POST', 'fault', kind='busy', count=1)
    with pytest.raises(pvm_exc.HttpError) as err:
        adpt.read('LogicalPartition')
    assert err.value.her_wrap.is_vios_busy()


def test_503_fault(stub_sim):
    adpt = new_adapter(stub_sim)
    stub_sim.admin('POST', 'fault', kind='503')
    with pytest.raises(pvm_exc.HttpError) as err:
        adpt.read('LogicalPartition')
    assert err.value.response.status == 503


def test_dropped_connection_is_connection_error(stub_sim):
    adpt = new_adapter(stub_sim)
    stub_sim.admin('POST', 'fault', kind='drop', count=1)
    with pytest.raises(pvm_exc.ConnectionError):
        adpt.read('LogicalPartition')
    assert adpt.read('LogicalPartition').feed.entries == []  # server still alive


def test_fault_fraction_window_and_bad_fault_args(stub_sim):
    stub_sim.admin('POST', 'fault', kind='503', fraction=1.0, seconds=60)
    adpt = new_adapter(stub_sim)
    for _ in range(3):
        with pytest.raises(pvm_exc.HttpError):
            adpt.read('LogicalPartition')
    stub_sim.admin('DELETE', 'fault')
    assert adpt.read('LogicalPartition').feed.entries == []
    with pytest.raises(AdminError, match="'nope'"):
        stub_sim.admin('POST', 'fault', kind='nope')
    with pytest.raises(AdminError, match='fraction'):
        stub_sim.admin('POST', 'fault', kind='503', fraction=2, seconds=1)


def test_admin_needs_basic_auth(stub_sim):
    resp = requests.get(stub_sim.url + '/sim/admin/stats', auth=(USER, 'bad'), timeout=5)
    assert resp.status_code == 401
    resp = requests.post(stub_sim.url + '/sim/admin/nothing', auth=(USER, PASSWORD), timeout=5)
    assert resp.status_code == 404 and 'nothing' in resp.json()['error']
    resp = requests.post(stub_sim.url + '/sim/admin/fault', auth=(USER, PASSWORD),
                         data=b'{bad json', timeout=5)
    assert resp.status_code == 400 and 'JSON' in resp.json()['error']


def test_stats_count_requests_per_resource(stub_sim):
    adpt = new_adapter(stub_sim)
    stub_sim.admin('DELETE', 'stats')
    for _ in range(3):
        adpt.read('LogicalPartition')
    stats = stub_sim.admin('GET', 'stats')
    assert stats['requests'] == {'GET LogicalPartition': 3}
    assert stats['total'] == 3


def test_bad_input(stub_sim):
    adpt = new_adapter(stub_sim)
    hdrs = {'X-API-Session': adpt.session._sessToken}
    url = stub_sim.url
    assert requests.get(url + '/nowhere', headers=hdrs, timeout=5).status_code == 404
    resp = requests.post(url + '/rest/api/uom/ManagedSystem/x', data=b'<a/>',
                         headers={**hdrs, 'Content-Type': 'text/plain'}, timeout=5)
    assert resp.status_code == 415 and b"'text/plain'" in resp.content
    resp = requests.get(url + '/rest/api/uom/Boom', headers=hdrs, timeout=5)
    assert resp.status_code == 500 and b'stub exploded' in resp.content
    resp = requests.put(url + '/rest/api/web/Logon', data=b'<LogonRequest><oops',
                        headers={'Content-Type': 'application/xml'}, timeout=5)
    assert resp.status_code == 400 and b'Malformed' in resp.content
    # Still serving.
    assert adpt.read('LogicalPartition').feed.entries == []


def test_oversize_body_is_413(stub_sim):
    import socket
    with socket.create_connection((stub_sim.host, stub_sim.port), timeout=5) as sock:
        sock.sendall(b'PUT /rest/api/uom/X HTTP/1.1\r\nHost: h\r\n'
                     b'Content-Length: 20000000\r\n\r\n')
        data = b''
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b'HTTP/1.1 413')
    assert b'20000000' in data


def test_in_process_restart_drops_sessions_keeps_serving(stub_sim):
    adpt = new_adapter(stub_sim)
    old = adpt.session._sessToken
    stub_sim.admin('POST', 'restart')
    assert adpt.read('LogicalPartition').feed.entries == []
    assert adpt.session._sessToken != old
    assert stub_sim.server.host.saved >= 1


def test_tls_verified_by_pypowervm(tmp_path, monkeypatch):
    from pypowervm.adapter import Adapter, Session

    from powervm_sim.server import SimServer
    from powervm_sim.tls import ensure_certificate
    from tests.functional.conftest import StubHost
    server = SimServer(StubHost(), user=USER, password=PASSWORD, state_dir=tmp_path,
                       tls=True).start()
    try:
        info = server.server_info()
        assert info['url'].startswith('https://')
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', info['cert'])
        sess = Session(host='127.0.0.1', port=server.port, protocol='https', username=USER,
                       password=PASSWORD, certpath=info['certpath'])
        assert Adapter(sess).read('LogicalPartition').feed.entries == []
        # A different CA: pypowervm's logon really verifies and refuses.
        other, _ = ensure_certificate(tmp_path / 'other', 'localhost')
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(other))
        with pytest.raises(pvm_exc.SSLError):
            Session(host='127.0.0.1', port=server.port, protocol='https', username=USER,
                    password=PASSWORD, certpath=info['certpath'])
        mtime = (tmp_path / 'tls' / 'server.crt').stat().st_mtime_ns
    finally:
        server.shutdown()
    again = SimServer(StubHost(), user=USER, password=PASSWORD, state_dir=tmp_path, tls=True)
    again.httpd.server_close()
    assert (tmp_path / 'tls' / 'server.crt').stat().st_mtime_ns == mtime  # reused


@pytest.mark.parametrize('method', ['HEAD', 'PATCH', 'OPTIONS'])
def test_other_methods_get_405_error_shape(stub_sim, method):
    adpt = new_adapter(stub_sim)
    hdrs = {'X-API-Session': adpt.session._sessToken}
    resp = requests.request(method, stub_sim.url + _lpar_feed_path(), headers=hdrs,
                            data=b'<a/>' if method == 'PATCH' else None, timeout=5)
    assert resp.status_code == 405
    assert resp.headers['X-MC-Type'] == 'PVM'
    if method != 'HEAD':
        assert b'HttpErrorResponse' in resp.content and method.encode() in resp.content
    assert adpt.read('LogicalPartition').feed.entries == []  # still serving


_DTD = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')


def test_doctype_bodies_refused(stub_sim):
    """No DTD/entity expansion in any body: Logon, Event and resources say 400."""
    logon = _DTD + (f'<LogonRequest xmlns="http://www.ibm.com/xmlns/systems/power/firmware/'
                    f'web/mc/2012_10/"><UserID>{USER}</UserID><Password>&b;</Password>'
                    f'</LogonRequest>').encode()
    resp = requests.put(stub_sim.url + '/rest/api/web/Logon', data=logon,
                        headers={'Content-Type': 'application/vnd.ibm.powervm.web+xml; '
                                                 'type=LogonRequest'}, timeout=5)
    assert resp.status_code == 400 and b'DOCTYPE' in resp.content
    assert stub_sim.server.sessions.count() == 0
    adpt = new_adapter(stub_sim)
    hdrs = {'X-API-Session': adpt.session._sessToken,
            'Content-Type': 'application/vnd.ibm.powervm.uom+xml; type=Event'}
    event = _DTD + b'<Event><EventData>&b;</EventData></Event>'
    resp = requests.put(stub_sim.url + '/rest/api/uom/Event', data=event, headers=hdrs,
                        timeout=5)
    assert resp.status_code == 400 and b'DOCTYPE' in resp.content
    assert stub_sim.server.events.published == 0


def test_event_feed_has_etag_and_search_counts_as_its_resource(stub_sim):
    adpt = new_adapter(stub_sim)
    resp = adpt.read('Event?QUEUE_CLIENTKEY_METHOD=USE_APPLICATIONID&QUEUE_APPLICATIONID=a1')
    assert resp.status == 200 and resp.etag and int(resp.etag)  # as in event_feed.txt
    stub_sim.admin('DELETE', 'stats')
    hdrs = {'X-API-Session': adpt.session._sessToken}
    requests.get(stub_sim.url + "/rest/api/uom/LogicalPartition/search/(PartitionName=='x')",
                 headers=hdrs, timeout=5)
    requests.get(stub_sim.url + '/rest/api/uom/LogicalPartition/0A68CFAB-F62B-46D4-A6A0-'
                 'F4EBE0264AD5/quick/PartitionState', headers=hdrs, timeout=5)
    assert stub_sim.admin('GET', 'stats')['requests'] == {'GET LogicalPartition': 2}


def test_fault_limited_to_one_resource(stub_sim):
    adpt = new_adapter(stub_sim)
    hdrs = {'X-API-Session': adpt.session._sessToken, 'Content-Type': 'application/xml'}
    armed = stub_sim.admin('POST', 'fault', kind='503', count=1, resource='NetworkBridge')
    assert armed['resource'] == 'NetworkBridge'
    cna = stub_sim.url + '/rest/api/uom/LogicalPartition/0A68CFAB-F62B-46D4-A6A0-F4EBE0264AD5/'
    assert requests.post(cna + 'ClientNetworkAdapter', data=b'<a/>', headers=hdrs,
                         timeout=5).status_code == 200  # other resources pass
    assert adpt.read('LogicalPartition').feed.entries == []
    nb = (stub_sim.url + '/rest/api/uom/ManagedSystem/1cab7366-6b73-342c-9f43-ddfeb9f8edd3/'
          'NetworkBridge/764f3423-04c5-3b96-95a3-4764065400bd')
    assert requests.post(nb, data=b'<a/>', headers=hdrs, timeout=5).status_code == 503
    assert requests.post(nb, data=b'<a/>', headers=hdrs, timeout=5).status_code == 200
    for bad in ('Logon', 'Network/Bridge', ''):
        with pytest.raises(AdminError, match=f'{bad!r}' if bad else 'resource'):
            stub_sim.admin('POST', 'fault', kind='503', resource=bad)
