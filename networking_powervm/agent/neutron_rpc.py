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

"""The agents' side of Neutron's RPC: port details and status, bound ports, port_update.

ML2 accepts MACs as device ids. Calls are chunked so that one RPC never
carries more than RPC_CHUNK devices.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging
from oslo_messaging import Target

from networking_powervm.common import logtext, vif_event

LOG = logging.getLogger(__name__)

# Devices per get_devices_details_list / update_device_list call.
RPC_CHUNK = 100


def mac_of(entry: dict) -> str | None:
    """The normalised MAC of a device-details entry or port dict; None if it has none."""
    try:
        return vif_event.norm_mac(entry.get('mac_address') or entry.get('device'))
    except vif_event.EventError:
        LOG.warning("Ignoring a Neutron entry with a bad MAC: %s",
                    logtext.bounded(entry.get('device') or entry.get('id')))
        return None


class NeutronPorts:
    """Device RPCs of one agent (PluginApi) on behalf of ``agent_id`` on ``host``."""

    def __init__(self, plugin_rpc: Any, context: Any, agent_id: str, host: str) -> None:
        self.plugin_rpc = plugin_rpc
        self.context = context
        self.agent_id = agent_id
        self.host = host

    def details(self, macs: list[str]) -> list[dict]:
        """Neutron's details of the ports with these MACs (unknown ones lack 'port_id')."""
        details: list[dict] = []
        macs = list(macs)
        for start in range(0, len(macs), RPC_CHUNK):
            details.extend(self.plugin_rpc.get_devices_details_list(
                self.context, macs[start:start + RPC_CHUNK], self.agent_id, self.host) or [])
        return details

    def details_by_mac(self, macs: list[str]) -> dict[str, dict]:
        """{MAC: details} of the ports Neutron knows among ``macs``."""
        found: dict[str, dict] = {}
        for det in self.details(macs):
            if not det.get('port_id'):
                continue
            mac = mac_of(det)
            if mac is not None:
                found[mac] = det
        return found

    def bound_ports(self, vnic_type: str) -> dict[str, dict]:
        """{MAC: port dict} of the ports of ``vnic_type`` bound to this host (one RPC)."""
        ports = self.plugin_rpc.get_ports_by_vnic_type_and_host(
            self.context, vnic_type, self.host)
        found: dict[str, dict] = {}
        for port in ports or []:
            mac = mac_of(port)
            if mac is not None:
                found[mac] = port
        return found

    def network(self, network_id: str) -> dict:
        """Neutron's network (with its provider attributes); changes no port's status."""
        return self.plugin_rpc.get_network_details(self.context, network_id, self.agent_id,
                                                   self.host) or {}

    def update(self, up: list[str], down: list[str]) -> None:
        """Mark ports ACTIVE (``up``) and DOWN (``down``); failures are logged."""
        up, down = list(up), list(down)
        for start in range(0, max(len(up), len(down)), RPC_CHUNK):
            result = self.plugin_rpc.update_device_list(
                self.context, up[start:start + RPC_CHUNK], down[start:start + RPC_CHUNK],
                self.agent_id, self.host) or {}
            failed = result.get('failed_devices_up', []) + result.get('failed_devices_down', [])
            if failed:
                LOG.warning("Neutron failed to update the status of devices %s", failed)


class RpcCallbacks:
    """Neutron RPC endpoint (q-agent-notifier-port-update) forwarding to the agent."""

    target = Target(version='1.4')

    def __init__(self, agent: Any) -> None:
        self._agent = agent

    def port_update(self, context: Any, **kwargs: Any) -> None:
        try:
            self._agent.port_update(context, **kwargs)
        except Exception:
            LOG.exception("Error handling port_update for port %s",
                          (kwargs.get('port') or {}).get('id'))
