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

"""The ``bridges`` section of a scenario -> network bridges (SEAs and their trunk
adapters), under the platform's rules (rules.py).

::

    bridges:
      - vswitch: ETHERNET0            # name or id [0]
        pvid: 1                       # the primary load group's PVID
        control_channel_id: 99        # [none]
        seas:                         # one SEA, or a failover pair of two
          - {vios: vios1, dev_name: ent8, backing_dev: ent0, trunk_dev: ent5,
             control_channel: ent7}
        extra_trunks:                 # additional load groups, on every SEA
          - {pvid: 4000, vlans: [100, 101]}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from powervm_sim import scenario_fields as sf
from powervm_sim.model import SEA, Bridge, HostState, Partition, Trunk, VSwitch, sim_uuid
from powervm_sim.network import rules
from powervm_sim.scenario_fields import ScenarioError


def add_bridges(st: HostState, d: dict, vswitch: Callable[[Any, str], VSwitch],
                mac: Callable[[dict, str], str]) -> None:
    """Add the scenario's bridges to ``st``; ``vswitch``/``mac`` resolve and allocate."""
    for where, b in sf.items(d, 'bridges', ''):
        vs = vswitch(b.get('vswitch', 0), f'{where}.vswitch')
        pvid = sf.vlan(b.get('pvid'), f'{where}.pvid')
        extra = [(sf.vlan(t.get('pvid'), f'{tw}.pvid'), sf.vlans(t, 'vlans', tw))
                 for tw, t in sf.items(b, 'extra_trunks', where)]
        sea_items = sf.items(b, 'seas', where)
        if not 1 <= len(sea_items) <= 2:
            raise ScenarioError(f'{where}.seas: a bridge has 1 SEA or a failover '
                                f'pair of 2, got {len(sea_items)}')
        seas: list[SEA] = []
        for i, (sw, s) in enumerate(sea_items):
            vios = _vios(st, s, sw, seas)
            sea = _sea(st, s, sw, vios, pvid, failover=len(sea_items) > 1, primary=i == 0)
            specs = [(pvid, [], sf.get(s, 'trunk_dev', sw, str, None))] + [
                (tpvid, tvlans, None) for tpvid, tvlans in extra]
            bridge_tmp = Bridge(uuid='', seas=[sea])
            st.bridges.append(bridge_tmp)  # so allocations see this SEA
            for tpvid, tvlans, tdev in specs:
                sea.trunks.append(Trunk(
                    slot=st.next_slot(vios), pvid=tpvid, vlans=list(tvlans),
                    vswitch_id=vs.switch_id, dev_name=tdev or st.next_dev_name(vios),
                    mac=mac({}, sw), trunk_pri=1 if i == 0 else 2))
            st.bridges.remove(bridge_tmp)
            seas.append(sea)
        bridge = Bridge(uuid=sf.get(b, 'uuid', where, str,
                                    sim_uuid(st.system.uuid, 'bridge', seas[0].dev_name,
                                             seas[0].vios_uuid)),
                        seas=seas,
                        control_channel_id=sf.get(b, 'control_channel_id', where, int, None))
        err = rules.check_bridge(bridge, others=st.bridges)
        if err:
            raise ScenarioError(f'{where}: {err}')
        st.bridges.append(bridge)


def _vios(st: HostState, s: dict, where: str, seas: list[SEA]) -> Partition:
    vname = sf.get(s, 'vios', where, str)
    vios = next((v for v in st.vioses if v.name == vname), None)
    if vios is None:
        raise ScenarioError(f'{where}.vios: unknown VIOS {vname!r}')
    if any(x.vios_uuid == vios.uuid for x in seas):
        raise ScenarioError(f'{where}.vios: both SEAs of a failover pair on {vname!r}')
    return vios


def _sea(st: HostState, s: dict, where: str, vios: Partition, pvid: int, failover: bool,
         primary: bool) -> SEA:
    dev = sf.get(s, 'dev_name', where, str)
    if any(x.dev_name == dev for x in st.seas_of(vios.uuid)):
        raise ScenarioError(f'{where}.dev_name: {dev!r} already used on {vios.name}')
    return SEA(dev_name=dev, vios_uuid=vios.uuid, pvid=pvid, trunks=[],
               backing_dev=sf.get(s, 'backing_dev', where, str, 'ent0'),
               backing_loc=f'U78CB.001.WZS0{vios.id:03d}-P1-C10-T1',
               control_channel=sf.get(s, 'control_channel', where, str, None),
               ha_mode='auto' if failover else 'disabled', is_primary=primary)
