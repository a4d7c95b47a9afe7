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

"""VLAN usage on the host and batched VLAN removal from Network Bridges.

pypowervm's remove_vlan_from_nb writes the bridge once per VLAN; here all the
unused VLANs of a bridge go in one NetBridge update (re-read and recomputed on
an etag mismatch), with the same trunk-adapter semantics as pypowervm's
NetworkBridgerTA (an emptied additional trunk pair is removed, unless a load
balanced SEA would be left without one) and the load groups kept consistent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from oslo_concurrency import lockutils
from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import network_bridger as pvm_bridger
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net

LOG = logging.getLogger(__name__)

ETAG_MISMATCH = 412
MAX_TRIES = 10


def sea_trunk_locations(net_bridges: Iterable[Any]) -> set[str]:
    """Location codes of the trunk adapters (primary and additional) of the bridges' SEAs."""
    locations: set[str] = set()
    for nb in net_bridges:
        for sea in nb.seas:
            for trunk in [sea.primary_adpt, *sea.addl_adpts]:
                if trunk is not None and trunk.loc_code:
                    locations.add(trunk.loc_code)
    return locations


def vlans_of_adapters(cnas: Iterable[Any], vswitch_id: int | None = None,
                      sea_trunks: set[str] = frozenset()) -> set[int]:
    """PVIDs and tagged VLANs of the host's virtual Ethernet adapters: the VLANs in use.

    Every adapter counts, trunk adapters of client partitions too (e.g. a
    NovaLink partition in OVS mode), except the bridges' own SEA trunk
    adapters on the VIOSes (``sea_trunks``: their location codes), which carry
    the VLANs being counted. With ``vswitch_id``, only adapters on that
    virtual switch count, and those whose switch is unknown (a VLAN id names a
    different network on another switch).
    """
    used: set[int] = set()
    for cna in cnas:
        if cna.is_trunk and getattr(cna, 'loc_code', None) in sea_trunks:
            continue
        on_switch = getattr(cna, 'vswitch_id', None)
        if vswitch_id is not None and on_switch is not None and \
                int(on_switch) != int(vswitch_id):
            continue
        if cna.pvid is not None:
            used.add(int(cna.pvid))
        used.update(int(v) for v in cna.tagged_vlans or [])
    return used


def protected_vlans(nb: Any) -> set[int]:
    """VLANs never removed: the bridge PVID and the primary load group/trunk's VLANs."""
    keep: set[int] = set()
    if nb.pvid is not None:
        keep.add(int(nb.pvid))
    for sea in nb.seas:
        primary = sea.primary_adpt
        if primary is not None:
            keep.add(int(primary.pvid))
            keep.update(int(v) for v in primary.tagged_vlans)
    lgs = nb.load_grps
    if lgs:
        keep.add(int(lgs[0].pvid))
        for trunk in lgs[0].trunk_adapters:
            keep.update(int(v) for v in trunk.tagged_vlans)
    return keep


def removable_vlans(nb: Any, in_use: set[int]) -> list[int]:
    """Tagged VLANs of the bridge's additional trunks that nothing uses."""
    candidates: set[int] = set()
    for sea in nb.seas:
        for trunk in sea.addl_adpts:
            candidates.update(int(v) for v in trunk.tagged_vlans)
    return sorted(candidates - in_use - protected_vlans(nb))


def strip_vlans(nb: Any, vlans: Iterable[int]) -> list[int]:
    """Remove VLANs from the NetBridge wrapper (no REST call); returns those removed."""
    removed = []
    keep = protected_vlans(nb)
    for vlan in sorted(set(int(v) for v in vlans) - keep):
        if _strip_vlan(nb, vlan):
            removed.append(vlan)
    if removed:
        _sync_load_groups(nb, set(removed))
    return removed


def _strip_vlan(nb: Any, vlan: int) -> bool:
    seas = nb.seas
    if not seas:
        return False
    first = seas[0]
    match = None
    for trunk in first.addl_adpts:
        if vlan in trunk.tagged_vlans:
            match = trunk
            break
    if match is None:
        return False
    pvid = match.pvid
    can_remove_trunk = len(first.addl_adpts) > 1 if nb.load_balance else True
    for sea in seas:
        for trunk in list(sea.addl_adpts):
            if trunk.pvid != pvid or vlan not in trunk.tagged_vlans:
                continue
            if len(trunk.tagged_vlans) == 1 and can_remove_trunk:
                sea.addl_adpts.remove(trunk)
            else:
                trunk.tagged_vlans.remove(vlan)
    return True


def _sync_load_groups(nb: Any, removed: set[int]) -> None:
    """Mirror the SEA changes in the non-primary load groups."""
    lgs = nb.load_grps
    if not lgs:
        return
    remaining_pvids = {t.pvid for t in nb.seas[0].addl_adpts}
    for lg in list(lgs[1:]):
        if lg.pvid not in remaining_pvids:
            lgs.remove(lg)
            continue
        for trunk in lg.trunk_adapters:
            for vlan in [v for v in trunk.tagged_vlans if v in removed]:
                trunk.tagged_vlans.remove(vlan)


def remove_vlans_from_nb(adapter: Any, host_uuid: str, nb_uuid: str,
                         compute: Callable[[Any], Iterable[int]],
                         tries: int = MAX_TRIES) -> list[int]:
    """Remove, in one NetBridge update, the VLANs compute(nb) returns.

    compute is re-evaluated on the freshly read bridge after an etag
    mismatch (412). Serialised with pypowervm's ensure_vlans_on_nb.
    Returns the VLANs removed.
    """
    for attempt in range(1, tries + 1):
        with lockutils.lock(pvm_bridger._ENSURE_VLAN_LOCK):
            nb = pvm_net.NetBridge.get(adapter, uuid=nb_uuid, parent_type=pvm_ms.System,
                                       parent_uuid=host_uuid)
            removed = strip_vlans(nb, compute(nb))
            if not removed:
                return []
            try:
                nb.update()
            except pvm_exc.HttpError as exc:
                status = getattr(exc.response, 'status', None)
                if status != ETAG_MISMATCH or attempt >= tries:
                    raise
                LOG.info("Network Bridge %s changed while removing VLANs %s (412); "
                         "re-reading (attempt %d of %d)", nb_uuid, removed, attempt, tries)
                continue
        LOG.info("Removed unused VLANs %s from Network Bridge %s", removed, nb_uuid)
        return removed
    return []


class VlanGuard:
    """VLANs provisioned recently, so a concurrent cleanup never removes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gen = 0
        self._seen: dict[int, int] = {}

    def mark(self) -> int:
        """Start of a cleanup scan: returns the generation to pass to since()."""
        with self._lock:
            self._gen += 1
            return self._gen

    def add(self, vlans: Iterable[int]) -> None:
        """Record VLANs being ensured by provisioning."""
        with self._lock:
            for vlan in vlans:
                self._seen[int(vlan)] = self._gen

    def since(self, gen: int) -> set[int]:
        """VLANs provisioned since mark() returned gen (drops older records)."""
        with self._lock:
            recent = {v for v, g in self._seen.items() if g >= gen}
            self._seen = {v: g for v, g in self._seen.items() if g >= gen}
            return recent
