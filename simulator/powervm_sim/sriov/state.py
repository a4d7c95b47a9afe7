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

"""SR-IOV host state: adapters, physical ports, vNICs; scenario parsing, persistence.

Capacities are kept as integer hundredths of a percent (``200`` == 2.0%) so sums
are exact; the REST payloads show them as ``2.0%`` like the real API.

Scenario YAML shape (the ``sriov`` section; defaults in brackets)::

    sriov:
      - location_code: U78C7.001.RCH0004-P1-C8    # required, unique (alias: location)
        sriov_adapter_id: 1                        # [1, 2, ... in order]
        adapter_id: 553713696                      # [derived]
        description: PCIe2 4-port ...              # [PCIe2 4-port (10Gb FCoE & 1GbE) ...]
        mode: Sriov                                # [Sriov] | Dedicated
        state: Running                             # [Running] | NotConfigured | ...
        ports:                                     # required for mode Sriov
          - location_code: U78C7.001.RCH0004-P1-C8-T1   # [<adapter>-T<n>], unique
            port_id: 0                             # [index in list]
            label: physnet1                        # [''] (agents map '' to 'default')
            sublabel: ''                           # ['']
            link_up: true                          # [true]
            type: ethernet                         # [ethernet] | converged
            speed: E10Gbps                         # [E10Gbps]
            capacity_granularity: 2.0              # percent [2.0]
            max_vfs: 20                            # ConfiguredMaxEthernetLogicalPorts [20]
            allocated_capacity: 0.0                # percent already used elsewhere [0]
            configured_vfs: 0                      # VFs already used elsewhere [0]
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

MODE_SRIOV = 'Sriov'
MODE_DEDICATED = 'Dedicated'
STATE_RUNNING = 'Running'
MODES = (MODE_SRIOV, MODE_DEDICATED, 'Unknown')
STATES = (STATE_RUNNING, 'NotConfigured', 'Failed', 'Initializing', 'Missing',
          'PoweredOff', 'NotRunning', 'Unknown')
PORT_TYPES = ('ethernet', 'converged')
FULL = 10000  # 100.0% in hundredths of a percent

_DEF_DESC = 'PCIe2 4-port (10Gb FCoE & 1GbE) SR&RJ45 Adapter'
_LOC_RE = re.compile(r'^[A-Za-z0-9.\-]+$')


@dataclass
class SriovPort:
    """An SR-IOV physical port (capacities in hundredths of a percent)."""

    location_code: str
    port_id: int
    label: str = ''
    sublabel: str = ''
    link_up: bool = True
    type: str = 'ethernet'
    speed: str = 'E10Gbps'
    granularity: int = 200
    max_vfs: int = 20
    allocated: int = 0
    configured_vfs: int = 0

    @property
    def remaining(self) -> int:
        return FULL - self.allocated

    @property
    def free_vfs(self) -> int:
        return self.max_vfs - self.configured_vfs


@dataclass
class SriovAdapter:
    """An SR-IOV adapter; only Sriov-mode, Running adapters carry ports."""

    location_code: str
    sriov_adapter_id: int
    adapter_id: int
    description: str = _DEF_DESC
    mode: str = MODE_SRIOV
    state: str = STATE_RUNNING
    ports: list[SriovPort] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.mode == MODE_SRIOV and self.state == STATE_RUNNING


@dataclass
class BackingDevice:
    """One backing device (a VF on a physical port, served by a VIOS)."""

    vios_uuid: str
    sriov_adapter_id: int
    port_id: int
    capacity: int
    max_capacity: int
    lport_uuid: str
    failover_priority: int = 50


@dataclass
class Vnic:
    """A dedicated vNIC (VirtualNICDedicated) of a partition."""

    uuid: str
    lpar_uuid: str
    lpar_id: int
    slot: int
    mac: str
    pvid: int
    backing_devices: list[BackingDevice]
    allowed_vlans: str = 'ALL'
    allowed_macs: str = 'ALL'
    auto_failback: bool = True
    created_ms: int = 0


# ---- percent helpers -------------------------------------------------------
def pct_to_units(value: Any, what: str) -> int:
    """``2`` / ``2.5`` / ``'2.5%'`` percent -> hundredths of a percent."""
    try:
        num = float(str(value).strip().rstrip('%'))
    except ValueError:
        raise ValueError(f'{what}: {value!r} is not a percentage') from None
    if not 0 <= num <= 100:
        raise ValueError(f'{what}: {value!r} is not between 0 and 100 percent')
    return round(num * 100)


def units_to_api(units: int) -> str:
    """Hundredths of a percent -> the API's form (``2.0%``, ``42.42%``)."""
    return f'{units / 100}%'


# ---- scenario parsing -------------------------------------------------------
def _take(d: dict, key: str, kind: type, default: Any, where: str) -> Any:
    val = d.get(key, default)
    if kind is bool:
        if not isinstance(val, bool):
            raise ValueError(f'{where}.{key}: {val!r} is not true/false')
        return val
    if kind is int:
        if isinstance(val, bool) or not isinstance(val, int):
            raise ValueError(f'{where}.{key}: {val!r} is not an integer')
        return val
    if kind is str:
        if not isinstance(val, str):
            raise ValueError(f'{where}.{key}: {val!r} is not a string')
        return val
    return val


def _check_keys(d: Any, allowed: set[str], where: str) -> None:
    if not isinstance(d, dict):
        raise ValueError(f'{where}: expected a mapping, got {d!r}')
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ValueError(f'{where}: unknown field(s) {", ".join(unknown)}')


_ADAPTER_KEYS = {'location_code', 'location', 'sriov_adapter_id', 'adapter_id', 'description',
                 'mode', 'state', 'ports'}
_PORT_KEYS = {'location_code', 'location', 'port_id', 'label', 'sublabel', 'link_up', 'type',
              'speed', 'capacity_granularity', 'max_vfs', 'allocated_capacity', 'configured_vfs'}


def _location(d: dict, where: str, default: str | None = None) -> str:
    if 'location' in d and 'location_code' in d:
        raise ValueError(f'{where}: give location_code or location, not both')
    loc = d.get('location_code', d.get('location', default))
    if not isinstance(loc, str) or not _LOC_RE.match(loc):
        raise ValueError(f'{where}.location_code: {loc!r} is not a location code')
    return loc


def _port_from_scenario(p: Any, idx: int, where: str, adapter_loc: str) -> SriovPort:
    _check_keys(p, _PORT_KEYS, where)
    loc = _location(p, where, f'{adapter_loc}-T{idx + 1}')
    ptype = _take(p, 'type', str, 'ethernet', where).lower()
    if ptype not in PORT_TYPES:
        raise ValueError(f'{where}.type: {ptype!r} is not one of {", ".join(PORT_TYPES)}')
    port = SriovPort(
        location_code=loc,
        port_id=_take(p, 'port_id', int, idx, where),
        label=_take(p, 'label', str, '', where) or '',
        sublabel=_take(p, 'sublabel', str, '', where) or '',
        link_up=_take(p, 'link_up', bool, True, where),
        type=ptype,
        speed=_take(p, 'speed', str, 'E10Gbps', where),
        granularity=pct_to_units(p.get('capacity_granularity', 2.0),
                                 f'{where}.capacity_granularity'),
        max_vfs=_take(p, 'max_vfs', int, 20, where),
        allocated=pct_to_units(p.get('allocated_capacity', 0), f'{where}.allocated_capacity'),
        configured_vfs=_take(p, 'configured_vfs', int, 0, where),
    )
    if port.granularity <= 0:
        raise ValueError(f'{where}.capacity_granularity: must be above 0 percent')
    if port.port_id < 0:
        raise ValueError(f'{where}.port_id: {port.port_id} is negative')
    if port.max_vfs < 1:
        raise ValueError(f'{where}.max_vfs: {port.max_vfs} must be at least 1')
    if not 0 <= port.configured_vfs <= port.max_vfs:
        raise ValueError(f'{where}.configured_vfs: {port.configured_vfs} is not within '
                         f'0..max_vfs ({port.max_vfs})')
    return port


def adapters_from_scenario(items: list[dict] | None) -> list[SriovAdapter]:
    """Build SR-IOV adapters from a scenario's ``sriov`` section (see module doc)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError(f'sriov: expected a list of adapters, got {items!r}')
    adapters: list[SriovAdapter] = []
    seen_locs: set[str] = set()
    seen_ids: set[int] = set()
    for i, a in enumerate(items):
        where = f'sriov[{i}]'
        _check_keys(a, _ADAPTER_KEYS, where)
        loc = _location(a, where)
        mode = _take(a, 'mode', str, MODE_SRIOV, where)
        if mode not in MODES:
            raise ValueError(f'{where}.mode: {mode!r} is not one of {", ".join(MODES)}')
        state = _take(a, 'state', str, STATE_RUNNING, where)
        if state not in STATES:
            raise ValueError(f'{where}.state: {state!r} is not one of {", ".join(STATES)}')
        said = _take(a, 'sriov_adapter_id', int, i + 1, where)
        if said in seen_ids:
            raise ValueError(f'{where}.sriov_adapter_id: {said} is used twice')
        raw_ports = a.get('ports', [])
        if not isinstance(raw_ports, list):
            raise ValueError(f'{where}.ports: expected a list, got {raw_ports!r}')
        if mode == MODE_SRIOV and not raw_ports:
            raise ValueError(f'{where}.ports: an adapter in Sriov mode needs ports')
        ports = [_port_from_scenario(p, j, f'{where}.ports[{j}]', loc)
                 for j, p in enumerate(raw_ports)]
        if len({p.port_id for p in ports}) != len(ports):
            raise ValueError(f'{where}.ports: port_id values are not unique')
        for loc_code in [loc] + [p.location_code for p in ports]:
            if loc_code in seen_locs:
                raise ValueError(f'{where}: location code {loc_code} is used twice')
            seen_locs.add(loc_code)
        seen_ids.add(said)
        adapters.append(SriovAdapter(
            location_code=loc, sriov_adapter_id=said,
            adapter_id=_take(a, 'adapter_id', int, 553713696 + i, where),
            description=_take(a, 'description', str, _DEF_DESC, where),
            mode=mode, state=state, ports=ports))
    return adapters


# ---- look-ups / mutations ---------------------------------------------------
def find_port(adapters: list[SriovAdapter], sriov_adapter_id: int,
              port_id: int) -> tuple[SriovAdapter | None, SriovPort | None]:
    """The adapter with ``sriov_adapter_id`` and its port ``port_id`` (None if absent)."""
    adapter = next((a for a in adapters if a.sriov_adapter_id == sriov_adapter_id), None)
    if adapter is None:
        return None, None
    return adapter, next((p for p in adapter.ports if p.port_id == port_id), None)


def relabel_port(adapters: list[SriovAdapter], location_code: str, label: str) -> None:
    """Set the label of the port at ``location_code``; ValueError if unknown."""
    if not isinstance(label, str):
        raise ValueError(f'SR-IOV port label {label!r} is not a string')
    for adapter in adapters:
        for port in adapter.ports:
            if port.location_code == location_code:
                port.label = label
                return
    raise ValueError(f'no SR-IOV physical port with location code {location_code!r}')


# ---- persistence ------------------------------------------------------------
def state_to_dict(adapters: list[SriovAdapter], vnics: list[Vnic]) -> dict:
    """JSON-able form of the SR-IOV state."""
    return {'adapters': [dataclasses.asdict(a) for a in adapters],
            'vnics': [dataclasses.asdict(v) for v in vnics]}


def state_from_dict(d: dict) -> tuple[list[SriovAdapter], list[Vnic]]:
    """Inverse of :func:`state_to_dict`; ValueError on a malformed dict."""
    try:
        adapters = []
        for a in d.get('adapters', []):
            a = dict(a)
            a['ports'] = [SriovPort(**p) for p in a.get('ports', [])]
            adapters.append(SriovAdapter(**a))
        vnics = []
        for v in d.get('vnics', []):
            v = dict(v)
            v['backing_devices'] = [BackingDevice(**b) for b in v['backing_devices']]
            vnics.append(Vnic(**v))
    except (TypeError, KeyError, AttributeError) as e:
        raise ValueError(f'malformed SR-IOV state: {e}') from e
    return adapters, vnics


def snapshot(adapters: list[SriovAdapter], vnics: list[Vnic]) -> dict:
    """Readable summary: ports (label, capacity used/left, VFs) and vNICs."""
    ports = []
    for a in adapters:
        for p in a.ports:
            ports.append({
                'adapter': a.location_code, 'sriov_adapter_id': a.sriov_adapter_id,
                'mode': a.mode, 'state': a.state,
                'location_code': p.location_code, 'port_id': p.port_id,
                'label': p.label, 'link_up': p.link_up,
                'capacity_used': p.allocated / 100, 'capacity_left': p.remaining / 100,
                'vfs_used': p.configured_vfs, 'max_vfs': p.max_vfs})
    by_key = {(a.sriov_adapter_id, p.port_id): p.location_code
              for a in adapters for p in a.ports}
    vn = [{'uuid': v.uuid, 'lpar_uuid': v.lpar_uuid, 'mac': v.mac, 'pvid': v.pvid,
           'slot': v.slot,
           'backing': [{'port': by_key.get((b.sriov_adapter_id, b.port_id)),
                        'vios_uuid': b.vios_uuid, 'capacity': b.capacity / 100}
                       for b in v.backing_devices]} for v in vnics]
    return {'ports': ports, 'vnics': vn}
