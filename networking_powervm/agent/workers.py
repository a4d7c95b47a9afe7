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

"""The agent's threads: a shared stop event, supervised daemon threads, SIGTERM.

Every long-running job of an agent (heartbeat, heal, provisioning, ...) runs
in a thread started here. No thread dies silently: one that raises, or returns
while the agent is not stopping, is logged at ERROR and started again after
restart_delay seconds. stop() wakes every wait() at once and join() waits for
the threads to end.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

from networking_powervm.common import logtext

LOG = logging.getLogger(__name__)

# Seconds join() waits, in all, for the threads to end: they are daemons, and
# one stuck in a REST or RPC call must not hold the process (SIGINT, SIGTERM).
JOIN_TIMEOUT = 2
# Back-off waits are 1 - JITTER to 1 times the doubling delay (equal jitter).
JITTER = 0.5


class Workers:
    """Threads sharing one stop event."""

    def __init__(self, restart_delay: float = 5) -> None:
        self.restart_delay = restart_delay
        self._stop_event = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)

    def wait(self, seconds: float | None) -> bool:
        """Sleep up to seconds; True when stopping."""
        return self._stop_event.wait(seconds)

    def start(self, name: str, target: Callable[[], None]) -> threading.Thread:
        """Start a supervised daemon thread running ``target`` until stop() (joined by join())."""
        thread = threading.Thread(target=self._supervise, args=(name, target), name=name,
                                  daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _supervise(self, name: str, target: Callable[[], None]) -> None:
        while True:
            try:
                target()
            except Exception as exc:
                LOG.error("Thread %s died: %s; restarting it in %s seconds", name,
                          logtext.error_text(exc), self.restart_delay)
                LOG.debug("Thread %s failure", name, exc_info=True)
            else:
                if self.stopped:
                    return
                LOG.error("Thread %s ended unexpectedly; restarting it in %s seconds", name,
                          self.restart_delay)
            if self.wait(self.restart_delay):
                return

    def stop(self) -> None:
        """Wake every wait(); thread- and signal-safe."""
        self._stop_event.set()

    def join(self, timeout: float = JOIN_TIMEOUT) -> list[str]:
        """Wait up to ``timeout`` seconds in all for every thread but the caller's to end.

        Returns the names of the threads still running.
        """
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return [t.name for t in self._threads
                if t.is_alive() and t is not threading.current_thread()]


def bounded(what: str, call: Callable[[], Any], timeout: float) -> bool:
    """Run ``call`` in a daemon thread and wait up to ``timeout`` seconds for it.

    For shutdown steps that may block on the network (closing the RPC
    connection, ending the REST event poll). False (logged) if it did not end.
    """
    def _run() -> None:
        try:
            call()
        except Exception:
            LOG.debug("%s failed", what, exc_info=True)

    thread = threading.Thread(target=_run, name=what, daemon=True)
    thread.start()
    thread.join(max(0.0, timeout))
    if thread.is_alive():
        LOG.warning("%s did not end within %.1f seconds; not waiting for it", what, timeout)
        return False
    return True


class Backoff:
    """Bounded exponential back-off of a job that keeps failing (REST down, VIOS busy).

    One concise ERROR line per failure (the traceback at DEBUG), the delay
    doubling from ``base`` up to ``cap`` seconds with equal jitter (each wait
    is 50-100 % of it, random, so agents that lost the same server do not
    come back in step), and one INFO line when the job works again. ``rng``:
    anything with ``random()`` in [0, 1); one that answers 0 gives no jitter.
    """

    def __init__(self, what: str, base: float, cap: float, rng: Any = None) -> None:
        self.what = what
        self.base = base
        self.cap = max(cap, base)
        self.rng = rng if rng is not None else random.Random()
        self.failures = 0

    def failed(self, exc: BaseException | None = None) -> float:
        """Count (and log, given the exception) a failure; the seconds to wait next."""
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** (self.failures - 1))
        delay = ceiling * (1 - JITTER * self.rng.random())
        if exc is not None:
            LOG.error("%s failed (%d in a row): %s; retrying in %.3g seconds", self.what,
                      self.failures, logtext.error_text(exc), delay)
            LOG.debug("%s failure", self.what, exc_info=exc)
        return delay

    def succeeded(self) -> None:
        """The job worked: say so if it had failed."""
        if self.failures:
            LOG.info("%s works again after %d failure(s)", self.what, self.failures)
        self.failures = 0


def on_sigterm(stop: Callable[[], None]) -> None:
    """Call ``stop`` (in a new thread) on SIGTERM; only from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum: int, frame: Any) -> None:
        # stop() takes locks: never call it inside the signal handler.
        threading.Thread(target=stop, name='sigterm', daemon=True).start()

    signal.signal(signal.SIGTERM, _handler)
