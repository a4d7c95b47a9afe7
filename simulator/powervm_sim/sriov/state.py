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

"""SR-IOV host state: adapters, physical ports, vNICs, and their persistence.

Capacities are kept as integer hundredths of a percent (``200`` == 2.0%) so sums
are exact; the REST payloads show them as ``2.0%`` like the real API.  The
scenario section that builds them is sriov/scenario.py's.
"""

from __future__ import annotations

import dataclasses
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
DEFAULT_DESCRIPTION = 'PCIe2 4-port (10Gb FCoE & 1GbE) SR&RJ45 Adapter'



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
    description: str = DEFAULT_DESCRIPTION
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
