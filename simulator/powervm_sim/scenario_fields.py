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

"""Typed fields of a scenario mapping; a bad one is a ``ScenarioError`` naming its path,
e.g. ``bridges[0].pvid: VLAN 5000 is not an integer in 1-4094``."""

from __future__ import annotations

from typing import Any

from powervm_sim import platform as const


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the bad field."""


def get(d: dict, key: str, where: str, typ: type | tuple, default: Any = ...) -> Any:
    if key not in d or d[key] is None:
        if default is ...:
            raise ScenarioError(f'{where}.{key}: required field missing')
        return default
    val = d[key]
    if typ is int and isinstance(val, bool) or not isinstance(val, typ):
        name = typ.__name__ if isinstance(typ, type) else '/'.join(t.__name__ for t in typ)
        raise ScenarioError(f'{where}.{key}: expected {name}, got {val!r}')
    return val


def vlan(val: Any, where: str) -> int:
    if isinstance(val, bool) or not isinstance(val, int) or not (
            const.MIN_VLAN <= val <= const.MAX_VLAN):
        raise ScenarioError(
            f'{where}: VLAN {val!r} is not an integer in '
            f'{const.MIN_VLAN}-{const.MAX_VLAN}')
    return val


def vlans(d: dict, key: str, where: str) -> list[int]:
    vals = get(d, key, where, list, [])
    out = [vlan(v, f'{where}.{key}[{i}]') for i, v in enumerate(vals)]
    if len(set(out)) != len(out):
        raise ScenarioError(f'{where}.{key}: duplicate VLANs in {out}')
    return out


def mapping(val: Any, where: str) -> dict:
    if not isinstance(val, dict):
        raise ScenarioError(f'{where}: expected a mapping, got {val!r}')
    return val


def items(d: dict, key: str, where: str) -> list[tuple[str, dict]]:
    items = get(d, key, where, list, [])
    return [(f'{where}.{key}[{i}]' if where else f'{key}[{i}]',
             mapping(it, f'{where}.{key}[{i}]' if where else f'{key}[{i}]'))
            for i, it in enumerate(items)]
