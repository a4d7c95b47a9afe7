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

"""A VirtualNICDedicated create body, read into plain fields (``parse_vnic_request``)."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from powervm_sim import xmlsafe


class VnicRefused(Exception):
    """A create request the platform refuses; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ''


def _child(el: Any, name: str) -> Any:
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: Any, name: str) -> str | None:
    c = _child(el, name)
    return None if c is None or c.text is None else c.text.strip()


def _int(el: Any, name: str, where: str) -> int | None:
    val = _text(el, name)
    if val is None:
        return None
    try:
        return int(val)
    except ValueError:
        raise VnicRefused(400, f'{where} {name} {val!r} is not an integer') from None


def _percent(el: Any, name: str, where: str) -> int | None:
    val = _text(el, name)
    if val is None:
        return None
    m = re.fullmatch(r'(\d+(?:\.\d+)?)%?', val)
    if not m or float(m.group(1)) > 100:
        raise VnicRefused(400, f'{where} {name} {val!r} is not a percentage 0-100%')
    return round(float(m.group(1)) * 100)


def parse_vnic_request(body: bytes) -> dict:
    """Fields of a VirtualNICDedicated create body; VnicRefused(400) if malformed."""
    try:
        root = xmlsafe.parse(body)
    except xmlsafe.XMLError as e:
        raise VnicRefused(400, f'request body is not valid XML: {e}') from None
    if _local(root.tag) != 'VirtualNICDedicated':
        raise VnicRefused(400, f'expected a VirtualNICDedicated, got {_local(root.tag)!r}')
    details = _child(root, 'Details')
    req: dict[str, Any] = {
        'slot': _int(root, 'VirtualSlotNumber', 'VirtualNICDedicated'),
        'pvid': 0, 'mac': None, 'allowed_vlans': 'ALL', 'allowed_macs': 'ALL',
        'auto_failback': True, 'backing': []}
    if details is not None:
        pvid = _int(details, 'PortVLANID', 'Details')
        req['pvid'] = 0 if pvid is None else pvid
        mac = _text(details, 'MACAddress')
        req['mac'] = mac.replace(':', '').upper() if mac else None
        req['allowed_vlans'] = _text(details, 'AllowedVLANIDs') or 'ALL'
        req['allowed_macs'] = _text(details, 'AllowedOperatingSystemMACAddresses') or 'ALL'
        req['auto_failback'] = (_text(details, 'AutoFailBack') or 'true').lower() == 'true'
    backs = _child(root, 'AssociatedBackingDevices')
    for bd in backs.iter() if backs is not None else []:
        if _local(bd.tag) != 'VirtualNICSRIOVBackingDevice':
            continue
        where = f'backing device {len(req["backing"]) + 1}'
        vios = _child(bd, 'AssociatedVirtualIOServer')
        href = vios.get('href', '') if vios is not None else ''
        m = re.search(r'/VirtualIOServer/([0-9A-Fa-f-]{36})', href)
        if not m:
            raise VnicRefused(400, f'{where}: AssociatedVirtualIOServer href {href!r} '
                                   'does not name a VirtualIOServer')
        said = _int(bd, 'RelatedSRIOVAdapterID', where)
        pid = _int(bd, 'RelatedSRIOVPhysicalPortID', where)
        if said is None or pid is None:
            raise VnicRefused(400, f'{where}: RelatedSRIOVAdapterID and '
                                   'RelatedSRIOVPhysicalPortID are required')
        req['backing'].append({
            'vios_uuid': m.group(1), 'sriov_adapter_id': said, 'port_id': pid,
            'capacity': _percent(bd, 'CurrentCapacityPercentage', where),
            'max_capacity': _percent(bd, 'MaxCapacityPercentage', where),
            'failover_priority': _int(bd, 'FailOverPriority', where)})
    return req
