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

"""Base of the PowerVM L2 agents: RPC, heartbeat, REST events, heal loop, SIGTERM.

A subclass sets AGENT_TYPE, BINARY and VIF_TYPE and implements the hooks
(get_configurations, heal, handle_vif_event, ...). run() starts everything
and blocks until stop() (or SIGTERM).
"""
# contract: see doc/DEVELOPING.md

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from neutron.agent import rpc as agent_rpc
from neutron_lib import constants as n_const
from neutron_lib import context as n_context
from neutron_lib.agent import constants as agent_consts
from neutron_lib.agent import topics
from oslo_config import cfg
from oslo_log import log as logging
from oslo_messaging import Target
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import partition as pvm_partition
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import events as pvm_events
from networking_powervm.agent import session as pvm_session

LOG = logging.getLogger(__name__)

# Devices per get_devices_details_list / update_device_list call.
RPC_CHUNK = 100


class AgentError(Exception):
    """A start-up error with an operator-readable message."""


class RpcCallbacks:
    """Neutron RPC endpoint (q-agent-notifier-port-update) forwarding to the agent."""

    target = Target(version='1.4')

    def __init__(self, agent: PVMAgentBase) -> None:
        self._agent = agent

    def port_update(self, context: Any, **kwargs: Any) -> None:
        try:
            self._agent.port_update(context, **kwargs)
        except Exception:
            LOG.exception("Error handling port_update for port %s",
                          (kwargs.get('port') or {}).get('id'))


class PVMAgentBase:
    """Common PowerVM agent machinery; subclasses implement the hooks."""

    AGENT_TYPE: str = ''
    BINARY: str = ''
    VIF_TYPE: str = ''

    def __init__(self, conf: cfg.ConfigOpts,
                 adapter: pvm_adpt.Adapter | None = None) -> None:
        pvm_config.register_opts(conf)
        self.conf = conf
        self.host: str = conf.host
        self.agent_id = f'{self.BINARY}-{self.host}'
        self.adapter = adapter if adapter is not None else pvm_session.build_adapter(conf)
        self.host_uuid: str = self._get_host_uuid()
        self.context = n_context.get_admin_context_without_session()
        self.plugin_rpc = agent_rpc.PluginApi(topics.PLUGIN)
        self.state_rpc = agent_rpc.PluginReportStateAPI(topics.REPORTS)
        self.connection: Any = None
        self._report_lock = threading.Lock()
        self.agent_state: dict[str, Any] = {
            'binary': self.BINARY,
            'host': self.host,
            'topic': n_const.L2_AGENT_TOPIC,
            'configurations': {},
            'agent_type': self.AGENT_TYPE,
            'start_flag': True,
        }
        self._stop_event = threading.Event()
        self._heal_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._event_listener: Any = None
        self._event_handler: pvm_events.AgentEventHandler | None = None

    # ---------------------------------------------------------------- hooks
    def setup(self) -> None:
        """Start-up hook run first by run() (e.g. resolve bridges). Raise to abort."""

    def start_workers(self) -> None:
        """Hook to start subclass threads (use self.start_thread)."""

    def get_configurations(self) -> dict:
        """The 'configurations' of the heartbeat."""
        return {}

    def heal(self) -> None:
        """Bring the host in line with Neutron; run at start-up and each interval."""

    def handle_vif_event(self, action: str, mac: str, href: str) -> None:
        """A NOVA_PVM_VIF event of our VIF_TYPE (mac like aa:bb:cc:dd:ee:ff)."""

    def handle_other_event(self, event: Any) -> bool:
        """Any other REST event (pypowervm Event wrapper); True if handled."""
        return False

    def full_resync(self) -> None:
        """The REST event queue was reset (NEW_CLIENT/CACHE_CLEARED/MISSING_EVENTS)."""
        self.schedule_heal()

    def port_update(self, context: Any, **kwargs: Any) -> None:
        """Neutron port_update RPC notification."""
        LOG.debug("Ignoring port_update for port %s",
                  (kwargs.get('port') or {}).get('id'))

    # ------------------------------------------------------------ provided
    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to seconds; True when the agent is stopping."""
        return self._stop_event.wait(seconds)

    def schedule_heal(self) -> None:
        """Have the heal loop run heal() as soon as possible."""
        self._heal_now.set()

    def start_thread(self, name: str, target: Callable[[], None]) -> threading.Thread:
        """Start a daemon thread tracked by the agent (joined on stop)."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def run(self) -> None:
        """Start the agent and block until stop() or SIGTERM."""
        self._install_signal_handler()
        try:
            self.wait_for_vioses()
            self.setup()
            self._setup_rpc()
            self.start_thread('heartbeat', self._heartbeat_loop)
            self._start_event_listener()
            self.start_thread('heal', self._heal_loop)
            self.start_workers()
            if self.connection is not None:
                self.connection.consume_in_threads()
            LOG.info("%s running on host %s", self.AGENT_TYPE, self.host)
            while not self._stop_event.wait(3600):
                pass
        finally:
            self._stop_event.set()
            self._shutdown()

    def wait_for_vioses(self) -> None:
        """Wait until the host's Virtual I/O Servers are running with RMC active.

        pypowervm waits as long as a VIOS that is still booting needs; no
        active VIOS at the end is a start-up error.
        """
        try:
            pvm_partition.validate_vios_ready(self.adapter)
        except pvm_exc.ViosNotAvailable as exc:
            raise AgentError(f"No Virtual I/O Server of the host is ready: {exc}") from None

    def stop(self) -> None:
        """Ask run() to return (thread- and signal-safe)."""
        LOG.info("Stopping %s", self.AGENT_TYPE)
        self._stop_event.set()
        self._heal_now.set()

    def report_state(self) -> None:
        """Send one heartbeat to Neutron; errors are logged.

        Several threads report (heartbeat, events, RPC, heal); a lock keeps
        agent_state and start_flag consistent.
        """
        try:
            with self._report_lock:
                self.agent_state['configurations'] = self.get_configurations()
                status = self.state_rpc.report_state(self.context, self.agent_state, True)
                self.agent_state.pop('start_flag', None)
            if status == agent_consts.AGENT_REVIVED:
                LOG.info("Agent revived by Neutron; scheduling a full resync")
                self.full_resync()
        except Exception:
            LOG.exception("Failed to report state to Neutron")

    def get_device_details(self, macs: list[str]) -> list[dict]:
        """Neutron's details of the ports with these MACs (ML2 accepts MACs)."""
        details: list[dict] = []
        macs = list(macs)
        for start in range(0, len(macs), RPC_CHUNK):
            details.extend(self.plugin_rpc.get_devices_details_list(
                self.context, macs[start:start + RPC_CHUNK], self.agent_id, self.host) or [])
        return details

    def bound_port_macs(self, vnic_type: str) -> set[str]:
        """MACs of the Neutron ports of ``vnic_type`` bound to this host (one RPC call)."""
        ports = self.plugin_rpc.get_ports_by_vnic_type_and_host(
            self.context, vnic_type, self.host)
        macs: set[str] = set()
        for port in ports or []:
            try:
                macs.add(pvm_events.norm_mac(port.get('mac_address')))
            except pvm_events.EventError:
                LOG.warning("Ignoring Neutron port %s with a bad MAC", port.get('id'))
        return macs

    def update_devices_up(self, macs: list[str]) -> None:
        """Mark the ports with these MACs ACTIVE."""
        self._update_devices(list(macs), [])

    def update_devices_down(self, macs: list[str]) -> None:
        """Mark the ports with these MACs DOWN."""
        self._update_devices([], list(macs))

    # ------------------------------------------------------------ internals
    def _update_devices(self, up: list[str], down: list[str]) -> None:
        for start in range(0, max(len(up), len(down)), RPC_CHUNK):
            chunk_up, chunk_down = up[start:start + RPC_CHUNK], down[start:start + RPC_CHUNK]
            result = self.plugin_rpc.update_device_list(
                self.context, chunk_up, chunk_down, self.agent_id, self.host)
            failed = (result or {}).get('failed_devices_up', []) + \
                (result or {}).get('failed_devices_down', [])
            if failed:
                LOG.warning("Neutron failed to update the status of devices %s", failed)

    def _get_host_uuid(self) -> str:
        systems = pvm_ms.System.get(self.adapter)
        if not systems:
            raise AgentError("The PowerVM REST API reports no managed system")
        return systems[0].uuid

    def _setup_rpc(self) -> None:
        consumers = [[topics.PORT, topics.UPDATE]]
        self.connection = agent_rpc.create_consumers(
            [RpcCallbacks(self)], topics.AGENT, consumers, start_listening=False)

    def _heartbeat_loop(self) -> None:
        interval = self.conf.AGENT.report_interval
        if not interval:
            return
        self.report_state()
        while not self._stop_event.wait(interval):
            self.report_state()

    def _heal_loop(self) -> None:
        interval = self.conf.AGENT.heal_and_optimize_interval
        retry = self.conf.AGENT.exception_interval
        while not self._stop_event.is_set():
            self._heal_now.clear()
            started = time.monotonic()
            try:
                self.heal()
                LOG.info("Heal and optimize done in %.1f seconds",
                         time.monotonic() - started)
                wait = interval
            except Exception:
                LOG.exception("Heal and optimize failed; retrying in %s seconds", retry)
                wait = retry
            self._heal_now.wait(wait)

    def _start_event_listener(self) -> None:
        self._event_handler = pvm_events.AgentEventHandler(self)
        self._event_listener = self.adapter.session.get_event_listener()
        self._event_listener.subscribe(self._event_handler)

    def _install_signal_handler(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def _on_sigterm(signum: int, frame: Any) -> None:
            # stop() takes locks: never call it inside the signal handler.
            threading.Thread(target=self.stop, name='sigterm', daemon=True).start()

        signal.signal(signal.SIGTERM, _on_sigterm)

    def _shutdown(self) -> None:
        if self._event_listener is not None and self._event_handler is not None:
            try:
                self._event_listener.unsubscribe(self._event_handler)
            except Exception:
                LOG.debug("Event listener unsubscribe failed", exc_info=True)
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                LOG.debug("RPC connection close failed", exc_info=True)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2)
        LOG.info("%s stopped", self.AGENT_TYPE)
