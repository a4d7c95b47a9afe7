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

"""SimHost REST semantics, platform rules and pypowervm flows (no HTTP)."""

import pytest
from pypowervm import const as pc
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import cna as cna_task
from pypowervm.tasks import network_bridger as bridger
from pypowervm.tasks import partition as part_task
from pypowervm.wrappers import logical_partition as lp
from pypowervm.wrappers import managed_system as ms
from pypowervm.wrappers import network as pnet
from pypowervm.wrappers import virtual_io_server as pvios

from powervm_sim.network import rules
from powervm_sim.resources import RestRequest, SimHost
from tests.unit.simulator.fake_session import BASE, adapter_for

U = '/rest/api/uom'


def req(method, path, body=b'', headers=None, query=None):
    return RestRequest(method, path, query or {}, headers or {}, body, BASE)


@pytest.fixture
def host():
    return SimHost.load('single', None)


def nbs(adpt, host):
    return pnet.NetBridge.get(adpt, parent_type=ms.System, parent_uuid=host.sys_uuid)


def test_routing_404_405_and_empty_feed(host):
    assert host.handle(req('GET', f'{U}/Nope')).status == 404
    r = host.handle(req('GET', f'{U}/LogicalPartition/0ABCDEF0-0000-0000-0000-000000000000'))
    assert r.status == 404 and b'0ABCDEF0' in r.body
    assert host.handle(req('DELETE', f'{U}/ManagedSystem/{host.sys_uuid}')).status == 405
    assert host.handle(req('GET', f'{U}/ManagedSystem/{host.sys_uuid}/Bogus')).status == 404
    lpar = next(p for p in host.state.partitions if not p.cnas)
    r = host.handle(req('GET', f'{U}/LogicalPartition/{lpar.uuid}/ClientNetworkAdapter'))
    assert r.status == 204 and r.body == b''


def test_search_and_root_forms(host):
    a = adapter_for(host)
    w = pvios.VIOS.search(a, name='vios1')
    assert [v.name for v in w] == ['vios1']
    assert lp.LPAR.search(a, id=5)[0].name == 'legacy-db'
    assert part_task.get_mgmt_partition(a).name == 'novalink'


def test_etag_changes_304_and_412(host):
    a = adapter_for(host)
    nb = nbs(a, host)[0]
    path = f'{U}/ManagedSystem/{host.sys_uuid}/NetworkBridge/{nb.uuid}'
    r = host.handle(req('GET', path))
    etag = r.headers['etag']
    assert host.handle(req('GET', path, headers={'if-none-match': etag})).status == 304
    bridger.ensure_vlans_on_nb(a, host.sys_uuid, nb.uuid, [300])
    assert host.handle(req('GET', path)).headers['etag'] != etag
    # A stale wrapper (old etag) is refused with 412.
    nb.seas[0].addl_adpts[0].tagged_vlans.append(301) if nb.seas[0].addl_adpts else None
    with pytest.raises(pvm_exc.HttpError) as e:
        nb.update()
    assert e.value.response.status == 412


def test_ensure_and_remove_vlans_fill_trunks(host):
    a = adapter_for(host)
    nb = nbs(a, host)[0]
    bridger.ensure_vlans_on_nb(a, host.sys_uuid, nb.uuid, list(range(100, 145)))
    nb = nbs(a, host)[0]
    assert [len(t.tagged_vlans) for t in nb.seas[0].addl_adpts] == [20, 20, 5]
    assert all(v in nb.list_vlans() for v in range(100, 145))
    bridger.remove_vlan_from_nb(a, host.sys_uuid, nb.uuid, 100)
    assert 100 not in nbs(a, host)[0].list_vlans()
    snap = host.snapshot()['bridges'][0]
    assert snap['load_groups'][0] == {
        'pvid': 1, 'primary': True, 'trunk_adapters': [
            {'vios': 'vios1', 'sea': 'ent8', 'dev_name': 'ent5', 'pvid': 1, 'vlans': [],
             'slot': 2}]}


def test_failover_pair_updates_both_seas():
    host = SimHost.load('redundant', None)
    a = adapter_for(host)
    nb = nbs(a, host)[0]
    assert len(nb.seas) == 2
    bridger.ensure_vlans_on_nb(a, host.sys_uuid, nb.uuid, [10, 11])
    nb = nbs(a, host)[0]
    assert [t.tagged_vlans for t in nb.seas[0].addl_adpts] == [[10, 11]]
    assert [t.tagged_vlans for t in nb.seas[1].addl_adpts] == [[10, 11]]
    # Changing only one SEA of the pair is refused.
    nb.seas[0].addl_adpts[0].tagged_vlans.append(12)
    with pytest.raises(pvm_exc.HttpError) as e:
        nb.update()
    assert e.value.response.status == 400 and 'failover pair' in e.value.response.body


def _bad_update(host, mutate):
    a = adapter_for(host)
    nb = nbs(a, host)[0]
    mutate(a, nb)
    with pytest.raises(pvm_exc.HttpError) as e:
        nb.update()
    return e.value.response


def test_rule_max_vlans_per_trunk(host):
    a = adapter_for(host)
    bridger.ensure_vlans_on_nb(a, host.sys_uuid, nbs(a, host)[0].uuid, [100])
    r = _bad_update(host, lambda a, nb: nb.seas[0].addl_adpts[0].tagged_vlans.extend(
        range(200, 220)))
    assert r.status == 400 and '21 VLANs' in r.body


def test_rule_max_trunks_per_sea(host):
    a = adapter_for(host)
    vswitch = pnet.VSwitch.search(a, parent_type=ms.System, parent_uuid=host.sys_uuid,
                                  one_result=True, name='ETHERNET0')

    def add(a, nb):
        for i in range(15):
            nb.seas[0].addl_adpts.append(pnet.TrunkAdapter.bld(a, 4000 - i, [100 + i], vswitch))
    r = _bad_update(host, add)
    assert r.status == 400 and '16 trunk adapters' in r.body


def test_rule_vlan_range_and_primary_pvid(host):
    a = adapter_for(host)
    bridger.ensure_vlans_on_nb(a, host.sys_uuid, nbs(a, host)[0].uuid, [100])
    r = _bad_update(host, lambda a, nb: nb.seas[0].addl_adpts[0].tagged_vlans.append(4095))
    assert r.status == 400 and '4095' in r.body
    r = _bad_update(host, lambda a, nb: setattr(nb.seas[0].primary_adpt, 'pvid', 7))
    assert r.status == 400 and 'primary load group' in r.body


def test_rule_vlan_on_one_bridge_per_vswitch():
    host = SimHost.load('two-bridges', None)
    b1, b2 = host.state.bridges
    b2.seas[0].trunks[0].vswitch_id = 0
    for t in b2.seas[0].trunks:
        t.vswitch_id = 0
    err = rules.check_bridge(b2, host.state.bridges)
    assert err and 'VLAN 1' in err


def test_crt_cna_and_duplicate_mac_and_unknown_partition(host):
    a = adapter_for(host)
    lpar = lp.LPAR.search(a, name='instance-00000001')[0]
    w = cna_task.crt_cna(a, None, lpar.uuid, 101, mac_addr='AABBCCDDEEFF')
    assert (w.mac, w.pvid, w.enabled) == ('AABBCCDDEEFF', 101, True)
    assert pnet.CNA.get(a, parent=lpar)[0].mac == 'AABBCCDDEEFF'
    with pytest.raises(pvm_exc.HttpError) as e:
        cna_task.crt_cna(a, None, lpar.uuid, 102, mac_addr='AABBCCDDEEFF')
    assert e.value.response.status == 400 and 'AABBCCDDEEFF' in e.value.response.body
    body = pnet.CNA.bld(a, 5, w.vswitch_uri).element.toxmlstring()
    r = host.handle(req('PUT', f'{U}/LogicalPartition/1ABCDEF0-0000-0000-0000-000000000000/'
                        'ClientNetworkAdapter', body, {
                            'content-type': pc.TYPE_TEMPLATE % ('uom', 'ClientNetworkAdapter')}))
    assert r.status == 404 and b'1ABCDEF0' in r.body


def test_bad_content_type_and_malformed_xml(host):
    lpar = host.state.partitions[1]
    path = f'{U}/LogicalPartition/{lpar.uuid}/ClientNetworkAdapter'
    r = host.handle(req('PUT', path, b'<x/>', {'content-type': 'text/plain'}))
    assert r.status == 415 and b'text/plain' in r.body
    r = host.handle(req('PUT', path, b'<not xml', {
        'content-type': pc.TYPE_TEMPLATE % ('uom', 'ClientNetworkAdapter')}))
    assert r.status == 400 and b'malformed XML' in r.body


def test_validate_vios_ready_and_vios_network_group(host):
    a = adapter_for(host)
    part_task.validate_vios_ready(a)
    v = pvios.VIOS.get(a, xag=[pc.XAG.VIO_NET])[0]
    assert [s.dev_name for s in v.seas] == ['ent8']
    assert [t.dev_name for t in v.trunk_adapters] == ['ent5']
    base = pvios.VIOS.get(a)[0]  # group=None: no network sections
    assert base.seas == [] and base.rmc_state == 'active'


def test_events_emitted_outside_lock(host):
    seen = []

    def cb(uri, etype, detail):
        assert host.lock.acquire(blocking=False)  # not held by another thread
        host.lock.release()
        seen.append((uri, etype, detail))
    host.on_change = cb
    a = adapter_for(host)
    lpar = lp.LPAR.search(a, name='instance-00000001')[0]
    cna_task.crt_cna(a, None, lpar.uuid, 101)
    assert [e[1] for e in seen] == ['ADD_URI', 'MODIFY_URI']
    assert seen[0][0].startswith(f'{BASE}/rest/api/uom/LogicalPartition/{lpar.uuid}/'
                                 'ClientNetworkAdapter/')


def test_persistence_round_trip(tmp_path):
    host = SimHost.load('single', tmp_path)
    a = adapter_for(host)
    bridger.ensure_vlans_on_nb(a, host.sys_uuid, nbs(a, host)[0].uuid, [321])
    lpar = lp.LPAR.search(a, name='instance-00000002')[0]
    cna_task.crt_cna(a, None, lpar.uuid, 321, mac_addr='001122334455')
    again = SimHost.load('redundant', tmp_path)  # state.json wins over the scenario
    assert again.snapshot() == host.snapshot()
    assert len(again.state.vioses) == 1
    assert not list(tmp_path.glob('.state-*'))


def test_cna_changes_emit_the_adapter_and_its_partitions_events_as_novalink(host):
    """Each CNA add/update/delete: the adapter's event, then the partition's MODIFY_URI
    with detail Other (as NovaLink, see pypowervm's event_feed.txt)."""
    seen = []
    host.on_change = lambda uri, etype, detail: seen.append((uri, etype, detail))
    a = adapter_for(host)
    lpar = lp.LPAR.search(a, name='instance-00000001')[0]
    part = f'{BASE}{U}/ManagedSystem/{host.sys_uuid}/LogicalPartition/{lpar.uuid}'
    w = cna_task.crt_cna(a, None, lpar.uuid, 101)
    href = f'{BASE}{U}/LogicalPartition/{lpar.uuid}/ClientNetworkAdapter/{w.uuid}'
    w = pnet.CNA.get(a, uuid=w.uuid, parent=lpar)
    w.pvid = 102
    w = w.update()
    w.delete()
    assert seen == [(href, 'ADD_URI', ''), (part, 'MODIFY_URI', 'Other'),
                    (href, 'MODIFY_URI', ''), (part, 'MODIFY_URI', 'Other'),
                    (href, 'DELETE_URI', ''), (part, 'MODIFY_URI', 'Other')]


def test_a_bridge_update_emits_its_vioses_modify_with_detail_other(host):
    seen = []
    host.on_change = lambda uri, etype, detail: seen.append((uri, etype, detail))
    a = adapter_for(host)
    nb = nbs(a, host)[0]
    bridger.ensure_vlans_on_nb(a, host.sys_uuid, nb.uuid, [3001])
    vios = [e for e in seen if '/VirtualIOServer/' in e[0]]
    assert vios and all(e[1:] == ('MODIFY_URI', 'Other') for e in vios)
