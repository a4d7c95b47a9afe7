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

- a NOVA_PVM_VIF plug/unplug event of type ``pvm_sriov`` queues the MAC; a
  worker marks it up (once Neutron knows the port, retrying up to
  PORT_WAIT_TIMEOUT) or down;
- heal (start-up and every heal_and_optimize_interval, and after a REST event
  queue reset) refreshes the mappings and marks up every vNIC on the host whose
  MAC is a Neutron port;
- an ``SRIOVPhysicalPort.ConfigChange`` REST event and a port_update refresh
  the mappings; a change is reported to Neutron at once.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from neutron_lib.api.definitions import portbindings
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm.wrappers import iocard as pvm_card
from pypowervm.wrappers import logical_partition as pvm_lpar

from networking_powervm.agent import base, provision
from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import events as pvm_events
from networking_powervm.agent.sriov import mappings as pvm_mappings
from networking_powervm.common import constants as c
from networking_powervm.ml2 import profile as pvm_profile

LOG = logging.getLogger(__name__)


class ConfigError(base.AgentError):
    """An invalid option value; the message names the option and the value."""


def _raw_value(conf: cfg.ConfigOpts, group: str, name: str) -> Any:
    """The option's text as written in the config files (best effort, for messages)."""
    try:
        value, _loc = conf._namespace._get_file_value([(group, name)])
        return value[-1] if isinstance(value, list) and value else value
    except Exception:
        return '<unknown>'


def validate_conf(conf: cfg.ConfigOpts) -> None:
    """Check the SR-IOV options; a ConfigError names the option and the value as written.

    oslo.config checks types and ranges; here also: vnic_required_vfs may not be
    empty, vnic_vf_capacity must be a finite number with at most 4 decimals.
    """
    group = pvm_config.AGENT_GROUP
    for name in ('vnic_required_vfs', 'vnic_vf_capacity'):
        try:
            getattr(conf.AGENT, name)
        except cfg.Error as exc:
            reason = str(exc).rpartition('is not valid: ')[2] or str(exc)
            raise ConfigError(f"Invalid [{group}] {name} = {_raw_value(conf, group, name)}: "
                              f"{reason}") from None
    if conf.AGENT.vnic_required_vfs is None:  # "vnic_required_vfs =" in a file
        raise ConfigError(f"Invalid [{group}] vnic_required_vfs = "
                          f"{_shown(conf, group, 'vnic_required_vfs', None)}: "
                          "must be an integer of at least 1")
    capacity = conf.AGENT.vnic_vf_capacity
    if capacity is None:
        return
    shown = _shown(conf, group, 'vnic_vf_capacity', capacity)
    dec = Decimal(str(capacity))
    if not dec.is_finite():  # oslo's range check lets NaN through
        raise ConfigError(f"Invalid [{group}] vnic_vf_capacity = {shown}: "
                          "not a number between 0.0 and 1.0")
    if pvm_profile.decimal_places(dec) > pvm_profile.CAPACITY_DECIMALS:
        raise ConfigError(
            f"Invalid [{group}] vnic_vf_capacity = {shown}: at most "
            f"{pvm_profile.CAPACITY_DECIMALS} decimal places are allowed")


def _shown(conf: cfg.ConfigOpts, group: str, name: str, value: Any) -> str:
    """The value as the operator wrote it, else its parsed form ('' for empty)."""
    raw = _raw_value(conf, group, name)
    if raw == '<unknown>' or raw is None:
        return repr('') if value is None else str(value)
    raw = str(raw)
    return repr(raw) if raw.strip() == '' else raw


def _event_detail(event: Any) -> str:
    """The detail of a pypowervm Event wrapper or of a dict event."""
    if isinstance(event, dict):
        detail = event.get('detail')
    else:
        detail = getattr(event, 'detail', None)
    return detail if isinstance(detail, str) else ''


class SRIOVAgent(base.PVMAgentBase):
    """The networking-powervm SR-IOV agent."""

    AGENT_TYPE = c.AGENT_TYPE_PVM_SRIOV
    BINARY = c.AGENT_BINARY_SRIOV
    VIF_TYPE = c.VIF_TYPE_PVM_SRIOV

    def __init__(self, conf: cfg.ConfigOpts,
                 adapter: pvm_adpt.Adapter | None = None) -> None:
        pvm_config.register_opts(conf)
        validate_conf(conf)  # before connecting: a bad option fails fast
        self._mappings: dict[str, list[str]] = {}
        self._mappings_lock = threading.Lock()
        self.queue = provision.ProvisionQueue()
        super().__init__(conf, adapter)

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
            c.CONF_BRIDGE_MAPPINGS: self.mappings,
            c.CONF_DEFAULT_REDUNDANCY: self.conf.AGENT.vnic_required_vfs,
            c.CONF_DEFAULT_CAPACITY: self.conf.AGENT.vnic_vf_capacity,
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

    def start_workers(self) -> None:
        self.start_thread('sriov-provision', self._provision_loop)

    def stop(self) -> None:
        super().stop()
        self.queue.close()

    def handle_vif_event(self, action: str, mac: str, href: str) -> None:
        """Queue the plug (mark up) or unplug (mark down) of the port with this MAC."""
        self.queue.add(provision.ProvisionRequest.from_event(action, mac, href, self.VIF_TYPE))

    def handle_other_event(self, event: Any) -> bool:
        """Refresh the mappings when an SR-IOV physical port's configuration changed."""
        if c.SRIOV_PORT_CONFIG_CHANGE not in _event_detail(event):
            return False
        self._refresh_quietly(c.SRIOV_PORT_CONFIG_CHANGE)
        return True

    def port_update(self, context: Any, **kwargs: Any) -> None:
        """Refresh the mappings, unless the port is bound to another host."""
        port = kwargs.get('port') or {}
        host = port.get('binding:host_id')
        if host and host != self.host:
            return
        self._refresh_quietly(f"port_update of port {port.get('id')}")

    def heal(self) -> None:
        """Refresh the mappings; mark up every vNIC on the host Neutron knows."""
        self.refresh_mappings()
        macs = self.host_vnic_macs()
        if not macs:
            return
        bound = self.bound_port_macs(portbindings.VNIC_DIRECT)
        known = sorted(set(macs) & bound)
        if known:
            LOG.info("Heal: marking %d SR-IOV port(s) up", len(known))
            self.update_devices_up(known)

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
                            lpar.name, lpar.uuid, exc)
                continue
            for vnic in vnics:
                try:
                    macs.append(pvm_events.norm_mac(vnic.mac))
                except pvm_events.EventError as exc:
                    LOG.warning("Skipping a vNIC of partition %s: %s", lpar.name, exc)
        return macs

    def _known_macs(self, macs: list[str]) -> list[str]:
        """Those of macs that are Neutron ports bound to this host."""
        wanted = set(macs)
        known = []
        for details in self.get_device_details(macs) or []:
            if 'port_id' not in details:
                continue
            try:
                mac = pvm_events.norm_mac(details.get('mac_address') or details.get('device'))
            except pvm_events.EventError:
                continue
            if mac in wanted and mac not in known:
                known.append(mac)
        return known

    def _provision_loop(self) -> None:
        # drain() waits up to exception_interval for a new request, then also
        # returns the plugs waiting for Neutron: they are retried at that pace.
        while not self.stopped:
            batch = self.queue.drain(timeout=self.conf.AGENT.exception_interval)
            if batch and not self.stopped:
                self.process_requests(batch)

    def process_requests(self, batch: list[provision.ProvisionRequest]) -> None:
        """Mark unplugged ports down and plugged known ports up; retry the rest."""
        unplugs = [r for r in batch if r.action == provision.UNPLUG]
        plugs = [r for r in batch if r.action == provision.PLUG]
        try:
            if unplugs:
                self.update_devices_down([r.mac for r in unplugs])
            unplugs = []
            if plugs:
                known = set(self._known_macs([r.mac for r in plugs]))
                self.update_devices_up([r.mac for r in plugs if r.mac in known])
                waiting = [r for r in plugs if r.mac not in known]
                for request in waiting:
                    LOG.info("Port with MAC %s not (yet) bound to this host in Neutron; "
                             "will retry", request.mac)
                    self.queue.retry_later(request)
        except Exception:
            LOG.exception("Failed to update the status of ports %s; will retry",
                          [r.mac for r in unplugs + plugs])
            for request in unplugs + plugs:
                self.queue.retry_later(request)
