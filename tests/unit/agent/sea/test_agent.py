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

"""SharedEthernetAgent: batching, ordering, retry, heartbeat, heal and cleanup."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net

from networking_powervm.agent import provision as prov
from networking_powervm.agent.sea import agent as sea_agent
from networking_powervm.common import constants as pvm_const
from networking_powervm.common import vif_event
from tests.unit.agent import fakes, pvmdata

NB_UUID = 'b6a027a8-5c0b-3ac0-8547-b516f5ba6151'
VIOS1 = '3443DB77-AED1-47ED-9AA5-3DB9C6CF7089'
LPAR1 = '0C8BC782-E312-40F7-ACAD-81EB3B9FB06D'
HREF = f'https://127.0.0.1:12443/rest/api/uom/LogicalPartition/{LPAR1}/ClientNetworkAdapter/x'


def bridge(extra=(1001, 1002, 1003, 1004)):
    nb = pvmdata.net_bridges('nbbr_network_bridge_failover.txt')[0]
    for sea in nb.seas:
        sea.addl_adpts[0].tagged_vlans.extend(extra)
    return nb


def details(mac, vlan, physnet='physnet1', **extra):
    d = {'device': mac, 'mac_address': mac, 'port_id': f'port-{mac[-2:]}',
         'network_type': 'vlan', 'segmentation_id': vlan, 'physical_network': physnet,
         'admin_state_up': True}
    d.update(extra)
    return d


class Neutron:
    """get_devices_details_list answering from a dict of known ports."""

    def __init__(self, ports):
        self.ports = ports

    def __call__(self, ctx, macs, agent_id, host):
        return [self.ports.get(m, {'device': m}) for m in macs]


@pytest.fixture
def env(conf):
    conf.set_override('bridge_mappings', 'physnet1:ent5:vios1', 'AGENT')
    vioses = [SimpleNamespace(uuid=VIOS1, name='vios1')]
    with fakes.patched_rpc() as rpc, \
            mock.patch.object(pvm_net.NetBridge, 'get') as nb_get, \
            mock.patch.object(sea_agent.pvm_vios.VIOS, 'get', return_value=vioses), \
            mock.patch.object(sea_agent.pvm_bridger, 'ensure_vlans_on_nb') as ensure:
        nb_get.side_effect = lambda *a, **kw: bridge() if 'uuid' in kw else [bridge()]
        order = mock.Mock()
        order.attach_mock(ensure, 'ensure')
        order.attach_mock(rpc.plugin.update_device_list, 'update_device_list')
        agent = sea_agent.SharedEthernetAgent(conf, adapter=pvmdata.make_adapter(),
                                              clock=lambda: 1000.0)
        agent.setup()
        agent.wait = mock.Mock(return_value=False)
        yield SimpleNamespace(agent=agent, rpc=rpc, ensure=ensure, order=order, nb_get=nb_get)


def plug(mac, lpar=LPAR1):
    return prov.ProvisionRequest(prov.PLUG, mac, prov.Origin.EVENT, lpar, 1000.0)


def event(action, mac):
    return vif_event.VifEvent(action, mac, pvm_const.VIF_TYPE_PVM_SEA, HREF)


def test_identity_and_heartbeat(env):
    a = env.agent
    assert (a.AGENT_TYPE, a.BINARY, a.VIF_TYPE) == (
        'PowerVM Shared Ethernet agent', 'networking-powervm-sharedethernet-agent', 'pvm_sea')
    assert a.get_configurations() == {'bridge_mappings': {'physnet1': 'ent5'}, 'devices': 0}


def test_bad_mapping_is_a_startup_error(conf):
    conf.set_override('bridge_mappings', 'physnet1:ent5', 'AGENT')
    with fakes.patched_rpc(), pytest.raises(sea_agent.base.AgentError, match='physnet1:ent5'):
        sea_agent.SharedEthernetAgent(conf, adapter=pvmdata.make_adapter())


def test_unresolvable_mapping_is_a_startup_error(env, conf):
    conf.set_override('bridge_mappings', 'physnet1:ent9:vios1', 'AGENT')
    with fakes.patched_rpc():
        a = sea_agent.SharedEthernetAgent(conf, adapter=pvmdata.make_adapter())
    with pytest.raises(sea_agent.base.AgentError, match='ent9'):
        a.setup()


def test_plugs_on_one_bridge_make_one_ensure_then_up(env):
    macs = [f'fa:16:3e:00:00:0{i}' for i in range(1, 5)]
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron(
        {macs[0]: details(macs[0], 100), macs[1]: details(macs[1], 101),
         macs[2]: details(macs[2], 100), macs[3]: details(macs[3], 102)})
    for mac in macs:
        env.agent.handle_vif_event(event('plug', mac))
    outcome = env.agent.provision(env.agent.queue.drain(0))
    assert outcome.up == set(macs) and not outcome.failed and not outcome.waiting
    env.ensure.assert_called_once_with(env.agent.adapter, fakes.HOST_UUID, NB_UUID,
                                       [100, 101, 102])
    assert [name for name, *_ in env.order.mock_calls] == ['ensure', 'update_device_list']
    call = env.rpc.plugin.update_device_list.call_args[0]
    assert sorted(call[1]) == macs and call[2] == []
    assert env.agent.get_configurations()['devices'] == 4


def test_each_bridge_reports_its_ports_up_before_the_next_bridge_is_written(env):
    nb2 = 'c6a027a8-5c0b-3ac0-8547-b516f5ba6152'
    env.agent.bridges['physnet2'] = sea_agent.sea_map.ResolvedBridge('physnet2', nb2, 'ent6')
    a, b = 'fa:16:3e:00:00:01', 'fa:16:3e:00:00:02'
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron(
        {a: details(a, 100), b: details(b, 200, physnet='physnet2')})
    outcome = env.agent.provision([plug(a), plug(b)])
    assert outcome.up == {a, b}
    calls = [(name, args[2] if name == 'ensure' else args[1])
             for name, args, _kw in env.order.mock_calls]
    assert calls == [('ensure', NB_UUID), ('update_device_list', [a]),
                     ('ensure', nb2), ('update_device_list', [b])]


def test_a_failed_details_chunk_retries_only_its_ports(env, monkeypatch):
    monkeypatch.setattr(sea_agent.base.neutron_rpc, 'RPC_CHUNK', 2)
    macs = [f'fa:16:3e:00:00:0{i}' for i in range(1, 5)]
    known = Neutron({m: details(m, 100) for m in macs})

    def answer(ctx, devs, aid, host):
        if macs[3] in devs:
            raise TimeoutError('MessagingTimeout')
        return known(ctx, devs, aid, host)

    env.rpc.plugin.get_devices_details_list.side_effect = answer
    outcome = env.agent.provision([plug(m) for m in macs])
    assert outcome.up == set(macs[:2])
    assert sorted(r.mac for r in outcome.failed) == macs[2:]
    assert env.rpc.plugin.update_device_list.call_args[0][1] == macs[:2]


def test_a_failed_devices_up_retries_only_its_ports(env, monkeypatch):
    monkeypatch.setattr(sea_agent.base.neutron_rpc, 'RPC_CHUNK', 2)
    macs = [f'fa:16:3e:00:00:0{i}' for i in range(1, 5)]
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron(
        {m: details(m, 100) for m in macs})

    def up(ctx, devs_up, devs_down, aid, host):
        if macs[0] in devs_up:
            raise TimeoutError('MessagingTimeout')
        return {}

    env.rpc.plugin.update_device_list.side_effect = up
    outcome = env.agent.provision([plug(m) for m in macs])
    assert outcome.up == set(macs[2:])
    assert sorted(r.mac for r in outcome.failed) == macs[:2]
    assert env.agent.get_configurations()['devices'] == 2


def test_bridge_writes_hold_the_bridge_lock(env):
    mac = 'fa:16:3e:00:00:01'
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron({mac: details(mac, 100)})
    held = []
    env.ensure.side_effect = lambda *args: held.append(env.agent.bridge_lock(args[2]).locked())
    env.agent.provision([plug(mac)])
    assert held == [True]
    assert not env.agent.bridge_lock(NB_UUID).locked()


def _plug_after_read_ahead(env, vlan, between=lambda: None):
    mac = 'fa:16:3e:00:00:01'
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron({mac: details(mac, vlan)})
    env.agent.prefetch([plug(mac)])
    env.agent._early_nbs.exception(timeout=10)  # read done (or failed)
    between()
    outcome = env.agent.provision([plug(mac)])
    env.agent.drop_prefetched()
    return mac, outcome


def test_a_plug_whose_vlan_the_read_ahead_shows_makes_no_bridge_request(env):
    mac, outcome = _plug_after_read_ahead(env, 1001)
    assert outcome.up == {mac}
    env.ensure.assert_not_called()


def test_a_plug_of_a_vlan_not_on_the_read_ahead_ensures_it(env):
    mac, outcome = _plug_after_read_ahead(env, 100)
    assert outcome.up == {mac}
    env.ensure.assert_called_once_with(env.agent.adapter, fakes.HOST_UUID, NB_UUID, [100])


def test_a_bridge_write_after_the_read_ahead_makes_the_plug_read_again(env):
    def cleanup_write():
        with mock.patch.object(sea_agent.sea_vlans, 'remove_vlans_from_nb', return_value=[]):
            env.agent.cleanup([], env.agent.guard.mark())

    mac, outcome = _plug_after_read_ahead(env, 1001, cleanup_write)
    assert outcome.up == {mac}
    env.ensure.assert_called_once_with(env.agent.adapter, fakes.HOST_UUID, NB_UUID, [1001])


def test_a_failed_read_ahead_falls_back_to_ensure(env):
    env.nb_get.side_effect = RuntimeError('503')
    mac, outcome = _plug_after_read_ahead(env, 1001)
    assert outcome.up == {mac}
    env.ensure.assert_called_once()


def test_ensure_failure_no_up_and_retried(env):
    mac = 'fa:16:3e:00:00:01'
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron({mac: details(mac, 100)})
    env.ensure.side_effect = RuntimeError('VIOS busy')
    outcome = env.agent.provision([plug(mac)])
    assert outcome.up == set() and [r.mac for r in outcome.failed] == [mac]
    env.rpc.plugin.update_device_list.assert_not_called()


def test_unknown_port_goes_to_retry_set(env):
    known, unknown = 'fa:16:3e:00:00:01', 'fa:16:3e:00:00:02'
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron({known: details(known, 100)})
    outcome = env.agent.provision([plug(known), plug(unknown)])
    assert [r.mac for r in outcome.waiting] == [unknown]
    assert env.rpc.plugin.update_device_list.call_args[0][1] == [known]


def test_unplug_marks_down(env):
    mac = 'fa:16:3e:00:00:01'
    env.agent.handle_vif_event(event('unplug', mac))
    env.agent.provision(env.agent.queue.drain(0))
    env.rpc.plugin.update_device_list.assert_called_once_with(
        env.agent.context, [], [mac], env.agent.agent_id, 'novalink1')
    env.ensure.assert_not_called()


def test_unserved_physnet_and_bad_types_not_brought_up(env, caplog):
    macs = [f'fa:16:3e:00:00:0{i}' for i in range(1, 5)]
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron({
        macs[0]: details(macs[0], 100, physnet='other'),
        macs[1]: details(macs[1], 5000),
        macs[2]: details(macs[2], 7, network_type='vxlan'),
        macs[3]: details(macs[3], None, network_type='flat')})
    outcome = env.agent.provision([plug(m) for m in macs])
    assert outcome == prov.Outcome()
    env.ensure.assert_not_called()
    env.rpc.plugin.update_device_list.assert_not_called()
    for named in ("'other'", 'invalid VLAN 5000', "network type 'vxlan'",
                  "network type 'flat'"):
        assert named in caplog.text


def test_port_update_only_for_served_ports(env):
    mac = 'fa:16:3e:00:00:01'
    env.agent.port_update(None, port={'mac_address': mac})
    assert env.agent.queue.pending == []
    env.agent._devices.add(mac)
    env.agent.port_update(None, port={'mac_address': mac.upper()})
    assert [r.mac for r in env.agent.queue.pending] == [mac]


def cna(mac, pvid, tagged=(), trunk=False, loc_code=None):
    return SimpleNamespace(mac=mac, pvid=pvid, tagged_vlans=list(tagged), is_trunk=trunk,
                           loc_code=loc_code)


SEA_TRUNK_LOC = 'U8247.22L.2125D4A-V1-C3'  # the captured bridge's additional trunk adapter


def test_heal_provisions_host_ports_and_cleans_unused_vlans(env):
    os_mac, other_mac = 'FA163E000001', 'FA163E000002'
    lpars = [SimpleNamespace(uuid='L1'), SimpleNamespace(uuid='L2')]
    vios = SimpleNamespace(uuid=VIOS1)
    by_parent = {
        'L1': [cna(os_mac, 1001)],                   # OpenStack port, VLAN 1001
        'L2': [cna(other_mac, 1, [1002])],           # not OpenStack, tags 1002
        VIOS1: [cna('AAAAAAAAAAAA', 1003),
                cna('BBBBBBBBBBBB', 4094, [1004], trunk=True, loc_code=SEA_TRUNK_LOC)],
    }
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron(
        {'fa:16:3e:00:00:01': details('fa:16:3e:00:00:01', 1001)})
    env.rpc.plugin.get_ports_by_vnic_type_and_host.return_value = [
        {'id': 'p1', 'mac_address': 'fa:16:3e:00:00:01'},
        {'id': 'p2', 'mac_address': 'fa:16:3e:00:00:99'}]   # bound here, but no adapter
    with mock.patch.object(pvm_lpar.LPAR, 'get', return_value=lpars), \
            mock.patch.object(sea_agent.pvm_vios.VIOS, 'get', return_value=[vios]), \
            mock.patch.object(pvm_net.CNA, 'get',
                              side_effect=lambda adpt, parent: by_parent[parent.uuid]), \
            mock.patch.object(pvm_net.NetBridge, 'update', autospec=True) as update:
        vios.name = 'vios1'
        env.agent.heal()
    # VLAN 1001 is on the bridge as this pass read it: no bridge request for it.
    env.ensure.assert_not_called()
    # Only the bound port on the host is looked up: not the other partition's adapter.
    env.rpc.plugin.get_ports_by_vnic_type_and_host.assert_called_once_with(
        env.agent.context, 'normal', env.agent.host)
    assert env.rpc.plugin.get_devices_details_list.call_args[0][1] == ['fa:16:3e:00:00:01']
    assert env.rpc.plugin.update_device_list.call_args[0][1] == ['fa:16:3e:00:00:01']
    assert env.agent.get_configurations()['devices'] == 1
    # One bridge update removing only 1000 and 1004 (1004 only sits on a trunk).
    assert update.call_count == 1
    nb = update.call_args[0][0]
    assert [sorted(t.tagged_vlans) for s in nb.seas for t in s.addl_adpts] == [
        [1001, 1002, 1003], [1001, 1002, 1003]]
    assert nb.supports_vlan(2227)


def test_heal_without_cleanup_never_writes_bridge(env, conf):
    conf.set_override('automated_powervm_vlan_cleanup', False, 'AGENT')
    with mock.patch.object(pvm_lpar.LPAR, 'get', return_value=[]), \
            mock.patch.object(sea_agent.pvm_vios.VIOS, 'get',
                              return_value=[SimpleNamespace(uuid=VIOS1, name='vios1')]), \
            mock.patch.object(pvm_net.CNA, 'get', return_value=[]), \
            mock.patch.object(pvm_net.NetBridge, 'update', autospec=True) as update:
        env.agent.heal()
    update.assert_not_called()


def test_cleanup_keeps_vlans_provisioned_during_the_scan(env):
    gen = env.agent.guard.mark()
    env.agent.guard.add([1002])      # a plug ensured 1002 after the scan started
    with mock.patch.object(pvm_net.NetBridge, 'update', autospec=True) as update:
        removed = env.agent.cleanup([cna('FA163E000001', 1001)], gen)
    assert removed == {NB_UUID: [1000, 1003, 1004]}
    assert update.call_count == 1


def test_port_update_for_another_host_ignored(env):
    mac = 'fa:16:3e:00:00:01'
    env.agent._devices.add(mac)
    env.agent.port_update(None, port={'id': 'p1', 'mac_address': mac,
                                      'binding:host_id': 'other-host'})
    assert env.agent.queue.pending == []
    env.agent.port_update(None, port={'id': 'p1', 'mac_address': mac,
                                      'binding:host_id': 'novalink1'})
    assert [(r.mac, r.origin) for r in env.agent.queue.pending] == [
        (mac, prov.Origin.PORT_UPDATE)]


def test_admin_down_port_marked_down_still_served_and_port_update_brings_it_up(env):
    mac = 'fa:16:3e:00:00:01'
    ports = {mac: details(mac, 100, admin_state_up=False)}
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron(ports)
    assert env.agent.provision([plug(mac)]) == prov.Outcome(down={mac})
    env.rpc.plugin.update_device_list.assert_called_once_with(
        env.agent.context, [], [mac], env.agent.agent_id, 'novalink1')
    assert env.agent.get_configurations()['devices'] == 1
    # Admin up again: Neutron's port_update re-provisions it.
    ports[mac] = details(mac, 100)
    env.agent.port_update(None, port={'id': 'p1', 'mac_address': mac})
    assert env.agent.provision(env.agent.queue.drain(0)).up == {mac}
    assert env.rpc.plugin.update_device_list.call_args[0][1] == [mac]


def test_unplug_cancels_a_pending_port_update_replug(env):
    mac = 'fa:16:3e:00:00:01'
    env.agent._devices.add(mac)
    env.agent.port_update(None, port={'id': 'p1', 'mac_address': mac})
    env.agent.handle_vif_event(event('unplug', mac))
    batch = env.agent.queue.drain(0)
    assert [(r.action, r.lpar_uuid) for r in batch] == [('unplug', LPAR1)]
    env.agent.provision(batch)
    env.rpc.plugin.get_devices_details_list.assert_not_called()
    assert env.agent.get_configurations()['devices'] == 0


def test_heal_device_count_keeps_concurrent_plugs_and_drops_stale(env):
    on_host, gone, unbound, concurrent = (f'fa:16:3e:00:00:0{i}' for i in range(1, 5))
    env.agent._devices.update({on_host, gone, unbound})
    lpar = SimpleNamespace(uuid='L1')

    def cnas(adpt, parent):
        # The provision thread brings a port up while heal scans the host.
        with env.agent._dev_lock:
            env.agent._devices.add(concurrent)
        return [cna(on_host.replace(':', '').upper(), 1001),
                cna(unbound.replace(':', '').upper(), 1002)]

    env.rpc.plugin.get_devices_details_list.side_effect = Neutron(
        {on_host: details(on_host, 1001)})
    env.rpc.plugin.get_ports_by_vnic_type_and_host.return_value = [
        {'id': 'p1', 'mac_address': on_host}]
    with mock.patch.object(pvm_lpar.LPAR, 'get', return_value=[lpar]), \
            mock.patch.object(sea_agent.pvm_vios.VIOS, 'get',
                              return_value=[SimpleNamespace(uuid=VIOS1, name='vios1')]), \
            mock.patch.object(pvm_net.CNA, 'get', side_effect=cnas), \
            mock.patch.object(pvm_net.NetBridge, 'update', autospec=True):
        env.agent.heal()
    # gone: no adapter on the host any more; unbound: Neutron no longer binds it here.
    assert env.agent._devices == {on_host, concurrent}
    assert env.agent.get_configurations()['devices'] == 2


def test_cleanup_keeps_the_vlans_of_a_client_partitions_trunk_adapter(env):
    """pypowervm's fake_cna.txt: a client partition's trunk adapter, PVID 100, tagged 53-55."""
    client_trunk = pvmdata.cnas('fake_cna.txt')
    client_trunk.set_parm_value('VirtualSwitchID', '0')
    own_trunk = cna('BBBBBBBBBBBB', 4094, [1000, 1001, 1002, 1003, 1004, 53, 100],
                    trunk=True, loc_code=SEA_TRUNK_LOC)
    env.nb_get.side_effect = lambda *a, **kw: (
        bridge(extra=(53, 54, 55, 100, 1001)) if 'uuid' in kw else [bridge()])
    with mock.patch.object(pvm_net.NetBridge, 'update', autospec=True) as update:
        removed = env.agent.cleanup([client_trunk, own_trunk], env.agent.guard.mark())
    assert removed == {NB_UUID: [1000, 1001]}
    nb = update.call_args[0][0]
    assert [sorted(t.tagged_vlans) for s in nb.seas for t in s.addl_adpts] == [
        [53, 54, 55, 100], [53, 54, 55, 100]]


# ------------------------------------------------ heal: status follows the host


@pytest.fixture
def host_with(env):
    """heal() on a host whose partition L1 has the given adapters (VIOS: none)."""
    def run(adapters, bound, networks=None):
        env.rpc.plugin.get_ports_by_vnic_type_and_host.return_value = bound
        env.rpc.plugin.get_network_details.side_effect = (
            lambda ctx, net_id, agent_id, host: (networks or {}).get(net_id, {}))
        with mock.patch.object(pvm_lpar.LPAR, 'get',
                               return_value=[SimpleNamespace(uuid='L1')]), \
                mock.patch.object(sea_agent.pvm_vios.VIOS, 'get',
                                  return_value=[SimpleNamespace(uuid=VIOS1, name='vios1')]), \
                mock.patch.object(pvm_net.CNA, 'get',
                                  side_effect=lambda adpt, parent: adapters(parent)), \
                mock.patch.object(pvm_net.NetBridge, 'update', autospec=True):
            env.agent.heal()
    return run


def vlan_net(vlan, physnet='physnet1'):
    return {'provider:network_type': 'vlan', 'provider:physical_network': physnet,
            'provider:segmentation_id': vlan}


def test_heal_marks_down_bound_ports_whose_adapter_left_the_host(env, host_with):
    """Lost unplugs (event-queue overflow, agent down): the port is ACTIVE, its adapter gone."""
    gone, kept = 'fa:16:3e:00:00:01', 'fa:16:3e:00:00:02'
    env.agent._devices.update({gone, kept})
    host_with(lambda parent: [cna('FA163E000002', 1001)] if parent.uuid == 'L1' else [],
              [{'id': 'p1', 'mac_address': gone, 'status': 'ACTIVE', 'network_id': 'n1'},
               {'id': 'p2', 'mac_address': kept, 'status': 'ACTIVE', 'network_id': 'n1'}],
              {'n1': vlan_net(1001)})
    assert env.rpc.plugin.update_device_list.call_args_list == [
        mock.call(env.agent.context, [], [gone], env.agent.agent_id, 'novalink1')]
    assert env.agent._devices == {kept}


def test_heal_over_healthy_ports_asks_no_details_and_changes_no_status(env, host_with):
    """ACTIVE ports on the host: their VLAN is ensured from the network, Neutron not asked."""
    macs = ['fa:16:3e:00:00:01', 'fa:16:3e:00:00:02']
    host_with(lambda parent: [cna('FA163E000001', 1001), cna('FA163E000002', 1005)]
              if parent.uuid == 'L1' else [],
              [{'id': 'p1', 'mac_address': macs[0], 'status': 'ACTIVE', 'network_id': 'n1'},
               {'id': 'p2', 'mac_address': macs[1], 'status': 'ACTIVE', 'network_id': 'n2'}],
              {'n1': vlan_net(1001), 'n2': vlan_net(1005)})
    env.rpc.plugin.get_devices_details_list.assert_not_called()
    env.rpc.plugin.update_device_list.assert_not_called()
    env.ensure.assert_called_once_with(env.agent.adapter, fakes.HOST_UUID, NB_UUID,
                                       [1001, 1005])
    assert env.agent.get_configurations()['devices'] == 2


def test_heal_asks_details_only_of_ports_that_need_action(env, host_with):
    healthy, building = 'fa:16:3e:00:00:01', 'fa:16:3e:00:00:02'
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron(
        {building: details(building, 1002)})
    host_with(lambda parent: [cna('FA163E000001', 1001), cna('FA163E000002', 1002)]
              if parent.uuid == 'L1' else [],
              [{'id': 'p1', 'mac_address': healthy, 'status': 'ACTIVE', 'network_id': 'n1'},
               {'id': 'p2', 'mac_address': building, 'status': 'DOWN', 'network_id': 'n2'}],
              {'n1': vlan_net(1001)})
    assert env.rpc.plugin.get_devices_details_list.call_args[0][1] == [building]
    assert env.rpc.plugin.update_device_list.call_args_list == [
        mock.call(env.agent.context, [building], [], env.agent.agent_id, 'novalink1')]
    # Both VLANs are on the bridge as this pass read it: no bridge request.
    env.ensure.assert_not_called()


def test_an_unplug_during_the_heal_scan_wins(env, host_with):
    """The heal saw the adapter; the unplug came (and was provisioned) during its scan."""
    mac = 'fa:16:3e:00:00:01'
    env.rpc.plugin.get_devices_details_list.side_effect = Neutron({mac: details(mac, 1001)})

    def adapters(parent):
        if parent.uuid != 'L1':
            return []
        env.agent.handle_vif_event(event('unplug', mac))
        env.agent.provision(env.agent.queue.drain(0))
        return [cna('FA163E000001', 1001)]

    host_with(adapters, [{'id': 'p1', 'mac_address': mac, 'status': 'DOWN',
                          'network_id': 'n1'}])
    assert env.rpc.plugin.update_device_list.call_args_list == [
        mock.call(env.agent.context, [], [mac], env.agent.agent_id, 'novalink1')]
    env.rpc.plugin.get_devices_details_list.assert_not_called()


def test_heal_leaves_ports_with_a_queued_request_to_it(env, host_with):
    """A plug being provisioned when the heal looks: the heal does not ask (BUILD) it again."""
    mac = 'fa:16:3e:00:00:01'
    env.agent.queue.add(plug(mac))
    host_with(lambda parent: [cna('FA163E000001', 1001)] if parent.uuid == 'L1' else [],
              [{'id': 'p1', 'mac_address': mac, 'status': 'DOWN', 'network_id': 'n1'}])
    env.rpc.plugin.get_devices_details_list.assert_not_called()
    env.rpc.plugin.update_device_list.assert_not_called()


# --------------------------------------------- heal: the host model between full scans


L1_UUID = '11111111-1111-1111-1111-111111111111'


@pytest.fixture
def model_host(env):
    """A host with partition L1 (adapters from ``adapters``); counts partition reads."""
    mac = 'fa:16:3e:00:00:01'
    # The bridge carries 1000 (another partition's adapter) and 1001 (the port's): clean.
    state = SimpleNamespace(adapters=[cna('FA163E000001', 1001), cna('AAAAAAAAAAAA', 1000)],
                            reads=[])
    env.nb_get.side_effect = lambda *a, **kw: (bridge(extra=(1001,)) if 'uuid' in kw
                                               else [bridge(extra=(1001,))])

    def cna_get(adpt, parent=None, parent_type=None, parent_uuid=None):
        state.reads.append(parent.uuid if parent is not None else parent_uuid)
        return list(state.adapters) if state.reads[-1] == L1_UUID else []

    env.rpc.plugin.get_ports_by_vnic_type_and_host.return_value = [
        {'id': 'p1', 'mac_address': mac, 'status': 'ACTIVE', 'network_id': 'n1'}]
    env.rpc.plugin.get_network_details.return_value = vlan_net(1001)
    with mock.patch.object(pvm_lpar.LPAR, 'get',
                           return_value=[SimpleNamespace(uuid=L1_UUID)]) as lpar_get, \
            mock.patch.object(pvm_net.CNA, 'get', side_effect=cna_get), \
            mock.patch.object(pvm_net.NetBridge, 'update', autospec=True) as update:
        state.lpar_get, state.update, state.mac = lpar_get, update, mac
        env.agent.heal()                      # start-up: a full scan
        assert env.agent.heal_summary() == 'full scan: yes'
        state.reads.clear()
        lpar_get.reset_mock()
        env.rpc.plugin.reset_mock()
        env.ensure.reset_mock()
        yield state


def test_a_periodic_heal_of_an_unchanged_host_reads_only_the_bridges(env, model_host):
    env.agent.heal()
    assert env.agent.heal_summary() == 'full scan: no'
    assert model_host.reads == [] and not model_host.lpar_get.called
    # One Neutron call (the bound ports); the ACTIVE port on a VLAN the bridge has: no other.
    assert [c[0] for c in env.rpc.plugin.method_calls] == ['get_ports_by_vnic_type_and_host']
    env.ensure.assert_not_called()
    model_host.update.assert_not_called()      # cleanup: nothing to remove, no bridge write
    # Bridges: the feed read by resolve_bridges; no other bridge read.
    assert [c.kwargs.get('uuid') for c in env.nb_get.call_args_list][-1:] == [None]


def test_an_event_of_a_partition_makes_the_next_heal_re_read_it_alone(env, model_host):
    href = (f'https://h:12443/rest/api/uom/LogicalPartition/{L1_UUID}/ClientNetworkAdapter/'
            '3f5d3bd6-2c4a-3f2a-b1a1-8c1b8a0a1e11')
    assert env.agent.handle_other_event(SimpleNamespace(etype='DELETE_URI', data=href,
                                                        detail=''))
    model_host.adapters = []                  # its adapter was deleted; no unplug event
    env.agent.heal()
    assert model_host.reads == [L1_UUID] and not model_host.lpar_get.called
    assert env.rpc.plugin.update_device_list.call_args_list == [
        mock.call(env.agent.context, [], [model_host.mac], env.agent.agent_id, 'novalink1')]


def test_a_full_resync_makes_the_next_heal_a_full_scan(env, model_host):
    env.agent.full_resync()
    env.agent.heal()
    assert env.agent.heal_summary() == 'full scan: yes'
    assert model_host.lpar_get.called and model_host.reads == [L1_UUID, VIOS1]


def test_full_scan_interval_zero_scans_every_pass(env, conf, model_host):
    conf.set_override('full_scan_interval', 0, 'AGENT')
    env.agent.heal()
    assert env.agent.heal_summary() == 'full scan: yes' and model_host.lpar_get.called


def test_the_cleanup_follows_the_model_after_a_re_read(env, model_host):
    """The other partition's adapter on 1000 is deleted (an event, no full scan): 1000 goes,
    the port's 1001 and the primary load group's stay."""
    assert env.agent.handle_other_event(SimpleNamespace(
        etype='MODIFY_URI', detail='Other',
        data=f'https://h:12443/rest/api/uom/ManagedSystem/x/LogicalPartition/{L1_UUID}'))
    model_host.adapters = [cna('FA163E000001', 1001)]
    env.agent.heal()
    assert env.agent.heal_summary() == 'full scan: no' and model_host.reads == [L1_UUID]
    nb = model_host.update.call_args[0][0]
    assert [sorted(t.tagged_vlans) for s in nb.seas for t in s.addl_adpts] == [[1001], [1001]]
    assert nb.supports_vlan(2227)
