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

"""Rendered SR-IOV XML read back by pypowervm's wrappers, shaped like the captures."""

import re

from lxml import etree
from pypowervm import adapter as pvm_adpt
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import iocard
from pypowervm.wrappers import managed_system as ms

from powervm_sim import sriov
from powervm_sim.sriov import render
from tests.unit.simulator.test_sriov_helpers import (
    BASE,
    LPAR,
    VIOS1,
    VIOS2,
    FakeHost,
    request,
    vnic_body,
)

_SRIOV_RE = re.compile(r'<SRIOVAdapters .*?</SRIOVAdapters>', re.S)


def _capture(name):
    return pvmhttp.load_pvm_resp(name).get_response().body


def _response(path, body):
    resp = pvm_adpt.Response('GET', path, 200, 'OK', {}, body=body)
    resp._unmarshal_atom()
    return resp


def _system_with(adapters):
    body = _SRIOV_RE.sub(lambda _m: sriov.render_sriov_adapters(adapters, BASE),
                         _capture('sys_with_sriov.txt'), count=1)
    return ms.System.wrap(_response('/rest/api/uom/ManagedSystem', body))[0]


def _tags(el):
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def _kinds(el):
    """Child tags with repeats collapsed (list-valued elements vary in length)."""
    tags = _tags(el)
    return [t for i, t in enumerate(tags) if i == 0 or tags[i - 1] != t]


def _first(xml, tag):
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    return next(root.iter('{*}' + tag))


def test_system_wrapper_reads_rendered_ports():
    host = FakeHost()
    sys_w = _system_with(host.state.sriov_adapters)
    adapters = sys_w.asio_config.sriov_adapters
    assert [a.sriov_adap_id for a in adapters[:2]] == [1, 2]
    assert adapters[2].mode == 'Dedicated' and adapters[2].state == 'NotConfigured'
    assert adapters[0].mode == 'Sriov' and adapters[0].state == 'Running'
    ports = {p.loc_code: p for a in adapters for p in a.phys_ports}
    assert set(ports) == {'U78C7.001.RCH0004-P1-C8-T1', 'U78C7.001.RCH0004-P1-C8-T2',
                          'U78C7.001.RCH0004-P1-C9-T1', 'U78C7.001.RCH0004-P1-C9-T2'}
    t1 = ports['U78C7.001.RCH0004-P1-C8-T1']
    assert isinstance(t1, iocard.SRIOVConvPPort)
    assert (t1.label, t1.port_id, t1.link_status, t1.cfg_max_lps, t1.cfg_lps) == (
        'physnet1', 0, True, 20, 0)
    assert t1.min_granularity == 0.02 and t1.allocated_capacity == 0.0
    assert ports['U78C7.001.RCH0004-P1-C8-T2'].link_status is False
    c9t1 = ports['U78C7.001.RCH0004-P1-C9-T1']
    assert isinstance(c9t1, iocard.SRIOVEthPPort)
    assert c9t1.min_granularity == 0.025 and c9t1.allocated_capacity == 0.9
    assert c9t1.sriov_adap_id == 2 and c9t1.cfg_max_lps == 2


def test_fragment_tag_order_matches_capture():
    host = FakeHost()
    ours = sriov.render_sriov_adapters(host.state.sriov_adapters, BASE)
    theirs = _SRIOV_RE.search(_capture('sys_with_sriov.txt')).group(0)
    assert etree.fromstring(ours).attrib == etree.fromstring(theirs).attrib
    for tag in ('SRIOVAdapter', 'SRIOVConvergedNetworkAdapterPhysicalPort',
                'SRIOVEthernetPhysicalPort', 'SRIOVUnconfiguredLogicalPort'):
        assert _kinds(_first(ours, tag)) == _kinds(_first(theirs, tag)), tag
    # Attributes of every port element as in the capture.
    port = _first(ours, 'SRIOVEthernetPhysicalPort')
    cap = _first(theirs, 'SRIOVEthernetPhysicalPort')
    for mine, their in zip(port, cap, strict=False):
        if isinstance(mine.tag, str) and mine.tag == their.tag:
            assert dict(mine.attrib) == dict(their.attrib), mine.tag


def test_dedicated_adapter_matches_capture():
    host = FakeHost()
    ours = etree.fromstring(sriov.render_sriov_adapters(host.state.sriov_adapters, BASE))
    theirs = etree.fromstring(_SRIOV_RE.search(_capture('sys_with_sriov.txt')).group(0))
    ded = [a for a in ours.iter('{*}SRIOVAdapter') if a.findtext('{*}AdapterMode') ==
           'Dedicated']
    ded_cap = [a for a in theirs.iter('{*}SRIOVAdapter') if a.findtext('{*}AdapterMode') ==
               'Dedicated']
    assert _tags(ded[0]) == _tags(ded_cap[0])


def test_relabel_and_consumption_show_in_payload():
    host = FakeHost()
    sriov.relabel_port(host.state.sriov_adapters, 'U78C7.001.RCH0004-P1-C9-T2', 'physnet7')
    body = vnic_body([(VIOS1, 2, 1, '10.0%', None)])
    path = f'/rest/api/uom/LogicalPartition/{LPAR}/VirtualNICDedicated'
    assert sriov.handle_vnic(host, request('PUT', path, body), LPAR, None).status == 200
    sys_w = _system_with(host.state.sriov_adapters)
    port = next(p for a in sys_w.asio_config.sriov_adapters for p in a.phys_ports
                if p.loc_code == 'U78C7.001.RCH0004-P1-C9-T2')
    assert port.label == 'physnet7'
    assert port.allocated_capacity == 0.1 and port.cfg_lps == 1


def _create(host, backing, **kw):
    path = f'/rest/api/uom/LogicalPartition/{LPAR}/VirtualNICDedicated'
    resp = sriov.handle_vnic(host, request('PUT', path, vnic_body(backing, **kw)), LPAR, None)
    assert resp.status == 200, resp.body
    return resp


def test_vnic_entry_read_by_vnic_wrapper():
    host = FakeHost()
    resp = _create(host, [(VIOS1, 1, 0, '4.0%', '50.0%'), (VIOS2, 1, 1, None, None)])
    raw = pvm_adpt.Response('GET', '/rest/api/uom/LogicalPartition/x/VirtualNICDedicated/y',
                            200, 'OK', resp.headers, body=resp.body.decode())
    raw._unmarshal_atom()
    vnic = iocard.VNIC.wrap(raw)
    assert vnic.mac == 'FA163E000001' and vnic.pvid == 5 and vnic.lpar_id == 10
    assert vnic.uuid == host.state.vnics[0].uuid
    assert vnic.etag == resp.headers['etag']
    assert vnic.href == f'{BASE}/rest/api/uom/LogicalPartition/{LPAR}/VirtualNICDedicated/' \
                        f'{vnic.uuid}'
    bds = vnic.back_devs
    assert [(b.sriov_adap_id, b.pport_id) for b in bds] == [(1, 0), (1, 1)]
    assert bds[0].capacity == 0.04 and bds[0].max_capacity == 0.5
    assert bds[1].capacity == 0.02 and bds[1].max_capacity == 1.0
    assert bds[0].vios_href.endswith('/VirtualIOServer/' + VIOS1)
    # C8-T2 has no link: that backing device is down and not the active one.
    assert (bds[0].is_active, bds[0].status) == (True, 'OPERATIONAL')
    assert (bds[1].is_active, bds[1].status) == (False, 'LINK_DOWN')
    assert vnic.capacity == 0.04


def test_vnic_feed_matches_capture_shape():
    host = FakeHost()
    _create(host, [(VIOS1, 1, 0, None, None)])
    _create(host, [(VIOS2, 2, 1, None, None)], mac='FA163E000002')
    path = f'/rest/api/uom/LogicalPartition/{LPAR}/VirtualNICDedicated'
    resp = sriov.handle_vnic(host, request('GET', path), LPAR, None)
    assert resp.status == 200
    ours = resp.body.decode()
    vnics = iocard.VNIC.wrap(_response(path, ours))
    assert sorted(v.mac for v in vnics) == ['FA163E000001', 'FA163E000002']
    assert len({v.slot for v in vnics}) == 2
    theirs = _capture('vnic_feed.txt')
    assert _tags(etree.fromstring(ours.encode())) == _tags(etree.fromstring(theirs.encode()))
    for tag in ('entry', 'VirtualNICDedicated', 'Details', 'VirtualNICSRIOVBackingDevice'):
        mine, cap = _tags(_first(ours, tag)), _tags(_first(theirs, tag))
        # Same elements in the same order; ours may add schema fields the capture lacks.
        assert [t for t in mine if t in cap] == [t for t in cap if t in mine], tag
        assert set(cap) - set(mine) <= {'IPAddress', 'SubnetMask', 'Gateway'}, tag
    bd_order = list(iocard._VNICBD_EL_ORDER)
    mine = [t for t in _tags(_first(ours, 'VirtualNICSRIOVBackingDevice')) if t != 'Metadata']
    assert mine == sorted(mine, key=bd_order.index)


def test_render_feed_without_vnics_is_204():
    host = FakeHost()
    path = f'/rest/api/uom/LogicalPartition/{LPAR}/VirtualNICDedicated'
    resp = sriov.handle_vnic(host, request('GET', path), LPAR, None)
    assert (resp.status, resp.body) == (204, b'')
    assert render.vnic_path(LPAR) == path
