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

ML2 accepts MACs as device ids. Device calls are chunked (RPC_CHUNK devices per
call) and up to RPC_PARALLEL chunks are in flight at once, so that a server with
several RPC workers serves a large batch in parallel. A chunk that fails (an RPC
timeout, say) costs only its own devices: they are returned as failed, and the
caller retries them; only when every chunk fails is the error raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import Any, TypeVar

from oslo_log import log as logging
from oslo_messaging import Target

from networking_powervm.common import logtext, vif_event

LOG = logging.getLogger(__name__)

# Devices per get_devices_details_list / update_device_list call.
RPC_CHUNK = 25
# Chunks of one batch in flight at once.
RPC_PARALLEL = 4

T = TypeVar('T')


def chunked(items: Sequence[str], call: Callable[[list[str]], T],
            what: str) -> tuple[list[T], list[str]]:
    """Run ``call`` on each RPC_CHUNK-sized chunk, RPC_PARALLEL at a time.

    Returns (results of the chunks that answered, in order; items of the chunks
    that failed). Raises the first error if every chunk failed.
    """
    chunks = [list(items[i:i + RPC_CHUNK]) for i in range(0, len(items), RPC_CHUNK)]
    if len(chunks) <= 1:
        return ([call(chunks[0])] if chunks else []), []
    results: list[T] = []
    failed: list[str] = []
    errors: list[BaseException] = []
    with futures.ThreadPoolExecutor(max_workers=min(RPC_PARALLEL, len(chunks)),
                                    thread_name_prefix='rpc') as pool:
        for chunk, fut in [(c, pool.submit(call, c)) for c in chunks]:
            try:
                results.append(fut.result())
            except Exception as exc:
                failed.extend(chunk)
                errors.append(exc)
    if errors and not results:
        raise errors[0]
    if errors:
        LOG.error("%s failed for %d of %d device(s) (they are retried): %s", what,
                  len(failed), len(items), logtext.error_text(errors[0]))
    return results, failed


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
        self._early: dict[str, futures.Future] = {}  # MAC -> details asked ahead
        self._early_lock = threading.Lock()

    def prefetch_details(self, macs: list[str]) -> futures.Future | None:
        """Ask Neutron for these ports' details in the background (returns at once).

        The next details_by_mac() of any of them takes that answer instead of
        asking again; drop_prefetched() forgets answers nobody took. Returns the
        answer's future (None if there is nothing to ask).
        """
        if not macs:
            return None
        fut: futures.Future = futures.Future()

        def ask() -> None:
            try:
                fut.set_result(self.details(macs))
            except Exception as exc:
                fut.set_exception(exc)

        with self._early_lock:
            self._early.update(dict.fromkeys(macs, fut))
        threading.Thread(target=ask, name='rpc-prefetch', daemon=True).start()
        return fut

    def drop_prefetched(self) -> None:
        """Forget details asked ahead that no details_by_mac() took."""
        with self._early_lock:
            self._early.clear()

    def details(self, macs: list[str]) -> tuple[list[dict], list[str]]:
        """(Neutron's details of the ports with these MACs, MACs whose chunk failed).

        Unknown ports' entries lack 'port_id'.
        """
        answers, failed = chunked(list(macs), lambda chunk: self.plugin_rpc.
                                  get_devices_details_list(self.context, chunk,
                                                           self.agent_id, self.host),
                                  'get_devices_details_list')
        return [det for answer in answers for det in answer or []], failed

    def details_by_mac(self, macs: list[str]) -> tuple[dict[str, dict], list[str]]:
        """({MAC: details} of the ports Neutron knows among ``macs``, MACs not asked).

        Details prefetched for some of them are taken (waiting for their answer);
        the others, and those whose prefetch failed, are asked now.
        """
        with self._early_lock:
            early = {mac: self._early.pop(mac) for mac in macs if mac in self._early}
        rest = [mac for mac in macs if mac not in early]
        details: list[dict] = []
        failed: list[str] = []
        for fut in {id(f): f for f in early.values()}.values():
            try:
                got, lost = fut.result()
            except Exception:
                rest += [mac for mac, f in early.items() if f is fut]
                continue
            details += got
            failed += [mac for mac in lost if mac in early]
        if rest:
            got, lost = self.details(rest)
            details += got
            failed += lost
        wanted = set(macs)
        found: dict[str, dict] = {}
        for det in details:
            if not det.get('port_id'):
                continue
            mac = mac_of(det)
            if mac in wanted:
                found[mac] = det
        return found, failed

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

    def update(self, up: list[str], down: list[str]) -> list[str]:
        """Mark ports ACTIVE (``up``) and DOWN (``down``); returns the MACs whose chunk failed.

        Devices Neutron itself could not update are logged (they are not retried:
        the next heal finds them).
        """
        wanted = {mac: True for mac in up}
        wanted.update({mac: False for mac in down})

        def call(chunk: list[str]) -> None:
            result = self.plugin_rpc.update_device_list(
                self.context, [m for m in chunk if wanted[m]],
                [m for m in chunk if not wanted[m]], self.agent_id, self.host) or {}
            refused = (result.get('failed_devices_up', [])
                       + result.get('failed_devices_down', []))
            if refused:
                LOG.warning("Neutron failed to update the status of devices %s", refused)

        return chunked(list(wanted), call, 'update_device_list')[1]


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
