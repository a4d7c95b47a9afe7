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

"""bridge_mappings parsing and resolution to PowerVM Network Bridges.

``physnet:sea_dev:vios_name,...`` maps a physical network to the Network
Bridge that holds the SEA ``sea_dev`` of VIOS ``vios_name``. A redundant
(failover) pair is one Network Bridge with a SEA on each VIOS: a mapping to
either SEA resolves to that bridge. With no mapping and exactly one bridge on
the host, the bridge serves physnet 'default'.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pypowervm import util as pvm_util

from networking_powervm.common import constants as pvm_const


class MappingError(ValueError):
    """bridge_mappings cannot be parsed or resolved; the message names the bad value."""


@dataclass(frozen=True)
class BridgeMapping:
    """One configured ``physnet:sea_dev:vios_name`` entry."""

    physnet: str
    sea_dev: str
    vios_name: str


@dataclass(frozen=True)
class ResolvedBridge:
    """A physical network's Network Bridge on this host."""

    physnet: str
    nb_uuid: str
    sea_dev: str


def parse_bridge_mappings(value: str | Iterable[str] | None) -> list[BridgeMapping]:
    """Parse bridge_mappings (a string or a list of entries); [] when unset."""
    if value is None:
        return []
    entries = value.split(',') if isinstance(value, str) else list(value)
    result: list[BridgeMapping] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(':')]
        if len(parts) != 3 or not all(parts):
            raise MappingError(f"Invalid bridge_mappings entry {entry!r}: expected "
                               f"physnet:sea_dev:vios_name")
        result.append(BridgeMapping(*parts))
    return result


def _uuid_of_href(href: str | None) -> str:
    """Upper-case UUID an href ends with ('' if none)."""
    return (pvm_util.get_req_path_uuid(href, preserve_case=True) or '').upper() if href else ''


def resolve_bridges(mappings: list[BridgeMapping], net_bridges: list[Any],
                    vios_names: dict[str, str]) -> dict[str, ResolvedBridge]:
    """Map physnets to Network Bridges.

    :param mappings: parsed bridge_mappings.
    :param net_bridges: pypowervm NetBridge wrappers of the host.
    :param vios_names: VIOS UUID -> VIOS name.
    """
    if not net_bridges:
        raise MappingError("No Network Bridge (Shared Ethernet Adapter) exists on this host")
    if not mappings:
        if len(net_bridges) > 1:
            names = sorted(_describe(nb, vios_names) for nb in net_bridges)
            raise MappingError(f"{len(net_bridges)} Network Bridges on this host "
                               f"({', '.join(names)}) and [agent] bridge_mappings is empty: "
                               f"map each physical network to a SEA")
        nb = net_bridges[0]
        return {pvm_const.DEFAULT_PHYSNET: ResolvedBridge(pvm_const.DEFAULT_PHYSNET, nb.uuid,
                                                  nb.seas[0].dev_name)}

    known_vios = {name for name in vios_names.values()}
    result: dict[str, ResolvedBridge] = {}
    for mapping in mappings:
        entry = f"{mapping.physnet}:{mapping.sea_dev}:{mapping.vios_name}"
        if mapping.vios_name not in known_vios:
            raise MappingError(f"bridge_mappings entry {entry!r}: VIOS {mapping.vios_name!r} "
                               f"not found (known: {', '.join(sorted(known_vios)) or 'none'})")
        found = None
        for nb in net_bridges:
            for sea in nb.seas:
                if (sea.dev_name == mapping.sea_dev and
                        vios_names.get(_uuid_of_href(sea.vio_uri)) == mapping.vios_name):
                    found = nb
        if found is None:
            raise MappingError(f"bridge_mappings entry {entry!r}: no Shared Ethernet Adapter "
                               f"{mapping.sea_dev!r} on VIOS {mapping.vios_name!r}")
        previous = result.get(mapping.physnet)
        if previous is not None and previous.nb_uuid != found.uuid:
            raise MappingError(f"bridge_mappings entry {entry!r}: physical network "
                               f"{mapping.physnet!r} is already mapped to another bridge")
        if previous is None:
            result[mapping.physnet] = ResolvedBridge(mapping.physnet, found.uuid,
                                                     mapping.sea_dev)
    return result


def _describe(nb: Any, vios_names: dict[str, str]) -> str:
    seas = [f"{sea.dev_name}@{vios_names.get(_uuid_of_href(sea.vio_uri), '?')}"
            for sea in nb.seas]
    return '/'.join(seas) or nb.uuid
