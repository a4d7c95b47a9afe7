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

"""The ManagedSystem: its XML (shaped like sys_with_sriov.txt) and its GET."""

from __future__ import annotations

from powervm_sim import rest
from powervm_sim.model import HostState
from powervm_sim.payloads import META, SV, child_href, el, links, wrap_content
from powervm_sim.rest import Host, RestRequest, RestResponse
from powervm_sim.sriov.render import render_sriov_adapters


def handle(host: Host, req: RestRequest, feed: bool) -> RestResponse:
    """GET the ManagedSystem feed (``feed``) or entry."""
    if req.method != 'GET':
        raise rest.not_allowed(req)
    st = host.state
    content = render_system(st, req.base)
    etag = st.etag(st.system.uuid)
    if feed:
        return rest.feed_response(req, st.system.uuid, 'ManagedSystem',
                                  [(st.system.uuid, etag, content)])
    return rest.entry_response(req, 'ManagedSystem', st.system.uuid, etag, content)


def render_system(st: HostState, base: str) -> str:
    s = st.system
    sriov = render_sriov_adapters(st.sriov_adapters, base)
    used_mem = 8192 + 4096 * len(st.vioses) + 2048 * len(st.partitions)
    body = (links('AssociatedLogicalPartitions',
                  [child_href(base, st, 'LogicalPartition', p.uuid) for p in st.partitions])
            + f'<AssociatedSystemCapabilities kb="CUD" kxe="false" {SV}>'
            + META + el('ActiveLogicalPartitionMobilityCapable', True, 'ROO')
            + el('SharedEthernetFailoverCapable', True, 'ROO')
            + el('SRIOVCapable', True, 'ROO')
            + el('VirtualEthernetAdapterDynamicLogicalPartitionCapable', True, 'ROO')
            + el('VirtualSwitchCapable', True, 'ROO')
            + el('VirtualNICDedicatedSRIOVCapable', True, 'ROO')
            + el('VirtualNICFailOverCapable', True, 'ROO')
            + '</AssociatedSystemCapabilities>'
            + f'<AssociatedSystemIOConfiguration kb="CUD" kxe="false" {SV}>'
            + META + el('AvailableWWPNs', 0, 'CUD') + sriov
            + el('WWPNPrefix', 13857705831041335296, 'CUD')
            + '</AssociatedSystemIOConfiguration>'
            + f'<AssociatedSystemMemoryConfiguration kb="CUD" kxe="false" {SV}>'
            + META + el('ConfigurableSystemMemory', s.memory_mb)
            + el('CurrentAvailableSystemMemory', max(s.memory_mb - used_mem, 0))
            + el('InstalledSystemMemory', s.memory_mb) + el('MemoryRegionSize', 256, 'CUD')
            + '</AssociatedSystemMemoryConfiguration>'
            + '<AssociatedSystemProcessorConfiguration kb="CUD" kxe="false" '
              f'{SV}>'
            + META + el('ConfigurableSystemProcessorUnits', s.proc_units)
            + el('CurrentAvailableSystemProcessorUnits', s.proc_units)
            + el('InstalledSystemProcessorUnits', s.proc_units)
            + '</AssociatedSystemProcessorConfiguration>'
            + links('AssociatedVirtualIOServers',
                    [child_href(base, st, 'VirtualIOServer', v.uuid) for v in st.vioses])
            + f'<MachineTypeModelAndSerialNumber kxe="false" kb="ROR" {SV}>'
            + META + el('MachineType', s.machine_type, 'CUR') + el('Model', s.model, 'CUR')
            + el('SerialNumber', s.serial, 'CUR') + '</MachineTypeModelAndSerialNumber>'
            + el('MaximumPartitions', s.max_partitions, 'CUD')
            + el('PrimaryIPAddress', s.ip, 'CUR') + el('State', 'operating')
            + el('SystemName', s.name, 'CUR')
            + el('IsPowerVMManagementMaster', True, 'ROO')
            + el('IsManagementPartitionPowerVMManagementMaster', True, 'ROO')
            + el('IsHMCPowerVMManagementMaster', False, 'ROO'))
    return wrap_content('ManagedSystem', s.uuid, body)
