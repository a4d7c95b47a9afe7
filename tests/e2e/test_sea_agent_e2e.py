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

"""SEA agent end to end: real Neutron (API + RPC, MariaDB, RabbitMQ), simulator, agent process.

The agent runs as ``networking-powervm-sea-agent`` against a ``powervm-sim``
subprocess; the test plugs VIFs as Nova's PowerVM driver did (crt_cna + event)
and checks the Network Bridges with its own pypowervm adapters.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent import futures
from typing import Any

import pytest

from networking_powervm.common import constants as const
from powervm_testbed.neutron_stack import NeutronStack
from powervm_vif import events as vif_events
from powervm_vif import sea_vif
from tests.e2e import sea_fixtures as sf
from tests.e2e.sea_fixtures import SEA_TIMINGS, SeaEnv

# VLANs the tests put on bridges behind the agent's back; networks never use them.
LEGACY_VLAN = 2000        # legacy-db's CNA (single/redundant scenarios)
FOREIGN_VLAN = 2100       # a non-OpenStack CNA created by a test
ORPHAN_VLANS = (2200, 2201)  # on the bridge, used by nobody: cleanup must remove them
PRIMARY_VLAN = 3100       # tagged on the primary trunk adapter (primary load group)
RESERVED = {LEGACY_VLAN, FOREIGN_VLAN, *ORPHAN_VLANS, PRIMARY_VLAN}


def make_net(env: SeaEnv, preferred: int, physnet: str = 'default') -> dict[str, Any]:
    """A VLAN network at or after ``preferred``, never on a VLAN the tests reserve."""
    return env.network(preferred, physnet, avoid=RESERVED)


def seg(net: dict[str, Any]) -> int:
    return int(net['provider:segmentation_id'])


def _timed(name: str, t0: float) -> None:
    SEA_TIMINGS.setdefault('tests', {})[name] = round(time.monotonic() - t0, 1)


# ------------------------------------------------------------------ single


def test_agent_alive_with_configurations(single_env: SeaEnv) -> None:
    env = single_env
    row = env.agent_row()
    assert row['alive'] is True
    assert row['binary'] == const.AGENT_BINARY_SEA
    assert row['agent_type'] == const.AGENT_TYPE_PVM_SEA
    conf = row['configurations']
    assert conf[const.CONF_BRIDGE_MAPPINGS] == {'default': 'ent8'}
    assert isinstance(conf[const.CONF_DEVICES], int)
    # It keeps reporting: the heartbeat timestamp moves on.
    first = row['heartbeat_timestamp']
    sf.wait_until(lambda: env.agent_row()['heartbeat_timestamp'] != first,
                  'a new heartbeat', timeout=30)


def test_plug_unplug_delete_lifecycle(single_env: SeaEnv) -> None:
    t0 = time.monotonic()
    env = single_env
    net = make_net(env, 1234)
    vlan = seg(net)
    port = env.port(net)
    assert port['binding:vif_type'] == const.VIF_TYPE_PVM_SEA
    assert port['binding:vif_details']['vlan'] == str(vlan)
    assert port['status'] == 'DOWN'
    assert vlan not in env.vlans()

    lpar = sf.create_lpar(env.adapter)
    sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'], vlan)
    env.wait_vlans(present={vlan})
    env.wait_status(port['id'], 'ACTIVE')
    assert vlan in env.vlans(fresh=True)
    sf.wait_until(lambda: env.agent_row()['configurations'][const.CONF_DEVICES] >= 1,
                  'devices >= 1 in the agent report', timeout=30)

    sf.unplug(env.adapter, lpar, port['mac_address'])
    env.wait_status(port['id'], 'DOWN')

    # Plug again (same MAC, same partition): back to ACTIVE.
    sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'], vlan)
    env.wait_status(port['id'], 'ACTIVE')
    env.wait_vlans(present={vlan})

    # Nova deletes the port and unplugs: the VLAN goes at the next optimize.
    env.neutron.delete_port(port['id'])
    sf.unplug(env.adapter, lpar, port['mac_address'])
    env.wait_vlans(absent={vlan}, timeout=sf.HEAL_WAIT)
    assert vlan not in env.vlans(fresh=True)
    _timed('lifecycle', t0)


def test_cleanup_keeps_vlans_in_use_and_primary_load_group(single_env: SeaEnv) -> None:
    t0 = time.monotonic()
    env = single_env
    # A non-OpenStack partition with its own CNA on FOREIGN_VLAN (no event, unknown MAC).
    other = sf.create_lpar(env.adapter, 'legacy-app')
    sf.create_foreign_cna(env.adapter, env.host_uuid, other, FOREIGN_VLAN)
    # One optimize after the foreign CNA exists: an orphan VLAN added now must go.
    sf.add_vlans(env.adapter, env.host_uuid, [ORPHAN_VLANS[0]])
    env.wait_vlans(absent={ORPHAN_VLANS[0]}, timeout=sf.HEAL_WAIT)

    # An OpenStack port that comes and goes.
    net = make_net(env, 1240)
    vlan = seg(net)
    port = env.port(net)
    lpar = sf.create_lpar(env.adapter)
    sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'], vlan)
    env.wait_status(port['id'], 'ACTIVE')

    sf.add_vlans(env.adapter, env.host_uuid, [LEGACY_VLAN, FOREIGN_VLAN, ORPHAN_VLANS[1]])
    sf.add_primary_vlan(env.adapter, env.host_uuid, PRIMARY_VLAN)
    before = env.vlans()
    assert {vlan, LEGACY_VLAN, FOREIGN_VLAN, ORPHAN_VLANS[1], PRIMARY_VLAN} <= before

    env.neutron.delete_port(port['id'])
    sf.unplug(env.adapter, lpar, port['mac_address'])
    # The optimize that removes the unused VLANs (one bridge update) ...
    after = env.wait_vlans(absent={vlan, ORPHAN_VLANS[1]}, timeout=sf.HEAL_WAIT)
    # ... keeps those some partition uses and the primary load group's.
    assert {LEGACY_VLAN, FOREIGN_VLAN, PRIMARY_VLAN, 1} <= after, sorted(after)
    nb = sf.bridge_of(sf.new_adapter(env.sim), env.host_uuid)
    assert PRIMARY_VLAN in nb.seas[0].primary_adpt.tagged_vlans
    assert nb.seas[0].primary_adpt.pvid == nb.pvid == 1
    # Still there one more optimize later (detected by a second orphan's removal).
    sf.add_vlans(env.adapter, env.host_uuid, [ORPHAN_VLANS[0]])
    after = env.wait_vlans(absent={ORPHAN_VLANS[0]}, timeout=sf.HEAL_WAIT)
    assert {LEGACY_VLAN, FOREIGN_VLAN, PRIMARY_VLAN} <= after, sorted(after)
    _timed('cleanup', t0)


def test_plug_before_port_exists_is_retried(single_env: SeaEnv) -> None:
    t0 = time.monotonic()
    env = single_env
    net = make_net(env, 1500)
    vlan = seg(net)
    mac = sf.random_mac()
    lpar = sf.create_lpar(env.adapter)
    # Nova plugs first: Neutron has no port with this MAC yet.
    sf.plug(env.adapter, env.host_uuid, lpar, mac, vlan)
    assert not env.neutron.list_ports(mac_address=mac)
    port = env.port(net, mac=mac)
    assert port['mac_address'] == mac
    env.wait_status(port['id'], 'ACTIVE')
    env.wait_vlans(present={vlan})
    _timed('plug_before_port', t0)


def test_faults_during_concurrent_plug_burst(single_env: SeaEnv) -> None:
    """412s and VIOS-busy answers on the agent's bridge updates during 10 concurrent plugs."""
    t0 = time.monotonic()
    env = single_env
    nets = [make_net(env, 1600 + 10 * i) for i in range(5)]
    vlans = {seg(n) for n in nets}
    assert not vlans & env.vlans()
    lpars = [sf.create_lpar(env.adapter) for _ in range(2)]
    count = 10
    start = threading.Barrier(count + 1, timeout=120)
    created: list[dict[str, Any]] = [{} for _ in range(count)]

    def one_plug(i: int) -> None:
        # Own adapter per thread (as separate Nova spawns would have).
        adapter = sf.new_adapter(env.sim)
        net, lpar, mac = nets[i % len(nets)], lpars[i % len(lpars)], sf.random_mac()
        # The CNA first (no faults armed yet), then - once the faults are armed - the port
        # and the plug event, so every injected fault hits the agent's requests.
        new = sf.create_cna_for(adapter, env.host_uuid, lpar, mac, seg(net))
        start.wait()
        created[i] = env.port(net, mac=mac)
        vif_events.post_vif_event(adapter, const.EVENT_ACTION_PLUG, mac,
                                  const.VIF_TYPE_PVM_SEA, sea_vif.cna_href(new))

    env.sim.admin('DELETE', 'fault')
    with futures.ThreadPoolExecutor(count) as pool:
        jobs = [pool.submit(one_plug, i) for i in range(count)]
        start.wait()  # every CNA exists
        before = env.sim.admin('GET', 'fault')['injected']
        env.sim.admin('POST', 'fault', kind='412', count=3, scope='writes')
        env.sim.admin('POST', 'fault', kind='vios_busy', count=2, scope='writes')
        for job in jobs:
            job.result()

    for port in created:
        env.wait_status(port['id'], 'ACTIVE', timeout=120)
    env.wait_vlans(present=vlans, timeout=60)
    assert vlans <= env.vlans(fresh=True)
    # The agent (the only writer since arming) really got every fault.
    faults = sf.wait_until(lambda: (f := env.sim.admin('GET', 'fault')) and not f['armed']
                           and f, 'all armed faults consumed', timeout=sf.HEAL_WAIT)
    injected = faults['injected']
    assert injected['etag_mismatch'] - before['etag_mismatch'] >= 3
    assert injected['vios_busy'] - before['vios_busy'] >= 2
    _timed('fault_burst', t0)


def test_sigkill_restart_heals_removed_vlans(single_env: SeaEnv) -> None:
    t0 = time.monotonic()
    env = single_env
    nets = [make_net(env, 1700 + 5 * i) for i in range(2)]
    lpar = sf.create_lpar(env.adapter)
    ports = [env.port(n) for n in nets]
    for port, net in zip(ports, nets, strict=True):
        sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'], seg(net))
    for port in ports:
        env.wait_status(port['id'], 'ACTIVE')
    vlans = {seg(n) for n in nets}
    env.wait_vlans(present=vlans)

    assert env.agent.kill() == -signal.SIGKILL
    for vlan in vlans:
        sf.remove_vlan(env.adapter, env.host_uuid, vlan)
    assert not vlans & env.vlans(fresh=True)
    # A port plugged while the agent is down (its event is never seen).
    late_net = make_net(env, 1720)
    late = env.port(late_net)
    sf.plug(env.adapter, env.host_uuid, lpar, late['mac_address'], seg(late_net))

    env.agent.start()
    env.agent.wait_alive(env.neutron, timeout=90)
    all_vlans = vlans | {seg(late_net)}
    env.wait_vlans(present=all_vlans, timeout=sf.HEAL_WAIT)
    for port in [*ports, late]:
        env.wait_status(port['id'], 'ACTIVE')
    assert all_vlans <= env.vlans(fresh=True)
    _timed('sigkill_restart', t0)


def test_port_update_is_consumed(single_env: SeaEnv) -> None:
    """admin_state_up off/on reaches the agent as port_update: the port goes DOWN, then ACTIVE.

    ML2 itself leaves the status alone on an admin_state_up change: only an agent
    that consumes port_update (and re-provisions) moves it.
    """
    t0 = time.monotonic()
    env = single_env
    net = make_net(env, 1300)
    port = env.port(net)
    lpar = sf.create_lpar(env.adapter)
    sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'], seg(net))
    env.wait_status(port['id'], 'ACTIVE')
    env.neutron.update_port(port['id'], {'admin_state_up': False})
    env.wait_status(port['id'], 'DOWN')
    env.neutron.update_port(port['id'], {'admin_state_up': True})
    env.wait_status(port['id'], 'ACTIVE')
    assert seg(net) in env.vlans(fresh=True)
    assert 'port_update of port ' + port['id'] in env.agent.log_text()
    _timed('port_update', t0)


# ------------------------------------------------------------------ redundant / two bridges


def test_redundant_pair_gets_vlan_on_both_seas(redundant_env: SeaEnv) -> None:
    t0 = time.monotonic()
    env = redundant_env
    nbs = sf.bridges(env.adapter, env.host_uuid)
    assert len(nbs) == 1 and len(nbs[0].seas) == 2
    assert env.agent_row()['configurations'][const.CONF_BRIDGE_MAPPINGS] == {
        'default': 'ent8'}
    net = make_net(env, 1800)
    vlan = seg(net)
    port = env.port(net)
    assert port['binding:vif_type'] == const.VIF_TYPE_PVM_SEA
    lpar = sf.create_lpar(env.adapter)
    sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'], vlan)
    env.wait_status(port['id'], 'ACTIVE')
    env.wait_vlans(present={vlan})
    nb = sf.bridges(sf.new_adapter(env.sim), env.host_uuid)[0]
    for sea in nb.seas:
        assert vlan in sf.sea_vlans(sea), (sea.dev_name, sea.vio_uri, sf.sea_vlans(sea))

    sf.add_vlans(env.adapter, env.host_uuid, [LEGACY_VLAN])
    env.neutron.delete_port(port['id'])
    sf.unplug(env.adapter, lpar, port['mac_address'])
    env.wait_vlans(absent={vlan}, timeout=sf.HEAL_WAIT)
    nb = sf.bridges(sf.new_adapter(env.sim), env.host_uuid)[0]
    for sea in nb.seas:
        assert vlan not in sf.sea_vlans(sea)
        assert LEGACY_VLAN in sf.sea_vlans(sea)  # legacy-db still uses it
    _timed('redundant', t0)


def test_two_bridges_vlans_land_on_their_physnets_bridge(two_bridges_env: SeaEnv) -> None:
    t0 = time.monotonic()
    env = two_bridges_env
    assert env.agent_row()['configurations'][const.CONF_BRIDGE_MAPPINGS] == {
        'physnet1': 'ent8', 'physnet2': 'ent9'}
    net1 = make_net(env, 1900, physnet='physnet1')
    net2 = make_net(env, 1950, physnet='physnet2')
    v1, v2 = seg(net1), seg(net2)
    p1, p2 = env.port(net1), env.port(net2)
    assert p1['binding:vif_type'] == p2['binding:vif_type'] == const.VIF_TYPE_PVM_SEA
    lpar = sf.create_lpar(env.adapter)
    sf.plug(env.adapter, env.host_uuid, lpar, p1['mac_address'], v1)
    sf.plug(env.adapter, env.host_uuid, lpar, p2['mac_address'], v2, vswitch='ETHERNET1')
    env.wait_status(p1['id'], 'ACTIVE')
    env.wait_status(p2['id'], 'ACTIVE')
    env.wait_vlans(present={v1}, sea_dev='ent8')
    env.wait_vlans(present={v2}, sea_dev='ent9')
    by_nb = sf.vlans_by_bridge(sf.new_adapter(env.sim), env.host_uuid)
    assert v1 in by_nb['ent8'] and v1 not in by_nb['ent9'], by_nb
    assert v2 in by_nb['ent9'] and v2 not in by_nb['ent8'], by_nb
    _timed('two_bridges', t0)


def test_cleanup_counts_vlan_use_per_virtual_switch(two_bridges_env: SeaEnv) -> None:
    """A VLAN id used only on ETHERNET0 does not keep that id on the ETHERNET1 bridge."""
    from pypowervm.tasks import cna as pvm_cna
    from pypowervm.util import sanitize_mac_for_api

    env = two_bridges_env
    lpar = sf.create_lpar(env.adapter)
    # Non-OpenStack adapters: 1971 on ETHERNET0 (ent8's switch), 1972 on ETHERNET1 (ent9's).
    for vlan, vswitch in ((1971, 'ETHERNET0'), (1972, 'ETHERNET1')):
        pvm_cna.crt_cna(env.adapter, env.host_uuid, lpar.uuid, pvid=vlan, vswitch=vswitch,
                        mac_addr=sanitize_mac_for_api(sf.random_mac()))
    sf.add_vlans(env.adapter, env.host_uuid, [1971], sea_dev='ent8')
    sf.add_vlans(env.adapter, env.host_uuid, [1971, 1972, 1973], sea_dev='ent9')
    # The next optimize removes 1971 (used on the other switch only) and 1973 from ent9.
    env.wait_vlans(present={1972}, absent={1971, 1973}, sea_dev='ent9', timeout=sf.HEAL_WAIT)
    assert 1971 in env.vlans('ent8', fresh=True)
    time.sleep(sf.HEAL_INTERVAL * 1.5)  # one more optimize changes nothing
    assert 1972 in env.vlans('ent9', fresh=True) and 1971 in env.vlans('ent8', fresh=True)


# ------------------------------------------------------------------ resync, heartbeat


def test_missing_events_resync_restores_state_without_restart(resync_env: SeaEnv) -> None:
    """An event-queue overflow (MISSING_EVENTS) makes the running agent heal the host.

    The agent's periodic heal is an hour away: only the full resync can restore
    the VLAN removed behind its back and bring up the port whose plug event was
    lost. The heartbeat's ``devices`` is the exact count of ports served.
    """
    t0 = time.monotonic()
    env = resync_env
    pid = env.agent.pid
    devices = const.CONF_DEVICES

    def reported_devices() -> int:
        return env.agent_row()['configurations'][devices]

    net_a, net_b = make_net(env, 1400), make_net(env, 1410)
    port_a, port_b = env.port(net_a), env.port(net_b)
    lpar = sf.create_lpar(env.adapter)
    sf.plug(env.adapter, env.host_uuid, lpar, port_a['mac_address'], seg(net_a))
    env.wait_status(port_a['id'], 'ACTIVE')
    env.wait_vlans(present={seg(net_a)})
    sf.wait_until(lambda: reported_devices() == 1, 'devices == 1 in the heartbeat', timeout=30)

    # Behind the agent's back: its VLAN goes; B's adapter appears with no plug event.
    sf.remove_vlan(env.adapter, env.host_uuid, seg(net_a))
    sf.create_cna_for(env.adapter, env.host_uuid, lpar, port_b['mac_address'], seg(net_b))
    assert not {seg(net_a), seg(net_b)} & env.vlans(fresh=True)
    assert env.neutron.get_port(port_b['id'])['status'] == 'DOWN'

    assert env.sim.admin('POST', 'overflow-events')['overflowed'] >= 1
    env.wait_vlans(present={seg(net_a), seg(net_b)})
    env.wait_status(port_b['id'], 'ACTIVE')
    assert env.neutron.get_port(port_a['id'])['status'] == 'ACTIVE'
    sf.wait_until(lambda: reported_devices() == 2, 'devices == 2 in the heartbeat', timeout=30)
    # The same process did it, told by the event.
    assert env.agent.running and env.agent.pid == pid and env.agent.starts == 1
    log = env.agent.log_text()
    assert 'PowerVM REST event MISSING_EVENTS: the event queue was reset' in log

    sf.unplug(env.adapter, lpar, port_a['mac_address'])
    env.wait_status(port_a['id'], 'DOWN')
    sf.wait_until(lambda: reported_devices() == 1, 'devices == 1 after an unplug', timeout=30)
    # Debug logging (every REST request) never shows the simulator's password.
    log = env.agent.log_text()
    assert 'DEBUG' in log
    assert sf.SIM_PASSWORD not in log
    assert sf.SIM_PASSWORD not in env.agent.out_file.read_text(errors='replace')
    _timed('missing_events_resync', t0)


# ------------------------------------------------------------------ start-up errors


@pytest.mark.parametrize('mappings, message', [
    ('default:ent8', "Invalid bridge_mappings entry 'default:ent8': expected "
                     "physnet:sea_dev:vios_name"),
    ('default:ent99:vios1', "bridge_mappings entry 'default:ent99:vios1': no Shared Ethernet "
                            "Adapter 'ent99' on VIOS 'vios1'"),
    ('default:ent8:vios9', "bridge_mappings entry 'default:ent8:vios9': VIOS 'vios9' not "
                           "found (known: vios1"),
])
def test_bad_bridge_mappings_stop_startup_naming_the_entry(
        single_env: SeaEnv, neutron_stack: NeutronStack, mappings: str, message: str) -> None:
    result = sf.run_agent_to_exit(neutron_stack, single_env.sim, mappings)
    assert result.code == 1, result.output
    assert message in result.output, result.output
    assert message in result.log, result.log
    assert 'Traceback' not in result.output + result.log


def test_several_bridges_without_mapping_stop_startup(
        two_bridges_env: SeaEnv, neutron_stack: NeutronStack) -> None:
    result = sf.run_agent_to_exit(neutron_stack, two_bridges_env.sim, '')
    assert result.code == 1, result.output
    assert ('2 Network Bridges on this host (ent8@vios1, ent9@vios2) and [agent] '
            'bridge_mappings is empty') in result.output, result.output
    assert 'Traceback' not in result.output + result.log


# ------------------------------------------------------------------ SIGTERM


def test_sigterm_stops_agent_cleanly(throwaway_env: SeaEnv) -> None:
    env = throwaway_env
    # Busy with a plug first, so its threads are all up.
    net = make_net(env, 1990)
    port = env.port(net)
    lpar = sf.create_lpar(env.adapter)
    sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'], seg(net))
    env.wait_status(port['id'], 'ACTIVE')
    t0 = time.monotonic()
    env.agent.signal(signal.SIGTERM)
    code = env.agent.wait_exit(timeout=10)
    took = time.monotonic() - t0
    SEA_TIMINGS.setdefault('tests', {})['sigterm_exit_s'] = round(took, 1)
    assert code == 0, env.agent.log_tail()
    assert 'Traceback' not in env.agent.log_text().split('Stopping')[-1], env.agent.log_tail()


class _TimingsSummary:
    """Late-registered plugin: prints SEA_TIMINGS in the terminal summary (after capture ends)."""

    @staticmethod
    def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
        if SEA_TIMINGS:
            terminalreporter.write_line(f'sea agent e2e timings (s): {SEA_TIMINGS}')


@pytest.fixture(scope='module', autouse=True)
def _print_timings(request: pytest.FixtureRequest) -> None:
    """Have the environments' and tests' timings printed at the end of the run."""
    manager = request.config.pluginmanager
    if not manager.has_plugin('npvm-sea-e2e-timings'):
        manager.register(_TimingsSummary(), 'npvm-sea-e2e-timings')
