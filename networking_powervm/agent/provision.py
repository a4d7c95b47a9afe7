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

"""Provision requests (plug/unplug) and the thread-safe queue feeding an agent.

A request says where it comes from (:class:`Origin`): a NOVA_PVM_VIF event,
Neutron's port_update (re-provision a port the agent serves) or a heal pass.
The queue keeps at most one pending request per key: a new request replaces
(cancels) a pending one of the opposite action, so the latest wins. A
port_update re-plug never overrides an event's request for its MAC, and an
unplug cancels it. Plugs whose port Neutron does not know yet wait in a retry
set, are offered again by each drain() and dropped after PORT_WAIT_TIMEOUT.
drain() can let a burst settle: the events of one boot of many VMs come over a
few hundred milliseconds, and provisioning them in one pass costs one bridge
write and one Neutron round trip instead of two. Work started on the first
requests while the burst settles (their port details, a bridge read) shortens
the settle once it is done: a lone plug then waits for nothing but that work.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field

from neutron_lib import constants as n_const
from oslo_log import log as logging

from networking_powervm.common import constants as pvm_const
from networking_powervm.common import vif_event

LOG = logging.getLogger(__name__)

PLUG = vif_event.PLUG
UNPLUG = vif_event.UNPLUG

Key = tuple[str, 'Origin', str | None]


class Origin(enum.Enum):
    """Why a request exists."""

    EVENT = 'event'              # a NOVA_PVM_VIF event from the compute side
    PORT_UPDATE = 'port_update'  # Neutron's port_update of a port the agent serves
    HEAL = 'heal'                # a heal pass found the port's adapter on the host


@dataclass(frozen=True)
class ProvisionRequest:
    """A plug or unplug of the port with this MAC (on this partition, when known)."""

    action: str
    mac: str
    origin: Origin
    lpar_uuid: str | None = None
    created_at: float = field(default_factory=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if self.action not in vif_event.ACTIONS:
            raise ValueError(f"invalid provision action {self.action!r}")

    @property
    def key(self) -> Key:
        return (self.mac, self.origin, self.lpar_uuid)

    @classmethod
    def from_event(cls, event: vif_event.VifEvent,
                   clock: Callable[[], float] = time.monotonic) -> ProvisionRequest:
        """The request a NOVA_PVM_VIF event asks for."""
        return cls(event.action, event.mac, Origin.EVENT, event.lpar_uuid, clock())

    @classmethod
    def replug(cls, mac: str, clock: Callable[[], float] = time.monotonic) -> ProvisionRequest:
        """Re-provision a served port (Neutron's port_update); its partition is not known."""
        return cls(PLUG, mac, Origin.PORT_UPDATE, None, clock())

    @classmethod
    def healed(cls, mac: str, scanned_at: float) -> ProvisionRequest:
        """A plug found by a heal pass whose host scan started at ``scanned_at``."""
        return cls(PLUG, mac, Origin.HEAL, None, scanned_at)


class ProvisionQueue:
    """Pending requests (latest per key wins) plus a retry set for plugs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 wait_timeout: float = pvm_const.PORT_WAIT_TIMEOUT) -> None:
        self._clock = clock
        self._wait_timeout = wait_timeout
        self._cond = threading.Condition()
        self._pending: dict[Key, ProvisionRequest] = {}
        self._retry: dict[Key, ProvisionRequest] = {}
        self._closed = False
        self._last_add = 0.0  # time.monotonic() of the last add (drain's settle watches it)

    def add(self, request: ProvisionRequest) -> None:
        """Queue a request; it cancels pending or retried requests it supersedes."""
        with self._cond:
            if request.origin is Origin.PORT_UPDATE and self._has_event_request(request.mac):
                LOG.debug("Re-plug of %s: a request from an event is already pending",
                          request.mac)
                return
            for key in self._superseded_keys(request):
                for old in (self._pending.pop(key, None), self._retry.pop(key, None)):
                    if old is not None and old.action != request.action:
                        LOG.info("%s of %s (partition %s) cancels the pending %s",
                                 request.action, request.mac, request.lpar_uuid, old.action)
            self._pending[request.key] = request
            self._last_add = time.monotonic()
            self._cond.notify_all()

    def requeue(self, requests: Iterable[ProvisionRequest]) -> None:
        """Put back requests that failed, unless a newer one for the same key is queued."""
        with self._cond:
            for request in requests:
                if request.key not in self._pending and request.key not in self._retry:
                    self._pending[request.key] = request
            self._cond.notify_all()

    def retry_later(self, request: ProvisionRequest) -> None:
        """Keep a plug of a port unknown to Neutron; offered again by drain()."""
        with self._cond:
            if request.key in self._pending:
                return  # a newer request supersedes it
            if self._expired(request):
                self._drop(request)
                return
            self._retry[request.key] = request

    def drain(self, timeout: float | None = None, settle: float = 0.0,
              settle_max: float = 0.0,
              on_pending: Callable[[list[ProvisionRequest]],
                                   Iterable[futures.Future]] | None = None,
              settle_ready: float | None = None) -> list[ProvisionRequest]:
        """All pending requests plus due retries (removed); waits up to timeout for one.

        With ``settle``, once a request is pending, waits further until no new
        request came for ``settle`` seconds, but no longer than ``settle_max``.
        ``on_pending`` is called first with the requests pending then, so that
        work on them can start while the burst settles (it must not block); once
        all the futures it returns are done, ``settle_ready`` s with no new
        request end the wait (default: ``settle``).
        """
        with self._cond:
            if not self._pending and not self._closed:
                self._cond.wait(timeout)
            if self._pending and settle > 0:
                started: list[futures.Future] = []
                if on_pending is not None:
                    started = list(on_pending(list(self._pending.values())) or ())
                for fut in started:
                    fut.add_done_callback(self._wake)
                self._settle(settle, settle_max or settle,
                             settle if settle_ready is None else settle_ready, started)
            batch = list(self._pending.values())
            self._pending.clear()
            for key, request in list(self._retry.items()):
                del self._retry[key]
                if self._expired(request):
                    self._drop(request)
                else:
                    batch.append(request)
            return batch

    def _wake(self, _fut: futures.Future | None = None) -> None:
        with self._cond:
            self._cond.notify_all()

    def _settle(self, quiet: float, cap: float, ready_quiet: float,
                started: list[futures.Future]) -> None:
        """Wait (lock held) until no request was added for ``quiet`` s, at most ``cap`` s.

        Once every future in ``started`` is done, ``ready_quiet`` s suffice.
        """
        end = time.monotonic() + cap
        while not self._closed:
            ready = all(f.done() for f in started) if started else False
            due = min(end, self._last_add + (ready_quiet if ready else quiet))
            left = due - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(left)

    def close(self) -> None:
        """Wake up any drain() (agent stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def has(self, mac: str) -> bool:
        """True if a request for ``mac`` is pending or waiting for a retry."""
        with self._cond:
            return any(k[0] == mac for k in (*self._pending, *self._retry))

    @property
    def pending(self) -> list[ProvisionRequest]:
        with self._cond:
            return list(self._pending.values())

    @property
    def retrying(self) -> list[ProvisionRequest]:
        with self._cond:
            return list(self._retry.values())

    def _has_event_request(self, mac: str) -> bool:
        return any(k[0] == mac and k[1] is Origin.EVENT
                   for k in (*self._pending, *self._retry))

    @staticmethod
    def _superseded_keys(request: ProvisionRequest) -> list[Key]:
        keys = [request.key]
        if request.action == UNPLUG:
            keys.append((request.mac, Origin.PORT_UPDATE, None))
        return keys

    def _expired(self, request: ProvisionRequest) -> bool:
        return self._clock() - request.created_at >= self._wait_timeout

    def _drop(self, request: ProvisionRequest) -> None:
        LOG.warning("Neutron does not know a port with MAC %s (partition %s) after %d "
                    "seconds; giving up on its plug", request.mac, request.lpar_uuid,
                    self._wait_timeout)


class RecentEvents:
    """When each MAC's last VIF event came or was provisioned (kept PORT_WAIT_TIMEOUT s)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._times: dict[str, float] = {}

    def record(self, request: ProvisionRequest) -> None:
        """A request of an event came."""
        self.touch([request.mac], request.created_at)

    def touch(self, macs: Iterable[str], at: float) -> None:
        """These MACs' requests are being (or were just) provisioned at ``at``."""
        with self._lock:
            for mac in macs:
                self._times[mac] = max(at, self._times.get(mac, at))

    def newer(self, mac: str, since: float) -> bool:
        """True if an event for ``mac`` came, or was provisioned, at or after ``since``."""
        with self._lock:
            horizon = self._clock() - pvm_const.PORT_WAIT_TIMEOUT
            for old in [m for m, t in self._times.items() if t < horizon]:
                del self._times[old]
            return self._times.get(mac, float('-inf')) >= since


@dataclass
class Outcome:
    """What provisioning one batch did, and what is left for the base to retry."""

    up: set[str] = field(default_factory=set)        # MACs marked ACTIVE
    down: set[str] = field(default_factory=set)      # MACs marked DOWN
    unchanged: set[str] = field(default_factory=set)  # served, status already right
    waiting: list[ProvisionRequest] = field(default_factory=list)  # port unknown to Neutron
    failed: list[ProvisionRequest] = field(default_factory=list)   # retried after a back-off

    def merge(self, other: Outcome) -> None:
        """Add what ``other`` (a part of the same batch) did."""
        self.up |= other.up
        self.down |= other.down
        self.unchanged |= other.unchanged
        self.waiting.extend(other.waiting)
        self.failed.extend(other.failed)


@dataclass
class HealPlan:
    """What a heal pass does with the ports Neutron binds to the host."""

    healthy: list[str] = field(default_factory=list)  # right already: Neutron not asked
    to_plug: list[str] = field(default_factory=list)  # adapter on the host, status not right
    to_down: list[str] = field(default_factory=list)  # no adapter on the host, not DOWN


def plan_heal(on_host: set[str], bound: dict[str, dict], superseded: Callable[[str], bool],
              admin_aware: bool = True) -> HealPlan:
    """Sort the bound ports (MAC -> Neutron port dict) by what their status needs.

    A port whose adapter is on the host should be ACTIVE (DOWN if administratively
    down and ``admin_aware``), any other port DOWN. Ports with a request newer than
    the heal's scan (``superseded``) are left to that request.
    """
    plan = HealPlan()
    for mac in sorted(bound):
        if superseded(mac):
            continue
        port = bound[mac]
        status = port.get('status')
        if mac not in on_host:
            if status != n_const.PORT_STATUS_DOWN:
                plan.to_down.append(mac)
            continue
        want = (n_const.PORT_STATUS_DOWN
                if admin_aware and not port.get('admin_state_up', True)
                else n_const.PORT_STATUS_ACTIVE)
        (plan.healthy if status == want else plan.to_plug).append(mac)
    return plan
