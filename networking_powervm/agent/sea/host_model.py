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


"""A model of the host's virtual Ethernet adapters, kept current by REST events.

A full scan reads every partition's adapters; after it, each REST event naming
a partition or VIOS (or one of its ClientNetworkAdapters) marks that partition
dirty, and the next refresh re-reads only the dirty partitions (a deleted one
is dropped). A full scan runs again when the model is invalidated (the event
queue was reset: NEW_CLIENT, CACHE_CLEARED, MISSING_EVENTS) or the full-scan
interval has passed.

Each mark carries a generation: a read that started before an event does not
clear that event's mark, so the partition is read again on the next refresh.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from oslo_log import log as logging
from pypowervm.wrappers import event as pvm_evt

from networking_powervm.agent.sea import scan as sea_scan

LOG = logging.getLogger(__name__)

# <kind>/<uuid>[/<child kind>[/<child uuid>]] in an event's href.
_HREF = re.compile(r'/(LogicalPartition|VirtualIOServer)/([0-9A-Fa-f-]{36})'
                   r'(?:/([A-Za-z]+)(?:/[^/?#]*)?)?/?(?:[?#].*)?$')
CNA_KIND = 'ClientNetworkAdapter'
# MODIFY_URI details of a partition that never mean a change of its adapters.
IRRELEVANT_DETAILS = frozenset({
    'NVRAM', 'PartitionState', 'PartitionName', 'ReferenceCode', 'RMCState',
    'VirtualSCSIMappings', 'VirtualFibreChannelMappings', 'freeIOAdaptersForLinkAggregation',
    'VirtualNICDedicated'})


class Adapter(NamedTuple):
    """What the heal and the cleanup need of one virtual Ethernet adapter (CNA)."""

    mac: str
    pvid: int | None
    tagged_vlans: tuple[int, ...]
    is_trunk: bool
    loc_code: str | None
    vswitch_id: int | None

    @classmethod
    def of(cls, cna: Any) -> Adapter:
        """From a pypowervm CNA wrapper (or anything with its attributes)."""
        pvid = cna.pvid
        vswitch = getattr(cna, 'vswitch_id', None)
        return cls(cna.mac, None if pvid is None else int(pvid),
                   tuple(int(v) for v in (cna.tagged_vlans or ())), bool(cna.is_trunk),
                   getattr(cna, 'loc_code', None), None if vswitch is None else int(vswitch))


class _Dirty(NamedTuple):
    gen: int
    is_vios: bool
    deleted: bool


def parse_event(etype: str, href: str | None,
                detail: str | None) -> tuple[str, bool, bool] | None:
    """(partition UUID upper case, is a VIOS, deleted) an event says to re-read; else None."""
    if etype not in (pvm_evt.EventType.ADD_URI, pvm_evt.EventType.MODIFY_URI,
                     pvm_evt.EventType.DELETE_URI) or not href:
        return None
    m = _HREF.search(str(href))
    if m is None:
        return None
    kind, uuid, child = m.group(1), m.group(2).upper(), m.group(3)
    is_vios = kind == 'VirtualIOServer'
    if child is not None:
        return (uuid, is_vios, False) if child == CNA_KIND else None
    if etype == pvm_evt.EventType.DELETE_URI:
        return uuid, is_vios, True
    if etype == pvm_evt.EventType.MODIFY_URI:
        tokens = {t.strip() for t in (detail or '').split(',') if t.strip()}
        if tokens and tokens <= IRRELEVANT_DETAILS:
            return None
    return uuid, is_vios, False


class HostModel:
    """{partition UUID: (is a VIOS, its Adapters)}, refreshed incrementally; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._parts: dict[str, tuple[bool, tuple[Adapter, ...]]] = {}
        self._dirty: dict[str, _Dirty] = {}
        self._gen = 0
        self._invalidated = 1  # count of invalidations; > _scanned_at_inval: full scan due
        self._scanned_inval = 0
        self._full_at: float | None = None

    # ------------------------------------------------------------ events
    def note_event(self, etype: str, href: str | None, detail: str | None) -> bool:
        """Mark the partition an event names dirty; True if it did."""
        parsed = parse_event(etype, href, detail)
        if parsed is None:
            return False
        uuid, is_vios, deleted = parsed
        with self._lock:
            self._gen += 1
            self._dirty[uuid] = _Dirty(self._gen, is_vios, deleted)
        return True

    def invalidate(self) -> None:
        """Events may have been lost: the next refresh is a full scan."""
        with self._lock:
            self._invalidated += 1

    # ----------------------------------------------------------- queries
    def dirty(self) -> set[str]:
        with self._lock:
            return set(self._dirty)

    def full_scan_due(self, interval: float) -> bool:
        """True when the next refresh must read every partition."""
        with self._lock:
            if self._invalidated != self._scanned_inval or self._full_at is None:
                return True
        return interval <= 0 or self.clock() - self._full_at >= interval

    def adapters(self) -> tuple[list[Adapter], list[Adapter]]:
        """(client partitions' adapters, VIOS adapters) as last read."""
        with self._lock:
            parts = list(self._parts.values())
        return ([a for is_vios, cnas in parts if not is_vios for a in cnas],
                [a for is_vios, cnas in parts if is_vios for a in cnas])

    # ----------------------------------------------------------- refresh
    def refresh(self, adapter: Any, interval: float,
                workers: int = sea_scan.SCAN_WORKERS) -> bool:
        """Bring the model up to date: a full scan if due, else re-read dirty partitions.

        Returns True if it was a full scan. Raises on a REST error (the
        partitions read are kept; the others stay dirty).
        """
        if self.full_scan_due(interval):
            self._full_scan(adapter, workers)
            return True
        self._reread(adapter, workers)
        return False

    def _full_scan(self, adapter: Any, workers: int) -> None:
        with self._lock:
            gen, inval = self._gen, self._invalidated
        started = self.clock()
        scanned = sea_scan.scan_partitions(adapter, workers)
        parts = {uuid: (is_vios, tuple(Adapter.of(c) for c in cnas))
                 for uuid, (is_vios, cnas) in scanned.items()}
        with self._lock:
            self._parts = parts
            # Marks from before the scan are served by it; later ones stay.
            self._dirty = {u: d for u, d in self._dirty.items() if d.gen > gen}
            self._scanned_inval = inval
            self._full_at = started
        LOG.debug("Full scan: %d partitions, %d dirty since", len(parts), len(self._dirty))

    def _reread(self, adapter: Any, workers: int) -> None:
        with self._lock:
            todo = dict(self._dirty)
        if not todo:
            return
        gone = {u for u, d in todo.items() if d.deleted}
        reads = [(u, d) for u, d in todo.items() if not d.deleted]
        results: dict[str, list | None] = {}
        errors: list[Exception] = []

        def read(item: tuple[str, _Dirty]) -> None:
            uuid, mark = item
            try:
                results[uuid] = sea_scan.cnas_by_uuid(adapter, uuid, mark.is_vios)
            except Exception as exc:  # the others are still read and applied
                errors.append(exc)

        sea_scan.parallel_map(read, reads, workers)
        with self._lock:
            for uuid in gone | set(results):
                cnas = None if uuid in gone else results[uuid]
                if cnas is None:
                    self._parts.pop(uuid, None)
                else:
                    self._parts[uuid] = (todo[uuid].is_vios,
                                         tuple(Adapter.of(c) for c in cnas))
                # Cleared only if no event came since this read started.
                if self._dirty.get(uuid) == todo[uuid]:
                    del self._dirty[uuid]
        LOG.debug("Re-read %d partition(s), dropped %d", len(results), len(gone))
        if errors:
            raise errors[0]
