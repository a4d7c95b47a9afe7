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

"""Patches shared by the agent tests: RPC clients and the managed system."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import SimpleNamespace
from unittest import mock

from networking_powervm.agent import base

HOST_UUID = 'c5d782c7-44e4-3086-ad15-b16fb039d63b'


@contextlib.contextmanager
def patched_rpc() -> Iterator[SimpleNamespace]:
    with mock.patch.object(base.agent_rpc, 'PluginApi') as plugin, \
            mock.patch.object(base.agent_rpc, 'PluginReportStateAPI') as state, \
            mock.patch.object(base.agent_rpc, 'create_consumers') as consumers, \
            mock.patch.object(base.pvm_ms.System, 'get',
                              return_value=[SimpleNamespace(uuid=HOST_UUID)]), \
            mock.patch.object(base.n_context, 'get_admin_context_without_session',
                              return_value=SimpleNamespace(is_admin=True)):
        plugin.return_value.update_device_list.return_value = {}
        yield SimpleNamespace(plugin=plugin.return_value, state=state.return_value,
                              consumers=consumers)
