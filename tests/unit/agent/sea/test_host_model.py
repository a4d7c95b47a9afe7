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


"""HostModel: events mark partitions dirty, refresh re-reads only those, full-scan triggers.

Most tests run against an in-process simulator host (its REST events fed to the
model as the agent's event handler would), counting the REST requests made.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pypowervm.tasks import cna as cna_task
from pypowervm.wrappers import event as pvm_evt
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net

from networking_powervm.agent import rest_count
from networking_powervm.agent.sea import host_model as hm
from powervm_sim.resources import SimHost
from tests.unit.agent import pvmdata
from tests.unit.simulator.fake_session import adapter_for

BASE = 'http://localhost:12080/rest/api/uom'
SYS = f'{BASE}/ManagedSystem/1cab7366-6b73-342c-9f43-ddfeb9f8edd3'
P1 = '0AAD02EB-BDFE-49F3-9806-92EEBCE354C4'
V1 = '113ABFC5-FE3C-4321-A845-310C7A37F276'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- parse_event


@pytest.mark.parametrize('etype, href, detail, want', [
    ('MODIFY_URI', f'{SYS}/LogicalPartition/{P1}', 'Other', (P1, False, False)),
    ('MODIFY_URI', f'{SYS}/LogicalPartition/{P1}', 'PartitionState,Other', (P1, False, False)),
    ('MODIFY_URI', f'{SYS}/LogicalPartition/{P1}', '', (P1, False, False)),
    ('MODIFY_URI', f'{SYS}/LogicalPartition/{P1}', 'NVRAM', None),
    ('MODIFY_URI', f'{SYS}/LogicalPartition/{P1}', 'ReferenceCode,PartitionState', None),
    ('MODIFY_URI', f'{SYS}/VirtualIOServer/{V1}', 'Other', (V1, True, False)),
    ('MODIFY_URI', f'{SYS}/VirtualIOServer/{V1}', 'VirtualSCSIMappings', None),
    ('ADD_URI', f'{SYS}/LogicalPartition/{P1.lower()}', '', (P1, False, False)),
    ('DELETE_URI', f'{SYS}/LogicalPartition/{P1}', '', (P1, False, True)),
    ('DELETE_URI', f'{BASE}/LogicalPartition/{P1}/ClientNetworkAdapter/'
                   '3f5d3bd6-2c4a-3f2a-b1a1-8c1b8a0a1e11', '', (P1, False, False)),
    ('ADD_URI', f'{BASE}/VirtualIOServer/{V1}/ClientNetworkAdapter/'
                '3f5d3bd6-2c4a-3f2a-b1a1-8c1b8a0a1e11', '', (V1, True, False)),
    ('MODIFY_URI', f'{BASE}/LogicalPartition/{P1}/VirtualNICDedicated/'
                   '3f5d3bd6-2c4a-3f2a-b1a1-8c1b8a0a1e11', '', None),
    ('MODIFY_URI', SYS, 'Other', None),
    ('MODIFY_URI', f'{SYS}/NetworkBridge/{V1}', '', None),
    ('NEW_CLIENT', '', '', None),
    ('CUSTOM_CLIENT_EVENT', f'{SYS}/LogicalPartition/{P1}', 'x', None),
])
def test_parse_event(etype, href, detail, want):
    assert hm.parse_event(etype, href, detail) == want


def test_the_partition_events_of_novalinks_captured_feed():
    """pypowervm's event_feed.txt (a NovaLink capture): which events mark what."""
    events = pvmdata.load('event_feed.txt', pvm_evt.Event)
    marked = [hm.parse_event(e.etype, e.data, e.detail) for e in events]
    parts = {m[0] for m in marked if m}
    assert parts == {'1E6FC741-6253-4B69-B88B-8A44BED92145', P1,
                     V1, '7E84C205-5961-4D78-85AB-D84A6EB83C04'}
    # NVRAM-only, VirtualSCSIMappings-only and the system's own events mark nothing.
    assert sum(m is None for m in marked) > 10


# ------------------------------------------------------- against a sim host


@pytest.fixture
def sim():
    host = SimHost.load('single', None)
    clock = Clock()
    model = hm.HostModel(clock)
    host.on_change = lambda uri, etype, detail: model.note_event(etype, uri, detail)
    adapter = adapter_for(host)
    adapter._helpers = [rest_count.count_helper]
    # The test's own requests go through another adapter: not counted, events still fed.
    own = adapter_for(host)
    lpar = pvm_lpar.LPAR.search(own, name='instance-00000001')[0]
    return SimpleNamespace(host=host, clock=clock, model=model, adapter=adapter, own=own,
                           lpar=lpar)


def refresh(sim, interval=14400.0, workers=4):
    with rest_count.counting() as counts:
        full = sim.model.refresh(sim.adapter, interval, workers)
    return full, counts.reads, counts.writes


def macs(sim):
    client, vios = sim.model.adapters()
    return {a.mac for a in client}, {a.mac for a in vios}


def test_first_refresh_is_a_full_scan_then_nothing_is_read(sim):
    nparts = len(sim.host.state.partitions) + len(sim.host.state.vioses)
    full, reads, writes = refresh(sim)
    assert (full, reads, writes) == (True, 2 + nparts, 0)
    client, vios = sim.model.adapters()
    assert vios and all(isinstance(a, hm.Adapter) for a in client + vios)
    assert refresh(sim) == (False, 0, 0)


def test_a_cna_added_changed_and_deleted_via_rest_is_re_read_alone(sim):
    refresh(sim)
    cna = cna_task.crt_cna(sim.own, None, sim.lpar.uuid, 101, mac_addr='AABBCCDDEEF1')
    assert sim.model.dirty() == {sim.lpar.uuid.upper()}
    assert refresh(sim) == (False, 1, 0)
    assert 'AABBCCDDEEF1' in macs(sim)[0]
    assert not sim.model.dirty()
    # Changed (PVID) without any plug event: the model follows.
    cna = pvm_net.CNA.get(sim.own, uuid=cna.uuid, parent=sim.lpar)
    cna.pvid = 102
    cna = cna.update()
    assert refresh(sim) == (False, 1, 0)
    client, _vios = sim.model.adapters()
    assert [a.pvid for a in client if a.mac == 'AABBCCDDEEF1'] == [102]
    cna.delete()
    assert refresh(sim) == (False, 1, 0)
    assert 'AABBCCDDEEF1' not in macs(sim)[0]


def test_a_deleted_partition_is_dropped_without_a_read(sim):
    refresh(sim)
    cna_task.crt_cna(sim.own, None, sim.lpar.uuid, 101, mac_addr='AABBCCDDEEF2')
    refresh(sim)
    pvm_lpar.LPAR.get(sim.own, uuid=sim.lpar.uuid).delete()
    assert refresh(sim) == (False, 0, 0)
    assert 'AABBCCDDEEF2' not in macs(sim)[0]


def test_full_scan_triggers(sim):
    refresh(sim)
    assert refresh(sim)[0] is False
    sim.model.invalidate()                  # NEW_CLIENT / CACHE_CLEARED / MISSING_EVENTS
    assert refresh(sim)[0] is True
    assert refresh(sim)[0] is False
    sim.clock.now += 99
    assert refresh(sim, interval=100)[0] is False
    sim.clock.now += 1
    assert refresh(sim, interval=100)[0] is True
    assert refresh(sim, interval=0)[0] is True   # 0: every pass
    assert refresh(sim, interval=0)[0] is True


def test_scan_workers_bound_the_parallel_reads(sim, monkeypatch):
    import threading
    import time
    inflight, peak, lock = [0], [0], threading.Lock()
    real = pvm_net.CNA.get.__func__

    def slow_get(cls, *args, **kwargs):
        with lock:
            inflight[0] += 1
            peak[0] = max(peak[0], inflight[0])
        time.sleep(0.02)
        try:
            return real(cls, *args, **kwargs)
        finally:
            with lock:
                inflight[0] -= 1
    monkeypatch.setattr(pvm_net.CNA, 'get', classmethod(slow_get))
    refresh(sim, workers=2)
    assert peak[0] == 2
    sim.model.invalidate()
    peak[0] = 0
    refresh(sim, workers=1)
    assert peak[0] == 1


# ------------------------------------------------------------ generations


L1, L2 = '11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222'


class FakeAdapter:
    """CNA reads answered from a dict; ``during`` runs inside each read."""

    def __init__(self, model, parts):
        self.model, self.parts, self.during, self.fail = model, parts, None, set()


@pytest.fixture
def fake(monkeypatch):
    clock = Clock()
    model = hm.HostModel(clock)
    parts = {L1: [SimpleNamespace(mac='AA0000000001', pvid=5, tagged_vlans=[], is_trunk=False)],
             L2: [SimpleNamespace(mac='AA0000000002', pvid=6, tagged_vlans=[], is_trunk=False)]}
    fa = FakeAdapter(model, parts)

    def read(adapter, uuid, is_vios):
        if fa.during:
            fa.during(uuid)
        if uuid in fa.fail:
            raise RuntimeError(f'read of {uuid} failed')
        return list(fa.parts[uuid])

    def scan(adapter, workers):
        return {u: (False, read(adapter, u, False)) for u in fa.parts}
    monkeypatch.setattr(hm.sea_scan, 'cnas_by_uuid', read)
    monkeypatch.setattr(hm.sea_scan, 'scan_partitions', scan)
    model.refresh(fa, 100)
    return fa


def href(uuid):
    return f'{SYS}/LogicalPartition/{uuid}'


def test_an_event_during_a_re_read_is_not_lost(fake):
    model = fake.model
    model.note_event('MODIFY_URI', href(L1), 'Other')

    def event_during(uuid):             # an event for L1 while L1 is being read
        fake.during = None
        model.note_event('MODIFY_URI', href(L1), 'Other')
    fake.during = event_during
    assert model.refresh(fake, 100) is False
    assert model.dirty() == {L1}        # the event came while reading: read again
    model.refresh(fake, 100)
    assert model.dirty() == set()


def test_an_event_during_a_full_scan_is_not_lost(fake):
    model = fake.model
    model.invalidate()
    fake.during = lambda uuid: model.note_event('MODIFY_URI', href(L2), 'Other')
    assert model.refresh(fake, 100) is True
    assert model.dirty() == {L2}


def test_an_invalidation_during_a_full_scan_makes_the_next_full_too(fake):
    model = fake.model
    model.invalidate()

    def reset(uuid):
        fake.during = None
        model.invalidate()
    fake.during = reset
    assert model.refresh(fake, 100) is True
    assert model.full_scan_due(100)


def test_a_failed_re_read_keeps_the_partition_dirty_and_applies_the_others(fake):
    model = fake.model
    fake.parts[L2][0].pvid = 9
    model.note_event('MODIFY_URI', href(L1), 'Other')
    model.note_event('MODIFY_URI', href(L2), 'Other')
    fake.fail = {L1}
    with pytest.raises(RuntimeError, match=L1):
        model.refresh(fake, 100, workers=1)
    assert model.dirty() == {L1}
    client, _vios = model.adapters()
    assert sorted(a.pvid for a in client) == [5, 9]
