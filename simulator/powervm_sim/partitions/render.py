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

"""Client partitions, VIOSes and client network adapters as XML, shaped like
fake_lpar_feed.txt, fake_vios.txt and fake_cna.txt / cna_feed.txt."""

from __future__ import annotations

from powervm_sim import model
from powervm_sim.model import CNA, HostState, Partition
from powervm_sim.network.render import render_sea, render_trunk, vios_trunks
from powervm_sim.payloads import (
    META,
    SV,
    child_href,
    cna_href,
    el,
    link_el,
    links,
    loc_code,
    sys_href,
    vnet_uuid,
    wrap_content,
)


# ---- client network adapters ----------------------------------------------------
def render_cna(st: HostState, base: str, part: Partition, c: CNA) -> str:
    trunk = c.trunk_pri is not None
    loc = loc_code(st, part.id, c.slot)
    vs = st.vswitch_by_id(c.vswitch_id)
    vnets = [child_href(base, st, 'VirtualNetwork', vnet_uuid(st, c.vswitch_id, v))
             for v in [c.pvid] + c.vlans]
    body = (el('DynamicReconfigurationConnectorName', loc, 'CUD') + el('LocationCode', loc)
            + el('LocalPartitionID', part.id, 'CUR') + el('RequiredAdapter', False, 'CUD')
            + el('VariedOn', True, 'CUD', 'true') + el('VirtualSlotNumber', c.slot, 'COD')
            + el('Enabled', c.enabled, 'UOD') + el('AllowedOperatingSystemMACAddresses',
                                                   'ALL', 'CUD')
            + el('MACAddress', c.mac, 'CUR') + el('PortVLANID', c.pvid, 'CUR')
            + el('QualityOfServicePriority', 0, 'CUD')
            + el('QualityOfServicePriorityEnabled', False, 'CUD')
            + (el('TaggedVLANIDs', ' '.join(str(v) for v in c.vlans), 'CUA')
               if c.vlans or trunk else '')
            + el('TaggedVLANSupported', bool(c.vlans) or trunk, 'CUA')
            + links('AssociatedVirtualSwitch',
                    [child_href(base, st, 'VirtualSwitch', vs.uuid)] if vs else [])
            + el('VirtualSwitchID', c.vswitch_id)
            + (el('DeviceName', c.dev_name) if c.dev_name else '')
            + (el('TrunkPriority', c.trunk_pri, 'CUD') if trunk else '')
            + links('VirtualNetworks', vnets, 'CUR'))
    return wrap_content('ClientNetworkAdapter', c.uuid, body)


# ---- partitions -----------------------------------------------------------------
def _partition_common(st: HostState, base: str, p: Partition) -> tuple[str, str]:
    """(elements up to RMC state, elements after it) shared by LPAR and VIOS."""
    head = (el('AllowPerformanceDataCollection', False, 'CUD')
            + el('AvailabilityPriority', 191 if p.type == model.LPAR_TYPE_VIOS else 127, 'UOD')
            + el('CurrentProcessorCompatibilityMode', 'POWER8', 'ROO')
            + el('CurrentProfileSync', 'Off', 'CUD')
            + el('IsConnectionMonitoringEnabled', False, 'UOD')
            + el('IsOperationInProgress', False)
            + el('IsRedundantErrorPathReportingEnabled', False, 'UOD')
            + el('IsTimeReferencePartition', False, 'UOD')
            + el('IsVirtualServiceAttentionLEDOn', False)
            + el('IsVirtualTrustedPlatformModuleEnabled', False, 'UOD')
            + el('KeylockPosition', 'normal', 'CUD')
            + el('LogicalSerialNumber', f'{st.system.serial}{p.id:X}')
            + el('OperatingSystemVersion',
                 'VIOS 3.1.4.10' if p.type == model.LPAR_TYPE_VIOS else 'Linux/Ubuntu 22.04')
            + f'<PartitionCapabilities kb="ROR" kxe="false" {SV}>' + META
            + el('DynamicLogicalPartitionIOCapable', True)
            + el('DynamicLogicalPartitionMemoryCapable', True)
            + el('DynamicLogicalPartitionProcessorCapable', True)
            + el('InternalAndExternalIntrusionDetectionCapable', False, 'CUD')
            + el('ResourceMonitoringControlOperatingSystemShutdownCapable', True, 'CUD')
            + '</PartitionCapabilities>'
            + el('PartitionID', p.id, 'COD') + el('PartitionName', p.name, 'CUR')
            + el('PartitionState', p.state, 'ROO') + el('PartitionType', p.type, 'COD')
            + el('PartitionUUID', p.uuid, 'ROO')
            + el('PendingProcessorCompatibilityMode', 'default', 'CUD')
            + el('ProgressPartitionDataRemaining', 0) + el('ProgressPartitionDataTotal', 0)
            + el('ResourceMonitoringControlState', p.rmc_state))
    tail = (link_el('AssociatedManagedSystem', sys_href(base, st))
            + links('ClientNetworkAdapters', [cna_href(base, p, c) for c in st.adapters(p)], 'CUR')
            + el('MACAddressPrefix', 156972164838656 + p.id * 256)
            + el('IsServicePartition', False, 'CUD')
            + el('ReferenceCode', '', 'ROO', 'true')
            + el('IsManagementPartition', p.is_mgmt))
    return head, tail


def render_lpar(st: HostState, base: str, p: Partition) -> str:
    head, tail = _partition_common(st, base, p)
    body = (head + tail + el('RemoteRestartCapable', False, 'CUA')
            + el('SimplifiedRemoteRestartCapable', False, 'CUD')
            + el('HasDedicatedProcessorsForMigration', False)
            + el('SuspendCapable', False, 'CUD') + el('MigrationState', 'Not_Migrating')
            + el('RemoteRestartState', 'Invalid') + el('PowerManagementMode', 'None', 'CUR'))
    return wrap_content('LogicalPartition', p.uuid, body)



def render_vios(st: HostState, base: str, v: Partition, network: bool) -> str:
    head, tail = _partition_common(st, base, v)
    net = ''
    if network:
        seas = ''.join(render_sea(st, base, s) for s in st.seas_of(v.uuid))
        trunks = ''.join(render_trunk(st, base, v, t) for t, _o in vios_trunks(st, v))
        net = (f'<SharedEthernetAdapters group="ViosNetwork" kb="CUD" kxe="false" '
               f'{SV}>{META}{seas}</SharedEthernetAdapters>'
               f'<TrunkAdapters group="ViosNetwork" kxe="false" kb="CUD" '
               f'{SV}>{META}{trunks}</TrunkAdapters>')
    body = (head + tail + el('APICapable', True, 'CUD')
            + el('IsVNICCapable', True, 'ROO') + el('VNICFailOverCapable', True, 'ROO')
            + el('ManagerPassthroughCapable', True, 'CUD')
            + el('MoverServicePartition', True, 'CUD') + net
            + el('VirtualIOServerLicenseAccepted', True, 'CUD'))
    return wrap_content('VirtualIOServer', v.uuid, body)

