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

"""REST handling of ClientNetworkAdapter under a partition or VIOS: feed, entry,
create (PUT), update (POST) and delete, with the platform's rules on VLANs,
virtual switches, MACs and slots."""

from __future__ import annotations

import re
import uuid as uuidlib

from lxml import etree

from powervm_sim import fields, model, rest
from powervm_sim import platform as const
from powervm_sim.events import ADD, DELETE, MODIFY
from powervm_sim.model import CNA, Partition
from powervm_sim.partitions import render
from powervm_sim.payloads import cna_href, part_href
from powervm_sim.rest import BadRequest, Host, RestRequest, RestResponse

_MAC_RE = re.compile(r'^[0-9A-F]{12}$')
KIND = 'ClientNetworkAdapter'
# EventDetail of the partition's MODIFY_URI when one of its adapters is added, changed or
# deleted: NovaLink names no property for it ("Other", see pypowervm's event_feed.txt).
PART_DETAIL = 'Other'


def handle(host: Host, req: RestRequest, kind: str, part: Partition,
           sub: list[str]) -> RestResponse:
    """``.../<kind>/<uuid>/ClientNetworkAdapter[/<uuid>]``."""
    st, base = host.state, req.base
    listed = st.adapters(part)
    if not sub:
        if req.method == 'GET':
            return rest.feed_response(req, host.sys_uuid, KIND, [
                (c.uuid, etag, host.cached(('cna', c.uuid, etag, part.id, base),
                                           lambda c=c: render.render_cna(st, base, part, c)))
                for c in listed for etag in [st.adapter_etag(part, c)]])
        if req.method == 'PUT':
            return _create(host, req, part)
        raise rest.not_allowed(req)
    if len(sub) != 1:
        raise BadRequest(f'unknown URI {req.path}', 404)
    cna = next((c for c in listed if c.uuid.lower() == sub[0].lower()), None)
    if cna is None:
        raise BadRequest(f'{KIND} {sub[0]} not found on {kind} {part.uuid}', 404)
    if req.method == 'GET':
        return rest.entry_response(req, KIND, cna.uuid, st.adapter_etag(part, cna),
                                   render.render_cna(st, base, part, cna))
    if cna.sea:
        raise BadRequest(f'{KIND} {cna.uuid} is trunk adapter {cna.dev_name} of SEA '
                         f'{cna.sea} on {part.name}: change it through its NetworkBridge')
    rest.check_if_match(req, st.etag(cna.uuid), f'{KIND} {cna.uuid}')
    if req.method == 'DELETE':
        part.cnas.remove(cna)
        host.commit(cna.uuid, part.uuid)
        host.emit(cna_href(base, part, cna), DELETE)
        host.emit(part_href(base, st, part), MODIFY, PART_DETAIL)
        return rest.NO_CONTENT
    if req.method == 'POST':
        return _update(host, req, part, cna)
    raise rest.not_allowed(req, f'{KIND} {cna.uuid}')


def _update(host: Host, req: RestRequest, part: Partition, cna: CNA) -> RestResponse:
    st = host.state
    root = rest.parse_body(req, KIND)
    pvid, vlans, vs_id = _network(host, root, cna.vswitch_id)
    mac = fields.text(root, 'MACAddress')
    if mac and mac.upper() != cna.mac:
        raise BadRequest(f'MACAddress of an existing adapter cannot be changed '
                         f'({cna.mac} -> {mac})')
    cna.pvid, cna.vlans, cna.vswitch_id = pvid, vlans, vs_id
    cna.enabled = fields.boolean(root, 'Enabled', cna.enabled)
    host.commit(cna.uuid, part.uuid)
    host.emit(cna_href(req.base, part, cna), MODIFY)
    host.emit(part_href(req.base, st, part), MODIFY, PART_DETAIL)
    return rest.entry_response(req, KIND, cna.uuid, st.etag(cna.uuid),
                               render.render_cna(st, req.base, part, cna))


def _network(host: Host, root: etree._Element, default_vs: int | None) -> tuple[int, list, int]:
    """(PVID, tagged VLANs, virtual switch id) of a CNA body."""
    st = host.state
    pvid = fields.vlan(fields.integer(root, 'PortVLANID', required=True), 'PortVLANID')
    vlans = fields.vlan_list(root, 'TaggedVLANIDs')
    if len(vlans) > const.MAX_VLANS_PER_TRUNK:
        raise BadRequest(f'TaggedVLANIDs has {len(vlans)} VLANs; at most '
                         f'{const.MAX_VLANS_PER_TRUNK} are allowed')
    if pvid in vlans:
        raise BadRequest(f'PortVLANID {pvid} is also in TaggedVLANIDs')
    link = root.find('{*}AssociatedVirtualSwitch/{*}link')
    if link is not None:
        vs = st.vswitch(fields.href_uuid(link.get('href')) or '')
        if vs is None:
            raise BadRequest(f'unknown virtual switch {link.get("href")!r}')
        return pvid, vlans, vs.switch_id
    vs_id = fields.integer(root, 'VirtualSwitchID', default_vs)
    if vs_id is None or st.vswitch_by_id(vs_id) is None:
        raise BadRequest(f'unknown virtual switch id {vs_id}')
    return pvid, vlans, vs_id


def _mac(host: Host, root: etree._Element, macs: set[str]) -> str:
    mac = fields.text(root, 'MACAddress')
    if not mac:
        return host.state.new_mac(macs)
    mac = mac.replace(':', '').upper()
    if not _MAC_RE.match(mac):
        raise BadRequest(f'MACAddress {mac!r} is not 12 hexadecimal digits')
    if mac in macs:
        raise BadRequest(f'MACAddress {mac} is already used by another adapter')
    return mac


def _slot(host: Host, root: etree._Element, part: Partition) -> int:
    st = host.state
    slot = fields.integer(root, 'VirtualSlotNumber')
    if slot is None:
        high = fields.boolean(root, 'UseNextAvailableHighSlotID', False)
        if not (high or fields.boolean(root, 'UseNextAvailableSlotID', False)):
            raise BadRequest('VirtualSlotNumber or UseNextAvailable(High)SlotID is required')
        slot = st.next_slot(part, high=high)
    elif slot in st.used_slots(part):
        raise BadRequest(f'virtual slot {slot} is already used on {part.name}')
    if not 2 <= slot <= 65535:
        raise BadRequest(f'virtual slot {slot} is not in 2-65535')
    return slot


def _create(host: Host, req: RestRequest, part: Partition) -> RestResponse:
    st = host.state
    root = rest.parse_body(req, KIND)
    pvid, vlans, vs_id = _network(host, root, None)
    mac = _mac(host, root, st.all_macs())
    slot = _slot(host, root, part)
    dev = fields.text(root, 'DeviceName') or ''
    if part.type == model.LPAR_TYPE_VIOS and not dev:
        dev = st.next_dev_name(part)
    cna = CNA(uuid=str(uuidlib.uuid4()), slot=slot, mac=mac, pvid=pvid, vlans=vlans,
              vswitch_id=vs_id, enabled=fields.boolean(root, 'Enabled', True),
              trunk_pri=fields.integer(root, 'TrunkPriority'), dev_name=dev)
    part.cnas.append(cna)
    host.commit(cna.uuid, part.uuid)
    host.emit(cna_href(req.base, part, cna), ADD)
    host.emit(part_href(req.base, st, part), MODIFY, PART_DETAIL)
    return rest.entry_response(req, KIND, cna.uuid, st.etag(cna.uuid),
                               render.render_cna(st, req.base, part, cna))
