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

"""When an agent heals: jittered periodic passes, a random first offset, delayed resyncs.

Many agents on one Neutron (two per host) that start, or find Neutron again,
at the same moment would otherwise heal in the same second, every interval
from then on. So:

* each periodic pass comes 0-10 % of the interval early (random per pass),
  so agents that heal together drift apart;
* the first periodic pass after start-up comes 10-100 % of an interval after
  the start-up heal (random), so agents started together are spread at once;
* a full resync (the agent was revived by Neutron, or the REST event queue
  was reset: NEW_CLIENT, CACHE_CLEARED, MISSING_EVENTS) heals after a random
  0-10 % of the interval, at most RESYNC_CAP seconds, instead of at once.

Every random draw is ``rng.random()``; an rng that always answers 0 gives
the timing without jitter (exactly one interval, resyncs at once).
"""

from __future__ import annotations

import random
import threading
from typing import Protocol

JITTER = 0.10        # a periodic pass comes up to this fraction of the interval early
FIRST_MIN = 0.10     # the first periodic pass: at least this fraction of an interval
RESYNC_SPREAD = 0.10  # a resync waits up to this fraction of the interval ...
RESYNC_CAP = 30.0    # ... and at most this many seconds


class Rng(Protocol):
    """What the timer needs of a random number generator (random.Random fits)."""

    def random(self) -> float: ...


def new_rng() -> Rng:
    """The generator of an agent given none (seeded from the OS: differs per process)."""
    return random.Random()


class HealTimer:
    """The waits of one agent's heal loop, and the heals requested meanwhile."""

    def __init__(self, rng: Rng | None = None) -> None:
        self.rng = rng if rng is not None else new_rng()
        self._first = True
        self._lock = threading.Lock()
        self._requested: float | None = None  # clock time a requested heal is due

    def periodic_wait(self, interval: float) -> float:
        """Seconds from the end of a successful pass to the next periodic one."""
        r = self.rng.random()
        if self._first:
            self._first = False
            return interval * (1 - (1 - FIRST_MIN) * r)
        return interval * (1 - JITTER * r)

    def resync_delay(self, interval: float) -> float:
        """Seconds a full resync waits: 0-10 % of the interval, at most RESYNC_CAP."""
        return min(RESYNC_CAP, RESYNC_SPREAD * interval) * self.rng.random()

    def request(self, at: float) -> None:
        """Ask for a heal at clock time ``at`` (an earlier request stands)."""
        with self._lock:
            if self._requested is None or at < self._requested:
                self._requested = at

    def started(self) -> None:
        """A pass starts: it serves every request made so far."""
        with self._lock:
            self._requested = None

    def due(self, deadline: float) -> float:
        """When the next pass is due: ``deadline`` or an earlier requested heal."""
        with self._lock:
            return deadline if self._requested is None else min(deadline, self._requested)
