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

"""The ``sriov`` section of a scenario -> SR-IOV adapters and physical ports.

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

import re
from typing import Any

from powervm_sim.sriov.state import (
    DEFAULT_DESCRIPTION,
    MODE_SRIOV,
    MODES,
    PORT_TYPES,
    STATE_RUNNING,
    STATES,
    SriovAdapter,
    SriovPort,
    pct_to_units,
)

_LOC_RE = re.compile(r'^[A-Za-z0-9.\-]+$')


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
            description=_take(a, 'description', str, DEFAULT_DESCRIPTION, where),
            mode=mode, state=state, ports=ports))
    return adapters


# ---- look-ups / mutations ---------------------------------------------------
