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

"""A JSON-able summary of a host's state, for ``powervm-sim inspect`` and tests."""

from __future__ import annotations

import dataclasses
from typing import Any

from powervm_sim.model import Bridge, HostState, Partition
from powervm_sim.sriov import state as sriov_state


def _cnas(p: Partition) -> list[dict[str, Any]]:
    return [{'uuid': c.uuid, 'slot': c.slot, 'mac': c.mac, 'pvid': c.pvid,
             'vswitch_id': c.vswitch_id, 'addl_vlans': list(c.vlans),
             'enabled': c.enabled, 'trunk_pri': c.trunk_pri,
             'dev_name': c.dev_name} for c in p.cnas]


def _bridge(st: HostState, b: Bridge) -> dict[str, Any]:
    lgs = []
    for i, t in enumerate(b.seas[0].trunks):
        tas = []
        for s in b.seas:
            vios = st.vios(s.vios_uuid)
            tas += [{'vios': vios.name, 'sea': s.dev_name, 'dev_name': pt.dev_name,
                     'pvid': pt.pvid, 'vlans': list(pt.vlans), 'slot': pt.slot}
                    for pt in s.trunks if pt.pvid == t.pvid]
        lgs.append({'pvid': t.pvid, 'primary': i == 0, 'trunk_adapters': tas})
    return {'uuid': b.uuid, 'vswitch_id': b.vswitch_id, 'pvid': b.pvid,
            'failover': b.failover,
            'seas': [{'vios': st.vios(s.vios_uuid).name, 'dev_name': s.dev_name}
                     for s in b.seas],
            'load_groups': lgs}


def snapshot(st: HostState) -> dict[str, Any]:
    """System, VIOSes, bridges, virtual switches, partitions (CNAs, vNICs), SR-IOV ports."""
    sri = sriov_state.snapshot(st.sriov_adapters, st.vnics)
    return {
        'system': dataclasses.asdict(st.system),
        'vioses': [{'uuid': v.uuid, 'id': v.id, 'name': v.name, 'state': v.state,
                    'rmc_state': v.rmc_state, 'cnas': _cnas(v)} for v in st.vioses],
        'bridges': [_bridge(st, b) for b in st.bridges],
        'vswitches': [dataclasses.asdict(v) for v in st.vswitches],
        'partitions': [{'uuid': p.uuid, 'id': p.id, 'name': p.name, 'type': p.type,
                        'state': p.state, 'is_mgmt': p.is_mgmt,
                        'openstack_managed': p.openstack_managed, 'cnas': _cnas(p),
                        'vnics': [v for v in sri.get('vnics', [])
                                  if str(v.get('lpar_uuid', '')).upper() == p.uuid]}
                       for p in st.partitions],
        'sriov_adapters': sri.get('ports', []),
    }
