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

"""SEA agent convergence end to end: Neutron's port status follows the host, whatever was lost.

The invariant (checked after each fault and one heal): every port bound to the
agent's host is ACTIVE iff its adapter exists on the host and its VLAN is on
its bridge, DOWN otherwise; no VLAN in use is removed; with cleanup on, no VLAN
is left that nothing uses.
"""

from __future__ import annotations

import signal
from typing import Any

from pypowervm import util as pvm_util
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

from networking_powervm.common import constants as pvm_const
from powervm_vif import sea_vif
from tests.e2e import sea_fixtures as sf
from tests.e2e.sea_fixtures import SeaEnv

HEAL_DONE = 'Heal and optimize done'


def host_adapters(env: SeaEnv) -> dict[str, Any]:
    """{MAC (Neutron form): CNA} of every client partition's adapter, read now."""
    adapter = sf.new_adapter(env.sim)
    found = {}
    for lpar in pvm_lpar.LPAR.get(adapter):
        for cna in pvm_net.CNA.get(adapter, parent=lpar):
            mac = pvm_util.sanitize_mac_for_api(cna.mac).lower()
            found[':'.join(mac[i:i + 2] for i in range(0, 12, 2))] = cna
    return found


def wrong_ports(env: SeaEnv) -> list[str]:
    """Ports bound to the env's host whose status breaks the invariant ([] when none)."""
    adapters = host_adapters(env)
    vlans = env.vlans(fresh=True)
    wrong = []
    for port in env.neutron.list_ports(**{'binding:host_id': env.host}):
        if port.get('binding:vif_type') != pvm_const.VIF_TYPE_PVM_SEA:
            continue
        vlan = int(port['binding:vif_details']['vlan'])
        served = port['mac_address'] in adapters and vlan in vlans
        want = 'ACTIVE' if served and port['admin_state_up'] else 'DOWN'
        if port['status'] != want:
            wrong.append(f"{port['id']} ({port['mac_address']}, VLAN {vlan}): "
                         f"{port['status']}, want {want}")
    return wrong


def stray_vlans(env: SeaEnv) -> list[int]:
    """The bridge's additional VLANs that no adapter on its switch uses ([] when none).

    Client partitions' adapters (trunk or not) and the VIOSes' own non-trunk
    adapters count; a VLAN of an OpenStack port missing from the bridge shows
    in wrong_ports().
    """
    adapter = sf.new_adapter(env.sim)
    nb = sf.bridge_of(adapter, env.host_uuid)
    cnas = list(host_adapters(env).values())
    for vios in pvm_vios.VIOS.get(adapter, xag=[]):
        cnas += [c for c in pvm_net.CNA.get(adapter, parent=vios) if not c.is_trunk]
    used = set()
    for cna in cnas:
        if cna.vswitch_id in (None, nb.vswitch_id):
            used |= {int(cna.pvid), *(int(v) for v in cna.tagged_vlans)}
    additional = set.intersection(*[{int(v) for t in sea.addl_adpts for v in t.tagged_vlans}
                                    for sea in nb.seas])
    return sorted(additional - used)


def converged(env: SeaEnv) -> bool:
    return not wrong_ports(env) and not stray_vlans(env)


def wait_converged(env: SeaEnv, timeout: float = sf.HEAL_WAIT) -> None:
    try:
        sf.wait_until(lambda: converged(env), 'the host and Neutron converged',
                      timeout=timeout)
    except sf.WaitTimeout:
        raise AssertionError(f'ports: {wrong_ports(env)}; stray VLANs: {stray_vlans(env)}\n'
                             f'{env.agent.log_tail(40)}') from None


def plugged_ports(env: SeaEnv, count: int, preferred: int) -> tuple[Any, list[dict]]:
    """``count`` ports on one new partition, plugged and ACTIVE."""
    net = env.network(preferred)
    lpar = sf.create_lpar(env.adapter)
    ports = [env.port(net) for _ in range(count)]
    for port in ports:
        sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'],
                int(net['provider:segmentation_id']))
    for port in ports:
        env.wait_status(port['id'], 'ACTIVE')
    return lpar, ports


def delete_adapter_silently(env: SeaEnv, lpar: Any, mac: str) -> None:
    """Nova's unplug whose event is lost: the adapter goes, no event reaches the agent."""
    cna = sea_vif.find_cna(env.adapter, lpar.uuid, mac)
    assert cna is not None
    cna.delete()


def test_lost_unplugs_are_marked_down_by_the_missing_events_resync(resync_env: SeaEnv) -> None:
    """Event-queue overflow: the resync marks DOWN the ports whose adapter left the host."""
    env = resync_env
    lpar, ports = plugged_ports(env, 4, 2400)
    for port in ports[:3]:
        delete_adapter_silently(env, lpar, port['mac_address'])
    assert env.sim.admin('POST', 'overflow-events')['overflowed'] >= 1
    for port in ports[:3]:
        env.wait_status(port['id'], 'DOWN')
    assert env.neutron.get_port(ports[3]['id'])['status'] == 'ACTIVE'
    assert wrong_ports(env) == []


def test_unplug_while_the_agent_is_down_is_marked_down_at_start_up(
        throwaway_env: SeaEnv) -> None:
    env = throwaway_env
    lpar, ports = plugged_ports(env, 2, 2450)
    assert env.agent.kill() == -signal.SIGKILL
    sf.unplug(env.adapter, lpar, ports[0]['mac_address'])   # the agent never sees it
    env.agent.start()
    env.agent.wait_alive(env.neutron, timeout=90)
    env.wait_status(ports[0]['id'], 'DOWN')
    wait_converged(env)
    assert env.neutron.get_port(ports[1]['id'])['status'] == 'ACTIVE'


def test_heal_over_healthy_ports_changes_no_status_or_revision(single_env: SeaEnv) -> None:
    """A periodic heal pass asks Neutron nothing that moves a port already right."""
    env = single_env
    _lpar, ports = plugged_ports(env, 3, 2500)
    wait_converged(env)
    before = {p['id']: (env.neutron.get_port(p['id'])['status'],
                        env.neutron.get_port(p['id'])['revision_number']) for p in ports}
    heals = env.agent.log_text().count(HEAL_DONE)
    sf.wait_until(lambda: env.agent.log_text().count(HEAL_DONE) >= heals + 2,
                  'two more heal passes', timeout=sf.HEAL_WAIT)
    after = {p['id']: (env.neutron.get_port(p['id'])['status'],
                       env.neutron.get_port(p['id'])['revision_number']) for p in ports}
    assert after == before
    assert {status for status, _rev in after.values()} == {'ACTIVE'}
