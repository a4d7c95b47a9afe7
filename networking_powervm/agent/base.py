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

"""Base of the PowerVM L2 agents: RPC, heartbeat, REST events, provision queue, heal, SIGTERM.

A subclass sets AGENT_TYPE, BINARY and VIF_TYPE and implements the hooks
(provision, heal, get_configurations, ...). The base owns the provision queue:
NOVA_PVM_VIF events of the agent's VIF type become requests, its provision
thread hands them to provision() in batches and retries what the Outcome
says: plugs of ports Neutron does not know yet every exception_interval (up
to PORT_WAIT_TIMEOUT), failures after exception_interval. run() starts
everything and blocks until stop() (or SIGTERM).
"""
# contract: see doc/DEVELOPING.md

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

from neutron_lib import constants as n_const
from neutron_lib import context as n_context
from neutron_lib.agent import constants as agent_consts
from neutron_lib.agent import topics
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import partition as pvm_partition
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import events as pvm_events
from networking_powervm.agent import heal_timer, neutron_rpc, rest_count, workers
from networking_powervm.agent import plugin_rpc as agent_rpc
from networking_powervm.agent import provision as prov
from networking_powervm.agent import session as pvm_session
from networking_powervm.common import vif_event

LOG = logging.getLogger(__name__)

# Longest wait (seconds) between retries of a job that keeps failing.
BACKOFF_CAP = 60
# Seconds a stop waits, in all, for the RPC connection, the event poll and the threads.
SHUTDOWN_TIMEOUT = 3
# A burst of plug events is provisioned in one pass: once a request is queued, the
# provision thread waits until none came for PLUG_SETTLE s (at most PLUG_SETTLE_MAX s).
PLUG_SETTLE = 0.1
PLUG_SETTLE_MAX = 0.5
# Once what prefetch() started is done, this much quiet ends the settle: a lone
# plug waits for its details, not for PLUG_SETTLE (a burst's events come closer).
PLUG_SETTLE_READY = 0.04


class AgentError(Exception):
    """A start-up error with an operator-readable message."""


class ConfigError(AgentError):
    """An invalid option value; the message names the option and the value."""


class PVMAgentBase:
    """Common PowerVM agent machinery; subclasses implement the hooks."""

    AGENT_TYPE: str = ''
    BINARY: str = ''
    VIF_TYPE: str = ''

    def __init__(self, conf: cfg.ConfigOpts, adapter: pvm_adpt.Adapter | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 rng: heal_timer.Rng | None = None) -> None:
        try:
            pvm_config.validate(conf)  # before connecting: a bad option fails fast
        except pvm_config.InvalidOption as exc:
            raise ConfigError(str(exc)) from None
        self.conf = conf
        self.host: str = conf.host
        self.clock = clock
        # Jitter of the heal timing and of the back-offs (heal_timer; injectable for tests).
        self.rng = rng if rng is not None else heal_timer.new_rng()
        self.heal_timer = heal_timer.HealTimer(self.rng)
        self.agent_id = f'{self.BINARY}-{self.host}'
        self.adapter = adapter if adapter is not None else pvm_session.build_adapter(conf)
        self.host_uuid: str = self._get_host_uuid()
        self.context = n_context.get_admin_context_without_session()
        self.plugin_rpc = agent_rpc.PluginApi(topics.PLUGIN)
        self.state_rpc = agent_rpc.PluginReportStateAPI(topics.REPORTS,
                                                        conf.AGENT.report_interval)
        self.neutron = neutron_rpc.NeutronPorts(self.plugin_rpc, self.context,
                                                self.agent_id, self.host)
        self.queue = prov.ProvisionQueue(clock=clock)
        # Held by the agents around their port status changes (the provision thread's
        # and a heal's), so that a heal never undoes a newer request.
        self.provision_lock = threading.RLock()
        self.recent_events = prov.RecentEvents(clock)
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
        self.workers = workers.Workers(restart_delay=conf.AGENT.exception_interval)
        self._heal_now = threading.Event()
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

    def provision(self, batch: list[prov.ProvisionRequest]) -> prov.Outcome:
        """Provision a batch of requests; the Outcome says what to retry. May raise."""
        raise NotImplementedError

    def heal(self) -> None:
        """Bring the host in line with Neutron; run at start-up and each interval."""

    def heal_summary(self) -> str:
        """What the last heal pass read, for its INFO line (e.g. "full scan: yes")."""
        return 'full scan: yes'

    def handle_other_event(self, event: Any) -> bool:
        """Any other REST event (pypowervm Event wrapper); True if handled."""
        return False

    def full_resync(self) -> None:
        """Revived by Neutron, or the REST event queue was reset (NEW_CLIENT/...).

        Heals after a random 0-10 % of the heal interval (at most 30 s): agents
        that find Neutron or the REST API again together do not resync together.
        """
        delay = self.heal_timer.resync_delay(self.conf.AGENT.heal_and_optimize_interval)
        LOG.info("Full resync (heal) in %.1f seconds", delay)
        self.schedule_heal(delay)

    def prefetch(self, requests: list[prov.ProvisionRequest]) -> list[futures.Future]:
        """Start work on the first requests of a burst while it settles; must not block.

        By default: ask Neutron for the plugged ports' details (the first thing
        provision() needs), so a lone plug does not pay for the settle. Returns
        the futures of the work started (the settle shortens once they are done).
        """
        fut = self.neutron.prefetch_details(sorted({r.mac for r in requests
                                                    if r.action == prov.PLUG}))
        return [fut] if fut is not None else []

    def drop_prefetched(self) -> None:
        """Forget what prefetch() got and the pass did not use (end of each pass)."""
        self.neutron.drop_prefetched()

    def port_update(self, context: Any, **kwargs: Any) -> None:
        """Neutron port_update RPC notification."""
        LOG.debug("Ignoring port_update for port %s",
                  (kwargs.get('port') or {}).get('id'))

    # ------------------------------------------------------------ provided
    @property
    def stopped(self) -> bool:
        return self.workers.stopped

    def wait(self, seconds: float) -> bool:
        """Sleep up to seconds; True when the agent is stopping."""
        return self.workers.wait(seconds)

    def schedule_heal(self, delay: float = 0.0) -> None:
        """Have the heal loop run heal() in ``delay`` seconds (as soon as possible: 0)."""
        self.heal_timer.request(self.clock() + delay)
        self._heal_now.set()

    def handle_vif_event(self, event: vif_event.VifEvent) -> None:
        """Queue the request of a NOVA_PVM_VIF event of this agent's VIF type."""
        if event.vif_type != self.VIF_TYPE:
            LOG.debug("Ignoring %s event for VIF type %s", event.action, event.vif_type)
            return
        request = prov.ProvisionRequest.from_event(event, self.clock)
        self.recent_events.record(request)
        self.queue.add(request)

    def superseded(self, mac: str, since: float) -> bool:
        """True if a request for ``mac`` is queued, or its VIF event came or was provisioned
        at or after ``since`` (a heal's scan): that request decides the port's status, not
        the heal's view."""
        return self.recent_events.newer(mac, since) or self.queue.has(mac)

    def start_thread(self, name: str, target: Callable[[], None]) -> threading.Thread:
        """Start a daemon thread tracked by the agent (joined on stop)."""
        return self.workers.start(name, target)

    def run(self) -> None:
        """Start the agent and block until stop() or SIGTERM."""
        workers.on_sigterm(self.stop)
        try:
            self.wait_for_vioses()
            self.setup()
            self._setup_rpc()
            if self.conf.AGENT.report_interval:
                self.start_thread('heartbeat', self._heartbeat_loop)
            self._start_event_listener()
            self.start_thread('heal', self._heal_loop)
            self.start_thread('provision', self.provision_loop)
            self.start_workers()
            if self.connection is not None:
                self.connection.consume_in_threads()
            LOG.info("%s running on host %s", self.AGENT_TYPE, self.host)
            while not self.wait(3600):
                pass
        finally:
            self.workers.stop()
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
        self.workers.stop()
        self._heal_now.set()
        self.queue.close()

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

    def provision_loop(self) -> None:
        """The provision thread: drain the queue, provision, retry what the Outcome says.

        drain() waits up to exception_interval for a request, then also returns
        the plugs waiting for Neutron: they are retried at that pace.
        """
        backoff = self._backoff('Provisioning')
        while not self.stopped:
            interval = self.conf.AGENT.exception_interval  # mutable: read each pass
            batch = self.queue.drain(timeout=interval, settle=PLUG_SETTLE,
                                     settle_max=PLUG_SETTLE_MAX, on_pending=self.prefetch,
                                     settle_ready=PLUG_SETTLE_READY)
            if not batch or self.stopped:
                continue
            macs = {r.mac for r in batch}
            self.recent_events.touch(macs, self.clock())
            try:
                outcome = self.provision(batch)
            except Exception as exc:
                backoff.what = f'Provisioning of {len(batch)} request(s)'
                outcome = prov.Outcome(failed=batch)
                delay = backoff.failed(exc)
            else:
                # provision() logged each failure on one line already.
                delay = backoff.failed() if outcome.failed else interval
                if not outcome.failed:
                    backoff.succeeded()
            finally:
                self.recent_events.touch(macs, self.clock())
                self.drop_prefetched()
            self._retry(outcome, delay)

    # ------------------------------------------------------------ internals
    def _backoff(self, what: str) -> workers.Backoff:
        """Back-off from exception_interval up to BACKOFF_CAP seconds."""
        base = self.conf.AGENT.exception_interval
        return workers.Backoff(what, base, max(base, BACKOFF_CAP), rng=self.rng)

    def _retry(self, outcome: prov.Outcome, interval: float) -> None:
        for request in outcome.waiting:
            LOG.info("Neutron does not know a port with MAC %s yet; will retry", request.mac)
            self.queue.retry_later(request)
        if outcome.failed:
            self.queue.requeue(outcome.failed)
            self.wait(interval)

    def _get_host_uuid(self) -> str:
        systems = pvm_ms.System.get(self.adapter)
        if not systems:
            raise AgentError("The PowerVM REST API reports no managed system")
        return systems[0].uuid

    def _setup_rpc(self) -> None:
        consumers = [[topics.PORT, topics.UPDATE]]
        self.connection = agent_rpc.create_consumers(
            [neutron_rpc.RpcCallbacks(self)], topics.AGENT, consumers, start_listening=False)

    def _heartbeat_loop(self) -> None:
        interval = self.conf.AGENT.report_interval
        self.report_state()
        while not self.wait(interval):
            self.report_state()

    def _heal_loop(self) -> None:
        """Heal at start-up, then each interval (jittered, heal_timer), sooner on request."""
        backoff = self._backoff('Heal and optimize')
        while not self.stopped:
            interval = self.conf.AGENT.heal_and_optimize_interval  # mutable: read each pass
            self._heal_now.clear()
            self.heal_timer.started()
            started = time.monotonic()
            try:
                with rest_count.counting() as rest:
                    self.heal()
            except Exception as exc:
                wait = backoff.failed(exc)
            else:
                backoff.succeeded()
                LOG.info("Heal and optimize done in %.1f seconds: %d REST reads, %d writes "
                         "(%s)", time.monotonic() - started, rest.reads, rest.writes,
                         self.heal_summary())
                wait = self.heal_timer.periodic_wait(interval)
                LOG.debug("Next periodic heal in %.1f seconds", wait)
            self._wait_for_heal(self.clock() + wait)

    def _wait_for_heal(self, deadline: float) -> None:
        """Sleep until ``deadline`` or a heal requested (schedule_heal) falls due, or stop."""
        while not self.stopped:
            left = self.heal_timer.due(deadline) - self.clock()
            if left <= 0:
                return
            self._heal_now.wait(left)
            self._heal_now.clear()

    def _start_event_listener(self) -> None:
        self._event_handler = pvm_events.AgentEventHandler(self)
        self._event_listener = self.adapter.session.get_event_listener()
        self._event_listener.subscribe(self._event_handler)

    def _shutdown(self) -> None:
        """Close the RPC connection and the event subscription, join the threads.

        Bounded by SHUTDOWN_TIMEOUT in all: a stop answers within seconds even
        when Neutron or the REST API does not.
        """
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT
        if self._event_listener is not None and self._event_handler is not None:
            listener, handler = self._event_listener, self._event_handler
            workers.bounded('REST event unsubscribe', lambda: listener.unsubscribe(handler),
                            deadline - time.monotonic())
        if self.connection is not None:
            workers.bounded('RPC connection close', self.connection.close,
                            deadline - time.monotonic())
        left = self.workers.join(max(0.0, deadline - time.monotonic()))
        if left:
            LOG.info("Not waiting for thread(s) %s", ', '.join(left))
        LOG.info("%s stopped", self.AGENT_TYPE)
