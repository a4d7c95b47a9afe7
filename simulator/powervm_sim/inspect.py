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

"""Plain-text tables of a simulator's state (``powervm-sim inspect``)."""

from __future__ import annotations

from typing import Any


def table(title: str, columns: list[str], rows: list[list[Any]]) -> str:
    """A fixed-width text table."""
    cells = [[str(c) for c in columns]] + [['' if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [f'== {title} ({len(rows)}) ==']
    for n, row in enumerate(cells):
        lines.append('  '.join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def _vlans(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ','.join(str(v) for v in value)
    return '' if value is None else str(value)


def render(snapshot: dict) -> str:
    """All tables for a SimHost.snapshot() dict."""
    out = []
    bridges, groups, trunks = [], [], []
    for nb in snapshot.get('bridges', []):
        seas = ', '.join(f"{s.get('vios')}:{s.get('dev_name')}" for s in nb.get('seas', []))
        bridges.append([nb.get('uuid'), nb.get('pvid'), nb.get('vswitch_id'),
                        nb.get('failover'), seas])
        for lg in nb.get('load_groups', []):
            tas = lg.get('trunk_adapters', [])
            vlans = sorted({v for ta in tas for v in ta.get('vlans', [])})
            groups.append([nb.get('uuid', '')[:8], lg.get('pvid'), lg.get('primary'),
                           len(tas), _vlans(vlans)])
            for ta in tas:
                trunks.append([nb.get('uuid', '')[:8], lg.get('pvid'), ta.get('vios'),
                               ta.get('sea'), ta.get('dev_name'), ta.get('slot'),
                               ta.get('pvid'), _vlans(ta.get('vlans'))])
    out.append(table('Network bridges', ['UUID', 'PVID', 'VSWITCH', 'FAILOVER', 'SEAS'],
                     bridges))
    out.append(table('Load groups', ['BRIDGE', 'PVID', 'PRIMARY', 'TRUNKS', 'VLANS'], groups))
    out.append(table('Trunk adapters', ['BRIDGE', 'LG PVID', 'VIOS', 'SEA', 'DEV', 'SLOT',
                                        'PVID', 'VLANS'], trunks))
    parts, adapters = [], []
    for lpar in snapshot.get('vioses', []) + snapshot.get('partitions', []):
        kind = lpar.get('type', 'VIOS')
        parts.append([lpar.get('name'), lpar.get('id'), lpar.get('uuid'), kind,
                      lpar.get('state')])
        for cna in lpar.get('cnas', []):
            adapters.append([lpar.get('name'), 'CNA', cna.get('mac'), cna.get('pvid'),
                             cna.get('slot'), _vlans(cna.get('addl_vlans')),
                             f"vswitch {cna.get('vswitch_id')}"])
        for vnic in lpar.get('vnics', []):
            adapters.append([lpar.get('name'), 'VNIC', vnic.get('mac'),
                             vnic.get('pvid', vnic.get('vlan')), vnic.get('slot'), '',
                             _vlans(vnic.get('physical_ports', vnic.get('ports')))])
    out.append(table('Partitions', ['NAME', 'ID', 'UUID', 'TYPE', 'STATE'], parts))
    out.append(table('Partition adapters', ['PARTITION', 'KIND', 'MAC', 'PVID', 'SLOT',
                                            'VLANS', 'VSWITCH/PORTS'], adapters))
    ports = [[p.get('adapter'), p.get('location_code'), p.get('label'), p.get('link_up'),
              p.get('capacity_used'), f"{p.get('vfs_used')}/{p.get('max_vfs')}"]
             for p in snapshot.get('sriov_adapters', [])]
    out.append(table('SR-IOV physical ports', ['ADAPTER', 'LOCATION', 'LABEL', 'LINK',
                                               'CAP USED', 'VFS'], ports))
    return '\n\n'.join(out) + '\n'
