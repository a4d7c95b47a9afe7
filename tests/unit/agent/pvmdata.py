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

"""Wrappers built from pypowervm's captured REST responses, for unit tests."""

from __future__ import annotations

from typing import Any
from unittest import mock

from pypowervm import traits as pvm_traits
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

# APITraits keeps a weak reference to its session: anchor it here.
_SESSION = mock.Mock(use_file_auth=True, mc_type='PVM')
TRAITS = pvm_traits.APITraits(_SESSION)


def make_adapter() -> mock.MagicMock:
    """A mock pypowervm Adapter with NovaLink (local, non-HMC) traits."""
    adapter = mock.MagicMock()
    adapter.traits = TRAITS
    return adapter


def load(name: str, cls: Any, adapter: Any = None) -> list:
    adapter = adapter if adapter is not None else make_adapter()
    resp = pvmhttp.load_pvm_resp(name, adapter=adapter).get_response()
    return cls.wrap(resp)


def net_bridges(name: str = 'nbbr_network_bridge.txt', adapter: Any = None) -> list:
    return load(name, pvm_net.NetBridge, adapter)


def vioses(name: str = 'fake_vios_feed.txt', adapter: Any = None) -> list:
    return load(name, pvm_vios.VIOS, adapter)


def cnas(name: str = 'cna_feed.txt', adapter: Any = None) -> list:
    return load(name, pvm_net.CNA, adapter)


def lpars(name: str = 'fake_lpar_feed.txt', adapter: Any = None) -> list:
    return load(name, pvm_lpar.LPAR, adapter)
