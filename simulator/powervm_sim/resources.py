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

"""REST handling of the simulator's /rest/api/uom resources (``SimHost.handle``).

GET feeds/entries, PUT (create), POST (update, with If-Match) and DELETE,
etags, 304/404/405/412/415/400 answers and the platform rules of
``model.check_bridge``. The HTTP server (server.py) owns logon, sessions and
the Event API and calls ``SimHost.handle`` for everything else.
"""

from __future__ import annotations

import json
import logging
import pathlib
import re
import threading
import zlib
from collections.abc import Callable

from lxml import etree

from powervm_sim import model, payloads, scenarios, sriov, xmlsafe
from powervm_sim import platform as const
from powervm_sim.errors import http_error
from powervm_sim.model import (
    CNA,
    SEA,
    Bridge,
    HostState,
    Partition,
    RestRequest,
    RestResponse,
    Trunk,
)

__all__ = ['RestRequest', 'RestResponse', 'SimHost', 'BadRequest']

LOG = logging.getLogger(__name__)
ADD, MODIFY, DELETE = 'ADD_URI', 'MODIFY_URI', 'DELETE_URI'
_ATOM = {'content-type': 'application/atom+xml'}
_MAC_RE = re.compile(r'^[0-9A-F]{12}$')
_SEARCH_RE = re.compile(r"^\((\w+)(==|!=)'?([^']*)'?\)$")
_SYS_CHILDREN = ('VirtualIOServer', 'LogicalPartition', 'NetworkBridge', 'VirtualSwitch',
                 'VirtualNetwork')


class BadRequest(Exception):
    """A request the platform refuses; ``status`` defaults to 400."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _text(el: etree._Element, name: str) -> str | None:
    child = el.find('{*}' + name)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _int(el: etree._Element, name: str, default: int | None = None,
         required: bool = False) -> int | None:
    val = _text(el, name)
    if val is None or val == '':
        if required:
            raise BadRequest(f'{name} is required')
        return default
    try:
        return int(val)
    except ValueError:
        raise BadRequest(f'{name} {val!r} is not an integer') from None


def _vlan(val: int, what: str) -> int:
    if not const.MIN_VLAN <= val <= const.MAX_VLAN:
        raise BadRequest(f'{what} {val} is not a VLAN id in {const.MIN_VLAN}-{const.MAX_VLAN}')
    return val


def _vlan_list(el: etree._Element, name: str) -> list[int]:
    val = _text(el, name)
    if not val:
        return []
    out = []
    for tok in val.split():
        try:
            out.append(_vlan(int(tok), name))
        except ValueError:
            raise BadRequest(f'{name}: {tok!r} is not an integer VLAN id') from None
    return out


def _bool(el: etree._Element, name: str, default: bool) -> bool:
    val = _text(el, name)
    return default if val is None else val.lower() == 'true'


def _last_seg(href: str | None) -> str | None:
    if not href:
        return None
    return href.split('?')[0].rstrip('/').rsplit('/', 1)[-1]


def _feed_etag(etags: list[str]) -> str:
    crc = zlib.crc32(','.join(etags).encode())
    return str(crc - (1 << 32) if crc >= 1 << 31 else crc)


class SimHost:
    """One simulated NovaLink-managed host: state + REST semantics."""

    def __init__(self, state: HostState, state_dir: pathlib.Path | None = None):
        self.state = state
        self.state_dir = pathlib.Path(state_dir) if state_dir else None
        self.lock = threading.RLock()
        self.on_change: Callable[[str, str, str], None] | None = None
        self._events: list[tuple[str, str, str]] = []
        self._cache: dict[tuple, str] = {}
        self._base_url = 'http://127.0.0.1:12080'

    # ---- lifecycle --------------------------------------------------------------
    @classmethod
    def load(cls, scenario: str, state_dir: pathlib.Path | None) -> SimHost:
        """Host from ``state_dir/state.json`` if it exists, else from the scenario."""
        if state_dir is not None:
            path = pathlib.Path(state_dir) / 'state.json'
            if path.exists():
                return cls(HostState.load(path), state_dir)
        host = cls(scenarios.load_scenario(scenario), state_dir)
        host.save()
        return host

    @property
    def sys_uuid(self) -> str:
        return self.state.system.uuid

    def save(self) -> None:
        """Persist the state now (atomic), if there is a state directory."""
        if self.state_dir is None:
            return
        with self.lock:
            self.state.save(self.state_dir / 'state.json')

    def emit(self, uri: str, event_type: str, detail: str = '') -> None:
        """Queue a change event; delivered to ``on_change`` after the lock is released."""
        with self.lock:
            self._events.append((uri, event_type, detail))

    def _flush_events(self) -> None:
        with self.lock:
            events, self._events = self._events, []
        cb = self.on_change
        if cb is None:
            return
        for ev in events:
            try:
                cb(*ev)
            except Exception:  # a broken listener must not break the REST answer
                LOG.exception('on_change callback failed for %s', ev)

    def href(self, kind: str, uuid: str) -> str:
        """Absolute href (as events carry) of a ManagedSystem child object."""
        return payloads.child_href(self._base_url, self.state, kind, uuid)

    # ---- public helpers ---------------------------------------------------------
    def relabel_sriov_port(self, location_code: str, label: str) -> None:
        """Relabel an SR-IOV physical port; emits the ConfigChange event."""
        with self.lock:
            sriov.relabel_port(self.state.sriov_adapters, location_code, label)
            self.state.touch(self.sys_uuid)
            self.save()
            self.emit(payloads.sys_href(self._base_url, self.state), MODIFY,
                      const.SRIOV_PORT_CONFIG_CHANGE)
        self._flush_events()

    def snapshot(self) -> dict:
        """JSON-able summary of the host for ``powervm-sim inspect`` and tests."""
        with self.lock:
            st = self.state
            d = st.to_dict()
            sri = sriov.snapshot(st.sriov_adapters, st.vnics)

            def cnas(p: Partition) -> list[dict]:
                return [{'uuid': c.uuid, 'slot': c.slot, 'mac': c.mac, 'pvid': c.pvid,
                         'vswitch_id': c.vswitch_id, 'addl_vlans': list(c.vlans),
                         'enabled': c.enabled, 'trunk_pri': c.trunk_pri,
                         'dev_name': c.dev_name} for c in p.cnas]

            bridges = []
            for b in st.bridges:
                lgs = []
                for i, t in enumerate(b.seas[0].trunks):
                    tas = []
                    for s in b.seas:
                        vios = st.vios(s.vios_uuid)
                        for pt in s.trunks:
                            if pt.pvid == t.pvid:
                                tas.append({'vios': vios.name, 'sea': s.dev_name,
                                            'dev_name': pt.dev_name, 'pvid': pt.pvid,
                                            'vlans': list(pt.vlans), 'slot': pt.slot})
                    lgs.append({'pvid': t.pvid, 'primary': i == 0, 'trunk_adapters': tas})
                bridges.append({'uuid': b.uuid, 'vswitch_id': b.vswitch_id, 'pvid': b.pvid,
                                'failover': b.failover,
                                'seas': [{'vios': st.vios(s.vios_uuid).name,
                                          'dev_name': s.dev_name} for s in b.seas],
                                'load_groups': lgs})
            return {
                'system': d['system'],
                'vioses': [{'uuid': v.uuid, 'id': v.id, 'name': v.name, 'state': v.state,
                            'rmc_state': v.rmc_state, 'cnas': cnas(v)} for v in st.vioses],
                'bridges': bridges,
                'vswitches': d['vswitches'],
                'partitions': [{'uuid': p.uuid, 'id': p.id, 'name': p.name, 'type': p.type,
                                'state': p.state, 'is_mgmt': p.is_mgmt,
                                'openstack_managed': p.openstack_managed, 'cnas': cnas(p),
                                'vnics': [v for v in sri.get('vnics', [])
                                          if str(v.get('lpar_uuid', '')).upper() == p.uuid]}
                               for p in st.partitions],
                'sriov_adapters': sri.get('ports', []),
            }

    # ---- request entry point ----------------------------------------------------
    def handle(self, req: RestRequest) -> RestResponse:
        """Answer one REST request (thread-safe)."""
        try:
            with self.lock:
                self._base_url = req.base_url.rstrip('/')
                try:
                    resp = self._dispatch(req)
                except BadRequest as e:
                    resp = http_error(e.status, req.path, str(e))
                    self._events.clear()
        except Exception as e:  # never crash the server on a bug: answer 500
            LOG.exception('simulator failure on %s %s', req.method, req.path)
            return http_error(500, req.path, f'internal simulator error: {e}')
        self._flush_events()
        return resp

    def _dispatch(self, req: RestRequest) -> RestResponse:
        segs = [s for s in req.path.split('?')[0].split('/') if s]
        if segs[:2] != ['rest', 'api'] or len(segs) < 4 or segs[2] != 'uom':
            raise BadRequest(f'unknown URI {req.path}', 404)
        rest = segs[3:]
        if rest[0] == 'ManagedSystem':
            if len(rest) == 1:
                return self._system(req, feed=True)
            if rest[1].lower() != self.sys_uuid.lower():
                raise BadRequest(f'ManagedSystem {rest[1]} not found', 404)
            if len(rest) == 2:
                return self._system(req, feed=False)
            if rest[2] not in _SYS_CHILDREN:
                raise BadRequest(f'unknown URI {req.path}', 404)
            if rest[2] in ('VirtualIOServer', 'LogicalPartition'):
                return self._partitions(req, rest[2], rest[3:])
            return self._net_child(req, rest[2], rest[3:])
        if rest[0] in ('VirtualIOServer', 'LogicalPartition'):
            return self._partitions(req, rest[0], rest[1:])
        raise BadRequest(f'unknown URI {req.path}', 404)

    # ---- response helpers --------------------------------------------------------
    def _groups(self, req: RestRequest) -> set[str] | None:
        """Requested extended groups; None = server default (all)."""
        if 'group' not in req.query:
            return None
        return {g for v in req.query['group'] for g in v.split(',') if g}

    def _self_href(self, req: RestRequest) -> str:
        qs = '&'.join(f'{k}={v}' for k, vals in req.query.items() for v in vals)
        return self._base_url + req.path.split('?')[0] + (f'?{qs}' if qs else '')

    def _entry_resp(self, req: RestRequest, kind: str, uuid: str, etag: str, content: str,
                    status: int = 200) -> RestResponse:
        if req.method == 'GET' and req.headers.get('if-none-match') == etag:
            return RestResponse(304, {'etag': etag}, b'')
        self_href = self._self_href(req).split('?')[0]
        if not self_href.endswith('/' + uuid):
            # A create is PUT to the feed: the new entry's SELF link is its own URI.
            self_href = f'{self_href}/{uuid}'
        body = payloads.entry(kind, uuid, etag, self_href, content, True)
        return RestResponse(status, {**_ATOM, 'etag': etag}, body.encode('utf-8'))

    def _feed_resp(self, req: RestRequest, kind: str,
                   items: list[tuple[str, str, str]]) -> RestResponse:
        """items: (uuid, etag, content)."""
        if not items:
            return RestResponse(204, {}, b'')
        etag = _feed_etag([e for _u, e, _c in items])
        if req.headers.get('if-none-match') == etag:
            return RestResponse(304, {'etag': etag}, b'')
        self_href = self._self_href(req)
        base = self_href.split('?')[0]
        q = '?' + self_href.split('?', 1)[1] if '?' in self_href else ''
        entries = [payloads.entry(kind, u, e, f'{base}/{u}{q}', c, False) for u, e, c in items]
        body = payloads.feed(self_href, self._base_url, self.sys_uuid, entries)
        return RestResponse(200, {**_ATOM, 'etag': etag}, body.encode('utf-8'))

    def _check_if_match(self, req: RestRequest, etag: str, what: str) -> None:
        want = req.headers.get('if-match')
        if want is not None and want != etag:
            raise BadRequest(f'etag mismatch for {what}: If-Match {want} but the current '
                             f'etag is {etag}; re-read and retry', 412)

    def _parse(self, req: RestRequest, kind: str) -> etree._Element:
        ctype = req.headers.get('content-type', '')
        want = f'application/vnd.ibm.powervm.uom+xml; type={kind}'
        if ctype.replace(' ', '').split(';charset')[0] != want.replace(' ', ''):
            raise BadRequest(f'content type {ctype!r} is not supported here; expected '
                             f'{want!r}', 415)
        try:
            root = xmlsafe.parse(req.body)
        except xmlsafe.XMLError as e:
            raise BadRequest(f'bad {kind} body: {e}') from None
        if etree.QName(root).localname == 'entry':
            content = root.find('{*}content')
            if content is None or not len(content):
                raise BadRequest('Atom entry without content')
            root = content[0]
        if etree.QName(root).localname != kind:
            raise BadRequest(f'body element {etree.QName(root).localname!r} is not a {kind}')
        return root

    def _commit(self, *touched: str) -> None:
        self.state.touch(*touched)
        self.save()

    def _cached(self, key: tuple, render: Callable[[], str]) -> str:
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > 20000:
                self._cache.clear()
            hit = self._cache[key] = render()
        return hit

    # ---- ManagedSystem ------------------------------------------------------------
    def _system(self, req: RestRequest, feed: bool) -> RestResponse:
        if req.method != 'GET':
            raise BadRequest(f'{req.method} not allowed on {req.path}', 405)
        st = self.state
        content = payloads.render_system(st, self._base_url)
        etag = st.etag(st.system.uuid)
        if feed:
            return self._feed_resp(req, 'ManagedSystem', [(st.system.uuid, etag, content)])
        return self._entry_resp(req, 'ManagedSystem', st.system.uuid, etag, content)

    # ---- VirtualSwitch / VirtualNetwork / NetworkBridge --------------------------
    def _net_child(self, req: RestRequest, kind: str, sub: list[str]) -> RestResponse:
        st, base = self.state, self._base_url
        if kind == 'VirtualSwitch':
            items = [(v.uuid, st.etag(v.uuid), lambda v=v: payloads.render_vswitch(st, base, v))
                     for v in st.vswitches]
        elif kind == 'VirtualNetwork':
            items = [(u, st.etag(u),
                      lambda vs=vs, vl=vl, tg=tg: payloads.render_vnet(st, base, vs, vl, tg))
                     for u, vs, vl, tg in payloads.virtual_networks(st)]
        else:
            items = [(b.uuid, st.etag(b.uuid), lambda b=b: payloads.render_bridge(st, base, b))
                     for b in st.bridges]
        if not sub:
            if req.method != 'GET':
                raise BadRequest(f'{req.method} not allowed on {req.path}: the {kind}s of '
                                 f'this host are read-only here', 405)
            return self._feed_resp(req, kind, [(u, e, r()) for u, e, r in items])
        if len(sub) != 1:
            raise BadRequest(f'unknown URI {req.path}', 404)
        match = next((it for it in items if it[0].lower() == sub[0].lower()), None)
        if match is None:
            raise BadRequest(f'{kind} {sub[0]} not found', 404)
        uuid, etag, render = match
        if req.method == 'GET':
            return self._entry_resp(req, kind, uuid, etag, render())
        if kind == 'NetworkBridge' and req.method == 'POST':
            return self._update_bridge(req, st.bridge(uuid))
        raise BadRequest(f'{req.method} not allowed on {kind} {uuid}', 405)

    def _update_bridge(self, req: RestRequest, nb: Bridge) -> RestResponse:
        st = self.state
        self._check_if_match(req, st.etag(nb.uuid), f'NetworkBridge {nb.uuid}')
        root = self._parse(req, 'NetworkBridge')
        sea_els = root.findall('{*}SharedEthernetAdapters/{*}SharedEthernetAdapter')
        if len(sea_els) != len(nb.seas):
            raise BadRequest(f'NetworkBridge {nb.uuid} has {len(nb.seas)} SEA(s); the update '
                             f'has {len(sea_els)}: SEAs cannot be added or removed here')
        macs = st.all_macs()
        new_seas = []
        for sea_el in sea_els:
            new_seas.append(self._parse_sea(nb, sea_el, macs))
        candidate = Bridge(uuid=nb.uuid, seas=new_seas,
                           control_channel_id=nb.control_channel_id,
                           load_balance=nb.load_balance)
        err = model.check_bridge(candidate, others=st.bridges)
        if err:
            raise BadRequest(err)
        nb.seas = new_seas
        self._commit(nb.uuid, *[s.vios_uuid for s in nb.seas])
        self.emit(self.href('NetworkBridge', nb.uuid), MODIFY)
        for s in nb.seas:
            self.emit(self.href('VirtualIOServer', s.vios_uuid), MODIFY)
        return self._entry_resp(req, 'NetworkBridge', nb.uuid, st.etag(nb.uuid),
                                payloads.render_bridge(st, self._base_url, nb))

    def _parse_sea(self, nb: Bridge, sea_el: etree._Element, macs: set[str]) -> SEA:
        st = self.state
        vio_el = sea_el.find('{*}AssignedVirtualIOServer')
        vios_uuid = _last_seg(vio_el.get('href') if vio_el is not None else None)
        dev = _text(sea_el, 'DeviceName')
        cur = next((s for s in nb.seas if vios_uuid and s.vios_uuid.lower() == vios_uuid.lower()
                    and s.dev_name == dev), None)
        if cur is None:
            raise BadRequest(f'SEA {dev!r} on VIOS {vios_uuid!r} is not part of '
                             f'NetworkBridge {nb.uuid}')
        pvid = _int(sea_el, 'PortVLANID', cur.pvid)
        if pvid != cur.pvid:
            raise BadRequest(f'the primary load group PVID {cur.pvid} of SEA {dev} cannot be '
                             f'modified (got {pvid})')
        vios = st.vios(cur.vios_uuid)
        old = {t.slot: t for t in cur.trunks}
        trunks: list[Trunk] = []
        new: list[Trunk] = []
        for ta in sea_el.findall('{*}TrunkAdapters/{*}TrunkAdapter'):
            tpvid = _vlan(_int(ta, 'PortVLANID', required=True), 'PortVLANID')
            vlans = _vlan_list(ta, 'TaggedVLANIDs')
            vs_id = _int(ta, 'VirtualSwitchID')
            if vs_id is None:
                link = ta.find('{*}AssociatedVirtualSwitch/{*}link')
                vs = st.vswitch(_last_seg(link.get('href')) or '') if link is not None else None
                vs_id = vs.switch_id if vs else nb.vswitch_id
            if st.vswitch_by_id(vs_id) is None:
                raise BadRequest(f'unknown virtual switch id {vs_id}')
            slot = _int(ta, 'VirtualSlotNumber')
            pri = _int(ta, 'TrunkPriority', 1)
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
        # Slots/devices/MACs for the new trunk adapters (next available high slot).
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
        trunks.sort(key=lambda t: t.pvid != cur.pvid)  # primary first, order kept
        if not trunks or trunks[0].pvid != cur.pvid:
            raise BadRequest(f'the primary load group (PVID {cur.pvid}) of SEA {dev} cannot be '
                             f'removed')
        return SEA(dev_name=cur.dev_name, vios_uuid=cur.vios_uuid, pvid=cur.pvid,
                   trunks=trunks, backing_dev=cur.backing_dev, backing_loc=cur.backing_loc,
                   control_channel=cur.control_channel, ha_mode=cur.ha_mode,
                   is_primary=cur.is_primary)

    # ---- LogicalPartition / VirtualIOServer ---------------------------------------
    def _parts(self, kind: str) -> list[Partition]:
        return self.state.vioses if kind == 'VirtualIOServer' else self.state.partitions

    def _render_part(self, kind: str, p: Partition, groups: set[str] | None) -> str:
        st, base = self.state, self._base_url
        if kind == 'VirtualIOServer':
            net = groups is None or bool(groups & {'ViosNetwork', 'All'})
            return self._cached(('vios', p.uuid, st.etag(p.uuid), base, net),
                                lambda: payloads.render_vios(st, base, p, net))
        return self._cached(('lpar', p.uuid, st.etag(p.uuid), base),
                            lambda: payloads.render_lpar(st, base, p))

    def _part_feed(self, req: RestRequest, kind: str, parts: list[Partition]) -> RestResponse:
        groups = self._groups(req)
        return self._feed_resp(req, kind, [(p.uuid, self.state.etag(p.uuid),
                                            self._render_part(kind, p, groups)) for p in parts])

    def _partitions(self, req: RestRequest, kind: str, sub: list[str]) -> RestResponse:
        st = self.state
        parts = self._parts(kind)
        if not sub:
            if req.method == 'GET':
                return self._part_feed(req, kind, parts)
            if req.method == 'PUT' and kind == 'LogicalPartition':
                return self._create_lpar(req)
            raise BadRequest(f'{req.method} not allowed on {req.path}', 405)
        if sub[0] == 'search':
            if req.method != 'GET' or len(sub) != 2:
                raise BadRequest(f'unknown URI {req.path}', 404)
            return self._part_feed(req, kind, self._search(parts, sub[1]))
        part = next((p for p in parts if p.uuid == sub[0].upper()), None)
        if part is None:
            raise BadRequest(f'{kind} {sub[0]} not found', 404)
        if len(sub) == 1:
            if req.method == 'GET':
                return self._entry_resp(req, kind, part.uuid, st.etag(part.uuid),
                                        self._render_part(kind, part, self._groups(req)))
            if req.method == 'DELETE' and kind == 'LogicalPartition':
                return self._delete_lpar(req, part)
            raise BadRequest(f'{req.method} not allowed on {kind} {part.uuid}', 405)
        if sub[1] == 'quick' and req.method == 'GET':
            return self._quick(part, sub[2:])
        if sub[1] == 'ClientNetworkAdapter':
            return self._cnas(req, kind, part, sub[2:])
        if sub[1] == 'VirtualNICDedicated' and kind == 'LogicalPartition':
            return sriov.handle_vnic(self, req, part.uuid, sub[2] if len(sub) > 2 else None)
        raise BadRequest(f'unknown URI {req.path}', 404)

    @staticmethod
    def _search(parts: list[Partition], expr: str) -> list[Partition]:
        m = _SEARCH_RE.match(expr.replace('%27', "'"))
        if not m:
            raise BadRequest(f'malformed search expression {expr!r}')
        key, op, val = m.groups()
        getters = {'PartitionName': lambda p: p.name, 'PartitionID': lambda p: str(p.id),
                   'PartitionUUID': lambda p: p.uuid}
        if key not in getters:
            raise BadRequest(f'unsupported search key {key!r}')
        from urllib.parse import unquote
        val = unquote(val)
        return [p for p in parts if (getters[key](p) == val) == (op == '==')]

    @staticmethod
    def _quick(part: Partition, sub: list[str]) -> RestResponse:
        props = {'PartitionName': part.name, 'PartitionID': part.id,
                 'PartitionState': part.state, 'PartitionType': part.type,
                 'PartitionUUID': part.uuid, 'ResourceMonitoringControlState': part.rmc_state,
                 'IsManagementPartition': part.is_mgmt}
        if not sub:
            body = json.dumps(props)
        elif len(sub) == 1 and sub[0] in props:
            body = json.dumps(props[sub[0]])
        else:
            raise BadRequest(f'unknown quick property {"/".join(sub)!r}', 404)
        return RestResponse(200, {'content-type': 'application/json'}, body.encode())

    def _create_lpar(self, req: RestRequest) -> RestResponse:
        st = self.state
        root = self._parse(req, 'LogicalPartition')
        name = _text(root, 'PartitionName')
        if not name:
            raise BadRequest('PartitionName is required')
        if any(p.name == name for p in st.partitions + st.vioses):
            raise BadRequest(f'a partition named {name!r} already exists')
        ptype = _text(root, 'PartitionType') or model.LPAR_TYPE_AIX
        if ptype not in model.PARTITION_TYPES:
            raise BadRequest(f'PartitionType {ptype!r} is not one of '
                             f'{", ".join(model.PARTITION_TYPES)}')
        pid = _int(root, 'PartitionID') or st.next_partition_id()
        if any(p.id == pid for p in st.partitions + st.vioses):
            raise BadRequest(f'partition id {pid} is already used')
        import uuid as uuidlib
        u = str(uuidlib.uuid4())
        part = Partition(uuid=(str(int(u[0], 16) & 7) + u[1:]).upper(), id=pid, name=name,
                         type=ptype, state='not activated', rmc_state='inactive')
        st.partitions.append(part)
        self._commit(part.uuid, self.sys_uuid)
        self.emit(self.href('LogicalPartition', part.uuid), ADD)
        return self._entry_resp(req, 'LogicalPartition', part.uuid, st.etag(part.uuid),
                                payloads.render_lpar(st, self._base_url, part))

    def _delete_lpar(self, req: RestRequest, part: Partition) -> RestResponse:
        st = self.state
        self._check_if_match(req, st.etag(part.uuid), f'LogicalPartition {part.uuid}')
        if part.is_mgmt:
            raise BadRequest(f'the management partition {part.name} cannot be deleted')
        st.partitions.remove(part)
        sriov.release_partition_vnics(st, part.uuid)
        self._commit(part.uuid, self.sys_uuid)
        self.emit(self.href('LogicalPartition', part.uuid), DELETE)
        return RestResponse(204, {}, b'')

    # ---- ClientNetworkAdapter -------------------------------------------------------
    def _cnas(self, req: RestRequest, kind: str, part: Partition,
              sub: list[str]) -> RestResponse:
        st, base = self.state, self._base_url
        if not sub:
            if req.method == 'GET':
                return self._feed_resp(req, 'ClientNetworkAdapter', [
                    (c.uuid, st.etag(c.uuid), self._cached(
                        ('cna', c.uuid, st.etag(c.uuid), part.id, base),
                        lambda c=c: payloads.render_cna(st, base, part, c)))
                    for c in part.cnas])
            if req.method == 'PUT':
                return self._create_cna(req, part)
            raise BadRequest(f'{req.method} not allowed on {req.path}', 405)
        if len(sub) != 1:
            raise BadRequest(f'unknown URI {req.path}', 404)
        cna = next((c for c in part.cnas if c.uuid.lower() == sub[0].lower()), None)
        if cna is None:
            raise BadRequest(f'ClientNetworkAdapter {sub[0]} not found on {kind} '
                             f'{part.uuid}', 404)
        if req.method == 'GET':
            return self._entry_resp(req, 'ClientNetworkAdapter', cna.uuid, st.etag(cna.uuid),
                                    payloads.render_cna(st, base, part, cna))
        self._check_if_match(req, st.etag(cna.uuid), f'ClientNetworkAdapter {cna.uuid}')
        href = payloads.cna_href(base, part, cna)
        if req.method == 'DELETE':
            part.cnas.remove(cna)
            self._commit(cna.uuid, part.uuid)
            self.emit(href, DELETE)
            self.emit(self._part_href(part), MODIFY)
            return RestResponse(204, {}, b'')
        if req.method == 'POST':
            root = self._parse(req, 'ClientNetworkAdapter')
            pvid, vlans, vs_id = self._cna_net(root, cna.vswitch_id)
            mac = _text(root, 'MACAddress')
            if mac and mac.upper() != cna.mac:
                raise BadRequest(f'MACAddress of an existing adapter cannot be changed '
                                 f'({cna.mac} -> {mac})')
            cna.pvid, cna.vlans, cna.vswitch_id = pvid, vlans, vs_id
            cna.enabled = _bool(root, 'Enabled', cna.enabled)
            self._commit(cna.uuid, part.uuid)
            self.emit(href, MODIFY)
            return self._entry_resp(req, 'ClientNetworkAdapter', cna.uuid, st.etag(cna.uuid),
                                    payloads.render_cna(st, base, part, cna))
        raise BadRequest(f'{req.method} not allowed on ClientNetworkAdapter {cna.uuid}', 405)

    def _part_href(self, part: Partition) -> str:
        kind = 'VirtualIOServer' if part.type == model.LPAR_TYPE_VIOS else 'LogicalPartition'
        return self.href(kind, part.uuid)

    def _cna_net(self, root: etree._Element, default_vs: int | None) -> tuple[int, list, int]:
        st = self.state
        pvid = _vlan(_int(root, 'PortVLANID', required=True), 'PortVLANID')
        vlans = _vlan_list(root, 'TaggedVLANIDs')
        if len(vlans) > const.MAX_VLANS_PER_TRUNK:
            raise BadRequest(f'TaggedVLANIDs has {len(vlans)} VLANs; at most '
                             f'{const.MAX_VLANS_PER_TRUNK} are allowed')
        if pvid in vlans:
            raise BadRequest(f'PortVLANID {pvid} is also in TaggedVLANIDs')
        link = root.find('{*}AssociatedVirtualSwitch/{*}link')
        if link is not None:
            vs = st.vswitch(_last_seg(link.get('href')) or '')
            if vs is None:
                raise BadRequest(f'unknown virtual switch {link.get("href")!r}')
            vs_id = vs.switch_id
        else:
            vs_id = _int(root, 'VirtualSwitchID', default_vs)
            if vs_id is None or st.vswitch_by_id(vs_id) is None:
                raise BadRequest(f'unknown virtual switch id {vs_id}')
        return pvid, vlans, vs_id

    def _create_cna(self, req: RestRequest, part: Partition) -> RestResponse:
        st = self.state
        root = self._parse(req, 'ClientNetworkAdapter')
        pvid, vlans, vs_id = self._cna_net(root, None)
        mac = _text(root, 'MACAddress')
        macs = st.all_macs()
        if mac:
            mac = mac.replace(':', '').upper()
            if not _MAC_RE.match(mac):
                raise BadRequest(f'MACAddress {mac!r} is not 12 hexadecimal digits')
            if mac in macs:
                raise BadRequest(f'MACAddress {mac} is already used by another adapter')
        else:
            mac = st.new_mac(macs)
        slot = _int(root, 'VirtualSlotNumber')
        if slot is None:
            high = _bool(root, 'UseNextAvailableHighSlotID', False)
            if not (high or _bool(root, 'UseNextAvailableSlotID', False)):
                raise BadRequest('VirtualSlotNumber or UseNextAvailable(High)SlotID is '
                                 'required')
            slot = st.next_slot(part, high=high)
        elif slot in st.used_slots(part):
            raise BadRequest(f'virtual slot {slot} is already used on {part.name}')
        if not 2 <= slot <= 65535:
            raise BadRequest(f'virtual slot {slot} is not in 2-65535')
        import uuid as uuidlib
        trunk_pri = _int(root, 'TrunkPriority')
        dev = _text(root, 'DeviceName') or ''
        if part.type == model.LPAR_TYPE_VIOS and not dev:
            dev = st.next_dev_name(part)
        cna = CNA(uuid=str(uuidlib.uuid4()), slot=slot, mac=mac, pvid=pvid, vlans=vlans,
                  vswitch_id=vs_id, enabled=_bool(root, 'Enabled', True),
                  trunk_pri=trunk_pri, dev_name=dev)
        part.cnas.append(cna)
        self._commit(cna.uuid, part.uuid)
        self.emit(payloads.cna_href(self._base_url, part, cna), ADD)
        self.emit(self._part_href(part), MODIFY)
        return self._entry_resp(req, 'ClientNetworkAdapter', cna.uuid, st.etag(cna.uuid),
                                payloads.render_cna(st, self._base_url, part, cna))
