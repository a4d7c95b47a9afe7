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


"""SEA heal between full scans: the host model follows REST events, the bridges are always read.

The agent's full_scan_interval (default 4 h) is longer than the module: after the
start-up scan every periodic pass reads only the bridges (+ the VIOS list) and
the partitions REST events named.
"""

from __future__ import annotations

import re
from typing import Any

from powervm_vif import sea_vif
from tests.e2e import sea_fixtures as sf
from tests.e2e.sea_fixtures import SeaEnv

HEAL_LINE = re.compile(r'Heal and optimize done in [\d.]+ seconds: (\d+) REST reads, '
                       r'(\d+) writes \(full scan: (yes|no)\)')


def heal_lines(env: SeaEnv) -> list[tuple[int, int, str]]:
    """(reads, writes, full scan) of every heal pass the agent logged so far."""
    return [(int(r), int(w), full) for r, w, full in HEAL_LINE.findall(env.agent.log_text())]


def next_heals(env: SeaEnv, count: int = 1) -> list[tuple[int, int, str]]:
    """Wait for ``count`` more heal passes; their lines."""
    seen = len(heal_lines(env))
    sf.wait_until(lambda: len(heal_lines(env)) >= seen + count,
                  f'{count} more heal pass(es)', timeout=sf.HEAL_WAIT)
    return heal_lines(env)[seen:seen + count]


def plugged(env: SeaEnv, preferred: int) -> tuple[Any, dict, dict]:
    """A new partition with one plugged, ACTIVE port on a new network."""
    net = env.network(preferred)
    lpar = sf.create_lpar(env.adapter)
    port = env.port(net)
    sf.plug(env.adapter, env.host_uuid, lpar, port['mac_address'],
            int(net['provider:segmentation_id']))
    env.wait_status(port['id'], 'ACTIVE')
    return lpar, net, port


def test_an_idle_periodic_heal_reads_only_the_bridges_and_vioses(single_env: SeaEnv) -> None:
    env = single_env
    assert heal_lines(env)[0][2] == 'yes'           # the start-up pass: a full scan
    next_heals(env)                                 # settles what the start-up changed
    # An unchanged host: the bridge feed and the VIOS feed, nothing written.
    assert next_heals(env, 2) == [(2, 0, 'no'), (2, 0, 'no')]


def test_a_vlan_removed_from_the_bridge_by_hand_is_put_back(single_env: SeaEnv) -> None:
    env = single_env
    _lpar, net, port = plugged(env, 2600)
    vlan = int(net['provider:segmentation_id'])
    env.wait_vlans(present={vlan})
    sf.remove_vlan(sf.new_adapter(env.sim), env.host_uuid, vlan)   # not the agent's doing
    assert vlan not in env.vlans(fresh=True)
    env.wait_vlans(present={vlan}, timeout=sf.HEAL_WAIT)
    assert env.neutron.get_port(port['id'])['status'] == 'ACTIVE'
    assert all(full == 'no' for _r, _w, full in heal_lines(env)[1:])


def test_adapters_changed_via_rest_without_plug_events_reach_the_heal(
        single_env: SeaEnv) -> None:
    """The model re-reads the partitions REST events named: no plug/unplug event needed."""
    env = single_env
    lpar, _net, gone = plugged(env, 2650)
    # A port whose adapter is created, but the plug event never posted.
    net = env.network(2660)
    silent = env.port(net)
    sf.create_cna_for(env.adapter, env.host_uuid, lpar, silent['mac_address'],
                      int(net['provider:segmentation_id']))
    # The other port's adapter deleted by REST, no unplug event.
    cna = sea_vif.find_cna(env.adapter, lpar.uuid, gone['mac_address'])
    assert cna is not None
    cna.delete()
    env.wait_status(silent['id'], 'ACTIVE', timeout=sf.HEAL_WAIT)
    env.wait_status(gone['id'], 'DOWN', timeout=sf.HEAL_WAIT)
    env.wait_vlans(present={int(net['provider:segmentation_id'])})
    assert all(full == 'no' for _r, _w, full in heal_lines(env)[1:])


def test_a_vlan_change_of_an_adapter_via_rest_moves_the_cleanup(single_env: SeaEnv) -> None:
    """A foreign adapter moved from VLAN X to Y by REST: the cleanup keeps Y, removes X.

    With a stale view of the host it would do the opposite.
    """
    env = single_env
    old, new = 2680, 2681
    lpar = sf.create_lpar(env.adapter)
    foreign = sf.create_foreign_cna(env.adapter, env.host_uuid, lpar, old)
    sf.add_vlans(sf.new_adapter(env.sim), env.host_uuid, [old, new])
    env.wait_vlans(present={old}, absent={new}, timeout=sf.HEAL_WAIT)
    cna = sea_vif.find_cna(env.adapter, lpar.uuid, foreign.mac)
    assert cna is not None
    cna.pvid = new
    cna.update()
    sf.add_vlans(sf.new_adapter(env.sim), env.host_uuid, [new])
    env.wait_vlans(present={new}, absent={old}, timeout=sf.HEAL_WAIT)
    next_heals(env, 2)
    assert new in env.vlans(fresh=True) and old not in env.vlans(fresh=True)
    assert all(full == 'no' for _r, _w, full in heal_lines(env)[1:])
