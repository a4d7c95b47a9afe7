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

"""compute/sriov_vif: argument checks, call sequence, events (pypowervm mocked)."""

import sys
import types
from unittest import mock

import pytest
from pypowervm import exceptions as pvm_exc

from powervm_vif import sriov_vif

PORTS = ['U78C7.001.RCH0004-P1-C8-T1', 'U78C7.001.RCH0004-P1-C9-T1']


@pytest.fixture
def events(monkeypatch):
    mod = types.ModuleType('powervm_vif.events')
    mod.post_vif_event = mock.Mock()
    monkeypatch.setitem(sys.modules, 'powervm_vif.events', mod)
    import powervm_vif as pkg
    monkeypatch.setattr(pkg, 'events', mod, raising=False)
    return mod.post_vif_event


@pytest.fixture
def pvm(monkeypatch):
    sys_get = mock.Mock(return_value='SYS')
    vnic = mock.Mock()
    created = mock.Mock(uuid='v1', href='https://h/rest/api/uom/LogicalPartition/L/'
                                        'VirtualNICDedicated/v1', back_devs=[1, 2])
    vnic.create.return_value = created
    bld = mock.Mock(return_value=vnic)
    backs = mock.Mock()
    monkeypatch.setattr(sriov_vif.pvm_ms.System, 'get', sys_get)
    monkeypatch.setattr(sriov_vif.iocard.VNIC, 'bld', bld)
    monkeypatch.setattr(sriov_vif.pvm_sriov, 'set_vnic_back_devs', backs)
    return types.SimpleNamespace(sys_get=sys_get, bld=bld, backs=backs, vnic=vnic,
                                 created=created)


def test_plug_sequence_and_event(pvm, events):
    adapter = mock.Mock()
    out = sriov_vif.plug_sriov(adapter, 'H', 'L', 'fa:16:3e:aa:bb:cc', 100, PORTS,
                               redundancy=2, capacity=0.04, max_capacity=0.5)
    assert out is pvm.created
    pvm.sys_get.assert_called_once_with(adapter, uuid='H')
    pvm.bld.assert_called_once_with(adapter, pvid=100, mac_addr='FA163EAABBCC')
    pvm.backs.assert_called_once_with(pvm.vnic, PORTS, sys_w='SYS', redundancy=2,
                                      capacity=0.04, max_capacity=0.5,
                                      check_port_status=True)
    pvm.vnic.create.assert_called_once_with(parent_type=sriov_vif.pvm_lpar.LPAR,
                                            parent_uuid='L')
    events.assert_called_once_with(adapter, 'plug', 'FA163EAABBCC', 'pvm_sriov',
                                   pvm.created.href)


def test_back_dev_failure_creates_nothing(pvm, events):
    pvm.backs.side_effect = pvm_exc.InsufficientSRIOVCapacity(red=3, found_vfs=2)
    with pytest.raises(pvm_exc.InsufficientSRIOVCapacity):
        sriov_vif.plug_sriov(mock.Mock(), 'H', 'L', 'FA163EAABBCC', 1, PORTS, redundancy=3)
    pvm.vnic.create.assert_not_called()
    events.assert_not_called()


def test_event_failure_does_not_undo_plug(pvm, events):
    events.side_effect = RuntimeError('event API down')
    out = sriov_vif.plug_sriov(mock.Mock(), 'H', 'L', 'FA163EAABBCC', 1, PORTS)
    assert out is pvm.created
    events.assert_called_once()


@pytest.mark.parametrize('kwargs, needle', [
    ({'mac': 'nope'}, "'nope'"),
    ({'vlan': 5000}, 'VLAN 5000'),
    ({'physical_ports': []}, 'physical ports []'),
    ({'redundancy': 0}, 'redundancy 0'),
    ({'capacity': 1.5}, 'capacity 1.5'),
    ({'capacity': 0.5, 'max_capacity': 0.2}, 'max_capacity 0.2 is below capacity 0.5'),
])
def test_bad_arguments_named(pvm, kwargs, needle):
    args = {'mac': 'FA163EAABBCC', 'vlan': 1, 'physical_ports': PORTS, 'redundancy': 1,
            'capacity': None, 'max_capacity': None}
    args.update(kwargs)
    with pytest.raises(ValueError) as err:
        sriov_vif.plug_sriov(mock.Mock(), 'H', 'L', **args)
    assert needle in str(err.value)
    pvm.sys_get.assert_not_called()


def test_unplug_deletes_matching_vnic(monkeypatch, events):
    other = mock.Mock(mac='FA163E000001')
    mine = mock.Mock(mac='FA163EAABBCC', href='HREF', uuid='v2')
    get = mock.Mock(return_value=[other, mine])
    monkeypatch.setattr(sriov_vif.iocard.VNIC, 'get', get)
    adapter = mock.Mock()
    sriov_vif.unplug_sriov(adapter, 'L', 'fa:16:3e:aa:bb:cc')
    mine.delete.assert_called_once_with()
    other.delete.assert_not_called()
    events.assert_called_once_with(adapter, 'unplug', 'FA163EAABBCC', 'pvm_sriov', 'HREF')
    with pytest.raises(sriov_vif.VnicNotFound, match='FA163E999999'):
        sriov_vif.unplug_sriov(adapter, 'L', 'FA163E999999')
