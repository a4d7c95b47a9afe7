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

"""SR-IOV over HTTP: real pypowervm and compute/sriov_vif against the simulator."""

from __future__ import annotations

import pathlib

import pytest
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import event as pvm_event
from pypowervm.wrappers import iocard
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

from networking_powervm.common import constants as const
from powervm_sim import cli as sim_cli
from powervm_vif import sriov_vif
from tests.functional.conftest import PASSWORD, USER, new_adapter, stop

C8 = 'U78C7.001.RCH0004-P1-C8'
C9 = 'U78C7.001.RCH0004-P1-C9'
SCENARIO = f"""
description: SR-IOV functional test host
system: {{name: sim-sriov, machine_type: '8286', model: 42A, serial: 21B1E3V}}
vswitches:
  - {{id: 0, name: ETHERNET0}}
vioses:
  - {{name: vios1, id: 1}}
partitions:
  - {{name: novalink, id: 2, mgmt: true}}
  - {{name: instance-00000001, id: 3, openstack_managed: true}}
sriov:
  - location_code: {C8}
    ports:
      - {{label: physnet1}}
      - {{label: physnet1, link_up: false}}
      - {{label: physnet1, allocated_capacity: 95}}
  - location_code: {C9}
    ports:
      - {{label: physnet1}}
      - {{label: physnet2}}
"""


@pytest.fixture
def env(sim_factory, tmp_path: pathlib.Path):
    path = tmp_path / 'sriov.yaml'
    path.write_text(SCENARIO, encoding='utf-8')
    sim = sim_factory(str(path))
    adapter = new_adapter(sim)
    sys_w = pvm_ms.System.get(adapter)[0]
    lpar = next(lp for lp in pvm_lpar.LPAR.get(adapter) if lp.name == 'instance-00000001')
    return sim, adapter, sys_w.uuid, lpar.uuid


def _ports(adapter) -> dict:
    sys_w = pvm_ms.System.get(adapter)[0]
    return {p.loc_code: p for a in sys_w.asio_config.sriov_adapters for p in a.phys_ports}


def _assert_vnic_capable(adapter) -> None:
    """What set_vnic_back_devs checks first, asserted here for a clear failure."""
    sys_w = pvm_ms.System.get(adapter)[0]
    assert sys_w.get_capability('vnic_capable'), 'ManagedSystem not vNIC capable'
    assert sys_w.get_capability('vnic_failover_capable'), 'ManagedSystem: no vNIC failover'
    vioses = pvm_vios.VIOS.get(adapter)
    assert all(v.vnic_capable and v.vnic_failover_capable for v in vioses), \
        'VIOS not IsVNICCapable/VNICFailOverCapable'


def _vnics(adapter, lpar_uuid):
    return iocard.VNIC.get(adapter, parent_type=pvm_lpar.LPAR, parent_uuid=lpar_uuid)


def test_plug_consumes_capacity_and_unplug_frees_it(env):
    _sim, adapter, host_uuid, lpar_uuid = env
    _assert_vnic_capable(adapter)
    vnic = sriov_vif.plug_sriov(
        adapter, host_uuid, lpar_uuid, 'fa:16:3e:00:00:01', 100,
        [f'{C8}-T1', f'{C8}-T2', f'{C9}-T1'], redundancy=2, capacity=0.1)
    assert vnic.mac == 'FA163E000001' and vnic.pvid == 100
    # Link-down C8-T2 is skipped; one backing port per adapter.
    used = {(b.sriov_adap_id, b.pport_id) for b in vnic.back_devs}
    assert used == {(1, 0), (2, 0)}

    listed = _vnics(adapter, lpar_uuid)
    assert [v.uuid for v in listed] == [vnic.uuid]
    assert all(b.capacity == 0.1 for b in listed[0].back_devs)

    ports = _ports(adapter)
    for loc in (f'{C8}-T1', f'{C9}-T1'):
        assert (ports[loc].allocated_capacity, ports[loc].cfg_lps) == (0.1, 1), loc
    assert ports[f'{C8}-T2'].cfg_lps == 0

    sriov_vif.unplug_sriov(adapter, lpar_uuid, 'FA:16:3E:00:00:01')
    assert _vnics(adapter, lpar_uuid) == []
    ports = _ports(adapter)
    for loc in (f'{C8}-T1', f'{C9}-T1'):
        assert (ports[loc].allocated_capacity, ports[loc].cfg_lps) == (0.0, 0), loc
    with pytest.raises(sriov_vif.VnicNotFound, match='FA163E000001'):
        sriov_vif.unplug_sriov(adapter, lpar_uuid, 'FA163E000001')


def test_too_much_redundancy_leaves_nothing(env):
    _sim, adapter, host_uuid, lpar_uuid = env
    _assert_vnic_capable(adapter)
    with pytest.raises(pvm_exc.InsufficientSRIOVCapacity):
        sriov_vif.plug_sriov(adapter, host_uuid, lpar_uuid, 'FA163E000002', 5,
                             [f'{C8}-T1', f'{C8}-T2', f'{C9}-T1'], redundancy=3)
    assert _vnics(adapter, lpar_uuid) == []
    assert all(p.cfg_lps == 0 for p in _ports(adapter).values())


def test_server_refuses_capacity_with_http_error(env):
    _sim, adapter, _host_uuid, lpar_uuid = env
    vios = pvm_vios.VIOS.get(adapter)[0]
    # C8-T3 has 5% left; ask the server directly (no client-side filtering).
    vnic = iocard.VNIC.bld(adapter, pvid=7, mac_addr='FA163E000003')
    vnic.back_devs.append(iocard.VNICBackDev.bld(adapter, vios.uuid, 1, 2, capacity=0.5))
    with pytest.raises(pvm_exc.HttpError) as err:
        vnic.create(parent_type=pvm_lpar.LPAR, parent_uuid=lpar_uuid)
    assert err.value.response.status == 409
    assert f'{C8}-T3 has 5.0% capacity left' in str(err.value.response.body)
    assert _vnics(adapter, lpar_uuid) == []
    assert _ports(adapter)[f'{C8}-T3'].allocated_capacity == 0.95

    # Two backing devices on the same port: refused, nothing made.
    vnic = iocard.VNIC.bld(adapter, pvid=7, mac_addr='FA163E000004')
    vnic.back_devs.append(iocard.VNICBackDev.bld(adapter, vios.uuid, 2, 1))
    vnic.back_devs.append(iocard.VNICBackDev.bld(adapter, vios.uuid, 2, 1))
    with pytest.raises(pvm_exc.HttpError) as err:
        vnic.create(parent_type=pvm_lpar.LPAR, parent_uuid=lpar_uuid)
    assert err.value.response.status == 400
    assert _vnics(adapter, lpar_uuid) == []


def test_relabel_visible_in_fresh_get(env):
    sim, adapter, _host_uuid, _lpar_uuid = env
    assert _ports(adapter)[f'{C9}-T2'].label == 'physnet2'
    sim.admin('POST', 'relabel', location_code=f'{C9}-T2', label='physnet9')
    assert _ports(adapter)[f'{C9}-T2'].label == 'physnet9'


def _events_until(adapter, app: str, pred, polls: int = 5) -> list:
    """Poll the Event API (long poll) until an event matches ``pred``; all events seen."""
    seen: list = []
    for _ in range(polls):
        seen += pvm_event.Event.get(adapter, app)
        if any(pred(e) for e in seen):
            return seen
    raise AssertionError(f'no matching event; got {[(e.etype, e.data, e.detail) for e in seen]}')


def test_relabel_by_cli_emits_config_change_event(env, capsys):
    sim, adapter, _host_uuid, _lpar_uuid = env
    listener = new_adapter(sim)
    assert [e.etype for e in pvm_event.Event.get(listener, 'sriov-app')] == ['NEW_CLIENT']

    rc = sim_cli.main(['admin', '--url', sim.url, '--user', USER, '--password', PASSWORD,
                       'relabel', f'{C9}-T2', 'physnet9'])
    assert rc == 0, capsys.readouterr()
    events = _events_until(listener, 'sriov-app',
                           lambda e: const.SRIOV_PORT_CONFIG_CHANGE in (e.detail or ''))
    (change,) = [e for e in events if const.SRIOV_PORT_CONFIG_CHANGE in (e.detail or '')]
    sys_w = pvm_ms.System.get(adapter)[0]
    assert change.etype == 'MODIFY_URI'
    assert change.data.endswith(f'/rest/api/uom/ManagedSystem/{sys_w.uuid}')
    assert _ports(adapter)[f'{C9}-T2'].label == 'physnet9'

    # An unknown port: a clear error naming it, no label changes, no event.
    rc = sim_cli.main(['admin', '--url', sim.url, '--user', USER, '--password', PASSWORD,
                       'relabel', f'{C9}-T9', 'physnet9'])
    assert rc != 0
    assert f'{C9}-T9' in capsys.readouterr().err
    assert pvm_event.Event.get(listener, 'sriov-app') == []
    assert {loc: p.label for loc, p in _ports(adapter).items()}[f'{C9}-T2'] == 'physnet9'


def test_capacity_off_the_port_granularity_refused_nothing_made(env):
    _sim, adapter, host_uuid, lpar_uuid = env
    before = {loc: (p.allocated_capacity, p.cfg_lps) for loc, p in _ports(adapter).items()}
    # 3% is not a multiple of the 2% granularity: pypowervm lets it through, the
    # platform refuses it (networking-powervm: "must be a multiple ... or the
    # binding will fail").
    with pytest.raises(pvm_exc.HttpError) as err:
        sriov_vif.plug_sriov(adapter, host_uuid, lpar_uuid, 'FA163E000005', 5,
                             [f'{C8}-T1', f'{C9}-T1'], redundancy=2, capacity=0.03)
    assert err.value.response.status == 400
    assert 'not a multiple of the capacity granularity 2.0%' in str(err.value.response.body)
    assert _vnics(adapter, lpar_uuid) == []
    assert {loc: (p.allocated_capacity, p.cfg_lps)
            for loc, p in _ports(adapter).items()} == before


def test_vnic_and_capacity_survive_restart(sim_factory, tmp_path: pathlib.Path):
    path = tmp_path / 'sriov.yaml'
    path.write_text(SCENARIO, encoding='utf-8')
    state_dir = tmp_path / 'state'
    sim = sim_factory(str(path), state_dir=state_dir)
    adapter = new_adapter(sim)
    lpar = next(lp for lp in pvm_lpar.LPAR.get(adapter) if lp.name == 'instance-00000001')
    vios = pvm_vios.VIOS.get(adapter)[0]
    vnic = iocard.VNIC.bld(adapter, pvid=9, mac_addr='FA163E000009')
    vnic.back_devs.append(iocard.VNICBackDev.bld(adapter, vios.uuid, 2, 1, capacity=0.2))
    created = vnic.create(parent_type=pvm_lpar.LPAR, parent_uuid=lpar.uuid)
    stop(sim)

    sim2 = sim_factory(str(path), state_dir=state_dir)
    adapter2 = new_adapter(sim2)
    assert [v.uuid for v in _vnics(adapter2, lpar.uuid)] == [created.uuid]
    port = _ports(adapter2)[f'{C9}-T2']
    assert (port.allocated_capacity, port.cfg_lps) == (0.2, 1)
    got = iocard.VNIC.get(adapter2, uuid=created.uuid, parent_type=pvm_lpar.LPAR,
                          parent_uuid=lpar.uuid)
    got.delete()
    assert _ports(adapter2)[f'{C9}-T2'].cfg_lps == 0
