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

"""The test bed's Neutron client: picking a free VLAN on a shared stack."""

from __future__ import annotations

from typing import Any

import pytest

from powervm_testbed.neutron_client import NeutronApiError, NeutronClient


class _Taken(NeutronClient):
    """create_network as Neutron answers it when ``taken`` VLANs are allocated."""

    def __init__(self, taken: set[int], error: int = 409) -> None:  # no connection
        self.taken, self.error, self.asked = taken, error, []

    def create_network(self, name: str, *, physnet: str | None = None,
                       network_type: str | None = 'vlan', segmentation_id: int | None = None,
                       **attrs: Any) -> dict[str, Any]:
        self.asked.append(segmentation_id)
        if segmentation_id in self.taken:
            raise NeutronApiError('POST', 'networks', self.error, 'VlanIdInUse')
        return {'name': name, 'provider:physical_network': physnet,
                'provider:segmentation_id': segmentation_id, **attrs}


def test_free_vlan_network_takes_the_first_id_neither_taken_nor_avoided() -> None:
    client = _Taken({3001, 3002})
    net = client.create_free_vlan_network('n', 'default', 3001, avoid={3003})
    assert net['provider:segmentation_id'] == 3004
    assert client.asked == [3001, 3002, 3004]


def test_free_vlan_network_raises_other_errors_at_once() -> None:
    client = _Taken({3001}, error=400)
    with pytest.raises(NeutronApiError) as err:
        client.create_free_vlan_network('n', 'default', 3001)
    assert err.value.status == 400 and client.asked == [3001]


def test_free_vlan_network_names_the_range_when_all_are_taken() -> None:
    client = _Taken(set(range(10, 13)))
    with pytest.raises(NeutronApiError, match='no free VLAN on default in 10-12'):
        client.create_free_vlan_network('n', 'default', 10, tries=3)
