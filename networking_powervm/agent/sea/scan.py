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

"""Reading every virtual Ethernet adapter of the host (client partitions and VIOSes)."""

from __future__ import annotations

from concurrent import futures
from typing import Any

from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

LOG = logging.getLogger(__name__)

# Threads reading partitions' adapters.
SCAN_WORKERS = 8


def scan_host(adapter: Any) -> tuple[list[Any], list[Any]]:
    """(client partitions' adapters, VIOS adapters) of every partition on the host."""
    lpars = pvm_lpar.LPAR.get(adapter)
    vioses = pvm_vios.VIOS.get(adapter, xag=[])
    with futures.ThreadPoolExecutor(max_workers=SCAN_WORKERS,
                                    thread_name_prefix='scan') as pool:
        client = pool.map(lambda p: cnas_of(adapter, p), lpars)
        vios = pool.map(lambda p: cnas_of(adapter, p), vioses)
        client_cnas = [cna for cnas in client for cna in cnas]
        vios_cnas = [cna for cnas in vios for cna in cnas]
    return client_cnas, vios_cnas


def cnas_of(adapter: Any, partition: Any) -> list[Any]:
    """The partition's adapters; [] if it disappeared meanwhile (404)."""
    try:
        return pvm_net.CNA.get(adapter, parent=partition)
    except pvm_exc.HttpError as exc:
        if getattr(exc.response, 'status', None) == 404:
            LOG.debug("Partition %s disappeared during the scan", partition.uuid)
            return []
        raise
