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

"""The host as the SEA agent sees it, read with pypowervm (GETs only)."""

from __future__ import annotations

from typing import Any

from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

from networking_powervm.agent.sea import mappings as sea_map
from networking_powervm.agent.sea import vlans as sea_vlans
from networking_powervm.status import model


def colon_mac(mac: str) -> str:
    """``FA163EAABBCC`` (REST API) -> ``fa:16:3e:aa:bb:cc`` (Neutron)."""
    raw = mac.replace(':', '').replace('-', '').lower()
    return ':'.join(raw[i:i + 2] for i in range(0, len(raw), 2))


def _uuid_of(href: str | None) -> str:
    return (href or '').rstrip('/').rsplit('/', 1)[-1].split('?', 1)[0].upper()


def _cnas(adapter: pvm_adpt.Adapter, partition: Any) -> list[Any]:
    try:
        return pvm_net.CNA.get(adapter, parent=partition)
    except pvm_exc.HttpError as exc:
        if getattr(exc.response, 'status', None) == 404:  # deleted meanwhile
            return []
        raise


def read_host(adapter: pvm_adpt.Adapter,
              bridge_mappings: str) -> tuple[list[model.Bridge], list[model.Adapter]]:
    """Bridges (with the physnets bridge_mappings gives them) and client adapters.

    Raises ``sea_map.MappingError`` when bridge_mappings does not resolve, as
    the agent's start-up would.
    """
    host_uuid = pvm_ms.System.get(adapter)[0].uuid
    nbs = pvm_net.NetBridge.get(adapter, parent_type=pvm_ms.System, parent_uuid=host_uuid)
    vioses = pvm_vios.VIOS.get(adapter, xag=[])
    vios_names = {v.uuid.upper(): v.name for v in vioses}
    resolved = sea_map.resolve_bridges(sea_map.parse_bridge_mappings(bridge_mappings), nbs,
                                       vios_names)
    lpars = pvm_lpar.LPAR.get(adapter)
    client = [(lpar.name, cna) for lpar in lpars for cna in _cnas(adapter, lpar)]
    vios_cnas = [cna for vios in vioses for cna in _cnas(adapter, vios)]
    all_cnas = [cna for _, cna in client] + vios_cnas

    # As the agent's cleanup: every adapter's VLANs are in use, except those
    # of the bridges' own SEA trunk adapters.
    sea_trunks = sea_vlans.sea_trunk_locations(nbs)
    bridges = []
    sea_trunks = sea_vlans.sea_trunk_locations(nbs)
    for nb in nbs:
        in_use = sea_vlans.vlans_of_adapters(all_cnas, nb.vswitch_id, sea_trunks)
        lgs = [model.LoadGroup(int(lg.pvid), sorted({int(v) for ta in lg.trunk_adapters
                                                     for v in ta.tagged_vlans}))
               for lg in nb.load_grps]
        bridges.append(model.Bridge(
            uuid=nb.uuid,
            physnets=sorted(p for p, r in resolved.items() if r.nb_uuid == nb.uuid),
            seas=[f'{sea.dev_name}@{vios_names.get(_uuid_of(sea.vio_uri), "?")}'
                  for sea in nb.seas],
            vswitch_id=None if nb.vswitch_id is None else int(nb.vswitch_id),
            pvid=None if nb.pvid is None else int(nb.pvid),
            load_groups=lgs,
            vlans=sorted(int(v) for v in nb.list_vlans(pvid=True)),
            unused_vlans=sorted(sea_vlans.removable_vlans(nb, in_use))))
    adapters = [model.Adapter(mac=colon_mac(cna.mac), partition=name,
                              pvid=None if cna.pvid is None else int(cna.pvid),
                              tagged_vlans=sorted(int(v) for v in cna.tagged_vlans or []),
                              vswitch_id=None if cna.vswitch_id is None else int(cna.vswitch_id))
                for name, cna in client if not cna.is_trunk]
    return bridges, adapters
