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

The queue keeps at most one pending request per (MAC, partition): a new request
replaces (cancels) a pending one of the opposite action, so the latest wins.
Plugs whose port Neutron does not know yet wait in a retry set, are offered
again each cycle and dropped after constants.PORT_WAIT_TIMEOUT.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from oslo_log import log as logging

from networking_powervm.common import constants as c

LOG = logging.getLogger(__name__)

PLUG = c.EVENT_ACTION_PLUG
UNPLUG = c.EVENT_ACTION_UNPLUG

_PARTITION_RE = re.compile(
    r'/(?:LogicalPartition|VirtualIOServer)/([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-'
    r'[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})')


def lpar_uuid_from_href(href: str | None) -> str | None:
    """Partition UUID in a ClientNetworkAdapter/vNIC href (upper case); None if absent."""
    if not href:
        return None
    match = _PARTITION_RE.search(href)
    return match.group(1).upper() if match else None


@dataclass(frozen=True)
class ProvisionRequest:
    """A plug or unplug of the port with this MAC on this partition."""

    action: str
    mac: str
    lpar_uuid: str | None
    vif_type: str
    created_at: float = field(default_factory=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if self.action not in (PLUG, UNPLUG):
            raise ValueError(f"invalid provision action {self.action!r}")

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.mac, self.lpar_uuid)

    @classmethod
    def from_event(cls, action: str, mac: str, href: str, vif_type: str,
                   clock: Callable[[], float] = time.monotonic) -> ProvisionRequest:
        return cls(action, mac, lpar_uuid_from_href(href), vif_type, clock())


class ProvisionQueue:
    """Pending requests (latest per MAC+partition wins) plus a retry set for plugs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 wait_timeout: float = c.PORT_WAIT_TIMEOUT) -> None:
        self._clock = clock
        self._wait_timeout = wait_timeout
        self._cond = threading.Condition()
        self._pending: dict[tuple[str, str | None], ProvisionRequest] = {}
        self._retry: dict[tuple[str, str | None], ProvisionRequest] = {}
        self._closed = False

    def add(self, request: ProvisionRequest) -> None:
        """Queue a request; it cancels a pending or retried one for the same MAC+partition.

        A request without a partition (a port_update re-plug) never overrides an
        event's request for the same MAC (a pending unplug means the port is
        going away; a pending plug provisions it anyway); an unplug cancels it.
        """
        with self._cond:
            key = request.key
            if request.lpar_uuid is None and request.action == PLUG and any(
                    k[0] == request.mac and k[1] is not None
                    for k in itertools.chain(self._pending, self._retry)):
                LOG.debug("Plug of %s: a request from an event is already pending",
                          request.mac)
                return
            keys = [key]
            if request.action == UNPLUG and request.lpar_uuid is not None:
                keys.append((request.mac, None))
            for k in keys:
                for old in (self._pending.pop(k, None), self._retry.pop(k, None)):
                    if old is not None and old.action != request.action:
                        LOG.info("%s of %s (partition %s) cancels the pending %s",
                                 request.action, request.mac, request.lpar_uuid, old.action)
            self._pending[key] = request
            self._cond.notify_all()

    def add_all(self, requests: list[ProvisionRequest]) -> None:
        for request in requests:
            self.add(request)

    def requeue(self, requests: Iterable[ProvisionRequest]) -> None:
        """Put back requests that failed, unless a newer one for the same key is pending."""
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

    def drain(self, timeout: float | None = None) -> list[ProvisionRequest]:
        """All pending requests plus due retries (removed); waits up to timeout for one."""
        with self._cond:
            if not self._pending and not self._closed:
                self._cond.wait(timeout)
            batch = list(self._pending.values())
            self._pending.clear()
            for key, request in list(self._retry.items()):
                del self._retry[key]
                if self._expired(request):
                    self._drop(request)
                else:
                    batch.append(request)
            return batch

    def close(self) -> None:
        """Wake up any drain() (agent stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def pending(self) -> list[ProvisionRequest]:
        with self._cond:
            return list(self._pending.values())

    @property
    def retrying(self) -> list[ProvisionRequest]:
        with self._cond:
            return list(self._retry.values())

    def _expired(self, request: ProvisionRequest) -> bool:
        return self._clock() - request.created_at >= self._wait_timeout

    def _drop(self, request: ProvisionRequest) -> None:
        LOG.warning("Neutron does not know a port with MAC %s (partition %s) after %d "
                    "seconds; giving up on its plug", request.mac, request.lpar_uuid,
                    self._wait_timeout)
