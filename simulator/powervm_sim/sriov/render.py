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

"""SR-IOV XML: the ManagedSystem's SRIOVAdapters fragment and the vNIC content.

Element names, order and attributes follow pypowervm's captures
``sys_with_sriov.txt`` and ``vnic_feed.txt``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from powervm_sim.atom import UOM_NS
from powervm_sim.sriov.state import (
    BackingDevice,
    SriovAdapter,
    SriovPort,
    Vnic,
    units_to_api,
)

_META = '<Metadata>\n<Atom/>\n</Metadata>\n'
_CAPS = ('Clear Logical Port Stat', 'Clear Physical Port Stat', 'IEEE8021Q_Priority',
         'Mac Vlan ACL Restriction', 'Pvid')
_SUPP_OPTS = ('autoDuplex', 'fullDuplex', 'promiscousMode', 'receiveFlowControl',
              'transmitFlowControl', 'Veb', 'Vepa')
_SPEEDS = {'E10Gbps': ('Auto', 'E10Mbps', 'E10Gbps'),
           'E1Gbps': ('Auto', 'E100Mbps', 'E1Gbps'),
           'E25Gbps': ('Auto', 'E10Gbps', 'E25Gbps'),
           'E40Gbps': ('Auto', 'E10Gbps', 'E40Gbps'),
           'E100Gbps': ('Auto', 'E40Gbps', 'E100Gbps')}


def _el(tag: str, value: object, kb: str = 'ROR', extra: str = '') -> str:
    text = escape(str(value))
    if text == '':
        return f'<{tag}{extra} kxe="false" kb="{kb}"/>\n'
    return f'<{tag}{extra} kxe="false" kb="{kb}">{text}</{tag}>\n'


def _bool(value: bool) -> str:
    return 'true' if value else 'false'


def _render_port(port: SriovPort) -> str:
    conv = port.type == 'converged'
    tag = 'SRIOVConvergedNetworkAdapterPhysicalPort' if conv else 'SRIOVEthernetPhysicalPort'
    out = [f'<{tag} schemaVersion="V1_3_0">\n', _META,
           _el('ConfiguredConnectionSpeed', 'Auto', 'CUR'),
           _el('ConfiguredFlowControl', 'false', 'CUD'),
           _el('ConfiguredMTU', 'E_1500', 'CUR'),
           _el('ConfiguredOptions', 'autoDuplex', 'CUR'),
           _el('ConfiguredOptions', 'Veb', 'CUR'),
           _el('ConfiguredPortSwitchMode', 'Veb', 'CUD'),
           _el('CurrentConnectionSpeed', port.speed if port.link_up else 'Unknown')]
    if port.link_up:
        out += [_el('CurrentOptions', 'fullDuplex'), _el('CurrentOptions', 'linkUp')]
    out += [_el('CurrentOptions', 'Veb'),
            _el('Label', port.label, 'CUR'),
            _el('LocationCode', port.location_code),
            _el('MaximumDiagnosticsLogicalPorts', 1),
            _el('MaximumPromiscuousLogicalPorts', 1),
            _el('PhysicalPortID', port.port_id)]
    out += [_el('PortCapabilities', c) for c in _CAPS + (('unknown',) if conv else ())]
    out += [_el('PortType', 'Cna' if conv else 'Ethernet'),
            _el('PortLogicalPortLimit', port.max_vfs),
            _el('SubLabel', port.sublabel, 'CUR')]
    out += [_el('SupportedConnectionSpeeds', s)
            for s in _SPEEDS.get(port.speed, ('Auto', port.speed))]
    out += [_el('SupportedMTUs', 'E_1500'), _el('SupportedMTUs', 'E_9000')]
    out += [_el('SupportedOptions', o) for o in _SUPP_OPTS]
    out += [_el('SupportedPriorityAccessControlList', 0),
            _el('LinkStatus', _bool(port.link_up)),
            _el('AllocatedCapacity', units_to_api(port.allocated)),
            _el('ConfiguredMaxEthernetLogicalPorts', port.max_vfs, 'UOD'),
            _el('ConfiguredEthernetLogicalPorts', port.configured_vfs),
            _el('MaximumPortVLANID', 4094),
            _el('MaximumVLANID', 4094),
            _el('MinimumEthernetCapacityGranularity', units_to_api(port.granularity)),
            _el('MinimumPortVLANID', 2),
            _el('MinimumVLANID', 2),
            _el('MaxSupportedEthernetLogicalPorts', port.max_vfs)]
    if conv:
        out += [_el('ConfiguredMaxFiberChannelOverEthernetLogicalPorts', 0, 'UOD'),
                _el('DefaultFiberChannelTargetsForBackingDevice', 256),
                _el('DefaultFiberChannelTargetsForNonBackingDevice', 128),
                _el('ConfiguredFiberChannelOverEthernetLogicalPorts', 0, 'UOD'),
                _el('MinimumFCoECapacityGranularity', '10.0%'),
                _el('FiberChannelTargetsRoundingValue', 64),
                _el('MaxSupportedFiberChannelOverEthernetLogicalPorts', 0),
                _el('MaximumFiberChannelTargets', 0)]
    out.append(f'</{tag}>\n')
    return ''.join(out)


def _render_unconfigured(adapter: SriovAdapter) -> str:
    free = sum(max(p.free_vfs, 0) for p in adapter.ports)
    out = ['<UnconfiguredLogicalPorts kxe="false" kb="ROR" schemaVersion="V1_3_0">\n', _META]
    first = adapter.ports[0].location_code if adapter.ports else adapter.location_code
    for n in range(free):
        out += ['<SRIOVUnconfiguredLogicalPort schemaVersion="V1_3_0">\n', _META,
                _el('DynamicReconfigurationConnectorIndex', 654327812 + n),
                _el('DynamicReconfigurationConnectorName', f'PHB {4100 + n}'),
                _el('LocationCode', f'{first}-S{n + 4}'),
                '</SRIOVUnconfiguredLogicalPort>\n']
    out.append('</UnconfiguredLogicalPorts>\n')
    return ''.join(out)


def _render_adapter(adapter: SriovAdapter) -> str:
    out = ['<IOAdapterChoice>\n<SRIOVAdapter schemaVersion="V1_3_0">\n', _META,
           _el('AdapterID', adapter.adapter_id),
           _el('Description', adapter.description, 'CUD'),
           _el('PhysicalLocation', adapter.location_code)]
    if adapter.usable:
        out.append(_el('SRIOVAdapterID', adapter.sriov_adapter_id, 'COD'))
    out += [_el('AdapterState', adapter.state), _el('AdapterMode', adapter.mode, 'CUD')]
    if adapter.usable:
        out.append(_el('Personality', 'MIN_CAPACITY', 'COD'))
        for conv, container in ((True, 'ConvergedEthernetPhysicalPorts'),
                                (False, 'EthernetPhysicalPorts')):
            out += [f'<{container} kxe="false" kb="ROR" schemaVersion="V1_3_0">\n', _META]
            out += [_render_port(p) for p in adapter.ports
                    if (p.type == 'converged') == conv]
            out.append(f'</{container}>\n')
        out += [_el('MaximumHugeDMALogicalPorts', 0),
                _el('MaximumLogicalPortsSupported', sum(p.max_vfs for p in adapter.ports)),
                _render_unconfigured(adapter)]
    out.append('</SRIOVAdapter>\n</IOAdapterChoice>\n')
    return ''.join(out)


def render_sriov_adapters(adapters: list[SriovAdapter], base_url: str) -> str:
    """The ``SRIOVAdapters`` element for ManagedSystem/AssociatedSystemIOConfiguration.

    ``base_url`` is accepted for symmetry with the other renderers (the
    fragment carries no links).
    """
    del base_url
    return ('<SRIOVAdapters kb="CUD" kxe="false" schemaVersion="V1_3_0">\n' + _META
            + ''.join(_render_adapter(a) for a in adapters) + '</SRIOVAdapters>\n')


# ---- vNIC --------------------------------------------------------------------
def vnic_path(lpar_uuid: str, vnic_uuid: str | None = None) -> str:
    """REST path of a partition's vNIC feed or of one vNIC."""
    path = f'/rest/api/uom/LogicalPartition/{lpar_uuid}/VirtualNICDedicated'
    return f'{path}/{vnic_uuid}' if vnic_uuid else path


def _render_backing_device(bd: BackingDevice, base_url: str, sys_uuid: str,
                           link_up: bool, active: bool) -> str:
    vios_href = f'{base_url}/rest/api/uom/ManagedSystem/{sys_uuid}/VirtualIOServer/{bd.vios_uuid}'
    lport_href = (f'{base_url}/rest/api/uom/VirtualIOServer/{bd.vios_uuid}'
                  f'/SRIOVEthernetLogicalPort/{bd.lport_uuid}')
    ksv = ' ksv="V1_4_0"'
    return ''.join([
        '<VirtualNICSRIOVBackingDevice schemaVersion="V1_4_0">\n', _META,
        _el('DeviceType', 'SRIOV', 'COR'),
        f'<AssociatedVirtualIOServer kb="COR" kxe="false" href={quoteattr(vios_href)} '
        'rel="related"/>\n',
        _el('IsActive', _bool(active), extra=ksv),
        _el('Status', 'OPERATIONAL' if link_up else 'LINK_DOWN', extra=ksv),
        _el('FailOverPriority', bd.failover_priority, 'CUD', extra=ksv),
        _el('RelatedSRIOVAdapterID', bd.sriov_adapter_id, 'COR'),
        _el('CurrentCapacityPercentage', units_to_api(bd.capacity), 'COD'),
        _el('MaxCapacityPercentage', units_to_api(bd.max_capacity), 'COD'),
        _el('RelatedSRIOVPhysicalPortID', bd.port_id, 'COR'),
        f'<RelatedSRIOVLogicalPort kxe="false" kb="ROR" href={quoteattr(lport_href)} '
        'rel="related"/>\n',
        _el('DesiredCapacityPercentage', units_to_api(bd.capacity), extra=ksv),
        _el('DesiredMaxCapacityPercentage', units_to_api(bd.max_capacity), extra=ksv),
        '</VirtualNICSRIOVBackingDevice>\n'])


def render_vnic(vnic: Vnic, *, base_url: str, sys_uuid: str, drc_prefix: str,
                link_up: dict[tuple[int, int], bool]) -> str:
    """The VirtualNICDedicated element; ``link_up`` maps (adapter id, port id) -> state."""
    states = [link_up.get((b.sriov_adapter_id, b.port_id), False)
              for b in vnic.backing_devices]
    # The active device: the best-priority (lowest number) operational one.
    order = sorted(range(len(states)),
                   key=lambda i: (not states[i], vnic.backing_devices[i].failover_priority))
    active = order[0] if order and states[order[0]] else None
    bds = ''.join(_render_backing_device(b, base_url, sys_uuid, states[i], i == active)
                  for i, b in enumerate(vnic.backing_devices))
    cap = vnic.backing_devices[active if active is not None else 0].capacity
    body = ''.join([
        f'<VirtualNICDedicated:VirtualNICDedicated xmlns:VirtualNICDedicated="{UOM_NS}" '
        f'xmlns="{UOM_NS}" xmlns:ns2="http://www.w3.org/XML/1998/namespace/k2" '
        'schemaVersion="V1_4_0">\n',
        f'<Metadata>\n<Atom>\n<AtomID>{vnic.uuid}</AtomID>\n'
        f'<AtomCreated>{vnic.created_ms}</AtomCreated>\n</Atom>\n</Metadata>\n',
        _el('DynamicReconfigurationConnectorName',
            f'{drc_prefix}-V{vnic.lpar_id}-C{vnic.slot}', 'CUD'),
        _el('LocalPartitionID', vnic.lpar_id, 'CUR'),
        _el('VirtualSlotNumber', vnic.slot, 'COD'),
        '<Details kxe="false" kb="CUR" schemaVersion="V1_4_0">\n', _META,
        _el('PortVLANID', vnic.pvid, 'CUD'),
        _el('PortVLANIDPriority', 0, 'CUD'),
        _el('AllowedVLANIDs', vnic.allowed_vlans, 'CUD'),
        _el('MACAddress', vnic.mac, 'COD'),
        _el('AllowedOperatingSystemMACAddresses', vnic.allowed_macs, 'CUD'),
        _el('OSDeviceName', 'unavailable', 'ROO', extra=' group="VNIC"'),
        _el('DesiredMode', 'DEDICATED', 'ROO'),
        _el('DesiredCapacityPercentage', units_to_api(cap), 'ROO'),
        _el('AutoFailBack', _bool(vnic.auto_failback), 'CUD'),
        '</Details>\n',
        '<AssociatedBackingDevices kb="COR" kxe="false" schemaVersion="V1_4_0">\n', _META,
        '<VirtualNICBackingDeviceChoice>\n', bds, '</VirtualNICBackingDeviceChoice>\n',
        '</AssociatedBackingDevices>\n',
        '</VirtualNICDedicated:VirtualNICDedicated>\n'])
    return body
