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

The base queues plug/unplug events and hands them over in batches:
provision() looks the ports up in Neutron by MAC, ensures their VLANs on the
Network Bridge of their physical network (one bridge update per bridge) and
marks them up. The heal re-provisions every port on the host and, with
automated_powervm_vlan_cleanup, removes VLANs no partition uses (one bridge
update per bridge). It sees the host's adapters through a HostModel kept
current by REST events: a pass re-reads only the partitions events named,
every full_scan_interval (and after an event-queue reset) all of them; the
bridges are read on every pass.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent import futures
from typing import Any

from neutron_lib.api.definitions import portbindings
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm.tasks import network_bridger as pvm_bridger
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

from networking_powervm.agent import base
from networking_powervm.agent import provision as prov
from networking_powervm.agent.sea import host_model as sea_model
from networking_powervm.agent.sea import mappings as sea_map
from networking_powervm.agent.sea import ports as sea_ports
from networking_powervm.agent.sea import vlans as sea_vlans
from networking_powervm.common import constants as pvm_const
from networking_powervm.common import logtext, vif_event

LOG = logging.getLogger(__name__)

Plugs = list[tuple[prov.ProvisionRequest, sea_ports.SeaPort]]


class SharedEthernetAgent(base.PVMAgentBase):
    """Provisions VLANs of pvm_sea ports on the host's Network Bridges."""

    AGENT_TYPE = pvm_const.AGENT_TYPE_PVM_SEA
    BINARY = pvm_const.AGENT_BINARY_SEA
    VIF_TYPE = pvm_const.VIF_TYPE_PVM_SEA

    def __init__(self, conf: cfg.ConfigOpts, adapter: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        try:
            self.mappings = sea_map.parse_bridge_mappings(conf.AGENT.bridge_mappings)
        except sea_map.MappingError as exc:
            raise base.AgentError(f"[agent] bridge_mappings: {exc}") from None
        super().__init__(conf, adapter, clock)
        self.bridges: dict[str, sea_map.ResolvedBridge] = {}
        self.net_bridges: list[Any] = []  # the host's NetBridge wrappers, last read
        self.guard = sea_vlans.VlanGuard()
        self._devices: set[str] = set()
        self._dev_lock = threading.Lock()
        self._bridge_locks: dict[str, threading.Lock] = {}
        # Writes of each bridge begun plus ended (odd: one in flight), under its lock.
        self._bridge_writes: dict[str, int] = defaultdict(int)
        self._early_nbs: futures.Future | None = None  # (write counts, NetBridges) read ahead
        self.model = sea_model.HostModel(clock)
        self.heal_full_scan = True  # the last heal pass's scan was a full one
        self._networks: dict[str, dict] = {}  # network details by id, kept between heals

    # ------------------------------------------------------------- hooks
    def setup(self) -> None:
        try:
            self.resolve_bridges()
        except sea_map.MappingError as exc:
            raise base.AgentError(f"[agent] bridge_mappings: {exc}") from None
        for physnet, bridge in sorted(self.bridges.items()):
            LOG.info("Bridge mapping: physical network %s -> SEA %s (Network Bridge %s)",
                     physnet, bridge.sea_dev, bridge.nb_uuid)

    def get_configurations(self) -> dict:
        return {
            pvm_const.CONF_BRIDGE_MAPPINGS: {p: b.sea_dev
                                             for p, b in sorted(self.bridges.items())},
            pvm_const.CONF_DEVICES: len(self._devices),
        }

    def port_update(self, context: Any, **kwargs: Any) -> None:
        """Re-provision a port this agent serves (e.g. its admin state changed)."""
        port = kwargs.get('port') or {}
        try:
            mac = vif_event.norm_mac(port.get('mac_address'))
        except vif_event.EventError:
            return
        host = port.get(portbindings.HOST_ID)
        if host and host != self.host:
            LOG.debug("port_update of port %s bound to host %s: not ours", port.get('id'), host)
            return
        # Only ports this agent serves: a port_update never plugs a removed VM.
        if mac in self._devices:
            LOG.info("port_update of port %s (MAC %s): re-provisioning", port.get('id'), mac)
            self.queue.add(prov.ProvisionRequest.replug(mac, self.clock))

    def handle_other_event(self, event: Any) -> bool:
        """A partition's (or its adapter's) change: the next heal re-reads that partition."""
        return self.model.note_event(event.etype, event.data, event.detail)

    def full_resync(self) -> None:
        """Events may have been lost: the next heal scans every partition."""
        self.model.invalidate()
        super().full_resync()

    def prefetch(self, requests: list[prov.ProvisionRequest]) -> list[futures.Future]:
        """Ask the plugged ports' details and read the bridges, both in the background.

        A plug whose VLAN the read shows on its bridge then needs no bridge
        request of its own (see _ensure_vlans).
        """
        started = super().prefetch(requests)
        if not any(r.action == prov.PLUG for r in requests):
            return started
        fut: futures.Future = futures.Future()

        def read() -> None:
            try:
                counts = dict(self._bridge_writes)
                fut.set_result((counts, pvm_net.NetBridge.get(
                    self.adapter, parent_type=pvm_ms.System, parent_uuid=self.host_uuid)))
            except Exception as exc:
                fut.set_exception(exc)

        self._early_nbs = fut
        threading.Thread(target=read, name='nb-prefetch', daemon=True).start()
        return [*started, fut]

    def drop_prefetched(self) -> None:
        super().drop_prefetched()
        self._early_nbs = None

    def provision(self, batch: list[prov.ProvisionRequest],
                  healthy: Plugs = (), nb_read: tuple | None = None) -> prov.Outcome:
        """Unplugs marked down; plugs: Neutron details, VLANs on bridges, marked up.

        Each bridge's ports are marked up as soon as that bridge is updated, not
        after every bridge. ``healthy`` ports (a heal's, status already right)
        get their VLANs ensured in the same bridge updates, but Neutron is not
        told again. ``nb_read`` (write counts, NetBridges): a read of the bridges
        the caller made (see _read_ahead_has).
        """
        outcome = prov.Outcome()
        quiet = {port.mac for _req, port in healthy}
        heal_since = {r.mac: r.created_at for r in batch if r.origin is prov.Origin.HEAL}
        self._mark_unplugged(batch, outcome)
        plugs = self._lookup_ports([r for r in batch if r.action == prov.PLUG], outcome)
        by_bridge = self._group_by_bridge([*plugs, *healthy], outcome, quiet)
        self._report(outcome, heal_since, plugs)
        for nb_uuid, bridge_plugs in by_bridge.items():
            part = prov.Outcome()
            self._ensure_vlans(nb_uuid, bridge_plugs, part, quiet, nb_read)
            self._report(part, heal_since, bridge_plugs)
            outcome.merge(part)
        return outcome

    def heal(self) -> None:
        """Bring every bound port's status and VLAN in line with the host; clean up VLANs.

        Ports whose adapter is on the host get their VLAN ensured (Neutron is
        asked details only of those whose status is not right yet); bound ports
        whose adapter left the host are marked DOWN. A VIF event newer than the
        scan wins over the heal's view of its port. A port already right whose
        VLAN the bridge read of this pass shows costs no request.
        """
        counts = dict(self._bridge_writes)
        nb_read = (counts, self.net_bridges) if self._refresh_bridges() else None
        gen = self.guard.mark()
        scanned_at = self.clock()
        with self._dev_lock:
            known = set(self._devices)
        client_cnas, vios_cnas = self.scan_host()
        if self.heal_full_scan:
            self._networks.clear()
        on_host = {vif_event.norm_mac(cna.mac) for cna in client_cnas if not cna.is_trunk}
        # Only Neutron ports bound here: the host's other adapters are not ours.
        bound = self.neutron.bound_ports(portbindings.VNIC_NORMAL)
        plan = prov.plan_heal(on_host, bound, lambda m: self.superseded(m, scanned_at))
        outcome = self._heal_ports(plan, bound, scanned_at, nb_read)
        # Forget devices gone from the host or from Neutron since the scan started;
        # devices the provision thread brought up meanwhile were not in ``known``.
        stale = known - (on_host & set(bound))
        with self._dev_lock:
            self._devices -= stale
        if outcome.failed:
            raise base.AgentError(f"{len(outcome.failed)} port(s) could not be provisioned")
        if self.conf.AGENT.automated_powervm_vlan_cleanup:
            self.cleanup(list(client_cnas) + list(vios_cnas), gen,
                         self.net_bridges if nb_read else None)

    def heal_summary(self) -> str:
        return f"full scan: {'yes' if self.heal_full_scan else 'no'}"

    def _heal_ports(self, plan: prov.HealPlan, bound: dict[str, dict],
                    scanned_at: float, nb_read: tuple | None = None) -> prov.Outcome:
        """Provision the plan: one pass, one bridge update per bridge; lost unplugs DOWN."""
        healthy = self._ports_from_networks(plan.healthy, bound, plan.to_plug)
        requests = [prov.ProvisionRequest.healed(mac, scanned_at) for mac in plan.to_plug]
        with self.provision_lock:  # decided now: no newer request can come in between
            down = [m for m in plan.to_down if not self.superseded(m, scanned_at)]
            if down:
                LOG.info("Heal: %d port(s) bound here have no adapter on the host any more; "
                         "marking them down: %s", len(down), down)
                down = sorted(set(down) - set(self.neutron.update([], down)))
        with self._dev_lock:
            self._devices.difference_update(down)
        return self.provision(requests, healthy, nb_read)

    def _ports_from_networks(self, macs: list[str], bound: dict[str, dict],
                             fallback: list[str]) -> Plugs:
        """SeaPorts of healthy ports from their networks (no status change in Neutron).

        A port whose network has no single VLAN segment goes to ``fallback``
        (asked by device details, as a plug). Network details are kept until the
        next full scan (a network's segment does not change while ports use it).
        """
        nets = self._networks
        wanted = {bound[mac].get('network_id') for mac in macs}
        for net_id in set(nets) - wanted:
            del nets[net_id]
        found: Plugs = []
        unusable: set[str] = set()
        for mac in macs:
            port = bound[mac]
            net_id = port.get('network_id')
            if net_id not in nets:
                nets[net_id] = self.neutron.network(net_id)
            try:
                found.append((prov.ProvisionRequest.healed(mac, 0.0),
                              sea_ports.SeaPort.from_network(mac, port, nets[net_id])))
            except sea_ports.UnusablePort:
                fallback.append(mac)
                unusable.add(net_id)
        for net_id in unusable:  # asked again next pass
            nets.pop(net_id, None)
        return found

    # ------------------------------------------------------------ bridges
    def resolve_bridges(self) -> dict[str, sea_map.ResolvedBridge]:
        """Read the host's Network Bridges and VIOSes and resolve bridge_mappings."""
        nbs = pvm_net.NetBridge.get(self.adapter, parent_type=pvm_ms.System,
                                    parent_uuid=self.host_uuid)
        vioses = pvm_vios.VIOS.get(self.adapter, xag=[])
        names = {v.uuid.upper(): v.name for v in vioses}
        self.net_bridges = list(nbs)
        self.bridges = sea_map.resolve_bridges(self.mappings, nbs, names)
        return self.bridges

    def _refresh_bridges(self) -> bool:
        """resolve_bridges(); False (logged) if the mappings do not resolve now."""
        try:
            self.resolve_bridges()
        except sea_map.MappingError as exc:
            LOG.error("Cannot resolve [agent] bridge_mappings (keeping %s): %s",
                      sorted(self.bridges), exc)
            return False
        return True

    # ------------------------------------------------------- provisioning
    def _mark_unplugged(self, batch: list[prov.ProvisionRequest],
                        outcome: prov.Outcome) -> None:
        requests = [r for r in batch if r.action == prov.UNPLUG]
        unplugs = sorted({r.mac for r in requests})
        if unplugs:
            with self.provision_lock:
                failed = set(self.neutron.update([], unplugs))
            outcome.failed.extend(r for r in requests if r.mac in failed)
            with self._dev_lock:
                self._devices.difference_update(set(unplugs) - failed)

    def _lookup_ports(self, plugs: list[prov.ProvisionRequest],
                      outcome: prov.Outcome) -> Plugs:
        """Neutron's view of each plugged port; unknown ports wait, unusable ones are logged."""
        with self.provision_lock:  # a heal's plug yields to any newer request
            plugs = [r for r in plugs if r.origin is not prov.Origin.HEAL
                     or not self.superseded(r.mac, r.created_at)]
            if not plugs:
                return []
            known, failed = self.neutron.details_by_mac(sorted({r.mac for r in plugs}))
        found: Plugs = []
        for req in plugs:
            det = known.get(req.mac)
            if req.mac in failed:
                outcome.failed.append(req)
            elif det is None or 'network_type' not in det:
                outcome.waiting.append(req)
            else:
                try:
                    found.append((req, sea_ports.SeaPort.from_details(req.mac, det)))
                except sea_ports.UnusablePort as exc:
                    LOG.error("Cannot provision the port with MAC %s: %s", req.mac, exc)
        return found

    def _group_by_bridge(self, plugs: Plugs, outcome: prov.Outcome,
                         quiet: set[str]) -> dict[str, Plugs]:
        """Plugs by Network Bridge UUID; administratively down ports are marked down."""
        by_bridge: dict[str, Plugs] = defaultdict(list)
        for req, port in plugs:
            bridge = self.bridges.get(port.physnet)
            if bridge is None:
                LOG.error("Port %s (MAC %s) is on physical network %r, which this agent "
                          "does not serve (bridge_mappings: %s)", port.port_id, port.mac,
                          port.physnet, sorted(self.bridges))
            elif not port.admin_up:
                # Administratively down: still served (a port_update may bring it up).
                (outcome.unchanged if port.mac in quiet else outcome.down).add(port.mac)
            else:
                by_bridge[bridge.nb_uuid].append((req, port))
        return by_bridge

    def _ensure_vlans(self, nb_uuid: str, plugs: Plugs, outcome: prov.Outcome,
                      quiet: set[str], nb_read: tuple | None = None) -> None:
        """One ensure_vlans_on_nb; the ports go up, or are retried on failure."""
        vlans = sorted({port.vlan for _req, port in plugs})
        self.guard.add(vlans)
        try:
            with self.bridge_lock(nb_uuid):
                if not (self._read_ahead_has(nb_uuid, vlans, nb_read)
                        or self._read_ahead_has(nb_uuid, vlans)):
                    self._bridge_writes[nb_uuid] += 1
                    try:
                        pvm_bridger.ensure_vlans_on_nb(self.adapter, self.host_uuid,
                                                       nb_uuid, vlans)
                    finally:
                        self._bridge_writes[nb_uuid] += 1
        except Exception as exc:
            LOG.error("Ensuring VLANs %s on Network Bridge %s failed: %s",
                      vlans, nb_uuid, logtext.error_text(exc))
            outcome.failed.extend(req for req, _port in plugs)
            return
        for _req, port in plugs:
            (outcome.unchanged if port.mac in quiet else outcome.up).add(port.mac)

    def _read_ahead_has(self, nb_uuid: str, vlans: list[int],
                        nb_read: tuple | None = None) -> bool:
        """True if the bridge read ahead (``nb_read``, else prefetch's) is current and
        carries ``vlans``.

        Current: no write of this agent to the bridge began or was in flight since
        the read started (the caller holds the bridge's lock); then the read is as
        fresh as the one ensure_vlans_on_nb would make.
        """
        if nb_read is not None:
            counts, nbs = nb_read
        else:
            fut = self._early_nbs
            if fut is None:
                return False
            try:
                counts, nbs = fut.result()
            except Exception:
                return False
        count = counts.get(nb_uuid, 0)
        if count % 2 or count != self._bridge_writes[nb_uuid]:
            return False
        nb = next((nb for nb in nbs if nb.uuid.lower() == nb_uuid.lower()), None)
        return nb is not None and all(nb.supports_vlan(vlan) for vlan in vlans)

    def bridge_lock(self, nb_uuid: str) -> threading.Lock:
        """The lock held around every write of a bridge: one write per bridge in flight."""
        with self._dev_lock:
            return self._bridge_locks.setdefault(nb_uuid, threading.Lock())

    def _report(self, outcome: prov.Outcome, heal_since: dict[str, float],
                plugs: Plugs) -> None:
        """Tell Neutron which ports are down (admin) and up; count them as served.

        A heal's port (``heal_since``: MAC -> its scan's start) with a newer request
        is left to that request. Ports Neutron could not be told about are
        retried (their requests, from ``plugs``, go to ``outcome.failed``).
        """
        with self.provision_lock:
            for mac in [m for m in heal_since if self.superseded(m, heal_since[m])]:
                outcome.up.discard(mac)
                outcome.down.discard(mac)
            failed = set(self.neutron.update(sorted(outcome.up), sorted(outcome.down)))
        if failed:
            outcome.up -= failed
            outcome.down -= failed
            outcome.failed.extend(req for req, port in plugs if port.mac in failed)
        with self._dev_lock:
            self._devices.update(outcome.down | outcome.up | outcome.unchanged)

    # --------------------------------------------------------------- heal
    def scan_host(self) -> tuple[list[Any], list[Any]]:
        """(client partitions' adapters, VIOS adapters) on the host, from the model.

        The model is refreshed first: a full scan when due (start-up, event-queue
        reset, full_scan_interval), else the partitions events named since.
        """
        agent_conf = self.conf.AGENT
        self.heal_full_scan = self.model.refresh(self.adapter, agent_conf.full_scan_interval,
                                                 agent_conf.scan_workers)
        return self.model.adapters()

    def cleanup(self, cnas: list[Any], gen: int,
                nbs_read: list[Any] | None = None) -> dict[str, list[int]]:
        """Remove from each served bridge the VLANs no adapter on its virtual switch uses.

        Every adapter's PVID and tagged VLANs are in use (client partitions' trunk
        adapters too), but the bridges' own SEA trunk adapters. One update per
        bridge; VLANs provisioned since the scan (``gen``) are kept. A bridge whose
        read of this pass (``nbs_read``) shows nothing to remove is not read again:
        only VLANs can have come since, and the next pass sees them.
        """
        removed: dict[str, list[int]] = {}
        for nb_uuid in sorted({b.nb_uuid for b in self.bridges.values()}):
            def compute(nb: Any) -> list[int]:
                sea_trunks = sea_vlans.sea_trunk_locations([nb, *self.net_bridges])
                in_use = sea_vlans.vlans_of_adapters(cnas, nb.vswitch_id, sea_trunks)
                return sea_vlans.removable_vlans(nb, in_use | self.guard.since(gen))
            seen = next((nb for nb in nbs_read or () if nb.uuid.lower() == nb_uuid.lower()),
                        None)
            if seen is not None and not compute(seen):
                removed[nb_uuid] = []
                continue
            try:
                with self.bridge_lock(nb_uuid):
                    self._bridge_writes[nb_uuid] += 1
                    try:
                        removed[nb_uuid] = sea_vlans.remove_vlans_from_nb(
                            self.adapter, self.host_uuid, nb_uuid, compute)
                    finally:
                        self._bridge_writes[nb_uuid] += 1
            except Exception as exc:
                LOG.error("VLAN cleanup of Network Bridge %s failed: %s", nb_uuid,
                          logtext.error_text(exc))
        return removed
