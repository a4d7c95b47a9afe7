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

"""Fixtures: a simulator served in a thread on port 0, pypowervm adapters for it.

Every pypowervm session ``new_adapter`` opens is logged off (``log_off``)
before its simulator stops, as a well-behaved client does: otherwise the
session's garbage collection later tries to log off from a closed port and
pypowervm prints a "Problem logging off" traceback.
"""

from __future__ import annotations

import pathlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pypowervm import adapter as pvm_adapter

from powervm_sim import client
from powervm_sim.rest import RestRequest, RestResponse

USER = 'sim-admin'
PASSWORD = 'sim-pa<ss>&word'  # XML-escaped by pypowervm; checks the server unescapes

EMPTY_FEED = b''
# simulator URL -> the pypowervm sessions the tests opened to it
_SESSIONS: dict[str, weakref.WeakSet] = {}


class StubHost:
    """Minimal stand-in for SimHost (server mechanics tests only)."""

    def __init__(self) -> None:
        self.on_change: Callable[[str, str, str], None] | None = None
        self.requests: list[RestRequest] = []
        self.saved = 0
        self.lock = threading.Lock()

    def handle(self, req: RestRequest) -> RestResponse:
        with self.lock:
            self.requests.append(req)
        if req.path.endswith('/Boom'):
            raise RuntimeError('stub exploded')
        if req.method == 'GET':
            return RestResponse(204, {}, b'')
        if self.on_change:
            self.on_change(req.path, 'MODIFY_URI', 'Other')
        return RestResponse(200, {'content-type': 'application/atom+xml'}, b'<entry/>')

    def save(self) -> None:
        self.saved += 1

    def snapshot(self) -> dict:
        return {'partitions': [{'name': 'stub', 'id': 1}], 'bridges': []}

    def relabel_sriov_port(self, location_code: str, label: str) -> None:
        if self.on_change:
            self.on_change('/rest/api/uom/SRIOV/' + location_code, 'MODIFY_URI', label)


@pytest.fixture
def stub_sim(tmp_path: pathlib.Path) -> Iterator[client.InThreadSim]:
    """A SimServer around a StubHost (short event poll)."""
    from powervm_sim.server import SimServer

    host = StubHost()
    server = SimServer(host, user=USER, password=PASSWORD, state_dir=tmp_path,
                       reload_host=lambda: host, poll_timeout=1.0).start()
    sim = client.InThreadSim(url=server.url, user=USER, password=PASSWORD, state_dir=tmp_path,
                             server=server)
    yield sim
    stop(sim)


@pytest.fixture
def sim_factory(tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Callable[..., client.InThreadSim]]:
    """start(scenario, **SimServer kwargs) -> a real simulator in a thread."""
    started: list[client.InThreadSim] = []

    def start(scenario: str = 'single', state_dir: pathlib.Path | None = None,
              **kwargs: Any) -> client.InThreadSim:
        kwargs.setdefault('poll_timeout', 1.0)
        state = state_dir or tmp_path_factory.mktemp('sim-' + scenario.replace('/', '_'))
        sim = client.start_in_thread(scenario, state, user=USER, password=PASSWORD, **kwargs)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        stop(sim)


@pytest.fixture
def sim(sim_factory: Callable[..., client.InThreadSim]) -> client.InThreadSim:
    """The 'single' scenario."""
    return sim_factory('single')


def new_adapter(sim: client._Handle, file_auth: bool = False,
                helpers: Any = None) -> pvm_adapter.Adapter:
    """A fresh pypowervm Session + Adapter logged on to ``sim``."""
    session = pvm_adapter.Session(**sim.session_kwargs(file_auth=file_auth), conn_tries=1)
    _SESSIONS.setdefault(sim.url, weakref.WeakSet()).add(session)
    return pvm_adapter.Adapter(session, helpers=helpers)


def log_off(sim: client._Handle) -> None:
    """Log off every session ``new_adapter`` opened to ``sim`` (while it still answers)."""
    for session in list(_SESSIONS.pop(sim.url, ())):
        session._logoff()


def stop(sim: client._Handle) -> None:
    """Log the tests' sessions off, then stop ``sim`` (a thread or a subprocess)."""
    log_off(sim)
    sim.stop()
