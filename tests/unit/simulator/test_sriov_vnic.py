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

"""vNIC create/delete rules of the simulator: refusals change nothing."""

import copy

import pytest
from lxml import etree

from powervm_sim import sriov
from tests.unit.simulator.test_sriov_helpers import (
    LPAR,
    VIOS1,
    VIOS2,
    FakeHost,
    request,
    vnic_body,
)

FEED = f'/rest/api/uom/LogicalPartition/{LPAR}/VirtualNICDedicated'


def _put(host, body, lpar=LPAR):
    return sriov.handle_vnic(host, request('PUT', FEED, body), lpar, None)


def _message(resp):
    root = etree.fromstring(resp.body)
    return next(root.iter('{*}Message')).text


def _port(host, loc):
    return next(p for a in host.state.sriov_adapters for p in a.ports
                if p.location_code == loc)


def test_create_consumes_and_delete_frees():
    host = FakeHost()
    resp = _put(host, vnic_body([(VIOS1, 1, 0, '4.0%', None), (VIOS2, 2, 1, None, None)]))
    assert resp.status == 200
    t1 = _port(host, 'U78C7.001.RCH0004-P1-C8-T1')
    c9t2 = _port(host, 'U78C7.001.RCH0004-P1-C9-T2')
    # 4% as asked; no capacity -> the port's granularity (2%).
    assert (t1.allocated, t1.configured_vfs) == (400, 1)
    assert (c9t2.allocated, c9t2.configured_vfs) == (200, 1)
    vnic = host.state.vnics[0]
    assert vnic.mac == 'FA163E000001' and vnic.pvid == 5 and vnic.lpar_id == 10
    assert host.saves == 1
    assert [e[1] for e in host.events] == ['ADD_URI', 'MODIFY_URI', 'MODIFY_URI']
    assert host.events[0][0].endswith(f'/VirtualNICDedicated/{vnic.uuid}')

    got = sriov.handle_vnic(host, request('GET', f'{FEED}/{vnic.uuid}'), LPAR, vnic.uuid)
    assert got.status == 200 and got.headers['etag'] == resp.headers['etag']

    stale = sriov.handle_vnic(host, request('DELETE', f'{FEED}/{vnic.uuid}',
                                            headers={'if-match': '12345'}), LPAR, vnic.uuid)
    assert stale.status == 412 and host.state.vnics == [vnic]

    gone = sriov.handle_vnic(host, request('DELETE', f'{FEED}/{vnic.uuid}',
                                           headers={'if-match': resp.headers['etag']}),
                             LPAR, vnic.uuid)
    assert gone.status == 204
    assert host.state.vnics == []
    assert (t1.allocated, t1.configured_vfs) == (0, 0)
    assert (c9t2.allocated, c9t2.configured_vfs) == (0, 0)
    assert host.events[-3][1] == 'DELETE_URI'
    again = sriov.handle_vnic(host, request('GET', f'{FEED}/{vnic.uuid}'), LPAR, vnic.uuid)
    assert again.status == 404 and vnic.uuid in _message(again)


@pytest.mark.parametrize('backing, status, needle', [
    ([], 400, 'at least one SR-IOV backing device'),
    ([(VIOS1, 9, 0, None, None)], 400, 'SRIOVAdapterID 9'),
    ([(VIOS1, 3, 0, None, None)], 400, 'not Running/Sriov'),
    ([(VIOS1, 1, 7, None, None)], 400, 'no physical port 7'),
    ([(VIOS1, 1, 0, None, None), (VIOS2, 1, 0, None, None)], 400,
     'U78C7.001.RCH0004-P1-C8-T1 backs this vNIC twice'),
    ([(VIOS1, 2, 0, '12.5%', None)], 409,
     'U78C7.001.RCH0004-P1-C9-T1 has 10.0% capacity left; 12.5% requested'),
    ([(VIOS1, 1, 0, '3.0%', None)], 400,
     'CurrentCapacityPercentage 3.0% is not a multiple of the capacity granularity 2.0% '
     'of physical port U78C7.001.RCH0004-P1-C8-T1'),
    ([(VIOS1, 1, 1, '4%', None), (VIOS2, 2, 0, '4%', None)], 400,
     'backing device 2: CurrentCapacityPercentage 4.0% is not a multiple of the capacity '
     'granularity 2.5%'),
    ([(VIOS1, 1, 0, '101%', None)], 400, "'101%' is not a percentage"),
    ([(VIOS1, 1, 0, '20%', '10%')], 400, 'MaxCapacityPercentage 10.0% is below'),
    ([('5D5D5D5D-C4EE-439E-B70A-1D369213ED83', 1, 0, None, None)], 400,
     'no Virtual I/O Server 5D5D5D5D-C4EE-439E-B70A-1D369213ED83'),
    ([(VIOS1, a, p, None, None) for a, p in ((1, 0), (1, 1), (2, 0), (2, 1))] * 2, 400,
     'at most 6'),
])
def test_refusals_name_the_problem_and_change_nothing(backing, status, needle):
    host = FakeHost()
    before = copy.deepcopy(host.state.sriov_adapters)
    resp = _put(host, vnic_body(backing))
    assert resp.status == status
    assert needle in _message(resp)
    assert host.state.sriov_adapters == before
    assert host.state.vnics == [] and host.events == [] and host.saves == 0


def test_partial_failure_on_second_port_leaves_first_untouched():
    host = FakeHost()
    before = copy.deepcopy(host.state.sriov_adapters)
    resp = _put(host, vnic_body([(VIOS1, 1, 0, '50%', None), (VIOS2, 2, 0, '50%', None)]))
    assert resp.status == 409 and 'U78C7.001.RCH0004-P1-C9-T1' in _message(resp)
    assert host.state.sriov_adapters == before and host.state.vnics == []


def test_vf_exhaustion():
    host = FakeHost()
    # C9-T1 allows 2 VFs and has 10% left: two 2.5% vNICs fit, a third has no VF.
    for mac in ('FA163E000011', 'FA163E000012'):
        assert _put(host, vnic_body([(VIOS1, 2, 0, None, None)], mac=mac)).status == 200
    assert _port(host, 'U78C7.001.RCH0004-P1-C9-T1').allocated == 9500
    resp = _put(host, vnic_body([(VIOS1, 2, 0, None, None)], mac='FA163E000013'))
    assert resp.status == 409
    assert 'no free virtual function (2 of 2 used)' in _message(resp)
    assert len(host.state.vnics) == 2


def test_capacity_sum_never_exceeds_full():
    host = FakeHost()
    assert _put(host, vnic_body([(VIOS1, 1, 0, '60%', None)])).status == 200
    resp = _put(host, vnic_body([(VIOS1, 1, 0, '42%', None)], mac='FA163E000002'))
    assert resp.status == 409 and '40.0% capacity left' in _message(resp)
    assert _put(host, vnic_body([(VIOS1, 1, 0, '40%', None)], mac='FA163E000003')).status == 200
    assert _port(host, 'U78C7.001.RCH0004-P1-C8-T1').allocated == 10000


def test_duplicate_and_bad_mac():
    host = FakeHost()
    assert _put(host, vnic_body([(VIOS1, 1, 0, None, None)])).status == 200
    dup = _put(host, vnic_body([(VIOS2, 2, 1, None, None)]))
    assert dup.status == 409 and 'FA163E000001 is already in use' in _message(dup)
    bad = _put(host, vnic_body([(VIOS2, 2, 1, None, None)], mac='XYZ'))
    assert bad.status == 400 and "'XYZ'" in _message(bad)
    assert len(host.state.vnics) == 1


def test_generated_macs_are_unique():
    host = FakeHost()
    for _ in range(3):
        assert _put(host, vnic_body([(VIOS1, 1, 0, None, None)], mac=None)).status == 200
    macs = [v.mac for v in host.state.vnics]
    assert len(set(macs)) == 3 and all(len(m) == 12 for m in macs)
    assert len({v.slot for v in host.state.vnics}) == 3


def test_vios_not_running_refused():
    host = FakeHost()
    host.state.vioses[1].state = 'not activated'
    resp = _put(host, vnic_body([(VIOS2, 1, 0, None, None)]))
    assert resp.status == 409 and 'vios2 is not activated' in _message(resp)
    host.state.vioses[0].rmc_state = 'inactive'
    resp = _put(host, vnic_body([(VIOS1, 1, 0, None, None)]))
    assert resp.status == 409 and 'RMC inactive' in _message(resp)
    assert host.state.vnics == []


def test_unknown_partition_and_vnic():
    host = FakeHost()
    other = '7AAAAAAA-2B1A-461D-A8D3-0C9A7EB6746A'
    resp = _put(host, vnic_body([(VIOS1, 1, 0, None, None)]), lpar=other)
    assert resp.status == 404 and other in _message(resp)
    resp = sriov.handle_vnic(host, request('DELETE', f'{FEED}/abc'), LPAR, 'abc')
    assert resp.status == 404 and 'abc' in _message(resp)


def test_bad_bodies():
    host = FakeHost()
    assert _put(host, b'<not xml').status == 400
    resp = _put(host, b'<ClientNetworkAdapter/>')
    assert resp.status == 400 and 'ClientNetworkAdapter' in _message(resp)
    resp = _put(host, vnic_body([(VIOS1, 1, 0, None, None)], pvid=5000))
    assert resp.status == 400 and 'PortVLANID 5000' in _message(resp)
    assert host.state.vnics == []


def test_unsupported_method():
    host = FakeHost()
    resp = sriov.handle_vnic(host, request('POST', FEED, b''), LPAR, None)
    assert resp.status == 405 and 'POST' in _message(resp)


def test_link_down_port_allowed_like_the_platform():
    """The platform creates VFs on link-down ports; pypowervm filters them client-side."""
    host = FakeHost()
    assert _put(host, vnic_body([(VIOS1, 1, 1, None, None)])).status == 200
    assert _port(host, 'U78C7.001.RCH0004-P1-C8-T2').configured_vfs == 1


def test_release_partition_vnics_frees_capacity():
    host = FakeHost()
    assert _put(host, vnic_body([(VIOS1, 1, 0, '10%', None)])).status == 200
    vnic = host.state.vnics[0]
    assert sriov.vnic_slots(host.state.vnics, LPAR.lower()) == {vnic.slot}
    assert sriov.vnic_macs(host.state.vnics) == {'FA163E000001'}
    gone = sriov.release_partition_vnics(host.state, LPAR.lower())
    assert gone == [vnic] and host.state.vnics == []
    port = _port(host, 'U78C7.001.RCH0004-P1-C8-T1')
    assert (port.allocated, port.configured_vfs) == (0, 0)
