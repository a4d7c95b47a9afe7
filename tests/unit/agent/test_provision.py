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

"""Provision requests and queue: cancel semantics, batching, retry expiry."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import pytest

from networking_powervm.agent import provision as prov
from networking_powervm.common import constants as pvm_const
from networking_powervm.common import vif_event

LPAR = '0C8BC782-E312-40F7-ACAD-81EB3B9FB06D'
HREF = (f'https://127.0.0.1:12443/rest/api/uom/ManagedSystem/c5d782c7-44e4-3086-ad15-'
        f'b16fb039d63b/LogicalPartition/{LPAR.lower()}/ClientNetworkAdapter/'
        f'4204d084-77a5-329c-9d3b-2f5ccffe2803')
MAC = 'fa:16:3e:00:00:01'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def req(action: str, mac: str = MAC, lpar: str | None = LPAR, at: float = 1000.0):
    return prov.ProvisionRequest(action, mac, prov.Origin.EVENT, lpar, at)


def replug(mac: str = MAC):
    return prov.ProvisionRequest.replug(mac, Clock())


def test_from_event_takes_the_parsed_event_and_the_clock():
    clock = Clock()
    event = vif_event.VifEvent(prov.PLUG, MAC.upper(), pvm_const.VIF_TYPE_PVM_SEA, HREF)
    r = prov.ProvisionRequest.from_event(event, clock)
    assert (r.action, r.mac, r.origin, r.lpar_uuid, r.created_at) == (
        prov.PLUG, MAC, prov.Origin.EVENT, LPAR, 1000.0)


def test_an_event_without_partition_is_still_an_event_not_a_replug():
    """An href naming no partition must not turn the request into a port_update re-plug."""
    href = 'https://h/rest/api/uom/ClientNetworkAdapter/4204d084-77a5-329c-9d3b-2f5ccffe2803'
    event = vif_event.VifEvent(prov.PLUG, MAC, pvm_const.VIF_TYPE_PVM_SEA, href)
    r = prov.ProvisionRequest.from_event(event)
    assert (r.origin, r.lpar_uuid) == (prov.Origin.EVENT, None)
    q = prov.ProvisionQueue()
    q.add(r)
    q.add(replug())     # an event's request is pending: the re-plug is not queued
    assert q.drain(0) == [r]


def test_bad_action_names_value():
    with pytest.raises(ValueError, match="'replug'"):
        req('replug')


def test_unplug_cancels_pending_plug_and_vice_versa():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    q.add(req(prov.UNPLUG))
    assert [r.action for r in q.pending] == [prov.UNPLUG]
    q.add(req(prov.PLUG))
    assert [r.action for r in q.pending] == [prov.PLUG]
    assert [r.action for r in q.drain(0)] == [prov.PLUG]


def test_cancel_is_per_mac_and_partition():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    q.add(req(prov.UNPLUG, lpar='7CFDD55B-E0D7-4B8C-8254-9305E31BB1DC'))
    q.add(req(prov.UNPLUG, mac='fa:16:3e:00:00:02'))
    assert len(q.drain(0)) == 3


def test_duplicate_requests_collapse_and_drain_empties():
    q = prov.ProvisionQueue()
    for _ in range(3):
        q.add(req(prov.PLUG))
    q.add(req(prov.PLUG, mac='fa:16:3e:00:00:02'))
    batch = q.drain(0)
    assert sorted(r.mac for r in batch) == [MAC, 'fa:16:3e:00:00:02']
    assert q.drain(0) == []


def test_retry_set_offered_each_cycle_until_timeout():
    clock = Clock()
    q = prov.ProvisionQueue(clock=clock)
    r = req(prov.PLUG, at=clock())
    q.retry_later(r)
    clock.now += pvm_const.PORT_WAIT_TIMEOUT - 1
    assert q.drain(0) == [r]          # still offered
    q.retry_later(r)                  # still unknown to Neutron
    clock.now += 1                    # 20 minutes after the plug
    assert q.drain(0) == []
    assert q.retrying == []


def test_retry_later_of_expired_request_is_dropped():
    clock = Clock()
    q = prov.ProvisionQueue(clock=clock)
    clock.now += pvm_const.PORT_WAIT_TIMEOUT
    q.retry_later(req(prov.PLUG, at=1000.0))
    assert q.retrying == []


def test_unplug_cancels_a_retried_plug():
    q = prov.ProvisionQueue()
    q.retry_later(req(prov.PLUG))
    q.add(req(prov.UNPLUG))
    assert [r.action for r in q.drain(0)] == [prov.UNPLUG]
    assert q.retrying == []


def test_requeue_never_overrides_a_newer_request():
    q = prov.ProvisionQueue()
    old = req(prov.PLUG)
    q.add(req(prov.UNPLUG))
    q.requeue([old, req(prov.PLUG, mac='fa:16:3e:00:00:02')])
    assert sorted((r.mac, r.action) for r in q.drain(0)) == [
        (MAC, prov.UNPLUG), ('fa:16:3e:00:00:02', prov.PLUG)]


def test_close_wakes_drain():
    q = prov.ProvisionQueue()
    q.close()
    assert q.drain(None) == []


def test_drain_lets_a_burst_settle_into_one_batch():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    late = req(prov.PLUG, mac='fa:16:3e:00:00:02')
    adder = threading.Timer(0.05, q.add, [late])
    adder.start()
    # Without a settle the first request would be drained alone; 10 s is never reached
    # because the burst is over once no request came for the settle period.
    batch = q.drain(0, settle=0.3, settle_max=10.0)
    adder.join()
    assert sorted(r.mac for r in batch) == [MAC, 'fa:16:3e:00:00:02']


def test_drain_hands_the_first_requests_over_before_settling():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    first = []
    late = req(prov.PLUG, mac='fa:16:3e:00:00:02')
    adder = threading.Timer(0.05, q.add, [late])
    adder.start()
    batch = q.drain(0, settle=0.3, settle_max=5.0,
                    on_pending=lambda pending: first.append([r.mac for r in pending]))
    adder.join()
    assert first == [[MAC]]
    assert sorted(r.mac for r in batch) == [MAC, 'fa:16:3e:00:00:02']


def test_drain_settle_ends_early_once_the_work_started_on_it_is_done():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    work = futures.Future()
    threading.Timer(0.05, work.set_result, [None]).start()
    t0 = time.monotonic()
    batch = q.drain(0, settle=5.0, settle_max=10.0, on_pending=lambda pending: [work],
                    settle_ready=0.01)
    assert [r.mac for r in batch] == [MAC]
    assert time.monotonic() - t0 < 2.0  # the work's end, not the 5 s of quiet, ended it


def test_drain_settle_waits_its_full_quiet_while_the_work_is_not_done():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    work = futures.Future()  # never done
    late = req(prov.PLUG, mac='fa:16:3e:00:00:02')
    adder = threading.Timer(0.1, q.add, [late])
    adder.start()
    batch = q.drain(0, settle=0.3, settle_max=5.0, on_pending=lambda pending: [work],
                    settle_ready=0.0)
    adder.join()
    assert sorted(r.mac for r in batch) == [MAC, 'fa:16:3e:00:00:02']


def test_drain_settle_after_the_work_still_gathers_a_burst_that_keeps_coming():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    work = futures.Future()
    work.set_result(None)  # done at once
    macs = [f'fa:16:3e:00:02:{i:02x}' for i in range(5)]
    feeder = threading.Thread(target=lambda: [time.sleep(0.02) or q.add(req(prov.PLUG, mac=m))
                                              for m in macs])
    feeder.start()
    batch = q.drain(0, settle=5.0, settle_max=10.0, on_pending=lambda pending: [work],
                    settle_ready=0.3)
    feeder.join()
    assert sorted(r.mac for r in batch) == sorted([MAC, *macs])


def test_drain_settle_is_capped_while_requests_keep_coming():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    stop = threading.Event()

    def keep_adding():  # a request every 10 ms for 3 s at least, unless stopped
        for i in range(300):
            if stop.wait(0.01):
                return
            q.add(req(prov.PLUG, mac=f'fa:16:3e:00:01:{i % 256:02x}'))

    feeder = threading.Thread(target=keep_adding)
    feeder.start()
    try:
        batch = q.drain(0, settle=0.5, settle_max=0.2)
        still_coming = feeder.is_alive()
    finally:
        stop.set()
        feeder.join()
    assert batch and still_coming  # the cap, not the end of the burst, ended the wait


def test_drain_without_pending_requests_does_not_settle():
    q = prov.ProvisionQueue()
    assert q.drain(0, settle=30.0, settle_max=30.0) == []


def test_close_ends_a_settle():
    q = prov.ProvisionQueue()
    q.add(req(prov.PLUG))
    threading.Timer(0.05, q.close).start()
    assert [r.mac for r in q.drain(0, settle=30.0, settle_max=30.0)] == [MAC]


def test_unplug_cancels_a_pending_partitionless_plug():
    """A port_update re-plug (no partition) pending when the VM is unplugged: only the unplug."""
    q = prov.ProvisionQueue()
    q.add(replug())
    q.add(req(prov.UNPLUG))
    assert [(r.action, r.lpar_uuid) for r in q.drain(0)] == [(prov.UNPLUG, LPAR)]


def test_unplug_cancels_a_retried_partitionless_plug():
    q = prov.ProvisionQueue()
    q.retry_later(replug())
    q.add(req(prov.UNPLUG))
    assert [r.action for r in q.drain(0)] == [prov.UNPLUG]
    assert q.retrying == []


@pytest.mark.parametrize('pending', [prov.PLUG, prov.UNPLUG])
def test_partitionless_plug_never_overrides_an_event_request(pending):
    q = prov.ProvisionQueue()
    q.add(req(pending))
    q.add(replug())
    assert [(r.action, r.origin) for r in q.drain(0)] == [(pending, prov.Origin.EVENT)]


def test_partitionless_plug_of_another_mac_is_queued():
    q = prov.ProvisionQueue()
    q.add(req(prov.UNPLUG))
    q.add(replug('fa:16:3e:00:00:02'))
    assert sorted((r.mac, r.action) for r in q.drain(0)) == [
        (MAC, prov.UNPLUG), ('fa:16:3e:00:00:02', prov.PLUG)]


def port(status, admin=True):
    return {'status': status, 'admin_state_up': admin}


def test_plan_heal_sorts_bound_ports_by_what_their_status_needs():
    macs = [f'fa:16:3e:00:00:0{i}' for i in range(1, 8)]
    bound = {macs[0]: port('ACTIVE'), macs[1]: port('DOWN'), macs[2]: port('BUILD'),
             macs[3]: port('ACTIVE'), macs[4]: port('DOWN'),
             macs[5]: port('DOWN', admin=False), macs[6]: port('ACTIVE')}
    on_host = {macs[0], macs[1], macs[2], macs[5], macs[6]}
    plan = prov.plan_heal(on_host, bound, superseded=lambda mac: mac == macs[6])
    assert plan == prov.HealPlan(healthy=[macs[0], macs[5]], to_plug=[macs[1], macs[2]],
                                 to_down=[macs[3]])
    plan = prov.plan_heal(on_host, bound, superseded=lambda mac: False, admin_aware=False)
    assert plan.to_plug == [macs[1], macs[2], macs[5]]


def test_recent_events_tell_whether_an_event_came_after_a_scan():
    clock = Clock()
    events = prov.RecentEvents(clock)
    events.record(req(prov.UNPLUG, at=1005.0))
    assert events.newer(MAC, since=1000.0) and events.newer(MAC, since=1005.0)
    assert not events.newer(MAC, since=1006.0)
    assert not events.newer('fa:16:3e:00:00:02', since=0.0)
    clock.now = 1005.0 + pvm_const.PORT_WAIT_TIMEOUT + 1   # forgotten after a while
    assert not events.newer(MAC, since=0.0)
