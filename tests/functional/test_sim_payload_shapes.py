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

"""Simulator payloads read through the same pypowervm wrappers as the captures."""

import pytest
from lxml import etree
from pypowervm import adapter as pvm_adpt
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import logical_partition as lp
from pypowervm.wrappers import managed_system as ms
from pypowervm.wrappers import network as pnet
from pypowervm.wrappers import virtual_io_server as pvios

from powervm_sim import payloads
from powervm_sim.resources import RestRequest, SimHost
from tests.unit.simulator.fake_session import BASE, adapter_for

U = '/rest/api/uom'


@pytest.fixture(scope='module')
def host():
    return SimHost.load('redundant', None)


def sim_resp(host, path, query=None):
    r = host.handle(RestRequest('GET', path, query or {'group': ['None']}, {}, b'', BASE))
    assert r.status == 200, r.body
    resp = pvm_adpt.Response('GET', path, r.status, 'OK', r.headers, body=r.body.decode())
    resp.adapter = adapter_for(host)
    resp._unmarshal_atom()
    return resp


def capture(name):
    return pvmhttp.load_pvm_resp(name).get_response()


def content_tags(resp):
    """Element names (in order) of the first entry's content, one level deep."""
    root = etree.fromstring(resp.body.encode() if isinstance(resp.body, str) else resp.body)
    a = '{http://www.w3.org/2005/Atom}'
    e = root.find(a + 'entry') if root.tag == a + 'feed' else root
    c = e.find(a + 'content')[0]
    return c, [etree.QName(x).localname for x in c if isinstance(x.tag, str)]


def in_order(mine, theirs):
    """Every element I emit appears in the capture, in the same relative order."""
    pos = [theirs.index(t) for t in mine if t in theirs]
    return pos == sorted(pos)


def test_network_bridge(host):
    ref = pnet.NetBridge.wrap(capture('nbbr_network_bridge_failover.txt'))[0]
    resp = sim_resp(host, f'{U}/ManagedSystem/{host.sys_uuid}/NetworkBridge')
    nb = pnet.NetBridge.wrap(resp)[0]
    b = host.state.bridges[0]
    assert (nb.uuid, nb.pvid, nb.vswitch_id) == (b.uuid, 1, 0)
    assert [s.dev_name for s in nb.seas] == ['ent8', 'ent8'] and len(ref.seas) == 2
    assert nb.seas[0].primary_adpt.dev_name == 'ent5'
    assert nb.seas[1].vio_uri.endswith(host.state.vioses[1].uuid)
    assert nb.load_grps[0].pvid == 1
    assert nb.load_grps[0].trunk_adapters[0].dev_name == 'ent5'
    assert nb.load_grps[0].tagged_vlans == []
    c, mine = content_tags(resp)
    rc, theirs = content_tags(capture('nbbr_network_bridge.txt'))
    assert set(mine) <= set(theirs) | {'ControlChannelID'} and in_order(mine, theirs)
    assert c.tag == rc.tag and c.get('schemaVersion').startswith('V1_')


def test_vios(host):
    resp = sim_resp(host, f'{U}/ManagedSystem/{host.sys_uuid}/VirtualIOServer',
                    {'group': ['ViosNetwork']})
    v = pvios.VIOS.wrap(resp)[0]
    assert (v.name, v.uuid, v.rmc_state, v.state) == (
        'vios1', host.state.vioses[0].uuid, 'active', 'running')
    assert [s.dev_name for s in v.seas] == ['ent8']
    assert [t.dev_name for t in v.trunk_adapters] == ['ent5']
    assert v.is_mgmt_partition is False
    _c, mine = content_tags(resp)
    _rc, theirs = content_tags(capture('fake_vios.txt'))
    common = [t for t in mine if t in theirs]
    assert len(common) > 20 and in_order(common, theirs)


def test_lpar(host):
    resp = sim_resp(host, f'{U}/ManagedSystem/{host.sys_uuid}/LogicalPartition')
    lpars = {w.name: w for w in lp.LPAR.wrap(resp)}
    assert lpars['novalink'].is_mgmt_partition is True
    w = lpars['legacy-db']
    p = next(p for p in host.state.partitions if p.name == 'legacy-db')
    assert (w.uuid, w.id, w.env) == (p.uuid, 5, 'AIX/Linux')
    assert lpars['instance-00000001'].is_mgmt_partition is False
    _c, mine = content_tags(resp)
    _rc, theirs = content_tags(capture('fake_lpar_feed.txt'))
    assert in_order([t for t in mine if t in theirs], theirs)


def test_cna(host):
    p = next(p for p in host.state.partitions if p.name == 'legacy-db')
    resp = sim_resp(host, f'{U}/LogicalPartition/{p.uuid}/ClientNetworkAdapter')
    w = pnet.CNA.wrap(resp)[0]
    assert (w.mac, w.pvid, w.tagged_vlans, w.enabled) == (p.cnas[0].mac, 2000, [], True)
    assert w.vswitch_uri.endswith(host.state.vswitches[0].uuid)
    ref = pnet.CNA.wrap(capture('fake_cna.txt'))
    assert ref.mac and ref.vswitch_uri
    _c, mine = content_tags(resp)
    _rc, theirs = content_tags(capture('fake_cna.txt'))
    assert set(mine) <= set(theirs) and in_order(mine, theirs)


def test_vswitch_vnet_and_system(host):
    vs = pnet.VSwitch.wrap(sim_resp(host, f'{U}/ManagedSystem/{host.sys_uuid}/VirtualSwitch'))
    assert [(v.name, v.switch_id, v.mode) for v in vs] == [('ETHERNET0', 0, 'Veb')]
    vnets = pnet.VNet.wrap(sim_resp(host, f'{U}/ManagedSystem/{host.sys_uuid}/VirtualNetwork'))
    assert {(n.vlan, n.vswitch_id) for n in vnets} >= {(1, 0), (2000, 0)}
    sysw = ms.System.wrap(sim_resp(host, f'{U}/ManagedSystem'))[0]
    assert sysw.uuid == host.sys_uuid
    ports = [pt.loc_code for a in sysw.asio_config.sriov_adapters for pt in a.phys_ports]
    assert 'U78C7.001.RCH0004-P1-C8-T1' in ports


# ---- attributes: kb/kxe per element, one schemaVersion ------------------------------
_A = '{http://www.w3.org/2005/Atom}'


def _contents(root):
    if etree.QName(root).localname == 'feed':
        return [e.find(_A + 'content')[0] for e in root.findall(_A + 'entry')]
    return [root.find(_A + 'content')[0]]


def _attrs_by_path(roots, names=('kb', 'kxe')):
    """{element path: set of (attr, value) tuples} over every content element."""
    out = {}

    def walk(el, path):
        key = f'{path}/{etree.QName(el).localname}'
        out.setdefault(key, set()).add(tuple((n, el.get(n)) for n in names))
        for child in el:
            if isinstance(child.tag, str):
                walk(child, key)
    for root in roots:
        for c in _contents(root):
            walk(c, '')
    return out


def _sim_root(host, path, query=None):
    r = host.handle(RestRequest('GET', path, query or {}, {}, b'', BASE))
    assert r.status == 200, r.body
    return etree.fromstring(r.body)


def _capture_root(name):
    return etree.fromstring(capture(name).body.encode())


_SHAPES = [
    ('NetworkBridge', ['nbbr_network_bridge.txt', 'nbbr_network_bridge_failover.txt']),
    ('VirtualIOServer', ['fake_vios_feed.txt', 'fake_vios.txt', 'fake_vios_feed2.txt']),
    ('LogicalPartition', ['fake_lpar_feed.txt', 'lpar.txt']),
    ('ClientNetworkAdapter', ['cna_feed.txt', 'fake_cna.txt', 'cna_feed1.txt']),
    ('VirtualSwitch', ['fake_vswitch_feed.txt', 'vswitch_feed.txt']),
    ('VirtualNetwork', ['fake_virtual_network_feed.txt', 'nbbr_virtual_network.txt']),
    ('ManagedSystem', ['sys_with_sriov.txt', 'managedsystem.txt']),
]


def _sim_path(host, kind):
    if kind == 'ManagedSystem':
        return f'{U}/ManagedSystem'
    if kind == 'ClientNetworkAdapter':
        p = next(p for p in host.state.partitions if p.cnas)
        return f'{U}/LogicalPartition/{p.uuid}/ClientNetworkAdapter'
    return f'{U}/ManagedSystem/{host.sys_uuid}/{kind}'


@pytest.mark.parametrize('kind,captures', _SHAPES, ids=[k for k, _ in _SHAPES])
def test_kb_kxe_attributes_match_captures(host, kind, captures):
    """Every element the simulator emits that a capture also has carries a kb/kxe
    pair the real API uses for it (e.g. PartitionCapabilities' children, ROR vs CUD)."""
    mine = _attrs_by_path([_sim_root(host, _sim_path(host, kind))])
    theirs = _attrs_by_path([_capture_root(n) for n in captures])
    common = sorted(set(mine) & set(theirs))
    assert len(common) >= 5, (kind, common)
    wrong = {p: (mine[p], theirs[p]) for p in common if not mine[p] <= theirs[p]}
    assert wrong == {}


@pytest.mark.parametrize('kind', [k for k, _ in _SHAPES])
def test_one_schema_version_as_the_newest_captures(host, kind):
    """Each object and sub-object says the schema the server announces (V1_3_0 as in
    sys_with_sriov.txt / cna_feed.txt / vswitch_feed.txt), never a mix."""
    root = _sim_root(host, _sim_path(host, kind))
    versions = {el.get('schemaVersion') for c in _contents(root) for el in c.iter()
                if isinstance(el.tag, str) and el.get('schemaVersion')}
    assert versions == {payloads.SCHEMA} == {'V1_3_0'}
    newest = _capture_root('vswitch_feed.txt')
    assert {el.get('schemaVersion') for c in _contents(newest) for el in c.iter()
            if isinstance(el.tag, str) and el.get('schemaVersion')} == {'V1_3_0'}
