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

"""Virtual switches, virtual networks and network bridges (SEAs, load groups,
trunk adapters) as XML, shaped like nbbr_network_bridge*.txt, vswitch_feed.txt
and nbbr_virtual_network.txt."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from powervm_sim.model import SEA, Bridge, HostState, Partition, Trunk, VSwitch, sim_uuid
from powervm_sim.payloads import (
    META,
    SV,
    child_href,
    el,
    link_el,
    links,
    loc_code,
    vnet_uuid,
    wrap_content,
)


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



def vios_trunks(st: HostState, vios: Partition) -> list[tuple[Trunk, bool]]:
    """Every trunk adapter on a VIOS (SEA-owned first) as (trunk, owned_by_sea)."""
    out = [(t, True) for s in st.seas_of(vios.uuid) for t in s.trunks]
    out += [(Trunk(slot=c.slot, pvid=c.pvid, vlans=c.vlans, vswitch_id=c.vswitch_id,
                   dev_name=c.dev_name, mac=c.mac, trunk_pri=c.trunk_pri or 1), False)
            for c in vios.cnas if c.trunk_pri]
    return out

