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

"""State -> Atom/XML entries and feeds shaped like pypowervm's captured responses.

Element names, order, namespaces, ``kb``/``kxe`` attributes and the Atom
entry/feed wrapping follow pypowervm/tests/data (nbbr_network_bridge.txt,
fake_vios.txt, fake_cna.txt, fake_lpar_feed.txt, sys_with_sriov.txt, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from powervm_sim import model
from powervm_sim.errors import published_now
from powervm_sim.model import (
    CNA,
    SEA,
    Bridge,
    HostState,
    Partition,
    Trunk,
    VSwitch,
    sim_uuid,
)

ATOM_DECL = ('xmlns="http://www.w3.org/2005/Atom" '
             'xmlns:ns2="http://a9.com/-/spec/opensearch/1.1/" '
             'xmlns:ns3="http://www.w3.org/1999/xhtml"')
UOM_NS = 'http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/'
# The schema of the newest captures (sys_with_sriov.txt, cna_feed.txt, vswitch_feed.txt)
# and of the X-HMC-Schema-Version header the server sends.
SCHEMA = 'V1_3_0'
SV = f'schemaVersion="{SCHEMA}"'
AUTHOR = 'IBM Power Systems Management Console'
API = '/rest/api/uom'
META = '<Metadata><Atom/></Metadata>'
_CREATED_MS = 1424131786240


def el(tag: str, val: object, kb: str = 'ROR', kxe: str = 'false', group: str = '') -> str:
    """One leaf element with the kb/kxe attributes every API element carries."""
    g = f' group="{group}"' if group else ''
    if isinstance(val, bool):
        val = 'true' if val else 'false'
    return f'<{tag}{g} kb="{kb}" kxe="{kxe}">{escape(str(val))}</{tag}>'


def link_el(tag: str, href: str, kb: str = 'CUD') -> str:
    return f'<{tag} kb="{kb}" kxe="false" href={quoteattr(href)} rel="related"/>'


def links(tag: str, hrefs: Iterable[str], kb: str = 'CUD', group: str = '') -> str:
    g = f' group="{group}"' if group else ''
    inner = ''.join(f'<link href={quoteattr(h)} rel="related"/>' for h in hrefs)
    return f'<{tag}{g} kb="{kb}" kxe="false">{inner}</{tag}>'


def wrap_content(kind: str, uuid: str, body: str) -> str:
    """The ``<Kind:Kind ...>`` root element of an entry's content."""
    return (f'<{kind}:{kind} xmlns:{kind}="{UOM_NS}" xmlns="{UOM_NS}" '
            f'xmlns:ns2="http://www.w3.org/XML/1998/namespace/k2" schemaVersion="{SCHEMA}">'
            f'<Metadata><Atom><AtomID>{uuid}</AtomID><AtomCreated>{_CREATED_MS}'
            f'</AtomCreated></Atom></Metadata>{body}</{kind}:{kind}>')


def entry(kind: str, uuid: str, etag: str, self_href: str, content: str,
          standalone: bool) -> str:
    """An Atom ``<entry>``; ``standalone`` = the document root (declares xmlns)."""
    decl = f' {ATOM_DECL}' if standalone else ''
    return (f'<entry{decl}><id>{uuid}</id><title>{kind}</title>'
            f'<published>{published_now()}</published>'
            f'<link rel="SELF" href={quoteattr(self_href)}/>'
            f'<author><name>{AUTHOR}</name></author>'
            f'<etag:etag xmlns:etag="{UOM_NS}" xmlns="{UOM_NS}">{etag}</etag:etag>'
            f'<content type="application/vnd.ibm.powervm.uom+xml; type={kind}">'
            f'{content}</content></entry>')


def feed(self_href: str, base_url: str, sys_uuid: str, entries: Iterable[str]) -> str:
    """An Atom ``<feed>`` around already rendered (non-standalone) entries."""
    mc = sim_uuid(sys_uuid, 'ManagementConsole')
    return (f'<feed {ATOM_DECL}><id>{sim_uuid(self_href.split("?")[0])}</id>'
            f'<updated>{published_now()}</updated>'
            f'<link rel="SELF" href={quoteattr(self_href)}/>'
            f'<link rel="MANAGEMENT_CONSOLE" href="{base_url}{API}/ManagementConsole/{mc}"/>'
            f'<generator>{AUTHOR}</generator>{"".join(entries)}</feed>')


# ---- hrefs ----------------------------------------------------------------------
def sys_href(base: str, st: HostState) -> str:
    return f'{base}{API}/ManagedSystem/{st.system.uuid}'


def child_href(base: str, st: HostState, kind: str, uuid: str) -> str:
    return f'{sys_href(base, st)}/{kind}/{uuid}'


def cna_href(base: str, part: Partition, cna: CNA) -> str:
    kind = 'VirtualIOServer' if part.type == model.LPAR_TYPE_VIOS else 'LogicalPartition'
    return f'{base}{API}/{kind}/{part.uuid}/ClientNetworkAdapter/{cna.uuid}'


def vnet_uuid(st: HostState, vswitch_id: int, vlan: int) -> str:
    return sim_uuid(st.system.uuid, 'vnet', vswitch_id, vlan)


def loc_code(st: HostState, part_id: int, slot: int) -> str:
    s = st.system
    return f'U{s.machine_type}.{s.model}.{s.serial}-V{part_id}-C{slot}'


# ---- virtual networks (derived from adapters, as on NovaLink) -----------------
def virtual_networks(st: HostState) -> list[tuple[str, int, int, bool]]:
    """(uuid, vswitch_id, vlan, tagged) of every VLAN in use, sorted."""
    nets: dict[tuple[int, int], bool] = {}
    for b in st.bridges:
        for t in b.seas[0].trunks:
            nets.setdefault((t.vswitch_id, t.pvid), False)
            for v in t.vlans:
                nets[(t.vswitch_id, v)] = True
    for p in st.vioses + st.partitions:
        for c in p.cnas:
            nets.setdefault((c.vswitch_id, c.pvid), c.pvid != 1)
            for v in c.vlans:
                nets[(c.vswitch_id, v)] = True
    return [(vnet_uuid(st, vs, vl), vs, vl, tg) for (vs, vl), tg in sorted(nets.items())]


def render_vnet(st: HostState, base: str, vs_id: int, vlan: int, tagged: bool) -> str:
    vs = st.vswitch_by_id(vs_id)
    name = vs.name if vs else f'VSWITCH{vs_id}'
    body = (link_el('AssociatedSwitch', child_href(base, st, 'VirtualSwitch', vs.uuid), 'COD')
            + el('NetworkName', f'{name}-{vlan}', 'CUR') + el('NetworkVLANID', vlan, 'COD')
            + el('VswitchID', vs_id) + el('TaggedNetwork', tagged, 'COD'))
    return wrap_content('VirtualNetwork', vnet_uuid(st, vs_id, vlan), body)


def render_vswitch(st: HostState, base: str, vs: VSwitch) -> str:
    name = f'{vs.name}(Default)' if vs.switch_id == 0 else vs.name
    vnets = [child_href(base, st, 'VirtualNetwork', u)
             for u, vid, _vl, _tg in virtual_networks(st) if vid == vs.switch_id]
    body = (el('SwitchID', vs.switch_id) + el('SwitchMode', vs.mode, 'CUD')
            + el('SwitchName', name, 'CUD') + links('VirtualNetworks', vnets))
    return wrap_content('VirtualSwitch', vs.uuid, body)


# ---- network bridge --------------------------------------------------------------
def render_trunk(st: HostState, base: str, vios: Partition, t: Trunk) -> str:
    loc = loc_code(st, vios.id, t.slot)
    vs = st.vswitch_by_id(t.vswitch_id)
    tagged = ' '.join(str(v) for v in t.vlans)
    return (f'<TrunkAdapter {SV}>' + META
            + el('DynamicReconfigurationConnectorName', loc, 'CUD') + el('LocationCode', loc)
            + el('RequiredAdapter', t.required, 'CUD') + el('VariedOn', True, 'CUD', 'true')
            + el('VirtualSlotNumber', t.slot, 'COD')
            + el('AllowedOperatingSystemMACAddresses', 'ALL', 'CUD')
            + el('MACAddress', t.mac, 'CUR') + el('PortVLANID', t.pvid, 'CUR')
            + el('QualityOfServicePriorityEnabled', False, 'CUD')
            + (el('TaggedVLANIDs', tagged, 'CUA') if t.vlans else '')
            + el('TaggedVLANSupported', bool(t.vlans), 'CUA')
            + (f'<AssociatedVirtualSwitch kb="CUD" kxe="false"><link href='
               f'{quoteattr(child_href(base, st, "VirtualSwitch", vs.uuid))} rel="related"/>'
               f'</AssociatedVirtualSwitch>' if vs else '')
            + el('VirtualSwitchID', t.vswitch_id) + el('DeviceName', t.dev_name)
            + el('TrunkPriority', t.trunk_pri, 'CUD') + '</TrunkAdapter>')


def render_sea(st: HostState, base: str, sea: SEA) -> str:
    vios = st.vios(sea.vios_uuid)
    trunks = ''.join(render_trunk(st, base, vios, t) for t in sea.trunks)
    cc = el('ControlChannelInterfaceName', sea.control_channel, 'CUD') \
        if sea.control_channel else ''
    back = ('<BackingDeviceChoice kb="CUD" kxe="false">'
            f'<EthernetBackingDevice {SV}>' + META
            + el('AdapterID', 1) + el('Description', '4-Port Gigabit Ethernet PCI-Express '
                                      'Adapter (e414571614102004)', 'CUD')
            + el('DeviceName', sea.backing_dev) + el('DeviceType', 'physicalEthernetAdpter')
            + el('DynamicReconfigurationConnectorName', sea.backing_loc, 'CUD')
            + el('PhysicalLocation', sea.backing_loc)
            + el('UniqueDeviceID', f'13{sea.backing_loc}')
            + '</EthernetBackingDevice></BackingDeviceChoice>')
    return (f'<SharedEthernetAdapter {SV}>' + META
            + link_el('AssignedVirtualIOServer',
                      child_href(base, st, 'VirtualIOServer', sea.vios_uuid))
            + cc + back + el('HighAvailabilityMode', sea.ha_mode, 'CUD')
            + el('DeviceName', sea.dev_name, 'CUD') + el('JumboFramesEnabled', False, 'UOD')
            + el('PortVLANID', sea.pvid) + el('QualityOfServiceMode', 'disabled', 'CUD')
            + el('QueueSize', 8192, 'UOD') + el('ThreadModeEnabled', True, 'CUD')
            + f'<TrunkAdapters kb="CUD" kxe="false" {SV}>{META}{trunks}'
            '</TrunkAdapters>'
            + el('IsPrimary', sea.is_primary, 'CUD')
            + el('UniqueDeviceID', sim_uuid(sea.vios_uuid, sea.dev_name).replace('-', '')[:18])
            + el('LargeSend', True, 'CUD') + '</SharedEthernetAdapter>')


def render_bridge(st: HostState, base: str, b: Bridge) -> str:
    vnet = lambda vs, v: child_href(base, st, 'VirtualNetwork', vnet_uuid(st, vs, v))  # noqa: E731
    lgs = []
    all_vnets: list[str] = []
    for t in b.seas[0].trunks:
        peers = [t] + [next((x for x in s.trunks if x.pvid == t.pvid), t) for s in b.seas[1:]]
        tas = ''.join(render_trunk(st, base, st.vios(s.vios_uuid), pt)
                      for s, pt in zip(b.seas, peers, strict=True))
        hrefs = [vnet(t.vswitch_id, t.pvid)] + [vnet(t.vswitch_id, v) for v in t.vlans]
        all_vnets.extend(hrefs)
        lgs.append(f'<LoadGroup {SV}>' + META + el('PortVLANID', t.pvid, 'CUR')
                   + f'<TrunkAdapters kb="CUD" kxe="false" {SV}>{META}{tas}'
                   '</TrunkAdapters>' + links('VirtualNetworks', hrefs) + '</LoadGroup>')
    seas = ''.join(render_sea(st, base, s) for s in b.seas)
    cc = el('ControlChannelID', b.control_channel_id, 'CUD') \
        if b.control_channel_id is not None else ''
    body = (cc + el('FailoverEnabled', b.failover, 'CUD')
            + el('LoadBalancingEnabled', b.load_balance, 'CUD')
            + f'<LoadGroups kb="CUD" kxe="false" {SV}>{META}{"".join(lgs)}'
            '</LoadGroups>'
            + el('PortVLANID', b.pvid, 'COR')
            + f'<SharedEthernetAdapters kxe="false" kb="CUD" {SV}>{META}'
            f'{seas}</SharedEthernetAdapters>'
            + el('UniqueDeviceID', st.bridges.index(b) if b in st.bridges else 0)
            + links('VirtualNetworks', all_vnets, 'ROR'))
    return wrap_content('NetworkBridge', b.uuid, body)


# ---- client network adapters ----------------------------------------------------
def render_cna(st: HostState, base: str, part: Partition, c: CNA) -> str:
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
            + (el('TaggedVLANIDs', ' '.join(str(v) for v in c.vlans), 'CUA') if c.vlans else '')
            + el('TaggedVLANSupported', bool(c.vlans), 'CUA')
            + links('AssociatedVirtualSwitch',
                    [child_href(base, st, 'VirtualSwitch', vs.uuid)] if vs else [])
            + el('VirtualSwitchID', c.vswitch_id)
            + (el('DeviceName', c.dev_name) if c.dev_name else '')
            + (el('TrunkPriority', c.trunk_pri, 'CUD') if c.trunk_pri else '')
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
            + links('ClientNetworkAdapters', [cna_href(base, p, c) for c in p.cnas], 'CUR')
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


def vios_trunks(st: HostState, vios: Partition) -> list[tuple[Trunk, bool]]:
    """Every trunk adapter on a VIOS (SEA-owned first) as (trunk, owned_by_sea)."""
    out = [(t, True) for s in st.seas_of(vios.uuid) for t in s.trunks]
    out += [(Trunk(slot=c.slot, pvid=c.pvid, vlans=c.vlans, vswitch_id=c.vswitch_id,
                   dev_name=c.dev_name, mac=c.mac, trunk_pri=c.trunk_pri or 1), False)
            for c in vios.cnas if c.trunk_pri]
    return out


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


# ---- managed system -------------------------------------------------------------
def render_system(st: HostState, base: str) -> str:
    s = st.system
    sriov = model.sriov_module().render_sriov_adapters(st.sriov_adapters, base)
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
