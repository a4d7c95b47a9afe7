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

"""The agents' client of Neutron's agent RPC API: only the calls they make.

On the wire it is neutron's own ``neutron.agent.rpc`` (PluginApi 1.9 on the
plugin topic, PluginReportStateAPI 1.4 in the ``report_state`` namespace,
create_consumers); the messages are built the same way (a unit test compares
them). It does not import ``neutron.agent.rpc``, which pulls in
``neutron.objects`` and oslo.db for features these agents never use: about
40 MiB of an idle agent's memory.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging
from neutron_lib import constants as n_const
from neutron_lib import rpc as lib_rpc
from neutron_lib.agent import topics
from oslo_utils import timeutils, uuidutils


class PluginApi:
    """Agent side of the ML2 plugin RPC API (the device calls of an L2 agent)."""

    def __init__(self, topic: str) -> None:
        self.client = lib_rpc.get_client(oslo_messaging.Target(topic=topic, version='1.9'))

    def get_devices_details_list(self, context: Any, devices: list[str], agent_id: str,
                                 host: str | None = None) -> list[dict]:
        cctxt = self.client.prepare(version='1.9')
        return cctxt.call(context, 'get_devices_details_list',
                          devices=devices, agent_id=agent_id, host=host)

    def get_network_details(self, context: Any, network: str, agent_id: str,
                            host: str | None = None) -> dict:
        cctxt = self.client.prepare(version='1.6')
        return cctxt.call(context, 'get_network_details', network=network,
                          agent_id=agent_id, host=host)

    def update_device_list(self, context: Any, devices_up: list[str],
                           devices_down: list[str], agent_id: str, host: str,
                           refresh_tunnels: bool = False) -> dict:
        """One call (the caller chunks); the answer as the server gives it."""
        cctxt = self.client.prepare(version='1.9')
        return cctxt.call(context, 'update_device_list', devices_up=list(devices_up),
                          devices_down=list(devices_down), agent_id=agent_id, host=host,
                          refresh_tunnels=refresh_tunnels)

    def get_ports_by_vnic_type_and_host(self, context: Any, vnic_type: str,
                                        host: str) -> list[dict]:
        cctxt = self.client.prepare(version='1.7')
        return cctxt.call(context, 'get_ports_by_vnic_type_and_host',
                          vnic_type=vnic_type, host=host)


class PluginReportStateAPI:
    """The agent heartbeat (report_state) to Neutron's agents database."""

    def __init__(self, topic: str, timeout: float | None = None) -> None:
        target = oslo_messaging.Target(topic=topic, version='1.4',
                                       namespace=n_const.RPC_NAMESPACE_STATE)
        self.client = lib_rpc.get_client(target)
        self.timeout = timeout

    def report_state(self, context: Any, agent_state: dict, use_call: bool = False) -> Any:
        cctxt = self.client.prepare(timeout=self.timeout)
        # A unique id per report, so that the server's log can be matched to the agent's.
        agent_state['uuid'] = uuidutils.generate_uuid()
        kwargs = {'agent_state': {'agent_state': agent_state},
                  'time': timeutils.utcnow().strftime(n_const.ISO8601_TIME_FORMAT)}
        method = cctxt.call if use_call else cctxt.cast
        return method(context, 'report_state', **kwargs)


def create_consumers(endpoints: list[Any], prefix: str, topic_details: list[list[str]],
                     start_listening: bool = True) -> Any:
    """A Connection consuming each ``[topic, operation]`` fanout topic of ``prefix``."""
    connection = lib_rpc.Connection()
    for topic, operation in topic_details:
        connection.create_consumer(topics.get_topic_name(prefix, topic, operation),
                                   endpoints, fanout=True)
    if start_listening:
        connection.consume_in_threads()
    return connection
