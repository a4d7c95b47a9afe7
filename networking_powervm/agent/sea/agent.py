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

"""PowerVM Shared Ethernet Adapter L2 agent.

Plug/unplug events are queued and provisioned in batches by their own thread:
ports are looked up in Neutron by MAC, their VLANs ensured on the Network
Bridge of their physical network (one bridge update per bridge), then marked
up. The heal thread re-provisions every port on the host and, with
automated_powervm_vlan_cleanup, removes VLANs no partition uses (one bridge
update per bridge).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent import futures
from typing import Any

from neutron_lib.api.definitions import portbindings
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import network_bridger as pvm_bridger
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

from networking_powervm.agent import base
from networking_powervm.agent import provision as prov
from networking_powervm.agent.events import EventError, norm_mac
from networking_powervm.agent.sea import mappings as sea_map
from networking_powervm.agent.sea import vlans as sea_vlans
from networking_powervm.common import constants as c

LOG = logging.getLogger(__name__)

# Seconds between retries of plugs whose port Neutron does not know yet.
RETRY_INTERVAL = 5
# Threads reading partitions' adapters during heal.
SCAN_WORKERS = 8


class SharedEthernetAgent(base.PVMAgentBase):
    """Provisions VLANs of pvm_sea ports on the host's Network Bridges."""

    AGENT_TYPE = c.AGENT_TYPE_PVM_SEA
    BINARY = c.AGENT_BINARY_SEA
    VIF_TYPE = c.VIF_TYPE_PVM_SEA

    def __init__(self, conf: cfg.ConfigOpts, adapter: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(conf, adapter)
        try:
            self.mappings = sea_map.parse_bridge_mappings(conf.AGENT.bridge_mappings)
        except sea_map.MappingError as exc:
            raise base.AgentError(f"[AGENT] bridge_mappings: {exc}") from None
        self.clock = clock
        self.bridges: dict[str, sea_map.ResolvedBridge] = {}
        self.queue = prov.ProvisionQueue(clock=clock)
        self.guard = sea_vlans.VlanGuard()
        self._devices: set[str] = set()
        self._dev_lock = threading.Lock()

    # ------------------------------------------------------------- hooks
    def setup(self) -> None:
        try:
            self.resolve_bridges()
        except sea_map.MappingError as exc:
            raise base.AgentError(f"[AGENT] bridge_mappings: {exc}") from None

    def start_workers(self) -> None:
        self.start_thread('provision', self._provision_loop)

    def stop(self) -> None:
        super().stop()
        self.queue.close()

    def get_configurations(self) -> dict:
        return {
            c.CONF_BRIDGE_MAPPINGS: {p: b.sea_dev for p, b in sorted(self.bridges.items())},
            c.CONF_DEVICES: len(self._devices),
        }

    def handle_vif_event(self, action: str, mac: str, href: str) -> None:
        self.queue.add(prov.ProvisionRequest.from_event(action, mac, href, self.VIF_TYPE,
                                                        clock=self.clock))

    def port_update(self, context: Any, **kwargs: Any) -> None:
        port = kwargs.get('port') or {}
        try:
            mac = norm_mac(port.get('mac_address'))
        except EventError:
            return
        host = port.get(portbindings.HOST_ID)
        if host and host != self.host:
            LOG.debug("port_update of port %s bound to host %s: not ours", port.get('id'), host)
            return
        # Only ports this agent serves: a port_update never plugs a removed VM.
        if mac in self._devices:
            LOG.info("port_update of port %s (MAC %s): re-provisioning", port.get('id'), mac)
            self.queue.add(prov.ProvisionRequest(prov.PLUG, mac, None, self.VIF_TYPE,
                                                 self.clock()))

    def heal(self) -> None:
        """Re-provision every OpenStack port on the host, then clean up unused VLANs."""
        try:
            self.resolve_bridges()
        except sea_map.MappingError as exc:
            LOG.error("Cannot resolve [AGENT] bridge_mappings (keeping %s): %s",
                      sorted(self.bridges), exc)
        gen = self.guard.mark()
        with self._dev_lock:
            known = set(self._devices)
        client_cnas, vios_cnas = self.scan_host()
        on_host = {norm_mac(cna.mac) for cna in client_cnas if not cna.is_trunk}
        # Only Neutron ports bound here: the host's other adapters are not ours.
        bound = self.bound_port_macs(portbindings.VNIC_NORMAL)
        macs = sorted(on_host & bound)
        requests = [prov.ProvisionRequest(prov.PLUG, mac, None, self.VIF_TYPE, self.clock())
                    for mac in macs]
        # One pass: one bridge update per bridge for all the ports.
        served = self.provision(requests, retry_unknown=False)
        # Forget devices gone from the host or from Neutron since the scan started;
        # devices the provision thread brought up meanwhile were not in ``known``.
        stale = known - (on_host & bound)
        with self._dev_lock:
            self._devices = (self._devices - stale) | served
        if self.conf.AGENT.automated_powervm_vlan_cleanup:
            self.cleanup(list(client_cnas) + list(vios_cnas), gen)

    # ------------------------------------------------------------ bridges
    def resolve_bridges(self) -> dict[str, sea_map.ResolvedBridge]:
        """Read the host's Network Bridges and VIOSes and resolve bridge_mappings."""
        nbs = pvm_net.NetBridge.get(self.adapter, parent_type=pvm_ms.System,
                                    parent_uuid=self.host_uuid)
        vioses = pvm_vios.VIOS.get(self.adapter, xag=[])
        names = {v.uuid.upper(): v.name for v in vioses}
        self.bridges = sea_map.resolve_bridges(self.mappings, nbs, names)
        return self.bridges

    # ------------------------------------------------------- provisioning
    def _provision_loop(self) -> None:
        while not self.stopped:
            batch = self.queue.drain(timeout=RETRY_INTERVAL)
            if not batch or self.stopped:
                continue
            try:
                self.provision(batch)
            except Exception:
                LOG.exception("Provisioning of %d request(s) failed; retrying in %s seconds",
                              len(batch), self.conf.AGENT.exception_interval)
                self.queue.requeue(batch)
                self.wait(self.conf.AGENT.exception_interval)

    def provision(self, batch: Iterable[prov.ProvisionRequest],
                  retry_unknown: bool = True) -> set[str]:
        """Provision a batch; returns the MACs brought up.

        Unplugs mark ports down. Plugs: Neutron details by MAC, VLANs ensured
        with one update per bridge, then the ports marked up. Plugs of ports
        Neutron does not know go to the retry set (if retry_unknown).
        Raises on RPC errors; bridges whose update failed are requeued.
        """
        batch = list(batch)
        unplugs = sorted({r.mac for r in batch if r.action == prov.UNPLUG})
        plugs = [r for r in batch if r.action == prov.PLUG]
        if unplugs:
            self.update_devices_down(unplugs)
            with self._dev_lock:
                self._devices.difference_update(unplugs)
        if not plugs:
            return set()

        details = self.get_device_details(sorted({r.mac for r in plugs}))
        by_mac: dict[str, dict] = {}
        for det in details or []:
            try:
                by_mac[norm_mac(det.get('mac_address') or det.get('device'))] = det
            except EventError:
                LOG.warning("Ignoring Neutron device details with a bad MAC: %s",
                            det.get('device'))

        vlans_by_nb: dict[str, set[int]] = defaultdict(set)
        reqs_by_nb: dict[str, list[prov.ProvisionRequest]] = defaultdict(list)
        up: list[str] = []
        down: list[str] = []
        for req in plugs:
            det = by_mac.get(req.mac)
            if not det or not det.get('port_id') or 'network_type' not in det:
                if retry_unknown:
                    LOG.info("Neutron does not know a port with MAC %s yet; will retry",
                             req.mac)
                    self.queue.retry_later(req)
                continue
            vlan = self._vlan_of(det)
            if vlan is False:
                continue
            nb = self.bridges.get(det.get('physical_network'))
            if nb is None:
                LOG.error("Port %s (MAC %s) is on physical network %r, which this agent "
                          "does not serve (bridge_mappings: %s)", det.get('port_id'), req.mac,
                          det.get('physical_network'), sorted(self.bridges))
                continue
            if not det.get('admin_state_up', True):
                down.append(req.mac)
                continue
            if vlan is not None:
                vlans_by_nb[nb.nb_uuid].add(vlan)
            reqs_by_nb[nb.nb_uuid].append(req)

        failed: list[prov.ProvisionRequest] = []
        for nb_uuid, reqs in reqs_by_nb.items():
            vlans = sorted(vlans_by_nb.get(nb_uuid, ()))
            if vlans:
                self.guard.add(vlans)
                try:
                    pvm_bridger.ensure_vlans_on_nb(self.adapter, self.host_uuid, nb_uuid, vlans)
                except Exception as exc:
                    LOG.error("Ensuring VLANs %s on Network Bridge %s failed: %s",
                              vlans, nb_uuid, _error_text(exc))
                    failed.extend(reqs)
                    continue
            up.extend(r.mac for r in reqs)

        if down:
            # Administratively down: still served (a port_update may bring it up).
            self.update_devices_down(sorted(set(down)))
            with self._dev_lock:
                self._devices.update(down)
        if up:
            self.update_devices_up(sorted(set(up)))
            with self._dev_lock:
                self._devices.update(up)
        if failed:
            self.queue.requeue(failed)
            self.wait(self.conf.AGENT.exception_interval)
        return set(up)

    @staticmethod
    def _vlan_of(det: dict) -> int | None | bool:
        """The port's VLAN; None for flat (the bridge PVID); False if unsupported."""
        ntype = det.get('network_type')
        if ntype == 'flat':
            return None
        if ntype != 'vlan':
            LOG.error("Port %s has network type %r; the SEA agent supports vlan and flat",
                      det.get('port_id'), ntype)
            return False
        seg = det.get('segmentation_id')
        try:
            vlan = int(seg)
        except (TypeError, ValueError):
            vlan = -1
        if not c.MIN_VLAN <= vlan <= c.MAX_VLAN:
            LOG.error("Port %s has invalid VLAN %r", det.get('port_id'), seg)
            return False
        return vlan

    # --------------------------------------------------------------- heal
    def scan_host(self) -> tuple[list[Any], list[Any]]:
        """(client partitions' adapters, VIOS adapters) of every partition on the host."""
        lpars = pvm_lpar.LPAR.get(self.adapter)
        vioses = pvm_vios.VIOS.get(self.adapter, xag=[])
        with futures.ThreadPoolExecutor(max_workers=SCAN_WORKERS,
                                        thread_name_prefix='scan') as pool:
            client = pool.map(self._cnas_of, lpars)
            vios = pool.map(self._cnas_of, vioses)
            client_cnas = [cna for cnas in client for cna in cnas]
            vios_cnas = [cna for cnas in vios for cna in cnas]
        return client_cnas, vios_cnas

    def _cnas_of(self, partition: Any) -> list[Any]:
        try:
            return pvm_net.CNA.get(self.adapter, parent=partition)
        except pvm_exc.HttpError as exc:
            if getattr(exc.response, 'status', None) == 404:
                LOG.debug("Partition %s disappeared during the scan", partition.uuid)
                return []
            raise

    def cleanup(self, cnas: list[Any], gen: int) -> dict[str, list[int]]:
        """Remove from each served bridge the VLANs no adapter on its virtual switch uses.

        One update per bridge; VLANs provisioned since the scan (``gen``) are kept.
        """
        removed: dict[str, list[int]] = {}
        for nb_uuid in sorted({b.nb_uuid for b in self.bridges.values()}):
            def compute(nb: Any) -> list[int]:
                in_use = sea_vlans.vlans_of_adapters(cnas, nb.vswitch_id)
                return sea_vlans.removable_vlans(nb, in_use | self.guard.since(gen))
            try:
                removed[nb_uuid] = sea_vlans.remove_vlans_from_nb(
                    self.adapter, self.host_uuid, nb_uuid, compute)
            except Exception as exc:
                LOG.error("VLAN cleanup of Network Bridge %s failed: %s", nb_uuid,
                          _error_text(exc))
        return removed


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
