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

"""The state of a simulated PowerVM host: plain dataclasses and the look-ups on them.

``HostState`` is everything one host knows (ManagedSystem, virtual switches,
VIOSes, client partitions, network bridges, SR-IOV adapters and vNICs) plus
the etag versions; it knows nothing of REST or XML.  ``SimHost``
(resources.py) guards it with its lock; persistence.py stores it; the
platform rules of a network bridge live in network/rules.py.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from powervm_sim.atom import signed_crc

# Namespace of the deterministic UUIDs the simulator derives from names.
SIM_NS = uuidlib.UUID('6c1b9d4a-afc1-3cef-ae54-1977d908fda4')

LPAR_TYPE_AIX = 'AIX/Linux'
LPAR_TYPE_IBMI = 'OS400'
LPAR_TYPE_VIOS = 'Virtual IO Server'
PARTITION_TYPES = (LPAR_TYPE_AIX, LPAR_TYPE_IBMI)


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

    A CNA with ``trunk_pri`` set is a trunk adapter: on a VIOS one that no SEA
    uses (an "orphan" for pypowervm), on a client partition e.g. a NovaLink
    partition's adapter in OVS mode (fake_cna.txt).  ``sea`` names the SEA of a
    VIOS adapter list's entry that shows one of that SEA's trunk adapters
    (``HostState.adapters``); stored CNAs have none.
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
    sea: str = ''


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
    # SR-IOV adapters and vNICs: sriov/state.py's SriovAdapter and Vnic objects.
    sriov_adapters: list[Any] = field(default_factory=list)
    vnics: list[Any] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    next_mac: int = 1

    # ---- look-ups -------------------------------------------------------
    def vios(self, uuid: str) -> Partition | None:
        return next((v for v in self.vioses if v.uuid.upper() == uuid.upper()), None)

    def partition(self, uuid: str) -> Partition | None:
        up = uuid.upper()
        return next((p for p in self.partitions if p.uuid == up), None)

    def bridge(self, uuid: str) -> Bridge | None:
        return next((b for b in self.bridges if b.uuid.lower() == uuid.lower()), None)

    def vswitch_by_id(self, switch_id: int) -> VSwitch | None:
        return next((v for v in self.vswitches if v.switch_id == switch_id), None)

    def vswitch(self, uuid: str) -> VSwitch | None:
        return next((v for v in self.vswitches if v.uuid.lower() == uuid.lower()), None)

    def seas_of(self, vios_uuid: str) -> list[SEA]:
        return [s for b in self.bridges for s in b.seas if s.vios_uuid == vios_uuid]

    def adapters(self, part: Partition) -> list[CNA]:
        """The adapters a partition's ClientNetworkAdapter feed lists: its own and, on a
        VIOS, its SEAs' trunk adapters, by slot (as NovaLink lists them, cna_feed.txt)."""
        seas = self.seas_of(part.uuid)
        if not seas:
            return list(part.cnas)
        trunks = [CNA(uuid=sim_uuid(part.uuid, 'trunk', t.slot), slot=t.slot, mac=t.mac,
                      pvid=t.pvid, vlans=list(t.vlans), vswitch_id=t.vswitch_id,
                      trunk_pri=t.trunk_pri, dev_name=t.dev_name, sea=sea.dev_name)
                  for sea in seas for t in sea.trunks]
        return sorted(part.cnas + trunks, key=lambda c: c.slot)

    def adapter_etag(self, part: Partition, cna: CNA) -> str:
        """Etag of an adapter list entry; an SEA's trunk adapter changes with its bridge."""
        if not cna.sea:
            return self.etag(cna.uuid)
        bridge = next(b for b in self.bridges for s in b.seas
                      if s.vios_uuid == part.uuid and s.dev_name == cna.sea)
        return signed_crc(f'{cna.uuid}:{self.etag(bridge.uuid)}')

    def all_macs(self) -> set[str]:
        macs = {c.mac for p in self.vioses + self.partitions for c in p.cnas}
        macs.update(t.mac for b in self.bridges for s in b.seas for t in s.trunks)
        macs.update(v.mac for v in self.vnics)
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
        slots.update(v.slot for v in self.vnics if v.lpar_uuid.upper() == part.uuid)
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
        return signed_crc(f'{uuid.lower()}:{v}')
