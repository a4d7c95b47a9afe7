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

"""SR-IOV end to end: real Neutron + simulator subprocess + SEA and SR-IOV agent processes.

One simulator (scenario ``single``) and both agents of one host serve the whole
module. The compute side plugs vNICs as Nova's PowerVM driver did, from the
binding's vif_details; every check of the host is a fresh pypowervm GET.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pypowervm import adapter as pvm_adapter
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import sriov as pvm_sriov
from pypowervm.wrappers import iocard
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.common import constants as const
from powervm_sim.client import SubprocessSim, start_subprocess
from powervm_testbed.agent_process import AgentProcess, AgentProcessError
from powervm_testbed.neutron_client import NeutronClient
from powervm_testbed.neutron_stack import NeutronStack
from powervm_vif import partition, sea_vif, sriov_vif
from tests.e2e import sriov_fixtures as fx

SIM_USER = 'sim-admin'
SIM_PASSWORD = 'sim-e2e-password'
DEFAULT_VFS = 2          # [AGENT] vnic_required_vfs of the SR-IOV agent
DEFAULT_CAPACITY = 0.04  # [AGENT] vnic_vf_capacity of the SR-IOV agent
WAIT = 60                # generous: a state is waited for, never a duration
MAX_BACKING_DEVICES = 6  # a vNIC takes at most 6 backing devices
EVENT_WAIT = 20          # relabel -> mappings: an event cycle, far below the heal interval


@dataclass
class Env:
    """What the tests of this module share."""

    stack: NeutronStack
    sim: SubprocessSim
    host: str
    adapter: pvm_adapter.Adapter  # the compute side's
    reader: pvm_adapter.Adapter   # the tests' own session for checking the host
    host_uuid: str
    sea: AgentProcess
    sriov: AgentProcess

    def check_agents_running(self) -> None:
        for agent in (self.sea, self.sriov):
            assert agent.running, f'{agent.agent_type} exited\n{agent.log_tail()}'


@pytest.fixture(scope='module')
def env(neutron_stack: NeutronStack, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Env]:
    """Simulator + SEA agent + SR-IOV agent, all for one host, alive in Neutron."""
    sim = start_subprocess('single', tmp_path_factory.mktemp('sriov-sim'),
                           user=SIM_USER, password=SIM_PASSWORD)
    host = f'sriov-e2e-{uuid.uuid4().hex[:8]}'
    agents: list[AgentProcess] = []
    adapters: list[pvm_adapter.Adapter] = []
    try:
        common = {'powervm': fx.powervm_section(sim)}
        agent_opts = {'heal_and_optimize_interval': 3600, 'exception_interval': 1}
        sea_conf, sea_log = fx.agent_config(neutron_stack, host, 'sea', {
            **common, 'AGENT': {**agent_opts, 'bridge_mappings': 'default:ent8:vios1'}})
        sriov_conf, sriov_log = fx.agent_config(neutron_stack, host, 'sriov', {
            **common, 'AGENT': {**agent_opts, 'vnic_required_vfs': DEFAULT_VFS,
                                'vnic_vf_capacity': DEFAULT_CAPACITY}})
        sea = AgentProcess('networking-powervm-sea-agent', sea_conf, host,
                           const.AGENT_TYPE_PVM_SEA, log_file=sea_log)
        sriov = AgentProcess('networking-powervm-sriov-agent', sriov_conf, host,
                             const.AGENT_TYPE_PVM_SRIOV, log_file=sriov_log)
        agents += [sea.start(), sriov.start()]
        neutron = NeutronClient(neutron_stack.api_url)
        for proc in agents:
            try:
                proc.wait_alive(neutron, timeout=WAIT)
            except AgentProcessError as exc:
                pytest.fail(str(exc), pytrace=False)
        adapters += [fx.new_adapter(sim), fx.new_adapter(sim)]
        yield Env(neutron_stack, sim, host, adapters[0], adapters[1],
                  partition.host_uuid(adapters[0]), sea, sriov)
    finally:
        for agent in agents:
            agent.stop()
        for adapter in adapters:
            fx.log_off(adapter)
        sim.stop()


@pytest.fixture
def lpar(env: Env) -> Iterator[str]:
    """A new partition for one test (deleted afterwards, releasing its vNICs)."""
    name = f'e2e-{uuid.uuid4().hex[:10]}'
    created = partition.create_lpar(env.adapter, name)
    yield created.uuid
    try:
        partition.delete_lpar(env.adapter, name)
    except Exception:  # best effort: the module's simulator goes away anyway
        pass


def _vlan_net(neutron: NeutronClient, physnet: str, first: int) -> dict[str, Any]:
    """A VLAN network with a subnet, at VLAN ``first`` or the next free one."""
    net = neutron.create_free_vlan_network(f'{physnet}-{first}', physnet, first)
    vlan = net['provider:segmentation_id']
    neutron.create_subnet(net['id'], f'10.{vlan // 256}.{vlan % 256}.0/24')
    return net


def _direct_port(neutron: NeutronClient, env: Env, net: dict[str, Any], lpar_uuid: str,
                 profile: dict[str, Any] | None = None) -> dict[str, Any]:
    port = neutron.create_port(net['id'], host_id=env.host, vnic_type='direct',
                               binding_profile=profile, device_owner='compute:nova',
                               device_id=lpar_uuid)
    assert port['binding:vif_type'] == const.VIF_TYPE_PVM_SRIOV, port
    return port


def _plug(env: Env, port: dict[str, Any], lpar_uuid: str) -> Any:
    """plug_sriov from the binding's vif_details, as Nova's SR-IOV VIF driver does."""
    d = port['binding:vif_details']
    return sriov_vif.plug_sriov(
        env.adapter, env.host_uuid, lpar_uuid, port['mac_address'], int(d['vlan']),
        d[const.PHYSICAL_PORTS], d[const.REDUNDANCY], d[const.CAPACITY],
        d[const.MAXCAPACITY])


def _mappings_wait(neutron: NeutronClient, env: Env, want: dict[str, list[str]]
                   ) -> dict[str, list[str]]:
    return neutron.wait_for(lambda: fx.reported_mappings(neutron, env.host),
                            lambda got: got == want, timeout=EVENT_WAIT,
                            what=f'SR-IOV agent mappings {want}')


# ---------------------------------------------------------------------------- tests
def test_agents_report_host_state(env: Env, neutron: NeutronClient) -> None:
    env.check_agents_running()
    sriov = fx.neutron_agent(neutron, env.host, const.AGENT_TYPE_PVM_SRIOV)
    assert sriov['alive'] is True and sriov['binary'] == const.AGENT_BINARY_SRIOV
    conf = sriov['configurations']
    assert conf[const.CONF_DEFAULT_REDUNDANCY] == DEFAULT_VFS
    assert conf[const.CONF_DEFAULT_CAPACITY] == DEFAULT_CAPACITY
    expected = fx.expected_mappings(env.sim)
    assert fx.reported_mappings(neutron, env.host) == expected
    # Scenario 'single': T1, T2 labelled 'default', T3, T4 unlabelled -> 'default' too.
    assert {f'U78C7.001.RCH0004-P1-C8-T{n}' for n in (1, 2, 3, 4)} <= set(expected['default'])
    sea = fx.neutron_agent(neutron, env.host, const.AGENT_TYPE_PVM_SEA)
    assert sea['alive'] is True
    assert sea['configurations'][const.CONF_BRIDGE_MAPPINGS] == {'default': 'ent8'}


def test_direct_port_plug_active_unplug_down(env: Env, neutron: NeutronClient,
                                             lpar: str) -> None:
    net = _vlan_net(neutron, 'default', 3001)
    usage_before = fx.port_usage(env.reader)
    port = _direct_port(neutron, env, net, lpar)
    details = port['binding:vif_details']
    vlan = net['provider:segmentation_id']
    assert details['vlan'] == str(vlan)
    assert details['physical_network'] == 'default'
    assert sorted(details[const.PHYSICAL_PORTS]) == fx.expected_mappings(env.sim)['default']
    assert details[const.REDUNDANCY] == DEFAULT_VFS
    assert details[const.CAPACITY] == DEFAULT_CAPACITY
    assert details[const.MAXCAPACITY] is None
    assert neutron.get_port(port['id'])['status'] == 'DOWN'

    _plug(env, port, lpar)
    vnics = fx.lpar_vnics(env.reader, lpar)
    assert len(vnics) == 1
    vnic = vnics[0]
    assert vnic.mac == port['mac_address'].replace(':', '').upper()
    assert vnic.pvid == vlan
    assert len(vnic.back_devs) == DEFAULT_VFS
    assert [b.capacity for b in vnic.back_devs] == [DEFAULT_CAPACITY] * DEFAULT_VFS
    used = fx.back_dev_locations(env.reader, vnic)
    assert len(set(used)) == DEFAULT_VFS and set(used) <= set(details[const.PHYSICAL_PORTS])
    usage = fx.port_usage(env.reader)
    for loc in used:
        cap, vfs = usage_before[loc]
        assert usage[loc] == (pytest.approx(cap + DEFAULT_CAPACITY), vfs + 1), loc

    neutron.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)

    sriov_vif.unplug_sriov(env.adapter, lpar, port['mac_address'])
    neutron.wait_for_port(port['id'], status='DOWN', timeout=WAIT)
    assert fx.lpar_vnics(env.reader, lpar) == []
    assert fx.port_usage(env.reader) == usage_before
    env.check_agents_running()


def test_profile_overrides_reach_vif_details_and_vnic(env: Env, neutron: NeutronClient,
                                                      lpar: str) -> None:
    net = _vlan_net(neutron, 'default', 3002)
    port = _direct_port(neutron, env, net, lpar,
                        profile={'vnic_required_vfs': 3, 'capacity': 0.1,
                                 'maxcapacity': 0.5})
    details = port['binding:vif_details']
    assert details[const.REDUNDANCY] == 3
    assert details[const.CAPACITY] == 0.1
    assert details[const.MAXCAPACITY] == 0.5

    _plug(env, port, lpar)
    (vnic,) = fx.lpar_vnics(env.reader, lpar)
    assert len(vnic.back_devs) == 3
    assert [b.capacity for b in vnic.back_devs] == [0.1] * 3
    assert [b.max_capacity for b in vnic.back_devs] == [0.5] * 3
    used = fx.back_dev_locations(env.reader, vnic)
    usage = fx.port_usage(env.reader)
    assert all(usage[loc][0] >= 0.1 for loc in used), usage
    neutron.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)

    sriov_vif.unplug_sriov(env.adapter, lpar, port['mac_address'])
    neutron.wait_for_port(port['id'], status='DOWN', timeout=WAIT)


def test_bad_profile_fails_binding_and_agent_keeps_running(env: Env,
                                                           neutron: NeutronClient) -> None:
    net = _vlan_net(neutron, 'default', 3003)
    cases = [({'capacity': 1.5}, "capacity=1.5"),
             ({'capacity': 'lots'}, "capacity='lots'"),
             ({'capacity': 0.12345}, "capacity=0.12345"),
             ({'vnic_required_vfs': 0}, "vnic_required_vfs=0"),
             ({'capacity': 0.5, 'maxcapacity': 0.2}, "maxcapacity=0.2")]
    for profile, named in cases:
        port = neutron.create_port(net['id'], host_id=env.host, vnic_type='direct',
                                   binding_profile=profile)
        assert port['binding:vif_type'] == 'binding_failed', (profile, port)
        # neutron-server logged why, naming the port and the bad value (never a traceback).
        lines = [ln for ln in env.stack.api_log.read_text(errors='replace').splitlines()
                 if f'Refusing to bind port {port["id"]}' in ln]
        assert lines and all(named in ln for ln in lines), (profile, lines)
    assert 'Traceback' not in ''.join(
        ln for ln in env.stack.api_log.read_text(errors='replace').splitlines()
        if 'mech_pvm_sriov' in ln)
    env.check_agents_running()


def test_flat_network_port_is_untagged(env: Env, neutron: NeutronClient, lpar: str) -> None:
    net = neutron.create_network('sriov-flat', physnet='default', network_type='flat')
    try:
        neutron.create_subnet(net['id'], '10.250.0.0/24')
        port = _direct_port(neutron, env, net, lpar, profile={'vnic_required_vfs': 1})
        details = port['binding:vif_details']
        assert details['vlan'] == '0' and details['physical_network'] == 'default'
        _plug(env, port, lpar)
        (vnic,) = fx.lpar_vnics(env.reader, lpar)
        assert vnic.pvid == 0 and len(vnic.back_devs) == 1
        neutron.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)
        sriov_vif.unplug_sriov(env.adapter, lpar, port['mac_address'])
        neutron.wait_for_port(port['id'], status='DOWN', timeout=WAIT)
        neutron.delete_port(port['id'])
    finally:
        neutron.delete_network(net['id'])


def test_more_vfs_than_physical_ports_refused_at_bind_time(env: Env, neutron: NeutronClient,
                                                          lpar: str) -> None:
    """vnic_required_vfs above the physnet's physical ports: binding_failed, naming the value."""
    ports_on_physnet = len(fx.expected_mappings(env.sim)['default'])
    net = _vlan_net(neutron, 'default', 3004)
    usage_before = fx.port_usage(env.reader)
    for want in (ports_on_physnet + 1, 10 ** 30):
        port = neutron.create_port(net['id'], host_id=env.host, vnic_type='direct',
                                   binding_profile={'vnic_required_vfs': want},
                                   device_owner='compute:nova', device_id=lpar)
        assert port['binding:vif_type'] == 'binding_failed', (want, port)
        lines = [ln for ln in env.stack.api_log.read_text(errors='replace').splitlines()
                 if f'Refusing to bind port {port["id"]}' in ln]
        assert lines and all(f'vnic_required_vfs={want}' in ln and
                             f'{ports_on_physnet} physical port(s)' in ln for ln in lines), lines
    assert fx.lpar_vnics(env.reader, lpar) == []
    assert fx.port_usage(env.reader) == usage_before
    env.check_agents_running()


def test_too_much_capacity_fails_and_leaves_nothing(env: Env, neutron: NeutronClient,
                                                    lpar: str) -> None:
    physnet_ports = fx.expected_mappings(env.sim)['default']
    assert len(physnet_ports) <= MAX_BACKING_DEVICES, 'one filler vNIC must cover the physnet'
    net = _vlan_net(neutron, 'default', 3005)
    stale_sys = pvm_ms.System.get(env.adapter)[0]  # read before the ports fill up
    # Fill every port of the physnet to 60%: none has room for another 50%.
    filler = _direct_port(neutron, env, net, lpar,
                          profile={'vnic_required_vfs': len(physnet_ports), 'capacity': 0.6})
    _plug(env, filler, lpar)
    neutron.wait_for_port(filler['id'], status='ACTIVE', timeout=WAIT)
    usage_before = fx.port_usage(env.reader)
    assert all(usage_before[loc][0] >= 0.6 for loc in physnet_ports), usage_before
    filler_mac = filler['mac_address'].replace(':', '').upper()

    port = _direct_port(neutron, env, net, lpar, profile={'vnic_required_vfs': 1,
                                                          'capacity': 0.5})
    # The compute side reads the ports first: pypowervm refuses before any request.
    with pytest.raises(pvm_exc.InsufficientSRIOVCapacity) as err:
        _plug(env, port, lpar)
    assert 'redundancy requirement of 1' in str(err.value)
    assert 'Found 0 viable' in str(err.value)
    assert [v.mac for v in fx.lpar_vnics(env.reader, lpar)] == [filler_mac]
    assert fx.port_usage(env.reader) == usage_before

    # A compute host with a stale view (read before the filler) gets past pypowervm's
    # check; the server refuses the create, naming the port, and makes nothing.
    mac = port['mac_address'].replace(':', '').upper()
    vnic = iocard.VNIC.bld(env.adapter, pvid=net['provider:segmentation_id'], mac_addr=mac)
    pvm_sriov.set_vnic_back_devs(vnic, physnet_ports, sys_w=stale_sys, redundancy=1,
                                 capacity=0.5)
    with pytest.raises(pvm_exc.HttpError) as http_err:
        vnic.create(parent_type=pvm_lpar.LPAR, parent_uuid=lpar)
    assert http_err.value.response.status == 409
    body = str(http_err.value.response.body)
    assert 'capacity left' in body and '50.0% requested' in body, body
    assert any(loc in body for loc in physnet_ports), body
    assert [v.mac for v in fx.lpar_vnics(env.reader, lpar)] == [filler_mac]
    assert fx.port_usage(env.reader) == usage_before
    assert neutron.get_port(port['id'])['status'] == 'DOWN'

    sriov_vif.unplug_sriov(env.adapter, lpar, filler['mac_address'])
    neutron.wait_for_port(filler['id'], status='DOWN', timeout=WAIT)


def test_relabel_moves_port_to_other_physnet(env: Env, neutron: NeutronClient,
                                             lpar: str) -> None:
    before = fx.expected_mappings(env.sim)
    assert fx.reported_mappings(neutron, env.host) == before
    moved = before['default'][-1]
    new_physnet = 'physnet2'
    original_label = fx.sriov_ports(env.reader)[moved].label or ''
    want = {k: [loc for loc in v if loc != moved] for k, v in before.items()}
    want[new_physnet] = sorted(want.get(new_physnet, []) + [moved])
    want = {k: v for k, v in want.items() if v}
    try:
        env.sim.admin('POST', 'relabel', location_code=moved, label=new_physnet)
        assert fx.expected_mappings(env.sim) == want
        # Heal runs hourly here: only the SRIOVPhysicalPort.ConfigChange event explains it.
        _mappings_wait(neutron, env, want)

        net = _vlan_net(neutron, new_physnet, 3006)
        port = _direct_port(neutron, env, net, lpar, profile={'vnic_required_vfs': 1})
        details = port['binding:vif_details']
        assert details['physical_network'] == new_physnet
        assert sorted(details[const.PHYSICAL_PORTS]) == want[new_physnet]
        assert moved in details[const.PHYSICAL_PORTS]
        _plug(env, port, lpar)
        (vnic,) = fx.lpar_vnics(env.reader, lpar)
        assert set(fx.back_dev_locations(env.reader, vnic)) <= set(want[new_physnet])
        neutron.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)
        sriov_vif.unplug_sriov(env.adapter, lpar, port['mac_address'])
        neutron.wait_for_port(port['id'], status='DOWN', timeout=WAIT)
    finally:
        env.sim.admin('POST', 'relabel', location_code=moved, label=original_label)
    _mappings_wait(neutron, env, before)


def test_sea_and_sriov_agents_share_the_host(env: Env, neutron: NeutronClient,
                                             lpar: str) -> None:
    env.check_agents_running()
    vlans_at_start = fx.bridge_vlans(env.reader, env.host_uuid)
    mappings = fx.reported_mappings(neutron, env.host)

    sea_net = neutron.create_free_vlan_network('sea-shared', 'default', 3010,
                                               avoid=vlans_at_start)
    sriov_net = neutron.create_free_vlan_network('sriov-shared', 'default', 3011,
                                                 avoid=vlans_at_start)
    sea_vlan = sea_net['provider:segmentation_id']
    sriov_vlan = sriov_net['provider:segmentation_id']
    sea_port = neutron.create_port(sea_net['id'], host_id=env.host,
                                   device_owner='compute:nova', device_id=lpar)
    assert sea_port['binding:vif_type'] == const.VIF_TYPE_PVM_SEA
    sriov_port = _direct_port(neutron, env, sriov_net, lpar)

    sea_vif.plug_sea(env.adapter, env.host_uuid, lpar, sea_port['mac_address'], sea_vlan)
    neutron.wait_for_port(sea_port['id'], status='ACTIVE', timeout=WAIT)
    assert sea_vlan in fx.bridge_vlans(env.reader, env.host_uuid)
    sea_agent = neutron.wait_for(
        lambda: fx.neutron_agent(neutron, env.host, const.AGENT_TYPE_PVM_SEA),
        lambda a: a['configurations'].get(const.CONF_DEVICES) == 1, timeout=WAIT,
        what='SEA agent reporting 1 device')

    _plug(env, sriov_port, lpar)
    neutron.wait_for_port(sriov_port['id'], status='ACTIVE', timeout=WAIT)
    # Let the SEA agent see the vNIC's events and report again after them.
    neutron.wait_for(
        lambda: fx.neutron_agent(neutron, env.host, const.AGENT_TYPE_PVM_SEA),
        lambda a: a['heartbeat_timestamp'] > sea_agent['heartbeat_timestamp'],
        timeout=WAIT, what='a later SEA agent heartbeat')

    # Both ports ACTIVE on the same partition at once; both agents alive.
    assert neutron.get_port(sea_port['id'])['status'] == 'ACTIVE'
    assert neutron.get_port(sriov_port['id'])['status'] == 'ACTIVE'
    for agent_type in (const.AGENT_TYPE_PVM_SEA, const.AGENT_TYPE_PVM_SRIOV):
        assert fx.neutron_agent(neutron, env.host, agent_type)['alive'] is True
    env.check_agents_running()
    # The vNIC touched no bridge and no SEA device count; the CNA no SR-IOV mapping.
    vlans = fx.bridge_vlans(env.reader, env.host_uuid)
    assert sea_vlan in vlans and sriov_vlan not in vlans
    assert vlans <= vlans_at_start | {sea_vlan}
    sea_conf = fx.neutron_agent(neutron, env.host, const.AGENT_TYPE_PVM_SEA)['configurations']
    assert sea_conf[const.CONF_DEVICES] == 1
    assert fx.reported_mappings(neutron, env.host) == mappings
    (vnic,) = fx.lpar_vnics(env.reader, lpar)
    assert vnic.pvid == sriov_vlan

    sriov_vif.unplug_sriov(env.adapter, lpar, sriov_port['mac_address'])
    neutron.wait_for_port(sriov_port['id'], status='DOWN', timeout=WAIT)
    assert neutron.get_port(sea_port['id'])['status'] == 'ACTIVE'
    assert sea_vlan in fx.bridge_vlans(env.reader, env.host_uuid)
    sea_vif.unplug_sea(env.adapter, lpar, sea_port['mac_address'])
    neutron.wait_for_port(sea_port['id'], status='DOWN', timeout=WAIT)


def test_startup_heal_marks_every_vnic_up(env: Env, neutron: NeutronClient, lpar: str) -> None:
    """vNICs made with no VIF event (so no event can explain ACTIVE): heal marks them up.

    Runs last: it restarts the SR-IOV agent (heal_and_optimize_interval is an hour,
    so the start-up heal is the only heal).
    """
    second_name = f'e2e-{uuid.uuid4().hex[:10]}'
    second = partition.create_lpar(env.adapter, second_name).uuid
    net = _vlan_net(neutron, 'default', 3020)
    ports = [_direct_port(neutron, env, net, lpar_uuid, profile={'vnic_required_vfs': 1})
             for lpar_uuid in (lpar, lpar, second)]
    try:
        for port, lpar_uuid in zip(ports, (lpar, lpar, second), strict=True):
            d = port['binding:vif_details']
            mac = port['mac_address'].replace(':', '').upper()
            vnic = iocard.VNIC.bld(env.adapter, pvid=int(d['vlan']), mac_addr=mac)
            pvm_sriov.set_vnic_back_devs(vnic, d[const.PHYSICAL_PORTS], redundancy=1,
                                         capacity=d[const.CAPACITY])
            vnic.create(parent_type=pvm_lpar.LPAR, parent_uuid=lpar_uuid)
            assert neutron.get_port(port['id'])['status'] == 'DOWN'
        heals_before = env.sriov.log_text().count('Heal: marking 3 SR-IOV port(s) up')

        env.sriov.restart()
        env.sriov.wait_alive(neutron, timeout=WAIT)
        for port in ports:
            neutron.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)
        assert env.sriov.log_text().count('Heal: marking 3 SR-IOV port(s) up') \
            == heals_before + 1
        assert fx.reported_mappings(neutron, env.host) == fx.expected_mappings(env.sim)
        env.check_agents_running()
    finally:
        for port, lpar_uuid in zip(ports, (lpar, lpar, second), strict=True):
            try:
                sriov_vif.unplug_sriov(env.adapter, lpar_uuid, port['mac_address'])
            except sriov_vif.VnicNotFound:
                pass
        partition.delete_lpar(env.adapter, second_name)
    for port in ports:
        neutron.wait_for_port(port['id'], status='DOWN', timeout=WAIT)
