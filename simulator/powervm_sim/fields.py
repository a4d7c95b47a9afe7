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

"""Values read out of request bodies; each bad value is a ``BadRequest`` naming it."""

from __future__ import annotations

from lxml import etree

from powervm_sim import platform as const
from powervm_sim.rest import BadRequest


def text(el: etree._Element, name: str) -> str | None:
    """Stripped text of the child ``name`` (any namespace), None if absent."""
    child = el.find('{*}' + name)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def integer(el: etree._Element, name: str, default: int | None = None,
            required: bool = False) -> int | None:
    """The child ``name`` as an integer."""
    val = text(el, name)
    if val is None or val == '':
        if required:
            raise BadRequest(f'{name} is required')
        return default
    try:
        return int(val)
    except ValueError:
        raise BadRequest(f'{name} {val!r} is not an integer') from None


def vlan(val: int | None, what: str) -> int:
    """``val`` if it is a VLAN id of the platform."""
    if val is None or not const.MIN_VLAN <= val <= const.MAX_VLAN:
        raise BadRequest(f'{what} {val} is not a VLAN id in {const.MIN_VLAN}-{const.MAX_VLAN}')
    return val


def vlan_list(el: etree._Element, name: str) -> list[int]:
    """The space-separated VLAN ids of the child ``name``."""
    val = text(el, name)
    if not val:
        return []
    out = []
    for tok in val.split():
        try:
            out.append(vlan(int(tok), name))
        except ValueError:
            raise BadRequest(f'{name}: {tok!r} is not an integer VLAN id') from None
    return out


def boolean(el: etree._Element, name: str, default: bool) -> bool:
    """The child ``name`` as a boolean (``true``/anything else)."""
    val = text(el, name)
    return default if val is None else val.lower() == 'true'


def href_uuid(href: str | None) -> str | None:
    """The last path segment of an href (the UUID of the object it names)."""
    if not href:
        return None
    return href.split('?')[0].rstrip('/').rsplit('/', 1)[-1]
