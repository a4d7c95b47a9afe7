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

"""HealTimer: jittered periodic heals, a random first offset, delayed resyncs."""

from __future__ import annotations

import random

import pytest

from networking_powervm.agent import heal_timer


class Draws:
    """An rng answering the given values in turn (the last one forever)."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_first_periodic_pass_is_offset_10_to_100_percent_of_an_interval():
    assert heal_timer.HealTimer(Draws(0.0)).periodic_wait(1000) == 1000
    assert heal_timer.HealTimer(Draws(0.5)).periodic_wait(1000) == pytest.approx(550)
    assert heal_timer.HealTimer(Draws(0.999999)).periodic_wait(1000) == pytest.approx(100, abs=0.01)


def test_later_periodic_passes_come_0_to_10_percent_early():
    timer = heal_timer.HealTimer(Draws(0.0, 0.0, 0.5, 0.999999))
    timer.periodic_wait(1000)  # the first pass
    assert timer.periodic_wait(1000) == 1000
    assert timer.periodic_wait(1000) == pytest.approx(950)
    assert timer.periodic_wait(1000) == pytest.approx(900, abs=0.01)


def test_periodic_waits_of_many_agents_spread_and_never_exceed_the_interval():
    rng = random.Random(7)
    firsts = [heal_timer.HealTimer(rng).periodic_wait(600) for _ in range(200)]
    assert all(60 <= w <= 600 for w in firsts)
    assert max(firsts) - min(firsts) > 450  # spread over most of the interval
    timer = heal_timer.HealTimer(rng)
    timer.periodic_wait(600)
    later = [timer.periodic_wait(600) for _ in range(200)]
    assert all(540 <= w <= 600 for w in later) and len(set(later)) == 200


def test_resync_delay_is_0_to_10_percent_of_the_interval_capped_at_30s():
    assert heal_timer.HealTimer(Draws(0.0)).resync_delay(1800) == 0
    assert heal_timer.HealTimer(Draws(0.5)).resync_delay(100) == pytest.approx(5)
    assert heal_timer.HealTimer(Draws(0.5)).resync_delay(1800) == pytest.approx(15)
    assert heal_timer.HealTimer(Draws(0.999999)).resync_delay(86400) <= heal_timer.RESYNC_CAP


def test_the_earliest_request_stands_until_a_pass_starts():
    timer = heal_timer.HealTimer(Draws(0.0))
    assert timer.due(100.0) == 100.0
    timer.request(50.0)
    timer.request(70.0)
    assert timer.due(100.0) == 50.0
    timer.request(20.0)
    assert timer.due(100.0) == 20.0 and timer.due(10.0) == 10.0
    timer.started()
    assert timer.due(100.0) == 100.0


def test_agents_given_no_rng_draw_differently():
    assert heal_timer.HealTimer().rng.random() != heal_timer.HealTimer().rng.random()
