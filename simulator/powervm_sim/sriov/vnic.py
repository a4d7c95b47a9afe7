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

"""REST handling of VirtualNICDedicated (vNIC) under a LogicalPartition.

``handle_vnic`` serves GET (feed/entry), PUT (create) and DELETE and enforces
the platform's rules on create; a refused request changes nothing.
"""

from __future__ import annotations

import re
import time
import uuid as uuidlib
from typing import Any

from powervm_sim import atom, rest
from powervm_sim.errors import http_error
from powervm_sim.model import sim_uuid
from powervm_sim.rest import RestRequest, RestResponse
from powervm_sim.sriov import render
from powervm_sim.sriov.state import FULL, BackingDevice, Vnic, find_port
from powervm_sim.sriov.vnic_request import VnicRefused, parse_vnic_request

MAX_BACKING_DEVICES = 6  # vNIC failover: at most 6 backing devices
_MAC_RE = re.compile(r'^[0-9A-F]{12}$')
_ACTIVE_VIOS_STATES = ('running', 'open firmware')
_ACTIVE_RMC = ('active', 'busy')


# ---- rules -------------------------------------------------------------------
def build_vnic(state: Any, lpar: Any, req: dict) -> Vnic:
    """Validate ``req`` against ``state`` and return the new Vnic (state untouched)."""
    adapters = state.sriov_adapters
    backing = req['backing']
    if not backing:
        raise VnicRefused(400, 'a vNIC needs at least one SR-IOV backing device')
    if len(backing) > MAX_BACKING_DEVICES:
        raise VnicRefused(400, f'{len(backing)} backing devices requested; a vNIC takes at '
                               f'most {MAX_BACKING_DEVICES}')
    pvid = req['pvid']
    if not 0 <= pvid <= 4094:
        raise VnicRefused(400, f'PortVLANID {pvid} is outside 0-4094')
    mac = req['mac']
    taken = state.all_macs() | {v.mac for v in state.vnics}
    if mac is not None:
        if not _MAC_RE.match(mac):
            raise VnicRefused(400, f'MACAddress {mac!r} is not 12 hexadecimal digits')
        if mac in taken:
            raise VnicRefused(409, f'MACAddress {mac} is already in use')
    slot = req['slot']
    used = state.used_slots(lpar) | {v.slot for v in state.vnics if v.lpar_uuid == lpar.uuid}
    if slot is not None and slot in used:
        raise VnicRefused(409, f'virtual slot {slot} of partition {lpar.name} is in use')
    seen: set[tuple[int, int]] = set()
    devices = []
    for n, bd in enumerate(backing, 1):
        key = (bd['sriov_adapter_id'], bd['port_id'])
        adapter, port = find_port(adapters, *key)
        if adapter is None:
            raise VnicRefused(400, f'backing device {n}: no SR-IOV adapter with '
                                   f'SRIOVAdapterID {key[0]}')
        if not adapter.usable:
            raise VnicRefused(400, f'backing device {n}: SR-IOV adapter {adapter.location_code}'
                                   f' is {adapter.state}/{adapter.mode}, not Running/Sriov')
        if port is None:
            raise VnicRefused(400, f'backing device {n}: SR-IOV adapter {adapter.location_code}'
                                   f' has no physical port {key[1]}')
        if key in seen:
            raise VnicRefused(400, f'backing device {n}: physical port {port.location_code} '
                                   'backs this vNIC twice; backing devices need distinct ports')
        seen.add(key)
        vios = state.vios(bd['vios_uuid'])
        if vios is None:
            raise VnicRefused(400, f'backing device {n}: no Virtual I/O Server '
                                   f'{bd["vios_uuid"]}')
        if (vios.state.lower() not in _ACTIVE_VIOS_STATES
                or vios.rmc_state.lower() not in _ACTIVE_RMC):
            raise VnicRefused(409, f'backing device {n}: Virtual I/O Server {vios.name} is '
                                   f'{vios.state} (RMC {vios.rmc_state}), not running')
        if port.free_vfs <= 0:
            raise VnicRefused(409, f'physical port {port.location_code} has no free virtual '
                                   f'function ({port.configured_vfs} of {port.max_vfs} used)')
        want = bd['capacity'] if bd['capacity'] is not None else port.granularity
        if want <= 0:
            raise VnicRefused(400, f'backing device {n}: capacity must be above 0%')
        if want % port.granularity:
            # The platform takes only multiples of the port's capacity granularity.
            raise VnicRefused(400, f'backing device {n}: CurrentCapacityPercentage '
                                   f'{want / 100}% is not a multiple of the capacity '
                                   f'granularity {port.granularity / 100}% of physical port '
                                   f'{port.location_code}')
        cap = want
        max_cap = FULL if bd['max_capacity'] is None else bd['max_capacity']
        if max_cap < cap:
            raise VnicRefused(400, f'backing device {n}: MaxCapacityPercentage '
                                   f'{max_cap / 100}% is below the capacity {cap / 100}%')
        if port.allocated + cap > FULL:
            raise VnicRefused(409, f'physical port {port.location_code} has '
                                   f'{port.remaining / 100}% capacity left; {cap / 100}% '
                                   'requested')
        pri = bd['failover_priority'] if bd['failover_priority'] is not None else 50
        if not 1 <= pri <= 100:
            raise VnicRefused(400, f'backing device {n}: FailOverPriority {pri} is outside '
                                   '1-100')
        devices.append(BackingDevice(
            vios_uuid=vios.uuid, sriov_adapter_id=key[0], port_id=key[1], capacity=cap,
            max_capacity=max_cap, lport_uuid=str(uuidlib.uuid4()), failover_priority=pri))
    if slot is None:
        slot = max(used | {1}) + 1
    if mac is None:
        mac = state.new_mac(taken)
    return Vnic(uuid=str(uuidlib.uuid4()), lpar_uuid=lpar.uuid, lpar_id=lpar.id, slot=slot,
                mac=mac, pvid=pvid, backing_devices=devices,
                allowed_vlans=req['allowed_vlans'], allowed_macs=req['allowed_macs'],
                auto_failback=req['auto_failback'], created_ms=int(time.time() * 1000))


def _consume(state: Any, vnic: Vnic, sign: int) -> None:
    for bd in vnic.backing_devices:
        _, port = find_port(state.sriov_adapters, bd.sriov_adapter_id, bd.port_id)
        if port is not None:
            port.allocated = min(FULL, max(0, port.allocated + sign * bd.capacity))
            port.configured_vfs = max(0, port.configured_vfs + sign)


# ---- REST --------------------------------------------------------------------
def _drc_prefix(state: Any) -> str:
    s = state.system
    return f'U{s.machine_type}.{s.model}.{s.serial}'


def _entry(host: Any, req: RestRequest, vnic: Vnic, standalone: bool = False) -> str:
    link = {(a.sriov_adapter_id, p.port_id): p.link_up
            for a in host.state.sriov_adapters for p in a.ports}
    content = render.render_vnic(vnic, base_url=req.base, sys_uuid=host.sys_uuid,
                                 drc_prefix=_drc_prefix(host.state), link_up=link)
    return atom.entry('VirtualNICDedicated', vnic.uuid, content,
                      self_href=req.base + render.vnic_path(vnic.lpar_uuid, vnic.uuid),
                      etag=host.state.etag(vnic.uuid), standalone=standalone)


def _xml_response(status: int, body: str, etag: str | None) -> RestResponse:
    headers = {'content-type': atom.CONTENT_TYPE}
    if etag is not None:
        headers['etag'] = etag
    return RestResponse(status=status, headers=headers, body=body.encode('utf-8'))


def _lpar_uri(host: Any, lpar_uuid: str) -> str:
    return f'/rest/api/uom/ManagedSystem/{host.sys_uuid}/LogicalPartition/{lpar_uuid}'


def handle_vnic(host: Any, req: RestRequest, lpar_uuid: str,
                vnic_uuid: str | None) -> RestResponse:
    """Serve ``/rest/api/uom/LogicalPartition/<lpar>/VirtualNICDedicated[/<vnic>]``."""
    uri = req.path
    with host.lock:
        state = host.state
        lpar = state.partition(lpar_uuid)
        if lpar is None:
            return http_error(404, uri, f'LogicalPartition {lpar_uuid} does not exist')
        vnic = None
        if vnic_uuid is not None:
            vnic = next((v for v in state.vnics if v.uuid.lower() == vnic_uuid.lower()
                         and v.lpar_uuid == lpar.uuid), None)
            if vnic is None:
                return http_error(404, uri, f'VirtualNICDedicated {vnic_uuid} does not exist '
                                            f'on partition {lpar.name}')
        method = req.method.upper()
        if method == 'GET':
            if vnic is not None:
                return _xml_response(200, _entry(host, req, vnic, standalone=True),
                                     state.etag(vnic.uuid))
            mine = [v for v in state.vnics if v.lpar_uuid == lpar.uuid]
            if not mine:
                return RestResponse(status=204, headers={}, body=b'')
            feed_id = sim_uuid('vnic-feed', lpar.uuid)
            body = rest.feed_document(req.base, host.sys_uuid,
                                      req.base + render.vnic_path(lpar.uuid),
                                      [_entry(host, req, v) for v in mine])
            return _xml_response(200, body, state.etag(feed_id))
        if method == 'PUT' and vnic is None:
            return _create(host, req, lpar)
        if method == 'DELETE' and vnic is not None:
            return _delete(host, req, lpar, vnic)
        return http_error(405, uri, f'{method} is not supported on {uri}')


def _create(host: Any, req: RestRequest, lpar: Any) -> RestResponse:
    state = host.state
    try:
        vnic = build_vnic(state, lpar, parse_vnic_request(req.body))
    except VnicRefused as e:
        return http_error(e.status, req.path, str(e))
    state.vnics.append(vnic)
    _committed(host, lpar, vnic, +1, 'ADD_URI')
    return _xml_response(200, _entry(host, req, vnic, standalone=True),
                         state.etag(vnic.uuid))


def _committed(host: Any, lpar: Any, vnic: Vnic, sign: int, event_type: str) -> None:
    """After a vNIC was added (+1) or removed (-1): port usage, etags, save, events."""
    state = host.state
    _consume(state, vnic, sign)
    state.touch(vnic.uuid, lpar.uuid, host.sys_uuid, sim_uuid('vnic-feed', lpar.uuid))
    host.save()
    host.emit(f'{_lpar_uri(host, lpar.uuid)}/VirtualNICDedicated/{vnic.uuid}', event_type, '')
    host.emit(_lpar_uri(host, lpar.uuid), 'MODIFY_URI', 'VirtualNICDedicated')
    host.emit(f'/rest/api/uom/ManagedSystem/{host.sys_uuid}', 'MODIFY_URI', '')


def _delete(host: Any, req: RestRequest, lpar: Any, vnic: Vnic) -> RestResponse:
    state = host.state
    if_match = req.headers.get('if-match')
    if if_match and if_match != '*' and if_match != state.etag(vnic.uuid):
        return http_error(412, req.path, f'etag {if_match} does not match the current etag '
                                         f'of VirtualNICDedicated {vnic.uuid}')
    state.vnics.remove(vnic)
    _committed(host, lpar, vnic, -1, 'DELETE_URI')
    return RestResponse(status=204, headers={}, body=b'')


# ---- helpers for the partition family ------------------------------------------------------
def release_partition_vnics(state: Any, lpar_uuid: str) -> list[Vnic]:
    """Drop a deleted partition's vNICs, freeing their capacity and VFs."""
    gone = [v for v in state.vnics if v.lpar_uuid.upper() == lpar_uuid.upper()]
    for vnic in gone:
        state.vnics.remove(vnic)
        _consume(state, vnic, -1)
    return gone


def vnic_slots(vnics: list[Vnic], lpar_uuid: str) -> set[int]:
    """Virtual slots the partition's vNICs occupy (for CNA slot allocation)."""
    return {v.slot for v in vnics if v.lpar_uuid.upper() == lpar_uuid.upper()}


def vnic_macs(vnics: list[Vnic]) -> set[str]:
    """MAC addresses the vNICs use (for MAC uniqueness across adapters)."""
    return {v.mac for v in vnics}
