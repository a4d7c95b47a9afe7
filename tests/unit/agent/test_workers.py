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

"""Workers: supervised threads never die silently; stop() ends them."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from networking_powervm.agent import workers


def test_a_thread_that_raises_is_logged_and_restarted(caplog):
    caplog.set_level(logging.ERROR)
    pool = workers.Workers(restart_delay=0.01)
    runs = []
    done = threading.Event()

    def job():
        runs.append(1)
        if len(runs) < 3:
            raise ValueError('bad heal_and_optimize_interval')
        done.set()
        pool.wait(None)

    pool.start('heal', job)
    assert done.wait(5)
    pool.stop()
    pool.join()
    assert len(runs) == 3
    died = [r for r in caplog.records if 'Thread heal died' in r.getMessage()]
    assert len(died) == 2 and all(r.levelno == logging.ERROR for r in died)
    assert 'ValueError: bad heal_and_optimize_interval' in died[0].getMessage()
    assert not any(t.is_alive() for t in pool.threads)


def test_a_thread_that_returns_while_running_is_restarted(caplog):
    pool = workers.Workers(restart_delay=0.01)
    runs = []
    done = threading.Event()

    def job():
        runs.append(1)
        if len(runs) == 2:
            done.set()
            pool.wait(None)

    pool.start('provision', job)
    assert done.wait(5)
    pool.stop()
    pool.join()
    assert 'Thread provision ended unexpectedly' in caplog.text


def test_stop_ends_the_threads_without_restart(caplog):
    pool = workers.Workers(restart_delay=0.01)
    pool.start('heartbeat', lambda: pool.wait(None))
    pool.stop()
    pool.join()
    assert not any(t.is_alive() for t in pool.threads)
    assert 'unexpectedly' not in caplog.text and 'died' not in caplog.text


def test_backoff_doubles_up_to_its_cap_one_concise_line_per_failure(caplog):
    caplog.set_level(logging.DEBUG)
    backoff = workers.Backoff('Heal and optimize', base=1, cap=5, rng=NoJitter())
    error = ConnectionError('HTTP error 503 for method GET on path /rest/api/uom/x\n<xml/>')
    assert [backoff.failed(error) for _ in range(5)] == [1, 2, 4, 5, 5]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 5
    assert all(r.exc_info is None and '\n' not in r.getMessage() for r in errors)
    assert 'Heal and optimize failed (5 in a row): ConnectionError: HTTP error 503' in \
        errors[-1].getMessage()
    assert any(r.levelno == logging.DEBUG and r.exc_info for r in caplog.records)
    backoff.succeeded()
    assert 'Heal and optimize works again after 5 failure(s)' in caplog.text
    assert backoff.failed(error) == 1


class NoJitter:
    def random(self):
        return 0.0


class Draws:
    def __init__(self, *values):
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


def test_backoff_has_equal_jitter_50_to_100_percent_of_the_doubling_delay():
    backoff = workers.Backoff('Provisioning', base=2, cap=16, rng=Draws(0.0, 0.5, 0.999, 0.25))
    assert [backoff.failed() for _ in range(4)] == pytest.approx([2, 3, 4.004, 14])


def test_backoff_waits_of_many_agents_differ_within_their_bounds():
    waits = [workers.Backoff('Heal', base=4, cap=60).failed() for _ in range(50)]
    assert all(2 <= w <= 4 for w in waits) and len(set(waits)) == 50


def test_backoff_says_nothing_when_nothing_failed(caplog):
    caplog.set_level(logging.INFO)
    workers.Backoff('Provisioning', base=1, cap=5).succeeded()
    assert caplog.text == ''


def test_join_waits_at_most_its_timeout_in_all_and_names_the_stuck_threads():
    pool = workers.Workers(restart_delay=0.01)
    release = threading.Event()
    names = ['heal', 'heartbeat', 'provision', 'scan', 'sriov-refresh']
    for name in names:
        pool.start(name, lambda: release.wait(30))  # stuck in a "REST call"
    pool.stop()
    t0 = time.monotonic()
    left = pool.join(timeout=0.4)
    # One budget for all: 0.4 s per thread would take 2 s.
    assert time.monotonic() - t0 < 1.2
    assert sorted(left) == names
    release.set()
    assert pool.join(timeout=5) == []


def test_bounded_gives_up_on_a_call_that_blocks_and_says_so(caplog):
    release = threading.Event()
    t0 = time.monotonic()
    assert workers.bounded('RPC connection close', lambda: release.wait(30), 0.2) is False
    assert time.monotonic() - t0 < 1.0
    assert 'RPC connection close did not end within 0.2 seconds' in caplog.text
    release.set()
    assert workers.bounded('REST event unsubscribe', lambda: None, 1) is True


def test_bounded_logs_a_failing_call_at_debug_only(caplog):
    caplog.set_level(logging.DEBUG)

    def fail():
        raise OSError('connection reset')

    assert workers.bounded('RPC connection close', fail, 1) is True
    assert [r.levelno for r in caplog.records if 'close failed' in r.getMessage()] == [
        logging.DEBUG]
