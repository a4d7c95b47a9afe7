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

"""``SimHost``: one simulated NovaLink-managed host behind the REST API.

It owns the host state and the lock that guards it, persists each committed
change (persistence.py), queues change events and hands them to ``on_change``
once the lock is released, caches rendered objects, and answers one
``/rest/api/uom/...`` request at a time through the router (router.py).  The
HTTP server (server.py) owns logon, sessions and the Event API.
"""

from __future__ import annotations

import logging
import pathlib
import threading
from collections.abc import Callable

from powervm_sim import persistence, router, scenarios, snapshot
from powervm_sim.errors import http_error
from powervm_sim.events import MODIFY
from powervm_sim.model import HostState
from powervm_sim.payloads import sys_href
from powervm_sim.platform import SRIOV_PORT_CONFIG_CHANGE
from powervm_sim.rest import BadRequest, RestRequest, RestResponse
from powervm_sim.sriov import state as sriov_state

__all__ = ['BadRequest', 'RestRequest', 'RestResponse', 'SimHost']

LOG = logging.getLogger(__name__)
_CACHE_MAX = 20000


class SimHost:
    """One simulated NovaLink-managed host: state + REST semantics."""

    def __init__(self, state: HostState, state_dir: pathlib.Path | None = None):
        self.state = state
        self.state_dir = pathlib.Path(state_dir) if state_dir else None
        self.lock = threading.RLock()
        self.on_change: Callable[[str, str, str], None] | None = None
        self._events: list[tuple[str, str, str]] = []
        self._cache: dict[tuple, str] = {}
        self.base_url = 'http://127.0.0.1:12080'

    @classmethod
    def load(cls, scenario: str, state_dir: pathlib.Path | None,
             host_number: int = 1) -> SimHost:
        """Host from ``state_dir``'s saved state if there is one, else from the scenario
        (``host_number``: which host of a many-host simulator, see scenarios.load_scenario)."""
        if state_dir is not None:
            saved = persistence.load(pathlib.Path(state_dir))
            if saved is not None:
                return cls(saved, state_dir)
        host = cls(scenarios.load_scenario(scenario, host_number), state_dir)
        host.save()
        return host

    @property
    def sys_uuid(self) -> str:
        """UUID of the ManagedSystem."""
        return self.state.system.uuid

    # ---- changes ----------------------------------------------------------------
    def save(self) -> None:
        """Persist the state now (atomic), if there is a state directory."""
        if self.state_dir is None:
            return
        with self.lock:
            persistence.save(self.state, self.state_dir)

    def commit(self, *touched: str) -> None:
        """Objects ``touched`` changed: new etags, state saved."""
        self.state.touch(*touched)
        self.save()

    def emit(self, uri: str, event_type: str, detail: str = '') -> None:
        """Queue a change event; delivered to ``on_change`` after the lock is released."""
        with self.lock:
            self._events.append((uri, event_type, detail))

    def _flush_events(self) -> None:
        with self.lock:
            events, self._events = self._events, []
        cb = self.on_change
        if cb is None:
            return
        for ev in events:
            try:
                cb(*ev)
            except Exception:  # a broken listener must not break the REST answer
                LOG.exception('on_change callback failed for %s', ev)

    def cached(self, key: tuple, render: Callable[[], str]) -> str:
        """``render()``, remembered under ``key`` (keys carry the object's etag)."""
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > _CACHE_MAX:
                self._cache.clear()
            hit = self._cache[key] = render()
        return hit

    # ---- admin helpers ----------------------------------------------------------
    def relabel_sriov_port(self, location_code: str, label: str) -> None:
        """Relabel an SR-IOV physical port; emits the ConfigChange event."""
        with self.lock:
            sriov_state.relabel_port(self.state.sriov_adapters, location_code, label)
            self.commit(self.sys_uuid)
            self.emit(sys_href(self.base_url, self.state), MODIFY, SRIOV_PORT_CONFIG_CHANGE)
        self._flush_events()

    def snapshot(self) -> dict:
        """JSON-able summary of the host (snapshot.py)."""
        with self.lock:
            return snapshot.snapshot(self.state)

    # ---- requests ---------------------------------------------------------------
    def handle(self, req: RestRequest) -> RestResponse:
        """Answer one REST request (thread-safe); a refused request changes nothing."""
        try:
            with self.lock:
                self.base_url = req.base
                try:
                    resp = router.route(self, req)
                except BadRequest as e:
                    resp = http_error(e.status, req.path, str(e))
                    self._events.clear()
        except Exception as e:  # never crash the server on a bug: answer 500
            LOG.exception('simulator failure on %s %s', req.method, req.path)
            return http_error(500, req.path, f'internal simulator error: {e}')
        self._flush_events()
        return resp
