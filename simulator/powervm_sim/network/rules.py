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

"""The platform's rules for a network bridge (SEA limits, failover pairs, one
bridge per VLAN per virtual switch), as the real REST server enforces them."""

from __future__ import annotations

from powervm_sim import platform as const
from powervm_sim.model import SEA, Bridge


def bridge_vlans(bridge: Bridge) -> list[int]:
    """Every VLAN a bridge's first SEA carries (PVIDs, arbitrary PVIDs, tagged)."""
    out: list[int] = []
    for t in bridge.seas[0].trunks:
        out.append(t.pvid)
        out.extend(t.vlans)
    return out


def check_bridge(bridge: Bridge, others: list[Bridge]) -> str | None:
    """The platform rules for a NetworkBridge; an error message or None."""
    vs = bridge.vswitch_id
    for sea in bridge.seas:
        if not sea.trunks:
            return f'SEA {sea.dev_name} has no trunk adapter'
        if len(sea.trunks) > const.MAX_TRUNKS_PER_SEA:
            return (f'SEA {sea.dev_name} would have {len(sea.trunks)} trunk adapters; '
                    f'at most {const.MAX_TRUNKS_PER_SEA} are allowed')
        if sea.trunks[0].pvid != sea.pvid:
            return (f'the primary load group PVID {sea.pvid} of SEA {sea.dev_name} '
                    f'cannot be removed or modified (got {sea.trunks[0].pvid})')
        seen: set[int] = set()
        for t in sea.trunks:
            for v in [t.pvid] + t.vlans:
                if not const.MIN_VLAN <= v <= const.MAX_VLAN:
                    return (f'VLAN {v} on trunk adapter {t.dev_name or t.slot} is not in '
                            f'{const.MIN_VLAN}-{const.MAX_VLAN}')
                if v in seen:
                    return f'VLAN {v} is on SEA {sea.dev_name} more than once'
                seen.add(v)
            if len(t.vlans) > const.MAX_VLANS_PER_TRUNK:
                return (f'trunk adapter {t.dev_name or t.slot} of SEA {sea.dev_name} '
                        f'would carry {len(t.vlans)} VLANs; at most '
                        f'{const.MAX_VLANS_PER_TRUNK} are allowed')
            if t.vswitch_id != vs:
                return (f'trunk adapter {t.dev_name or t.slot} is on virtual switch '
                        f'{t.vswitch_id}, the bridge is on {vs}')
    if len(bridge.seas) > 1:
        def shape(sea: SEA) -> list[tuple[int, tuple[int, ...]]]:
            return sorted((t.pvid, tuple(sorted(t.vlans))) for t in sea.trunks)
        if shape(bridge.seas[0]) != shape(bridge.seas[1]):
            return (f'the SEAs {bridge.seas[0].dev_name} and {bridge.seas[1].dev_name} of '
                    f'the failover pair must carry the same trunk adapters and VLANs')
    mine = set(bridge_vlans(bridge))
    for other in others:
        if other.uuid == bridge.uuid or other.vswitch_id != vs:
            continue
        clash = sorted(mine & set(bridge_vlans(other)))
        if clash:
            return (f'VLAN {clash[0]} is already on network bridge {other.uuid} '
                    f'(SEA {other.seas[0].dev_name}) of the same virtual switch')
    return None
