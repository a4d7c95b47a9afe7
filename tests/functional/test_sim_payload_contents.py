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

"""Beyond top-level elements: which adapters a list holds, nested elements and
values, against pypowervm's captures (cna_feed.txt: a VIOS's adapter list holds
its SEA trunk adapter; fake_cna.txt: a client partition's trunk adapter, PVID
100, tagged 53-55; nbbr_network_bridge*.txt, fake_vios*.txt: nested shapes)."""

import pytest
from lxml import etree
from pypowervm import adapter as pvm_adpt
from pypowervm.tasks import network_bridger as bridger
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import logical_partition as lp
from pypowervm.wrappers import managed_system as ms
from pypowervm.wrappers import network as pnet
from pypowervm.wrappers import virtual_io_server as pvios

from powervm_sim.resources import RestRequest, SimHost
from tests.unit.simulator.fake_session import BASE, adapter_for

U = '/rest/api/uom'
_A = '{http://www.w3.org/2005/Atom}'


def capture(name):
    return pvmhttp.load_pvm_resp(name).get_response()


def _sim_body(host, path, query=None):
    r = host.handle(RestRequest('GET', path, query or {}, {}, b'', BASE))
    assert r.status == 200, r.body
    return r.body


def _contents(body):
    root = etree.fromstring(body.encode() if isinstance(body, str) else body)
    entries = root.findall(_A + 'entry') if root.tag == _A + 'feed' else [root]
    return [e.find(_A + 'content')[0] for e in entries]


def _tags(el):
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def _child_orders(contents):
    """{element path: every child-name list seen there} below the content roots."""
    out = {}

    def walk(el, path):
        key = f'{path}/{etree.QName(el).localname}'
        out.setdefault(key, []).append(_tags(el))
        for child in el:
            if isinstance(child.tag, str):
                walk(child, key)
    for c in contents:
        walk(c, '')
    return out


def _trunk_cnas(adpt, vios):
    return [c for c in pnet.CNA.get(adpt, parent=vios) if c.is_trunk]


def _key(a):
    """What a trunk adapter is, read alike from a TrunkAdapter and from a CNA wrapper."""
    slot = a.slot if isinstance(a, pnet.CNA) else a.virtual_slot_number
    return (slot, a._get_val_str('MACAddress'), a.pvid, sorted(a.tagged_vlans),
            a.vswitch_id, a.trunk_pri, a.loc_code)


# ---- which adapters a list holds --------------------------------------------------
def test_capture_vios_adapter_list_holds_its_sea_trunk_adapter():
    """What the simulator must match: NovaLink lists a VIOS's SEA trunk adapter."""
    cnas = pnet.CNA.wrap(capture('cna_feed.txt'))
    assert [(c.slot, c.pvid, c.is_trunk, c.trunk_pri) for c in cnas] == [
        (3, 1, True, 1), (6, 4094, False, None)]


@pytest.mark.parametrize('scenario', ['single', 'redundant', 'two-bridges'])
def test_vios_adapter_list_holds_each_sea_trunk_adapter(scenario):
    host = SimHost.load(scenario, None)
    adpt = adapter_for(host)
    bridges = pnet.NetBridge.get(adpt, parent_type=ms.System, parent_uuid=host.sys_uuid)
    for vios in pvios.VIOS.get(adpt, xag=[]):
        seas = [s for nb in bridges for s in nb.seas if s.vio_uri.endswith(vios.uuid)]
        trunks = [t for s in seas for t in [s.primary_adpt] + list(s.addl_adpts)]
        assert trunks, vios.name
        assert sorted(_key(c) for c in _trunk_cnas(adpt, vios)) == sorted(
            _key(t) for t in trunks)
        listed = {c.uuid for c in pnet.CNA.get(adpt, parent=vios)}
        linked = {h.rsplit('/', 1)[1] for h in vios.get_href('ClientNetworkAdapters/link')}
        assert listed == linked  # the VIOS's ClientNetworkAdapters links name the same


def test_a_new_sea_trunk_adapter_is_listed_and_changes_the_feed_etag():
    host = SimHost.load('single', None)
    adpt = adapter_for(host)
    vios = pvios.VIOS.get(adpt, xag=[])[0]
    path = f'{U}/VirtualIOServer/{vios.uuid}/ClientNetworkAdapter'
    before = host.handle(RestRequest('GET', path, {}, {}, b'', BASE)).headers['etag']
    nb = pnet.NetBridge.get(adpt, parent_type=ms.System, parent_uuid=host.sys_uuid)[0]
    bridger.ensure_vlans_on_nb(adpt, host.sys_uuid, nb.uuid, [1234])
    after = host.handle(RestRequest('GET', path, {'group': ['None']},
                                    {'if-none-match': before}, b'', BASE))
    assert after.status == 200 and after.headers['etag'] != before
    assert any(1234 in c.tagged_vlans or c.pvid == 1234 for c in _trunk_cnas(adpt, vios))


def test_sea_trunk_adapters_change_only_through_their_bridge():
    host = SimHost.load('single', None)
    vios = host.state.vioses[0]
    cna = next(c for c in host.state.adapters(vios) if c.sea)
    path = f'{U}/VirtualIOServer/{vios.uuid}/ClientNetworkAdapter/{cna.uuid}'
    got = host.handle(RestRequest('GET', path, {}, {}, b'', BASE))
    assert got.status == 200
    resp = host.handle(RestRequest('DELETE', path, {}, {}, b'', BASE))
    assert resp.status == 400 and b'through its NetworkBridge' in resp.body
    assert cna.uuid in {c.uuid for c in host.state.adapters(vios)}


# ---- a client partition's trunk adapter (fake_cna.txt) -----------------------------------
def _values(c):
    return (c.pvid, c.tagged_vlans, c.is_trunk, c.trunk_pri, c.vswitch_id,
            c.is_tagged_vlan_supported, c.enabled)


def test_client_partition_trunk_adapter_as_the_capture():
    ref = pnet.CNA.wrap(capture('fake_cna.txt'))
    assert _values(ref) == (100, [53, 54, 55], True, 1, 0, True, True)
    host = SimHost.load('novalink-ovs', None)
    adpt = adapter_for(host)
    nl = next(w for w in lp.LPAR.get(adpt) if w.is_mgmt_partition)
    [cna] = pnet.CNA.get(adpt, parent=nl)
    assert _values(cna) == _values(ref) and cna.slot == ref.slot == 32
    ours = _contents(_sim_body(host, f'{U}/LogicalPartition/{nl.uuid}/ClientNetworkAdapter'))
    theirs = _contents(capture('fake_cna.txt').body)
    mine, cap = _tags(ours[0]), _tags(theirs[0])
    assert set(mine) <= set(cap)
    assert [t for t in cap if t in mine] == mine  # same elements, the capture's order


def test_vios_trunk_adapter_entry_as_the_capture():
    theirs = next(c for c in _contents(capture('cna_feed.txt').body)
                  if c.find('{*}TrunkPriority') is not None)
    host = SimHost.load('single', None)
    vios = host.state.vioses[0]
    ours = next(c for c in _contents(_sim_body(
        host, f'{U}/VirtualIOServer/{vios.uuid}/ClientNetworkAdapter'))
        if c.find('{*}TrunkPriority') is not None)
    cap = _tags(theirs)
    mine = [t for t in _tags(ours) if t in cap]
    assert len(mine) >= 10 and mine == [t for t in cap if t in mine]
    for name in ('TaggedVLANSupported', 'TrunkPriority', 'PortVLANID', 'VirtualSwitchID'):
        assert ours.find('{*}' + name).text == theirs.find('{*}' + name).text, name
    assert ours.find('{*}TaggedVLANIDs') is not None  # present even when empty, as there


# ---- nested elements -------------------------------------------------------------------
_NESTED = [
    ('NetworkBridge', ['nbbr_network_bridge.txt', 'nbbr_network_bridge_failover.txt'],
     lambda h: f'{U}/ManagedSystem/{h.sys_uuid}/NetworkBridge', {}),
    ('VirtualIOServer', ['fake_vios_feed.txt', 'fake_vios.txt', 'fake_vios_feed2.txt'],
     lambda h: f'{U}/ManagedSystem/{h.sys_uuid}/VirtualIOServer', {'group': ['ViosNetwork']}),
    ('ManagedSystem', ['sys_with_sriov.txt', 'managedsystem.txt'],
     lambda h: f'{U}/ManagedSystem', {}),
]


@pytest.mark.parametrize('kind,captures,path,query', _NESTED, ids=[k[0] for k in _NESTED])
def test_nested_elements_in_the_captures_order(kind, captures, path, query):
    """Below the top level too (SEAs, load groups, trunk adapters, backing devices,
    capabilities): each element's children keep the order the captures show."""
    host = SimHost.load('redundant', None)
    mine = _child_orders(_contents(_sim_body(host, path(host), query)))
    theirs = {}
    for name in captures:
        for p, lists in _child_orders(_contents(capture(name).body)).items():
            theirs.setdefault(p, []).extend(lists)
    nested = [p for p in mine if p.count('/') >= 3 and p in theirs]
    assert len(nested) >= 3, sorted(mine)
    def order(names, among):
        return list(dict.fromkeys(t for t in names if t in among))
    bad = {}
    for p in nested:
        for ours in mine[p]:
            ok = any(order(cap, ours) == order(ours, cap)
                     and len(set(ours) & set(cap)) >= min(2, len(set(ours)))
                     for cap in theirs[p])
            if not ok:
                bad[p] = (ours, theirs[p][0])
    assert bad == {}


def test_load_group_values_agree_across_bridge_vios_and_networks():
    host = SimHost.load('two-bridges', None)
    adpt = adapter_for(host)
    nbs = pnet.NetBridge.get(adpt, parent_type=ms.System, parent_uuid=host.sys_uuid)
    vios = {v.uuid: v for v in pvios.VIOS.get(adpt, xag=[pvios.VIOS.xags.NETWORK])}
    for nb in nbs:
        for lg in nb.load_grps:
            ta = lg.trunk_adapters[0]
            assert len(lg.vnet_uri_list) == 1 + len(ta.tagged_vlans)
            assert lg.pvid == ta.pvid
        for sea in nb.seas:
            on_vios = {t.dev_name: _key(t)
                       for t in vios[sea.vio_uri.rsplit('/', 1)[1]].trunk_adapters}
            for t in [sea.primary_adpt] + list(sea.addl_adpts):
                assert on_vios[t.dev_name] == _key(t)


def test_response_wrapper_reads_our_vios_feed_like_the_capture():
    """pypowervm's own Response parsing: the same entry count per partition listed."""
    host = SimHost.load('redundant', None)
    body = _sim_body(host, f'{U}/ManagedSystem/{host.sys_uuid}/VirtualIOServer')
    resp = pvm_adpt.Response('GET', '/x', 200, 'OK', {}, body=body.decode())
    resp._unmarshal_atom()
    assert len(resp.feed.entries) == len(host.state.vioses) == 2
