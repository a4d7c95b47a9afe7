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


"""rest_count: a pypowervm helper counting each thread's REST reads and writes."""

from __future__ import annotations

import threading

import pytest
from pypowervm.tasks import cna as cna_task
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net

from networking_powervm.agent import rest_count
from powervm_sim.resources import SimHost
from tests.unit.simulator.fake_session import adapter_for


@pytest.fixture
def adapter():
    adpt = adapter_for(SimHost.load('single', None))
    adpt._helpers = [rest_count.count_helper]
    return adpt


def test_counts_gets_as_reads_and_the_other_methods_as_writes(adapter):
    with rest_count.counting() as counts:
        lpar = pvm_lpar.LPAR.search(adapter, name='instance-00000001')[0]   # GET
        cna = cna_task.crt_cna(adapter, None, lpar.uuid, 101)              # GETs + PUT
        reads = counts.reads
        cna.delete()                                                       # DELETE
    assert counts.writes == 2 and reads >= 2 and counts.reads == reads
    with rest_count.counting() as again:
        pvm_lpar.LPAR.get(adapter)
    assert (again.reads, again.writes) == (1, 0)
    assert counts.reads == reads                # a new block has its own counts


def test_nothing_is_counted_outside_a_block_and_other_threads_count_apart(adapter):
    assert rest_count.current() is None
    pvm_lpar.LPAR.get(adapter)                  # no counts: nothing breaks
    other: list = []

    def elsewhere():
        with rest_count.counting() as c:
            pvm_lpar.LPAR.get(adapter)
            pvm_lpar.LPAR.get(adapter)
        other.append(c.reads)

    with rest_count.counting() as counts:
        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
        pvm_lpar.LPAR.get(adapter)
    assert (counts.reads, other) == (1, [2])
    assert rest_count.current() is None


def test_bound_work_counts_in_the_binding_threads_counts(adapter):
    lpars = pvm_lpar.LPAR.get(adapter)
    with rest_count.counting() as counts:
        work = rest_count.bind(lambda p: pvm_net.CNA.get(adapter, parent=p))
        threads = [threading.Thread(target=work, args=(p,)) for p in lpars]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert counts.reads == len(lpars) > 1
