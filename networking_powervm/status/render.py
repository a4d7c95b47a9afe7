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

"""Tables (PrettyTable) and JSON of a status report."""

from __future__ import annotations

import json

import prettytable

from networking_powervm.status import model


def _vlans(vlans: list[int]) -> str:
    return ','.join(str(v) for v in vlans) or '-'


def _table(title: str, fields: list[str], rows: list[list[object]]) -> str:
    table = prettytable.PrettyTable(fields)
    table.align = 'l'
    for row in rows:
        table.add_row(['-' if v is None else v for v in row])
    return f'{title}\n{table.get_string()}'


def as_text(report: model.Report) -> str:
    """The report as tables: bridges, load groups, ports, drift."""
    adapters = {a.mac: a for a in report.adapters}
    parts = [f'Host {report.host}, PowerVM REST API {report.rest_api}']
    parts.append(_table('Bridges', ['bridge', 'SEAs', 'physnets', 'vswitch', 'PVID', 'VLANs'], [
        [b.uuid, ' '.join(b.seas), ','.join(b.physnets) or '-', b.vswitch_id, b.pvid,
         _vlans(b.vlans)] for b in report.bridges]))
    parts.append(_table('Load groups', ['bridge', 'load group', 'PVID', 'VLANs'], [
        [b.uuid, i, lg.pvid, _vlans(lg.vlans)]
        for b in report.bridges for i, lg in enumerate(b.load_groups)]))
    parts.append(_table('Neutron ports bound to this host',
                        ['port', 'MAC', 'status', 'VIF type', 'physnet', 'VLAN', 'partition'], [
        [p.id, p.mac, p.status, p.vif_type, p.physnet, p.vlan,
         adapters[p.mac].partition if p.mac in adapters else None] for p in report.ports]))
    if report.drift:
        parts.append(_table('Drift', ['kind', 'detail'],
                            [[d.kind, d.detail] for d in report.drift]))
    else:
        parts.append('Drift: none')
    return '\n\n'.join(parts) + '\n'


def as_json(report: model.Report) -> str:
    """The report as one JSON document."""
    return json.dumps(report.as_dict(), indent=2, sort_keys=True) + '\n'
