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

"""Partitions for the compute side: host lookup, create, find by name, delete."""

from __future__ import annotations

from pypowervm import adapter as pvm_adapter
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms


class PartitionNotFound(LookupError):
    """No partition has the requested name."""


def host_uuid(adapter: pvm_adapter.Adapter) -> str:
    """UUID of the (only) managed system."""
    systems = pvm_ms.System.get(adapter)
    if not systems:
        raise LookupError('The REST API reports no ManagedSystem')
    return systems[0].uuid


def create_lpar(adapter: pvm_adapter.Adapter, name: str, mem_mb: int = 2048,
                vcpus: int = 1, proc_units: float = 0.5) -> pvm_lpar.LPAR:
    """Create an AIX/Linux partition called ``name``."""
    if not name or len(name) > 47:
        raise ValueError(f'Invalid partition name {name!r}: need 1-47 characters')
    mem = pvm_bp.PartitionMemoryConfiguration.bld(adapter, mem_mb, mem_mb, mem_mb)
    proc = pvm_bp.PartitionProcessorConfiguration.bld_shared(
        adapter, proc_units, vcpus, min_proc_unit=proc_units, max_proc_unit=proc_units,
        min_proc=vcpus, max_proc=vcpus)
    lpar = pvm_lpar.LPAR.bld(adapter, name, mem, proc, env=pvm_bp.LPARType.AIXLINUX)
    return lpar.create()


def find_lpar(adapter: pvm_adapter.Adapter, name: str) -> pvm_lpar.LPAR:
    """The partition called ``name``; PartitionNotFound names it otherwise."""
    for lpar in pvm_lpar.LPAR.get(adapter):
        if lpar.name == name:
            return lpar
    raise PartitionNotFound(f'No partition named {name!r}')


def delete_lpar(adapter: pvm_adapter.Adapter, name: str) -> None:
    """Delete the partition called ``name``."""
    find_lpar(adapter, name).delete()
