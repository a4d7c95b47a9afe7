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

"""Host state of the simulated PowerVM system (dataclasses) and its persistence.

Contract with colleagues (sriov.py, server.py):

* ``SimHost.lock`` (an ``RLock``) guards ``SimHost.state`` (a ``HostState``).
* ``HostState.vioses`` / ``HostState.partitions``: ``Partition`` objects with
  ``uuid`` (upper case, PowerVM style), ``id`` (short partition id), ``name``.
* ``HostState.sriov_adapters`` / ``HostState.vnics``: opaque lists owned by
  ``sriov.py``; persisted through ``sriov.state_to_dict``/``state_from_dict``.
* ``SimHost.save()`` persists, ``SimHost.emit(uri, event_type, detail)`` queues
  an event, ``SimHost.sys_uuid`` is the ManagedSystem UUID.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import tempfile
import uuid as uuidlib
import zlib
from dataclasses import dataclass, field
from typing import Any

from powervm_sim import platform as const

# Namespace of the deterministic UUIDs the simulator derives from names.
SIM_NS = uuidlib.UUID('6c1b9d4a-afc1-3cef-ae54-1977d908fda4')

LPAR_TYPE_AIX = 'AIX/Linux'
LPAR_TYPE_IBMI = 'OS400'
LPAR_TYPE_VIOS = 'Virtual IO Server'
PARTITION_TYPES = (LPAR_TYPE_AIX, LPAR_TYPE_IBMI)


@dataclass
class RestRequest:
    """One REST request as the HTTP server hands it to ``SimHost.handle``."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b''
    base_url: str = 'http://127.0.0.1:12080'


@dataclass
class RestResponse:
    """The answer: status, headers (lower-case keys) and body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b''


def sim_uuid(*parts: object, partition: bool = False) -> str:
    """Deterministic UUID from ``parts``; partitions get the PowerVM form.

    PowerVM partition UUIDs are upper case with a first hex digit 0-7.
    """
    u = str(uuidlib.uuid5(SIM_NS, ':'.join(str(p) for p in parts)))
    if partition:
        u = str(int(u[0], 16) & 7) + u[1:]
        return u.upper()
    return u


@dataclass
class System:
    uuid: str
    name: str
    machine_type: str = '8286'
    model: str = '42A'
    serial: str = '21B1E3V'
    memory_mb: int = 524288
    proc_units: int = 24
    max_partitions: int = 1000
    ip: str = '192.168.1.10'


@dataclass
class VSwitch:
    uuid: str
    switch_id: int
    name: str
    mode: str = 'Veb'


@dataclass
class Trunk:
    """A trunk virtual ethernet adapter of a VIOS that belongs to an SEA."""

    slot: int
    pvid: int
    vlans: list[int]
    vswitch_id: int
    dev_name: str
    mac: str
    trunk_pri: int = 1
    required: bool = True


@dataclass
class SEA:
    """A Shared Ethernet Adapter; ``trunks[0]`` is the primary trunk adapter."""

    dev_name: str
    vios_uuid: str
    pvid: int
    trunks: list[Trunk]
    backing_dev: str = 'ent0'
    backing_loc: str = ''
    control_channel: str | None = None
    ha_mode: str = 'disabled'
    is_primary: bool = True


@dataclass
class Bridge:
    """A NetworkBridge: one SEA, or a failover pair (SEAs on two VIOSes)."""

    uuid: str
    seas: list[SEA]
    control_channel_id: int | None = None
    load_balance: bool = False

    @property
    def pvid(self) -> int:
        return self.seas[0].pvid

    @property
    def vswitch_id(self) -> int:
        return self.seas[0].trunks[0].vswitch_id

    @property
    def failover(self) -> bool:
        return len(self.seas) > 1


@dataclass
class CNA:
    """A client network adapter (virtual ethernet) of a partition or VIOS.

    On a VIOS, a CNA with ``trunk_pri`` set is a trunk adapter that no SEA uses
    (an "orphan" for pypowervm).
    """

    uuid: str
    slot: int
    mac: str
    pvid: int
    vlans: list[int]
    vswitch_id: int
    enabled: bool = True
    trunk_pri: int | None = None
    dev_name: str = ''


@dataclass
class Partition:
    """A logical partition or a VIOS."""

    uuid: str
    id: int
    name: str
    type: str = LPAR_TYPE_AIX
    state: str = 'running'
    rmc_state: str = 'active'
    is_mgmt: bool = False
    openstack_managed: bool = False
    cnas: list[CNA] = field(default_factory=list)


@dataclass
class HostState:
    """Everything the simulated host knows; JSON-able via ``to_dict``."""

    system: System
    vswitches: list[VSwitch] = field(default_factory=list)
    vioses: list[Partition] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    bridges: list[Bridge] = field(default_factory=list)
    sriov_adapters: list = field(default_factory=list)
    vnics: list = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    next_mac: int = 1

    # ---- look-ups -------------------------------------------------------
    def vios(self, uuid: str) -> Partition | None:
        return next((v for v in self.vioses if v.uuid.upper() == uuid.upper()), None)

    def partition(self, uuid: str) -> Partition | None:
        up = uuid.upper()
        return next((p for p in self.partitions if p.uuid == up), None)

    def any_partition(self, uuid: str) -> Partition | None:
        return self.partition(uuid) or self.vios(uuid)

    def bridge(self, uuid: str) -> Bridge | None:
        return next((b for b in self.bridges if b.uuid.lower() == uuid.lower()), None)

    def vswitch_by_id(self, switch_id: int) -> VSwitch | None:
        return next((v for v in self.vswitches if v.switch_id == switch_id), None)

    def vswitch(self, uuid: str) -> VSwitch | None:
        return next((v for v in self.vswitches if v.uuid.lower() == uuid.lower()), None)

    def seas_of(self, vios_uuid: str) -> list[SEA]:
        return [s for b in self.bridges for s in b.seas if s.vios_uuid == vios_uuid]

    def all_macs(self) -> set[str]:
        macs = {c.mac for p in self.vioses + self.partitions for c in p.cnas}
        macs.update(t.mac for b in self.bridges for s in b.seas for t in s.trunks)
        macs.update(sriov_module().vnic_macs(self.vnics))
        return macs

    # ---- allocation -----------------------------------------------------
    def new_mac(self, taken: set[str] | None = None) -> str:
        """A fresh locally administered MAC (12 upper-case hex digits)."""
        taken = self.all_macs() if taken is None else taken
        while True:
            mac = f'{0xFAD400000000 + self.next_mac:012X}'
            self.next_mac += 1
            if mac not in taken:
                return mac

    def used_slots(self, part: Partition) -> set[int]:
        slots = {c.slot for c in part.cnas}
        for sea in self.seas_of(part.uuid):
            slots.update(t.slot for t in sea.trunks)
        slots.update(sriov_module().vnic_slots(self.vnics, part.uuid))
        return slots

    def next_slot(self, part: Partition, high: bool = True) -> int:
        """Next free virtual slot (>= 2); ``high`` = above every used slot."""
        used = self.used_slots(part)
        if high:
            return max(used | {1}) + 1
        slot = 2
        while slot in used:
            slot += 1
        return slot

    def next_dev_name(self, vios: Partition, taken: set[str] = frozenset()) -> str:
        """Next free ``entN`` device name on a VIOS."""
        names = set(taken) | {c.dev_name for c in vios.cnas}
        for sea in self.seas_of(vios.uuid):
            names.update({sea.dev_name, sea.backing_dev, sea.control_channel or ''})
            names.update(t.dev_name for t in sea.trunks)
        nums = [int(n[3:]) for n in names if n.startswith('ent') and n[3:].isdigit()]
        return f'ent{max(nums + [0]) + 1}'

    def next_partition_id(self) -> int:
        return max([p.id for p in self.vioses + self.partitions] + [0]) + 1

    # ---- etags ----------------------------------------------------------
    def touch(self, *uuids: str) -> None:
        """Mark objects modified (their etags change)."""
        for u in uuids:
            self.versions[u.lower()] = self.versions.get(u.lower(), 0) + 1

    def etag(self, uuid: str) -> str:
        """Current etag of an object (signed 32-bit decimal, like the API's)."""
        v = self.versions.get(uuid.lower(), 0)
        crc = zlib.crc32(f'{uuid.lower()}:{v}'.encode())
        return str(crc - (1 << 32) if crc >= 1 << 31 else crc)

    # ---- persistence ----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {
            'system': dataclasses.asdict(self.system),
            'vswitches': [dataclasses.asdict(v) for v in self.vswitches],
            'vioses': [dataclasses.asdict(v) for v in self.vioses],
            'partitions': [dataclasses.asdict(p) for p in self.partitions],
            'bridges': [dataclasses.asdict(b) for b in self.bridges],
            'versions': dict(self.versions),
            'next_mac': self.next_mac,
        }
        d['sriov'] = _sriov_to_dict(self.sriov_adapters, self.vnics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HostState:
        def part(p: dict) -> Partition:
            p = dict(p)
            p['cnas'] = [CNA(**c) for c in p.get('cnas', [])]
            return Partition(**p)

        def bridge(b: dict) -> Bridge:
            b = dict(b)
            seas = []
            for s in b['seas']:
                s = dict(s)
                s['trunks'] = [Trunk(**t) for t in s['trunks']]
                seas.append(SEA(**s))
            b['seas'] = seas
            return Bridge(**b)

        state = cls(
            system=System(**d['system']),
            vswitches=[VSwitch(**v) for v in d['vswitches']],
            vioses=[part(v) for v in d['vioses']],
            partitions=[part(p) for p in d['partitions']],
            bridges=[bridge(b) for b in d['bridges']],
            versions=dict(d.get('versions', {})),
            next_mac=int(d.get('next_mac', 1)),
        )
        state.sriov_adapters, state.vnics = _sriov_from_dict(d.get('sriov'))
        return state

    def save(self, path: pathlib.Path) -> None:
        """Write ``path`` atomically (temporary file + rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.state-', dir=str(path.parent))
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                json.dump(self.to_dict(), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path: pathlib.Path) -> HostState:
        try:
            with open(path, encoding='utf-8') as f:
                return cls.from_dict(json.load(f))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f'corrupt simulator state file {path}: {e}') from e


def sriov_module() -> Any:
    """The :mod:`powervm_sim.sriov` package.

    Imported on use because that package imports this module.
    """
    from powervm_sim import sriov
    return sriov


def _sriov_to_dict(adapters: list, vnics: list) -> Any:
    return sriov_module().state_to_dict(adapters, vnics)


def _sriov_from_dict(d: Any) -> tuple[list, list]:
    if d is None:
        return [], []
    adapters, vnics = sriov_module().state_from_dict(d)
    return list(adapters), list(vnics)


# ---- platform rules -----------------------------------------------------------
def bridge_vlans(bridge: Bridge) -> list[int]:
    """Every VLAN a bridge's first SEA carries (PVIDs, arbitrary PVIDs, tagged)."""
    out: list[int] = []
    for t in bridge.seas[0].trunks:
        out.append(t.pvid)
        out.extend(t.vlans)
    return out


def check_bridge(bridge: Bridge, others: list[Bridge]) -> str | None:
    """The platform rules for a NetworkBridge; an error message or None."""
    vs = bridge.vswitch_id
    for sea in bridge.seas:
        if not sea.trunks:
            return f'SEA {sea.dev_name} has no trunk adapter'
        if len(sea.trunks) > const.MAX_TRUNKS_PER_SEA:
            return (f'SEA {sea.dev_name} would have {len(sea.trunks)} trunk adapters; '
                    f'at most {const.MAX_TRUNKS_PER_SEA} are allowed')
        if sea.trunks[0].pvid != sea.pvid:
            return (f'the primary load group PVID {sea.pvid} of SEA {sea.dev_name} '
                    f'cannot be removed or modified (got {sea.trunks[0].pvid})')
        seen: set[int] = set()
        for t in sea.trunks:
            for v in [t.pvid] + t.vlans:
                if not const.MIN_VLAN <= v <= const.MAX_VLAN:
                    return (f'VLAN {v} on trunk adapter {t.dev_name or t.slot} is not in '
                            f'{const.MIN_VLAN}-{const.MAX_VLAN}')
                if v in seen:
                    return f'VLAN {v} is on SEA {sea.dev_name} more than once'
                seen.add(v)
            if len(t.vlans) > const.MAX_VLANS_PER_TRUNK:
                return (f'trunk adapter {t.dev_name or t.slot} of SEA {sea.dev_name} '
                        f'would carry {len(t.vlans)} VLANs; at most '
                        f'{const.MAX_VLANS_PER_TRUNK} are allowed')
            if t.vswitch_id != vs:
                return (f'trunk adapter {t.dev_name or t.slot} is on virtual switch '
                        f'{t.vswitch_id}, the bridge is on {vs}')
    if len(bridge.seas) > 1:
        def shape(sea: SEA) -> list[tuple[int, tuple[int, ...]]]:
            return sorted((t.pvid, tuple(sorted(t.vlans))) for t in sea.trunks)
        if shape(bridge.seas[0]) != shape(bridge.seas[1]):
            return (f'the SEAs {bridge.seas[0].dev_name} and {bridge.seas[1].dev_name} of '
                    f'the failover pair must carry the same trunk adapters and VLANs')
    mine = set(bridge_vlans(bridge))
    for other in others:
        if other.uuid == bridge.uuid or other.vswitch_id != vs:
            continue
        clash = sorted(mine & set(bridge_vlans(other)))
        if clash:
            return (f'VLAN {clash[0]} is already on network bridge {other.uuid} '
                    f'(SEA {other.seas[0].dev_name}) of the same virtual switch')
    return None
