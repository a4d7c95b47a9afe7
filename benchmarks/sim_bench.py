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

"""Simulator throughput through unmodified pypowervm (figures, not a test).

Usage: .venv/bin/python benchmarks/sim_bench.py [--rounds 5] [--seconds 2]
Prints requests/second (median of the rounds) for LPAR feed reads on `large`,
NetworkBridge reads and NetworkBridge writes (ensure + remove a VLAN) on `single`.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable

from pypowervm import adapter as pvm_adapter
from pypowervm.tasks import network_bridger as nbr
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net

from powervm_sim import client


def _adapter(sim: client.InThreadSim) -> pvm_adapter.Adapter:
    return pvm_adapter.Adapter(pvm_adapter.Session(**sim.session_kwargs()))


def _rate(sim: client.InThreadSim, op: Callable[[], None], rounds: int,
          seconds: float) -> float:
    rates = []
    for _ in range(rounds):
        sim.admin('DELETE', 'stats')
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            op()
        elapsed = time.perf_counter() - start
        stats = sim.admin('GET', 'stats')
        rates.append(stats['total'] / elapsed)
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--seconds', type=float, default=2.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        large = client.start_in_thread('large', f'{tmp}/large', latency='none')
        try:
            adpt = _adapter(large)
            rate = _rate(large, lambda: pvm_lpar.LPAR.get(adpt), args.rounds, args.seconds)
            print(f'LPAR feed reads (large, {len(pvm_lpar.LPAR.get(adpt))} LPARs): '
                  f'{rate:8.1f} requests/s')
            adpt.session._logoff()
        finally:
            large.stop(save=False)
        single = client.start_in_thread('single', f'{tmp}/single', latency='none')
        try:
            adpt = _adapter(single)
            host = pvm_ms.System.get(adpt)[0].uuid

            def read_nb() -> None:
                pvm_net.NetBridge.get(adpt, parent_type=pvm_ms.System, parent_uuid=host)

            rate = _rate(single, read_nb, args.rounds, args.seconds)
            print(f'NetworkBridge reads (single):            {rate:8.1f} requests/s')
            nb_uuid = pvm_net.NetBridge.get(adpt, parent_type=pvm_ms.System,
                                            parent_uuid=host)[0].uuid

            def write_nb() -> None:
                nbr.ensure_vlan_on_nb(adpt, host, nb_uuid, 3000)
                nbr.remove_vlan_from_nb(adpt, host, nb_uuid, 3000)

            rate = _rate(single, write_nb, args.rounds, args.seconds)
            stats = single.admin('GET', 'stats')['requests']
            print(f'NetworkBridge ensure+remove (single):    {rate:8.1f} requests/s '
                  f'(all requests incl. the reads pypowervm makes; last round: {stats})')
            adpt.session._logoff()
        finally:
            single.stop(save=False)


if __name__ == '__main__':
    main()
