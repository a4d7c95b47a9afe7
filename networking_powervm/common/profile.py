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

"""Validation of the SR-IOV vNIC settings of a port's binding:profile.

Values may arrive as numbers or as strings (``openstack port create
--binding-profile capacity=0.05`` sends strings), so both are accepted; a
JSON ``null`` means "unset". Everything else that is not a valid value raises
:class:`BadProfileValue`, whose message names the key and the value.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from networking_powervm.common import constants as pvm_const

#: A capacity is a fraction of a physical port with at most this many decimals
#: (the REST API takes a percentage with two decimals).
CAPACITY_DECIMALS = 4


class BadProfileValue(ValueError):
    """A binding:profile (or agent default) value that cannot be used."""

    def __init__(self, key: str, value: Any, reason: str) -> None:
        self.key = key
        self.value = value
        self.reason = reason
        super().__init__(f'{key}={value!r}: {reason}')


def _to_decimal(key: str, value: Any) -> Decimal:
    """Parse a number given as int, float or numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadProfileValue(key, value, 'not a number')
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadProfileValue(key, value, 'not a number') from None
    if not dec.is_finite():
        raise BadProfileValue(key, value, 'not a finite number')
    return dec


def decimal_places(value: Decimal) -> int:
    """Number of significant decimal places of ``value`` (0.0500 -> 2)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def parse_fraction(key: str, value: Any) -> float | None:
    """A capacity: 0 <= value <= 1, at most 4 decimal places; None stays None."""
    if value is None:
        return None
    dec = _to_decimal(key, value)
    if dec < 0 or dec > 1:
        raise BadProfileValue(key, value, 'must be between 0 and 1')
    if decimal_places(dec) > CAPACITY_DECIMALS:
        raise BadProfileValue(
            key, value, f'has more than {CAPACITY_DECIMALS} decimal places')
    return float(dec)


def parse_redundancy(key: str, value: Any) -> int:
    """A number of backing VFs: an integer >= 1."""
    dec = _to_decimal(key, value)
    if dec != dec.to_integral_value():
        raise BadProfileValue(key, value, 'not an integer')
    if dec < 1:
        raise BadProfileValue(key, value, 'must be at least 1')
    return int(dec)


def check_maxcapacity(maxcapacity: float | None, capacity: float | None) -> None:
    """maxcapacity, when both are set, may not be below capacity."""
    if maxcapacity is not None and capacity is not None and maxcapacity < capacity:
        raise BadProfileValue(
            pvm_const.MAXCAPACITY, maxcapacity, f'is below capacity {capacity}')


def parse_profile(profile: dict | None) -> dict[str, Any]:
    """Validated SR-IOV settings the profile sets (keys absent if unset).

    Returns a dict with any of 'redundancy' (int), 'capacity' (float),
    'maxcapacity' (float). Raises BadProfileValue on a bad value.
    """
    profile = profile or {}
    if not isinstance(profile, dict):
        raise BadProfileValue('binding:profile', profile, 'not a dict')
    result: dict[str, Any] = {}
    if profile.get(pvm_const.VNIC_REQUIRED_VFS) is not None:
        result[pvm_const.REDUNDANCY] = parse_redundancy(
            pvm_const.VNIC_REQUIRED_VFS, profile[pvm_const.VNIC_REQUIRED_VFS])
    for key in (pvm_const.CAPACITY, pvm_const.MAXCAPACITY):
        frac = parse_fraction(key, profile.get(key))
        if frac is not None:
            result[key] = frac
    check_maxcapacity(result.get(pvm_const.MAXCAPACITY), result.get(pvm_const.CAPACITY))
    return result
