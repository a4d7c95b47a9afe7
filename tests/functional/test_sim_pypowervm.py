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

"""Unmodified pypowervm (wrappers and tasks) against the real simulator over HTTP.

Every state change is checked by a fresh GET through a new adapter.
"""

from __future__ import annotations

import json

import pytest
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import cna as pvm_cna
from pypowervm.tasks import network_bridger as nbr
from pypowervm.tasks import partition as tpart
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

from networking_powervm.common import constants as const
from powervm_vif import partition, sea_vif
from tests.functional.conftest import new_adapter
from tests.functional.test_sim_server import Collector


def _bridge(adapter, host_uuid):
    return pvm_net.NetBridge.get(adapter, parent_type=pvm_ms.System, parent_uuid=host_uuid)[0]


def _fresh_bridge(sim):
    adpt = new_adapter(sim)
    return _bridge(adpt, partition.host_uuid(adpt))


def test_wrapper_gets(sim):
    adpt = new_adapter(sim)
    systems = pvm_ms.System.get(adpt)
    assert len(systems) == 1
    host_uuid = systems[0].uuid
    assert [v.name for v in pvm_vios.VIOS.get(adpt)] == ['vios1']
    names = {lp.name for lp in pvm_lpar.LPAR.get(adpt)}
    assert {'novalink', 'legacy-db'} <= names
    legacy = partition.find_lpar(adpt, 'legacy-db')
    cnas = pvm_net.CNA.get(adpt, parent_type=pvm_lpar.LPAR, parent_uuid=legacy.uuid)
    assert [(c.mac, c.pvid) for c in cnas] == [('FAD400000002', 2000)]
    nb = _bridge(adpt, host_uuid)
    assert nb.pvid == 1 and len(nb.seas) == 1
    vswitches = pvm_net.VSwitch.get(adpt, parent_type=pvm_ms.System, parent_uuid=host_uuid)
    assert [v.name for v in vswitches] == ['ETHERNET0']


@pytest.mark.parametrize('scenario', ['single', 'redundant'])
def test_validate_vios_ready(sim_factory, scenario):
    sim = sim_factory(scenario)
    tpart.validate_vios_ready(new_adapter(sim))  # raises if no VIOS is ready


@pytest.mark.parametrize('scenario,seas', [('single', 1), ('redundant', 2)])
def test_ensure_and_remove_vlans(sim_factory, scenario, seas):
    sim = sim_factory(scenario)
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    nb = _bridge(adpt, host_uuid)
    assert len(nb.seas) == seas
    nbr.ensure_vlans_on_nb(adpt, host_uuid, nb.uuid, [100, 101])
    fresh = _fresh_bridge(sim)
    assert {100, 101} <= set(fresh.list_vlans())
    groups = len(fresh.load_grps)
    # > 20 VLANs need another trunk: pypowervm adds a load group, with one trunk
    # adapter per VIOS.
    nbr.ensure_vlans_on_nb(adpt, host_uuid, nb.uuid, list(range(200, 230)))
    fresh = _fresh_bridge(sim)
    assert set(range(200, 230)) <= set(fresh.list_vlans())
    assert len(fresh.load_grps) > groups
    assert all(len(ta.tagged_vlans) <= const.MAX_VLANS_PER_TRUNK
               for lg in fresh.load_grps for ta in lg.trunk_adapters)
    assert all(len(lg.trunk_adapters) == seas for lg in fresh.load_grps)
    nbr.remove_vlan_from_nb(adpt, host_uuid, nb.uuid, 100)
    fresh = _fresh_bridge(sim)
    assert 100 not in fresh.list_vlans() and 101 in fresh.list_vlans()


def test_trunk_adapter_limit_is_http_error(sim):
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    nb = _bridge(adpt, host_uuid)
    too_many = list(range(100, 100 + const.MAX_VLANS_PER_TRUNK * const.MAX_TRUNKS_PER_SEA + 20))
    with pytest.raises(pvm_exc.HttpError) as err:
        nbr.ensure_vlans_on_nb(adpt, host_uuid, nb.uuid, too_many)
    assert err.value.response.status == 400
    assert 'at most 15' in err.value.her_wrap.message
    assert 150 not in _fresh_bridge(sim).list_vlans()  # nothing half-applied


def test_crt_cna_and_fresh_get(sim):
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    lpar = partition.create_lpar(adpt, 'vm-cna')
    cna = pvm_cna.crt_cna(adpt, host_uuid, lpar.uuid, 1234, mac_addr='FA163E000001')
    assert cna.pvid == 1234
    other = new_adapter(sim)
    cnas = pvm_net.CNA.get(other, parent_type=pvm_lpar.LPAR, parent_uuid=lpar.uuid)
    assert [(c.mac, c.pvid) for c in cnas] == [('FA163E000001', 1234)]


def test_412_storm_is_retried_by_network_bridger(sim):
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    nb = _bridge(adpt, host_uuid)
    sim.admin('POST', 'fault', kind='412', count=3)
    sim.admin('DELETE', 'stats')
    nbr.ensure_vlans_on_nb(adpt, host_uuid, nb.uuid, [321])
    stats = sim.admin('GET', 'stats')
    assert stats['faults']['injected']['etag_mismatch'] == 3
    assert stats['requests']['POST NetworkBridge'] == 4  # 3 refused + 1 applied
    assert 321 in _fresh_bridge(sim).list_vlans()


def test_event_listener_sees_plug_unplug_and_overflow(sim):
    adpt = new_adapter(sim)
    listener = adpt.session.get_event_listener()
    coll = Collector()
    listener.subscribe(coll)
    try:
        worker = new_adapter(sim)
        host_uuid = partition.host_uuid(worker)
        lpar = partition.create_lpar(worker, 'vm-events')
        coll.wait_for(lambda e: e['EventType'] == 'ADD_URI'
                      and e['EventData'].endswith('LogicalPartition/' + lpar.uuid))
        cna = sea_vif.plug_sea(worker, host_uuid, lpar.uuid, 'fa:16:3e:00:00:aa', 1500)
        href = sea_vif.cna_href(cna)
        coll.wait_for(lambda e: e['EventType'] == 'ADD_URI' and e['EventData'] == href)
        plug = coll.wait_for(lambda e: e['EventType'] == 'CUSTOM_CLIENT_EVENT')
        assert plug['EventData'] == href
        assert json.loads(plug['EventDetail']) == {
            'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'mac': 'fa:16:3e:00:00:aa',
            'type': 'pvm_sea'}
        assert sea_vif.unplug_sea(worker, lpar.uuid, 'FA163E0000AA') == href
        coll.wait_for(lambda e: e['EventType'] == 'DELETE_URI' and e['EventData'] == href)
        coll.wait_for(lambda e: e['EventType'] == 'CUSTOM_CLIENT_EVENT'
                      and json.loads(e['EventDetail'])['action'] == 'unplug')
        sim.admin('POST', 'overflow-events')
        coll.wait_for(lambda e: e['EventType'] == 'MISSING_EVENTS')
    finally:
        listener.shutdown()
    fresh = new_adapter(sim)
    assert pvm_net.CNA.get(fresh, parent_type=pvm_lpar.LPAR, parent_uuid=lpar.uuid) == []


def test_expiry_then_relogon_on_real_host(sim):
    adpt = new_adapter(sim)
    sim.admin('POST', 'expire-sessions')
    assert len(pvm_vios.VIOS.get(adpt)) == 1
    assert sim.admin('GET', 'stats')['logons'] == 2


def test_in_process_restart_keeps_state(sim):
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    nbr.ensure_vlans_on_nb(adpt, host_uuid, _bridge(adpt, host_uuid).uuid, [777])
    sim.admin('POST', 'restart')
    assert 777 in _bridge(adpt, host_uuid).list_vlans()  # re-logon after the restart
    assert 777 in _fresh_bridge(sim).list_vlans()


def test_large_scenario_lpar_feed(sim_factory):
    sim = sim_factory('large')
    lpars = pvm_lpar.LPAR.get(new_adapter(sim))
    assert len(lpars) >= 1000
    assert len({lp.uuid for lp in lpars}) == len(lpars)


def test_412_storm_on_bridge_writes_only(sim):
    """A fault aimed at NetworkBridge leaves the compute side's CNA writes alone."""
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    lpar = partition.create_lpar(adpt, 'vm-targeted')
    sim.admin('POST', 'fault', kind='412', count=2, resource='NetworkBridge')
    cna = pvm_cna.crt_cna(adpt, host_uuid, lpar.uuid, 1600, mac_addr='FA163E0000F1')
    assert cna.pvid == 1600  # not faulted
    assert sim.admin('GET', 'stats')['faults']['injected']['etag_mismatch'] == 0
    nbr.ensure_vlans_on_nb(adpt, host_uuid, _bridge(adpt, host_uuid).uuid, [1601])
    assert sim.admin('GET', 'stats')['faults']['injected']['etag_mismatch'] == 2
    assert 1601 in _fresh_bridge(sim).list_vlans()
