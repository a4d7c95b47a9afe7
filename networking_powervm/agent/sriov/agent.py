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

"""PowerVM SR-IOV agent: reports physnet -> SR-IOV port mappings, keeps vNIC ports' status.

Nova's PowerVM SR-IOV VIF driver creates the vNICs itself (from the binding's
vif_details); this agent tells Neutron which physical networks the host's
SR-IOV physical ports serve (their labels) and marks ports up/down:

- a NOVA_PVM_VIF plug/unplug event of type ``pvm_sriov`` is queued by the
  base; provision() marks the port up (once Neutron knows it; the base retries
  up to PORT_WAIT_TIMEOUT) or down;
- heal (start-up and every heal_and_optimize_interval, and after a REST event
  queue reset) refreshes the mappings and marks up every vNIC on the host whose
  MAC is a Neutron port;
- an ``SRIOVPhysicalPort.ConfigChange`` REST event and a port_update refresh
  the mappings; a change is reported to Neutron at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from neutron_lib.api.definitions import portbindings
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm.wrappers import iocard as pvm_card
from pypowervm.wrappers import logical_partition as pvm_lpar

from networking_powervm.agent import base
from networking_powervm.agent import provision as prov
from networking_powervm.agent.sriov import mappings as pvm_mappings
from networking_powervm.common import constants as pvm_const
from networking_powervm.common import logtext, vif_event

LOG = logging.getLogger(__name__)


def _event_detail(event: Any) -> str:
    """The detail of a pypowervm Event wrapper or of a dict event."""
    if isinstance(event, dict):
        detail = event.get('detail')
    else:
        detail = getattr(event, 'detail', None)
    return detail if isinstance(detail, str) else ''


class SRIOVAgent(base.PVMAgentBase):
    """The networking-powervm SR-IOV agent."""

    AGENT_TYPE = pvm_const.AGENT_TYPE_PVM_SRIOV
    BINARY = pvm_const.AGENT_BINARY_SRIOV
    VIF_TYPE = pvm_const.VIF_TYPE_PVM_SRIOV

    def __init__(self, conf: cfg.ConfigOpts, adapter: pvm_adpt.Adapter | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._mappings: dict[str, list[str]] = {}
        self._mappings_lock = threading.Lock()
        super().__init__(conf, adapter, clock)

    # ------------------------------------------------------------ mappings
    @property
    def mappings(self) -> dict[str, list[str]]:
        """The last physnet -> location codes read from the host (a copy)."""
        with self._mappings_lock:
            return {k: list(v) for k, v in self._mappings.items()}

    def refresh_mappings(self, report: bool = True) -> bool:
        """Re-read the port labels; on a change, log it and (if report) re-report.

        Returns True if the mappings changed. REST errors propagate.
        """
        new = pvm_mappings.get_mappings(self.adapter)
        with self._mappings_lock:
            old, self._mappings = self._mappings, new
        if new == old:
            return False
        LOG.info("SR-IOV physical network mappings: %s", new)
        if report:
            self.report_state()
        return True

    def _refresh_quietly(self, why: str) -> None:
        try:
            self.refresh_mappings()
        except Exception:
            LOG.exception("Failed to refresh the SR-IOV mappings after %s; the next "
                          "heal retries", why)

    def get_configurations(self) -> dict:
        return {
            pvm_const.CONF_BRIDGE_MAPPINGS: self.mappings,
            pvm_const.CONF_DEFAULT_REDUNDANCY: self.conf.AGENT.vnic_required_vfs,
            pvm_const.CONF_DEFAULT_CAPACITY: self.conf.AGENT.vnic_vf_capacity,
        }

    # --------------------------------------------------------------- hooks
    def setup(self) -> None:
        """Read the mappings before the first heartbeat (a failure is retried by heal)."""
        try:
            self.refresh_mappings(report=False)
        except Exception:
            LOG.exception("Cannot read the SR-IOV physical ports yet; reporting no mappings "
                          "until the heal loop succeeds")
        if not self._mappings:
            LOG.warning("No SR-IOV physical port in shared mode on this host: nothing can be "
                        "bound to this agent")

    def handle_other_event(self, event: Any) -> bool:
        """Refresh the mappings when an SR-IOV physical port's configuration changed."""
        if pvm_const.SRIOV_PORT_CONFIG_CHANGE not in _event_detail(event):
            return False
        self._refresh_quietly(pvm_const.SRIOV_PORT_CONFIG_CHANGE)
        return True

    def port_update(self, context: Any, **kwargs: Any) -> None:
        """Refresh the mappings, unless the port is bound to another host."""
        port = kwargs.get('port') or {}
        host = port.get(portbindings.HOST_ID)
        if host and host != self.host:
            return
        self._refresh_quietly(f"port_update of port {port.get('id')}")

    def provision(self, batch: list[prov.ProvisionRequest]) -> prov.Outcome:
        """Mark unplugged ports down and plugged ports Neutron knows up; the rest wait."""
        with self.provision_lock:
            return self._mark(batch)

    def _mark(self, batch: list[prov.ProvisionRequest]) -> prov.Outcome:
        outcome = prov.Outcome()
        unplugs = [r for r in batch if r.action == prov.UNPLUG]
        if unplugs:
            failed = set(self.neutron.update([], sorted({r.mac for r in unplugs})))
            outcome.down = {r.mac for r in unplugs} - failed
            outcome.failed.extend(r for r in unplugs if r.mac in failed)
        plugs = [r for r in batch if r.action == prov.PLUG]
        if plugs:
            known, not_asked = self.neutron.details_by_mac(sorted({r.mac for r in plugs}))
            outcome.failed.extend(r for r in plugs if r.mac in not_asked)
            outcome.waiting = [r for r in plugs if r.mac not in known
                               and r.mac not in not_asked]
            up = {r.mac for r in plugs if r.mac in known}
            failed = set(self.neutron.update(sorted(up), [])) if up else set()
            outcome.up = up - failed
            outcome.failed.extend(r for r in plugs if r.mac in failed)
        return outcome

    def heal(self) -> None:
        """Refresh the mappings; bound ports ACTIVE iff their vNIC is on the host.

        Only ports whose status is not right are touched; a VIF event newer
        than the scan wins over the heal's view of its port.
        """
        self.refresh_mappings()
        scanned_at = self.clock()
        on_host = set(self.host_vnic_macs())
        bound = self.neutron.bound_ports(portbindings.VNIC_DIRECT)
        with self.provision_lock:
            plan = prov.plan_heal(on_host, bound, lambda m: self.superseded(m, scanned_at),
                                  admin_aware=False)
            if plan.to_plug:
                LOG.info("Heal: marking %d SR-IOV port(s) up", len(plan.to_plug))
                self.neutron.update(plan.to_plug, [])
            if plan.to_down:
                LOG.info("Heal: marking %d SR-IOV port(s) down (no vNIC on the host): %s",
                         len(plan.to_down), plan.to_down)
                self.neutron.update([], plan.to_down)

    # ------------------------------------------------------------- helpers
    def host_vnic_macs(self) -> list[str]:
        """MACs (Neutron form) of the vNICs of every partition on the host."""
        macs: list[str] = []
        for lpar in pvm_lpar.LPAR.get(self.adapter):
            try:
                vnics = pvm_card.VNIC.get(self.adapter, parent_type=pvm_lpar.LPAR,
                                          parent_uuid=lpar.uuid)
            except Exception as exc:  # partition gone meanwhile, REST hiccup
                LOG.warning("Cannot list the vNICs of partition %s (%s): %s",
                            lpar.name, lpar.uuid, logtext.error_text(exc))
                continue
            for vnic in vnics:
                try:
                    macs.append(vif_event.norm_mac(vnic.mac))
                except vif_event.EventError as exc:
                    LOG.warning("Skipping a vNIC of partition %s: %s", lpar.name, exc)
        return macs
