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

"""REST handling of VirtualSwitch, VirtualNetwork (read-only) and NetworkBridge
(GET, and POST to change load groups, trunk adapters and VLANs under the
platform's rules)."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from powervm_sim import fields, rest
from powervm_sim.events import MODIFY
from powervm_sim.model import SEA, Bridge, Trunk
from powervm_sim.network import render, rules
from powervm_sim.payloads import child_href
from powervm_sim.rest import BadRequest, Host, RestRequest, RestResponse

KINDS = ('VirtualSwitch', 'VirtualNetwork', 'NetworkBridge')


def _items(host: Host, base: str, kind: str) -> list[tuple[str, str, Callable[[], str]]]:
    """(uuid, etag, render) of every object of ``kind``."""
    st = host.state
    if kind == 'VirtualSwitch':
        return [(v.uuid, st.etag(v.uuid), lambda v=v: render.render_vswitch(st, base, v))
                for v in st.vswitches]
    if kind == 'VirtualNetwork':
        return [(u, st.etag(u),
                 lambda vs=vs, vl=vl, tg=tg: render.render_vnet(st, base, vs, vl, tg))
                for u, vs, vl, tg in render.virtual_networks(st)]
    return [(b.uuid, st.etag(b.uuid), lambda b=b: render.render_bridge(st, base, b))
            for b in st.bridges]


def handle(host: Host, req: RestRequest, kind: str, sub: list[str]) -> RestResponse:
    """``.../ManagedSystem/<uuid>/<kind>[/<uuid>]``."""
    items = _items(host, req.base, kind)
    if not sub:
        if req.method != 'GET':
            raise BadRequest(f'{req.method} not allowed on {req.path}: the {kind}s of '
                             f'this host are read-only here', 405)
        return rest.feed_response(req, host.sys_uuid, kind, [(u, e, r()) for u, e, r in items])
    if len(sub) != 1:
        raise BadRequest(f'unknown URI {req.path}', 404)
    match = next((it for it in items if it[0].lower() == sub[0].lower()), None)
    if match is None:
        raise rest.not_found(f'{kind} {sub[0]}')
    uuid, etag, render_one = match
    if req.method == 'GET':
        return rest.entry_response(req, kind, uuid, etag, render_one())
    if kind == 'NetworkBridge' and req.method == 'POST':
        return _update_bridge(host, req, host.state.bridge(uuid))
    raise rest.not_allowed(req, f'{kind} {uuid}')


def _update_bridge(host: Host, req: RestRequest, nb: Bridge) -> RestResponse:
    st = host.state
    rest.check_if_match(req, st.etag(nb.uuid), f'NetworkBridge {nb.uuid}')
    root = rest.parse_body(req, 'NetworkBridge')
    sea_els = root.findall('{*}SharedEthernetAdapters/{*}SharedEthernetAdapter')
    if len(sea_els) != len(nb.seas):
        raise BadRequest(f'NetworkBridge {nb.uuid} has {len(nb.seas)} SEA(s); the update '
                         f'has {len(sea_els)}: SEAs cannot be added or removed here')
    macs = st.all_macs()
    new_seas = [_parse_sea(host, nb, sea_el, macs) for sea_el in sea_els]
    candidate = Bridge(uuid=nb.uuid, seas=new_seas, control_channel_id=nb.control_channel_id,
                       load_balance=nb.load_balance)
    err = rules.check_bridge(candidate, others=st.bridges)
    if err:
        raise BadRequest(err)
    nb.seas = new_seas
    host.commit(nb.uuid, *[s.vios_uuid for s in nb.seas])
    host.emit(child_href(req.base, st, 'NetworkBridge', nb.uuid), MODIFY)
    for s in nb.seas:
        host.emit(child_href(req.base, st, 'VirtualIOServer', s.vios_uuid), MODIFY, 'Other')
    return rest.entry_response(req, 'NetworkBridge', nb.uuid, st.etag(nb.uuid),
                               render.render_bridge(st, req.base, nb))


def _trunk_vswitch(host: Host, ta: etree._Element, default: int) -> int:
    st = host.state
    vs_id = fields.integer(ta, 'VirtualSwitchID')
    if vs_id is None:
        link = ta.find('{*}AssociatedVirtualSwitch/{*}link')
        vs = st.vswitch(fields.href_uuid(link.get('href')) or '') if link is not None else None
        vs_id = vs.switch_id if vs else default
    if st.vswitch_by_id(vs_id) is None:
        raise BadRequest(f'unknown virtual switch id {vs_id}')
    return vs_id


def _parse_sea(host: Host, nb: Bridge, sea_el: etree._Element, macs: set[str]) -> SEA:
    """The SEA an update asks for: kept trunk adapters by slot, new ones allocated."""
    st = host.state
    vio_el = sea_el.find('{*}AssignedVirtualIOServer')
    vios_uuid = fields.href_uuid(vio_el.get('href') if vio_el is not None else None)
    dev = fields.text(sea_el, 'DeviceName')
    cur = next((s for s in nb.seas if vios_uuid and s.vios_uuid.lower() == vios_uuid.lower()
                and s.dev_name == dev), None)
    if cur is None:
        raise BadRequest(f'SEA {dev!r} on VIOS {vios_uuid!r} is not part of '
                         f'NetworkBridge {nb.uuid}')
    pvid = fields.integer(sea_el, 'PortVLANID', cur.pvid)
    if pvid != cur.pvid:
        raise BadRequest(f'the primary load group PVID {cur.pvid} of SEA {dev} cannot be '
                         f'modified (got {pvid})')
    vios = st.vios(cur.vios_uuid)
    old = {t.slot: t for t in cur.trunks}
    trunks: list[Trunk] = []
    new: list[Trunk] = []
    for ta in sea_el.findall('{*}TrunkAdapters/{*}TrunkAdapter'):
        tpvid = fields.vlan(fields.integer(ta, 'PortVLANID', required=True), 'PortVLANID')
        vlans = fields.vlan_list(ta, 'TaggedVLANIDs')
        vs_id = _trunk_vswitch(host, ta, nb.vswitch_id)
        slot = fields.integer(ta, 'VirtualSlotNumber')
        pri = fields.integer(ta, 'TrunkPriority', 1)
        if slot is not None:
            if slot not in old:
                raise BadRequest(f'SEA {dev} on {vios.name} has no trunk adapter in '
                                 f'slot {slot}')
            t = old.pop(slot)
            trunks.append(Trunk(slot=t.slot, pvid=tpvid, vlans=vlans, vswitch_id=vs_id,
                                dev_name=t.dev_name, mac=t.mac, trunk_pri=pri,
                                required=t.required))
        else:
            t = Trunk(slot=0, pvid=tpvid, vlans=vlans, vswitch_id=vs_id, dev_name='',
                      mac='', trunk_pri=pri)
            trunks.append(t)
            new.append(t)
    _allocate(host, cur, trunks, new, macs)
    trunks.sort(key=lambda t: t.pvid != cur.pvid)  # primary first, order kept
    if not trunks or trunks[0].pvid != cur.pvid:
        raise BadRequest(f'the primary load group (PVID {cur.pvid}) of SEA {dev} cannot be '
                         f'removed')
    return SEA(dev_name=cur.dev_name, vios_uuid=cur.vios_uuid, pvid=cur.pvid,
               trunks=trunks, backing_dev=cur.backing_dev, backing_loc=cur.backing_loc,
               control_channel=cur.control_channel, ha_mode=cur.ha_mode,
               is_primary=cur.is_primary)


def _allocate(host: Host, cur: SEA, trunks: list[Trunk], new: list[Trunk],
              macs: set[str]) -> None:
    """Slots (next available high slot), device names and MACs for new trunk adapters."""
    st = host.state
    vios = st.vios(cur.vios_uuid)
    used = {t.slot for t in trunks} | {c.slot for c in vios.cnas}
    for s in st.seas_of(vios.uuid):
        if s is not cur:
            used.update(t.slot for t in s.trunks)
    names = {t.dev_name for t in trunks}
    for t in new:
        t.slot = max(used | {1}) + 1
        used.add(t.slot)
        t.dev_name = st.next_dev_name(vios, taken=names)
        names.add(t.dev_name)
        t.mac = st.new_mac(macs)
        macs.add(t.mac)
