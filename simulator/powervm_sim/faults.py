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

"""Fault injection: 412 storms, VIOS busy, 503, dropped connections.

A fault is armed for the next ``count`` matching requests, or for a
``fraction`` of matching requests during ``seconds``.  ``scope`` narrows it to
writes or reads, ``resource`` to one resource type (the last non-UUID path
segment, e.g. ``NetworkBridge``), so a test can fault the agent's bridge
writes and nothing else.  Logon and Event polls are never faulted (session
expiry and event overflow are separate admin actions).  ``etag_mismatch``
matches writes only (PUT/POST/DELETE).
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import asdict, dataclass

KINDS = ('etag_mismatch', 'vios_busy', 'service_unavailable', 'drop')
ALIASES = {'412': 'etag_mismatch', '503': 'service_unavailable', 'busy': 'vios_busy',
           'dropped': 'drop'}
SCOPES = ('writes', 'reads', 'all')
WRITE_METHODS = frozenset({'PUT', 'POST', 'DELETE'})
UNFAULTED = frozenset({'Logon', 'Event'})
_RESOURCE_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]*$')

# What pypowervm.wrappers.http_error.HttpError.is_vios_busy() recognises.
VIOS_BUSY_MESSAGE = ('VIOS0014: The system is currently too busy to complete the specified '
                     'request. Please retry the operation at a later time.')


@dataclass
class Fault:
    """One armed fault."""

    kind: str
    scope: str
    count: int | None = None
    fraction: float | None = None
    until: float | None = None
    injected: int = 0
    resource: str | None = None


def normalize_kind(kind: str) -> str:
    """Canonical fault kind; ValueError names an unknown one."""
    kind = ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise ValueError(f'Unknown fault kind {kind!r}; use one of {", ".join(KINDS)}')
    return kind


class FaultInjector:
    """Armed faults; ``take`` decides per request.  Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._rand = random.Random(seed)
        self.injected: dict[str, int] = dict.fromkeys(KINDS, 0)

    def arm(self, kind: str, count: int | None = None, fraction: float | None = None,
            seconds: float | None = None, scope: str | None = None,
            resource: str | None = None) -> Fault:
        """Arm ``kind`` for the next ``count`` requests or ``fraction`` for ``seconds``.

        ``resource`` (e.g. ``NetworkBridge``) limits it to that resource type.
        """
        kind = normalize_kind(kind)
        if resource is not None:
            if not isinstance(resource, str) or not _RESOURCE_RE.match(resource):
                raise ValueError(f'Fault resource must be a resource type name such as '
                                 f'NetworkBridge, got {resource!r}')
            if resource in UNFAULTED:
                raise ValueError(f'{resource!r} requests are never faulted; use the '
                                 f'expire-sessions / overflow-events admin actions')
        scope = scope or ('writes' if kind == 'etag_mismatch' else 'all')
        if scope not in SCOPES:
            raise ValueError(f'Unknown fault scope {scope!r}; use one of {", ".join(SCOPES)}')
        if count is None and fraction is None:
            count = 1
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError(f'Fault count must be a positive integer, got {count!r}')
        if fraction is not None:
            if not isinstance(fraction, int | float) or not 0 < fraction <= 1:
                raise ValueError(f'Fault fraction must be in (0, 1], got {fraction!r}')
            if seconds is None or not isinstance(seconds, int | float) or seconds <= 0:
                raise ValueError(f'A fault fraction needs seconds > 0, got {seconds!r}')
        fault = Fault(kind, scope, count=count if fraction is None else None,
                      fraction=fraction,
                      until=time.monotonic() + seconds if fraction is not None else None,
                      resource=resource)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, resource: str) -> str | None:
        """The fault kind to inject into this request, or None."""
        if resource in UNFAULTED:
            return None
        is_write = method in WRITE_METHODS
        now = time.monotonic()
        with self._lock:
            for fault in list(self._faults):
                if fault.until is not None and now > fault.until:
                    self._faults.remove(fault)
                    continue
                if (fault.scope == 'writes' and not is_write) or (
                        fault.scope == 'reads' and is_write):
                    continue
                if fault.kind == 'etag_mismatch' and not is_write:
                    continue
                if fault.resource is not None and fault.resource != resource:
                    continue
                if fault.fraction is not None and self._rand.random() >= fault.fraction:
                    continue
                fault.injected += 1
                self.injected[fault.kind] += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault.kind
        return None

    def describe(self) -> dict:
        """Armed faults and injection counters."""
        with self._lock:
            return {'armed': [asdict(f) for f in self._faults], 'injected': dict(self.injected)}
