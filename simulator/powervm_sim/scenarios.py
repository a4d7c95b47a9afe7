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

"""Scenario loading: YAML (built-in name or path) -> validated ``HostState``.

Every validation error is a ``ScenarioError`` naming the offending field,
e.g. ``bridges[0].seas[1].vios: unknown VIOS 'vios9'``.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import yaml

from powervm_sim import model
from powervm_sim import platform as const
from powervm_sim import scenario_fields as sf
from powervm_sim.model import (
    CNA,
    HostState,
    Partition,
    System,
    VSwitch,
    sim_uuid,
)
from powervm_sim.network import scenario as net_scenario
from powervm_sim.scenario_fields import ScenarioError
from powervm_sim.sriov.scenario import adapters_from_scenario

BUILTIN_DIR = pathlib.Path(__file__).parent / 'scenarios'
BUILTINS = ('single', 'redundant', 'two-bridges', 'large', 'novalink-ovs')
_MAC_RE = re.compile(r'^[0-9A-F]{12}$')
MACS_PER_HOST = 1 << 24
_STATES = ('running', 'not activated', 'open firmware', 'error', 'starting')


def scenario_path(scenario: str) -> pathlib.Path:
    """Path of a built-in scenario name, or ``scenario`` as a path."""
    if scenario in BUILTINS:
        return BUILTIN_DIR / f'{scenario}.yaml'
    path = pathlib.Path(scenario)
    if not path.is_file():
        raise ScenarioError(
            f'unknown scenario {scenario!r}: not a built-in '
            f'({", ".join(BUILTINS)}) and not a file')
    return path


def load_scenario(scenario: str, host_number: int = 1) -> HostState:
    """Load and validate a built-in scenario name or a YAML file path.

    ``host_number`` > 1: the same shape as another host of a many-host simulator, with
    its own ManagedSystem name, serial and UUID (so its own partition, adapter and
    bridge UUIDs) and its own range of generated MACs.
    """
    path = scenario_path(scenario)
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except yaml.YAMLError as e:
        raise ScenarioError(f'scenario {str(path)!r} is not valid YAML: {e}') from e
    return build_state(data, source=str(path), host_number=host_number)


class _Builder:
    def __init__(self, data: dict, source: str, host_number: int = 1):
        self.data = data
        self.source = source
        self.host_number = host_number
        self.macs: set[str] = set()
        self.state: HostState | None = None

    def vswitch(self, name: Any, where: str) -> VSwitch:
        assert self.state is not None
        for vs in self.state.vswitches:
            if name in (vs.name, vs.switch_id):
                return vs
        raise ScenarioError(f'{where}: unknown virtual switch {name!r}')

    def mac(self, d: dict, where: str) -> str:
        assert self.state is not None
        if d.get('mac') is None:
            mac = self.state.new_mac(self.macs)
        else:
            mac = str(d['mac']).replace(':', '').upper()
            if not _MAC_RE.match(mac):
                raise ScenarioError(f'{where}.mac: {d["mac"]!r} is not 12 hex digits')
            if mac in self.macs:
                raise ScenarioError(f'{where}.mac: duplicate MAC {mac}')
        self.macs.add(mac)
        return mac

    def build(self) -> HostState:
        d = self.data
        sysd = sf.mapping(d.get('system', {}), 'system')
        name = sf.get(sysd, 'name', 'system', str, 'sim-8286-42A-21B1E3V')
        system = System(
            uuid=sf.get(sysd, 'uuid', 'system', str, sim_uuid('system', name)),
            name=name,
            machine_type=str(sf.get(sysd, 'machine_type', 'system', (str, int), '8286')),
            model=str(sf.get(sysd, 'model', 'system', (str, int), '42A')),
            serial=str(sf.get(sysd, 'serial', 'system', (str, int), '21B1E3V')),
            memory_mb=sf.get(sysd, 'memory_mb', 'system', int, 524288),
            proc_units=sf.get(sysd, 'proc_units', 'system', int, 24),
            max_partitions=sf.get(sysd, 'max_partitions', 'system', int, 1000))
        if self.host_number > 1:
            n = self.host_number
            system.name = f'{system.name}-{n}'
            system.serial = f'{system.serial[:-3]}{n:03X}'
            system.uuid = sim_uuid(system.uuid, 'host', n)
        # Each host of a many-host simulator generates its MACs in its own range.
        self.state = st = HostState(system=system,
                                    next_mac=1 + (self.host_number - 1) * MACS_PER_HOST)
        self._vswitches(d)
        self._vioses(d)
        self._bridges(d)
        self._partitions(d)
        self._generate(d)
        self._sriov(d)
        ids = [p.id for p in st.vioses + st.partitions]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ScenarioError(f'partitions: duplicate partition id(s) {sorted(dup)}')
        names = [p.name for p in st.vioses + st.partitions]
        dupn = {n for n in names if names.count(n) > 1}
        if dupn:
            raise ScenarioError(f'partitions: duplicate partition name(s) {sorted(dupn)}')
        if sum(p.is_mgmt for p in st.partitions) > 1:
            raise ScenarioError('partitions: more than one management partition')
        return st

    def _vswitches(self, d: dict) -> None:
        st = self.state
        items = sf.items(d, 'vswitches', '') or [('vswitches[0]', {'name': 'ETHERNET0', 'id': 0})]
        for where, v in items:
            vid = sf.get(v, 'id', where, int)
            if not 0 <= vid <= 15:
                raise ScenarioError(f'{where}.id: virtual switch id {vid} not in 0-15')
            name = sf.get(v, 'name', where, str)
            if st.vswitch_by_id(vid) or any(x.name == name for x in st.vswitches):
                raise ScenarioError(f'{where}: duplicate virtual switch {name!r}/{vid}')
            mode = sf.get(v, 'mode', where, str, 'Veb')
            if mode not in ('Veb', 'Vepa'):
                raise ScenarioError(f'{where}.mode: {mode!r} is not Veb or Vepa')
            st.vswitches.append(VSwitch(sim_uuid(st.system.uuid, 'vswitch', vid), vid, name, mode))
        if not st.vswitch_by_id(0):
            raise ScenarioError('vswitches: ETHERNET0 (id 0) is required')

    def _partition(self, p: dict, where: str, vios: bool) -> Partition:
        st = self.state
        name = sf.get(p, 'name', where, str)
        pid = sf.get(p, 'id', where, int, None)
        part = Partition(
            uuid=sf.get(p, 'uuid', where, str, sim_uuid(st.system.uuid, name, partition=True)),
            id=pid if pid is not None else st.next_partition_id(),
            name=name,
            type=(model.LPAR_TYPE_VIOS if vios
                  else sf.get(p, 'type', where, str, model.LPAR_TYPE_AIX)),
            state=sf.get(p, 'state', where, str, 'running'),
            rmc_state=sf.get(p, 'rmc_state', where, str, 'active'),
            is_mgmt=sf.get(p, 'mgmt', where, bool, False),
            openstack_managed=sf.get(p, 'openstack_managed', where, bool, False))
        if part.id < 1:
            raise ScenarioError(f'{where}.id: partition id {part.id} must be >= 1')
        if not vios and part.type not in model.PARTITION_TYPES:
            raise ScenarioError(f'{where}.type: {part.type!r} is not one of '
                                f'{", ".join(model.PARTITION_TYPES)}')
        if part.state not in _STATES:
            raise ScenarioError(f'{where}.state: {part.state!r} is not one of {_STATES}')
        if part.rmc_state not in ('active', 'inactive', 'none', 'busy', 'unknown'):
            raise ScenarioError(f'{where}.rmc_state: {part.rmc_state!r} is not valid')
        return part

    def _cnas(self, part: Partition, p: dict, where: str, key: str, trunk: bool) -> None:
        st = self.state
        for cw, c in sf.items(p, key, where):
            vs = self.vswitch(c.get('vswitch', 0), f'{cw}.vswitch')
            slot = sf.get(c, 'slot', cw, int, None)
            if slot is None:
                slot = st.next_slot(part)
            elif slot in st.used_slots(part):
                raise ScenarioError(f'{cw}.slot: slot {slot} already used on {part.name}')
            vlans = sf.vlans(c, 'vlans', cw)
            if len(vlans) > const.MAX_VLANS_PER_TRUNK:
                raise ScenarioError(f'{cw}.vlans: {len(vlans)} VLANs, at most '
                                    f'{const.MAX_VLANS_PER_TRUNK}')
            cna = CNA(uuid=sim_uuid(part.uuid, 'cna', slot), slot=slot,
                      mac=self.mac(c, cw), pvid=sf.vlan(c.get('pvid'), f'{cw}.pvid'),
                      vlans=vlans, vswitch_id=vs.switch_id,
                      enabled=sf.get(c, 'enabled', cw, bool, True),
                      trunk_pri=self._trunk_pri(c, cw, 1 if trunk else None))
            if part.type == model.LPAR_TYPE_VIOS:
                cna.dev_name = sf.get(c, 'dev_name', cw, str, '') or st.next_dev_name(part)
            part.cnas.append(cna)

    @staticmethod
    def _trunk_pri(c: dict, where: str, default: int | None) -> int | None:
        """A trunk adapter's priority (1-15); a client partition's adapter with one is
        a trunk adapter too (e.g. NovaLink in OVS mode: PVID 100, tagged 53-55)."""
        pri = sf.get(c, 'trunk_pri', where, int, default)
        if pri is not None and not 1 <= pri <= 15:
            raise ScenarioError(f'{where}.trunk_pri: {pri} is not a trunk priority in 1-15')
        return pri

    def _vioses(self, d: dict) -> None:
        st = self.state
        items = sf.items(d, 'vioses', '')
        if not items:
            raise ScenarioError('vioses: at least one VIOS is required')
        for where, v in items:
            vios = self._partition(v, where, vios=True)
            st.vioses.append(vios)
            self._cnas(vios, v, where, 'orphan_trunks', trunk=True)
            self._cnas(vios, v, where, 'veas', trunk=False)

    def _bridges(self, d: dict) -> None:
        net_scenario.add_bridges(self.state, d, self.vswitch, self.mac)

    def _partitions(self, d: dict) -> None:
        st = self.state
        for where, p in sf.items(d, 'partitions', ''):
            part = self._partition(p, where, vios=False)
            st.partitions.append(part)
            self._cnas(part, p, where, 'cnas', trunk=False)

    def _generate(self, d: dict) -> None:
        st = self.state
        if d.get('generate') is None:
            return
        g = sf.mapping(d['generate'], 'generate')
        count = sf.get(g, 'count', 'generate', int)
        per = sf.get(g, 'cnas_per_partition', 'generate', int, 1)
        if not 0 < count <= 10000:
            raise ScenarioError(f'generate.count: {count} not in 1-10000')
        if not 0 <= per <= 16:
            raise ScenarioError(f'generate.cnas_per_partition: {per} not in 0-16')
        prefix = sf.get(g, 'name_prefix', 'generate', str, 'lpar')
        base = sf.vlan(sf.get(g, 'pvid_base', 'generate', int, 100), 'generate.pvid_base')
        span = sf.get(g, 'vlan_span', 'generate', int, 50)
        if span < 1 or base + span - 1 > const.MAX_VLAN:
            raise ScenarioError(f'generate.vlan_span: {span} puts VLANs beyond {const.MAX_VLAN}')
        vs = self.vswitch(g.get('vswitch', 0), 'generate.vswitch')
        managed = sf.get(g, 'openstack_managed', 'generate', bool, True)
        for n in range(count):
            name = f'{prefix}-{n + 1:05d}'
            part = Partition(uuid=sim_uuid(st.system.uuid, name, partition=True),
                             id=st.next_partition_id(), name=name,
                             openstack_managed=managed)
            for k in range(per):
                slot = 2 + k
                part.cnas.append(CNA(uuid=sim_uuid(part.uuid, 'cna', slot), slot=slot,
                                     mac=self.mac({}, f'generate[{n}]'),
                                     pvid=base + (n * per + k) % span, vlans=[],
                                     vswitch_id=vs.switch_id))
            st.partitions.append(part)

    def _sriov(self, d: dict) -> None:
        items = d.get('sriov')
        if items is None:
            return
        if not isinstance(items, list):
            raise ScenarioError(f'sriov: expected a list, got {items!r}')
        try:
            self.state.sriov_adapters = list(adapters_from_scenario(items))
        except ValueError as e:
            raise ScenarioError(f'sriov: {e}') from e


def build_state(data: Any, source: str = '<scenario>', host_number: int = 1) -> HostState:
    """Validate a parsed scenario mapping and build the host state."""
    if not isinstance(data, dict):
        raise ScenarioError(f'{source}: a scenario is a mapping, got {type(data).__name__}')
    known = {'system', 'vswitches', 'vioses', 'bridges', 'partitions', 'generate', 'sriov',
             'description'}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(f'{source}: unknown top-level field(s) {unknown}')
    return _Builder(data, source, host_number).build()
