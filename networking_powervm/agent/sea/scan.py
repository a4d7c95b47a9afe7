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


"""Reading the virtual Ethernet adapters of the host's partitions (client partitions and VIOSes).

At most ``workers`` partitions are read at a time ([agent] scan_workers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent import futures
from typing import Any, TypeVar

from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

from networking_powervm.agent import rest_count

LOG = logging.getLogger(__name__)

# Default of [agent] scan_workers: partitions read in parallel.
SCAN_WORKERS = 8

T = TypeVar('T')
R = TypeVar('R')


def parallel_map(func: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """[func(item) ...] in order, at most ``workers`` at a time; the first error is raised.

    Requests made by ``func`` count in the calling thread's REST counts.
    """
    items = list(items)
    workers = max(1, int(workers))
    if workers == 1 or len(items) <= 1:
        return [func(item) for item in items]
    bound = rest_count.bind(func)
    with futures.ThreadPoolExecutor(max_workers=min(workers, len(items)),
                                    thread_name_prefix='scan') as pool:
        return list(pool.map(bound, items))


def scan_host(adapter: Any, workers: int = SCAN_WORKERS) -> tuple[list[Any], list[Any]]:
    """(client partitions' adapters, VIOS adapters) of every partition on the host."""
    by_part = scan_partitions(adapter, workers)
    client = [cna for (is_vios, cnas) in by_part.values() if not is_vios for cna in cnas]
    vios = [cna for (is_vios, cnas) in by_part.values() if is_vios for cna in cnas]
    return client, vios


def scan_partitions(adapter: Any, workers: int = SCAN_WORKERS) -> dict[str, tuple[bool, list]]:
    """{partition UUID (upper case): (is a VIOS, its CNA wrappers)} of every partition."""
    lpars = pvm_lpar.LPAR.get(adapter)
    vioses = pvm_vios.VIOS.get(adapter, xag=[])
    parts = [(p, False) for p in lpars] + [(p, True) for p in vioses]
    read = parallel_map(lambda pv: cnas_of(adapter, pv[0]), parts, workers)
    return {p.uuid.upper(): (is_vios, cnas) for (p, is_vios), cnas
            in zip(parts, read, strict=True)}


def cnas_of(adapter: Any, partition: Any) -> list[Any]:
    """The partition's adapters; [] if it disappeared meanwhile (404)."""
    try:
        return pvm_net.CNA.get(adapter, parent=partition)
    except pvm_exc.HttpError as exc:
        if getattr(exc.response, 'status', None) == 404:
            LOG.debug("Partition %s disappeared during the scan", partition.uuid)
            return []
        raise


def cnas_by_uuid(adapter: Any, uuid: str, is_vios: bool) -> list[Any] | None:
    """The adapters of one partition named by UUID; None if it is gone (404)."""
    parent_type = pvm_vios.VIOS if is_vios else pvm_lpar.LPAR
    try:
        return pvm_net.CNA.get(adapter, parent_type=parent_type, parent_uuid=uuid)
    except pvm_exc.HttpError as exc:
        if getattr(exc.response, 'status', None) == 404:
            return None
        raise
