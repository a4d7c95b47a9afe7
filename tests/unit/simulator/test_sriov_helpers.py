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

"""Shared stand-ins for the SR-IOV tests (a tiny SimHost, request builders)."""

from __future__ import annotations

import threading

from powervm_sim import sriov
from powervm_sim.model import HostState, Partition, System
from powervm_sim.rest import RestRequest

SYS_UUID = '1cab7366-6b73-342c-9f43-ddfeb9f8edd3'
VIOS1 = '3E3F9BFC-C4EE-439E-B70A-1D369213ED83'
VIOS2 = '4A1B9BFC-C4EE-439E-B70A-1D369213ED84'
LPAR = '020C9406-2B1A-461D-A8D3-0C9A7EB6746A'
BASE = 'https://127.0.0.1:12443'

SCENARIO = [
    {'location_code': 'U78C7.001.RCH0004-P1-C8',
     'ports': [
         {'location_code': 'U78C7.001.RCH0004-P1-C8-T1', 'label': 'physnet1',
          'type': 'converged', 'max_vfs': 20},
         {'location_code': 'U78C7.001.RCH0004-P1-C8-T2', 'label': 'physnet1',
          'link_up': False, 'max_vfs': 4},
     ]},
    {'location_code': 'U78C7.001.RCH0004-P1-C9', 'sriov_adapter_id': 2,
     'ports': [
         {'location_code': 'U78C7.001.RCH0004-P1-C9-T1', 'label': 'physnet1',
          'capacity_granularity': 2.5, 'allocated_capacity': 90, 'max_vfs': 2},
         {'location_code': 'U78C7.001.RCH0004-P1-C9-T2', 'label': 'physnet2'},
     ]},
    {'location_code': 'U78CB.001.WZS06RG-P1-C7', 'mode': 'Dedicated',
     'state': 'NotConfigured'},
]


class FakeHost:
    """lock / state / save / emit / sys_uuid, as SimHost offers them."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sys_uuid = SYS_UUID
        self.state = HostState(system=System(uuid=SYS_UUID, name='sim'))
        self.state.vioses = [Partition(uuid=VIOS1, id=1, name='vios1', type='Virtual IO Server'),
                             Partition(uuid=VIOS2, id=2, name='vios2', type='Virtual IO Server')]
        self.state.partitions = [Partition(uuid=LPAR, id=10, name='vm1')]
        self.state.sriov_adapters = sriov.adapters_from_scenario(SCENARIO)
        self.events: list[tuple[str, str, str]] = []
        self.saves = 0

    def save(self) -> None:
        self.saves += 1

    def emit(self, uri: str, event_type: str, detail: str) -> None:
        self.events.append((uri, event_type, detail))


def request(method: str, path: str, body: bytes = b'',
            headers: dict | None = None) -> RestRequest:
    return RestRequest(method=method, path=path, query={}, headers=headers or {}, body=body,
                       base_url=BASE)


def vnic_body(backing: list[tuple[str, int, int, str | None, str | None]],
              mac: str | None = 'FA163E000001', pvid: int = 5) -> bytes:
    """A create body as pypowervm's VNIC.bld + VNICBackDev.bld serialise it."""
    ns = 'http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/'
    bds = ''
    for vios, said, pid, cap, maxcap in backing:
        bds += ('<uom:VirtualNICSRIOVBackingDevice schemaVersion="V1_0">'
                '<uom:Metadata><uom:Atom/></uom:Metadata>'
                f'<uom:AssociatedVirtualIOServer href="{BASE}/rest/api/uom/VirtualIOServer/'
                f'{vios}" rel="related"/>'
                f'<uom:RelatedSRIOVAdapterID>{said}</uom:RelatedSRIOVAdapterID>'
                + (f'<uom:CurrentCapacityPercentage>{cap}</uom:CurrentCapacityPercentage>'
                   if cap else '')
                + (f'<uom:MaxCapacityPercentage>{maxcap}</uom:MaxCapacityPercentage>'
                   if maxcap else '')
                + f'<uom:RelatedSRIOVPhysicalPortID>{pid}</uom:RelatedSRIOVPhysicalPortID>'
                '</uom:VirtualNICSRIOVBackingDevice>')
    mac_el = f'<uom:MACAddress>{mac}</uom:MACAddress>' if mac else ''
    return (f'<uom:VirtualNICDedicated xmlns:uom="{ns}" schemaVersion="V1_0">'
            '<uom:Metadata><uom:Atom/></uom:Metadata>'
            '<uom:UseNextAvailableHighSlotID>true</uom:UseNextAvailableHighSlotID>'
            '<uom:Details schemaVersion="V1_0"><uom:Metadata><uom:Atom/></uom:Metadata>'
            f'<uom:PortVLANID>{pvid}</uom:PortVLANID>'
            '<uom:AllowedVLANIDs>ALL</uom:AllowedVLANIDs>' + mac_el +
            '<uom:AllowedOperatingSystemMACAddresses>ALL'
            '</uom:AllowedOperatingSystemMACAddresses></uom:Details>'
            '<uom:AssociatedBackingDevices schemaVersion="V1_0">'
            '<uom:VirtualNICBackingDeviceChoice>' + bds +
            '</uom:VirtualNICBackingDeviceChoice></uom:AssociatedBackingDevices>'
            '</uom:VirtualNICDedicated>').encode()
