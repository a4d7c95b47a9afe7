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

"""REST handling of LogicalPartition and VirtualIOServer: feeds, entries, search,
``quick`` properties, partition create (PUT) and delete; CNAs and vNICs below a
partition go to their own modules."""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from urllib.parse import unquote

from powervm_sim import fields, model, rest
from powervm_sim.events import ADD, DELETE
from powervm_sim.model import Partition
from powervm_sim.partitions import cna, render
from powervm_sim.payloads import child_href
from powervm_sim.rest import BadRequest, Host, RestRequest, RestResponse
from powervm_sim.sriov import vnic

KINDS = ('VirtualIOServer', 'LogicalPartition')
_SEARCH_RE = re.compile(r"^\((\w+)(==|!=)'?([^']*)'?\)$")


def _render(host: Host, base: str, kind: str, p: Partition, groups: set[str] | None) -> str:
    st = host.state
    if kind == 'VirtualIOServer':
        net = groups is None or bool(groups & {'ViosNetwork', 'All'})
        return host.cached(('vios', p.uuid, st.etag(p.uuid), base, net),
                           lambda: render.render_vios(st, base, p, net))
    return host.cached(('lpar', p.uuid, st.etag(p.uuid), base),
                       lambda: render.render_lpar(st, base, p))


def _feed(host: Host, req: RestRequest, kind: str, parts: list[Partition]) -> RestResponse:
    groups = rest.groups(req)
    return rest.feed_response(req, host.sys_uuid, kind, [
        (p.uuid, host.state.etag(p.uuid), _render(host, req.base, kind, p, groups))
        for p in parts])


def handle(host: Host, req: RestRequest, kind: str, sub: list[str]) -> RestResponse:
    """``[.../ManagedSystem/<uuid>]/<kind>[/<uuid>[/...]]``."""
    st = host.state
    parts = st.vioses if kind == 'VirtualIOServer' else st.partitions
    if not sub:
        if req.method == 'GET':
            return _feed(host, req, kind, parts)
        if req.method == 'PUT' and kind == 'LogicalPartition':
            return _create_lpar(host, req)
        raise rest.not_allowed(req)
    if sub[0] == 'search':
        if req.method != 'GET' or len(sub) != 2:
            raise BadRequest(f'unknown URI {req.path}', 404)
        return _feed(host, req, kind, _search(parts, sub[1]))
    part = next((p for p in parts if p.uuid == sub[0].upper()), None)
    if part is None:
        raise rest.not_found(f'{kind} {sub[0]}')
    if len(sub) == 1:
        if req.method == 'GET':
            return rest.entry_response(req, kind, part.uuid, st.etag(part.uuid),
                                       _render(host, req.base, kind, part, rest.groups(req)))
        if req.method == 'DELETE' and kind == 'LogicalPartition':
            return _delete_lpar(host, req, part)
        raise rest.not_allowed(req, f'{kind} {part.uuid}')
    if sub[1] == 'quick' and req.method == 'GET':
        return _quick(part, sub[2:])
    if sub[1] == 'ClientNetworkAdapter':
        return cna.handle(host, req, kind, part, sub[2:])
    if sub[1] == 'VirtualNICDedicated' and kind == 'LogicalPartition':
        return vnic.handle_vnic(host, req, part.uuid, sub[2] if len(sub) > 2 else None)
    raise BadRequest(f'unknown URI {req.path}', 404)


def _search(parts: list[Partition], expr: str) -> list[Partition]:
    m = _SEARCH_RE.match(expr.replace('%27', "'"))
    if not m:
        raise BadRequest(f'malformed search expression {expr!r}')
    key, op, val = m.groups()
    getters = {'PartitionName': lambda p: p.name, 'PartitionID': lambda p: str(p.id),
               'PartitionUUID': lambda p: p.uuid}
    if key not in getters:
        raise BadRequest(f'unsupported search key {key!r}')
    val = unquote(val)
    return [p for p in parts if (getters[key](p) == val) == (op == '==')]


def _quick(part: Partition, sub: list[str]) -> RestResponse:
    props = {'PartitionName': part.name, 'PartitionID': part.id,
             'PartitionState': part.state, 'PartitionType': part.type,
             'PartitionUUID': part.uuid, 'ResourceMonitoringControlState': part.rmc_state,
             'IsManagementPartition': part.is_mgmt}
    if not sub:
        body = json.dumps(props)
    elif len(sub) == 1 and sub[0] in props:
        body = json.dumps(props[sub[0]])
    else:
        raise BadRequest(f'unknown quick property {"/".join(sub)!r}', 404)
    return RestResponse(200, {'content-type': 'application/json'}, body.encode())


def _create_lpar(host: Host, req: RestRequest) -> RestResponse:
    st = host.state
    root = rest.parse_body(req, 'LogicalPartition')
    name = fields.text(root, 'PartitionName')
    if not name:
        raise BadRequest('PartitionName is required')
    if any(p.name == name for p in st.partitions + st.vioses):
        raise BadRequest(f'a partition named {name!r} already exists')
    ptype = fields.text(root, 'PartitionType') or model.LPAR_TYPE_AIX
    if ptype not in model.PARTITION_TYPES:
        raise BadRequest(f'PartitionType {ptype!r} is not one of '
                         f'{", ".join(model.PARTITION_TYPES)}')
    pid = fields.integer(root, 'PartitionID') or st.next_partition_id()
    if any(p.id == pid for p in st.partitions + st.vioses):
        raise BadRequest(f'partition id {pid} is already used')
    u = str(uuidlib.uuid4())
    part = Partition(uuid=(str(int(u[0], 16) & 7) + u[1:]).upper(), id=pid, name=name,
                     type=ptype, state='not activated', rmc_state='inactive')
    st.partitions.append(part)
    host.commit(part.uuid, host.sys_uuid)
    host.emit(child_href(req.base, st, 'LogicalPartition', part.uuid), ADD)
    return rest.entry_response(req, 'LogicalPartition', part.uuid, st.etag(part.uuid),
                               render.render_lpar(st, req.base, part))


def _delete_lpar(host: Host, req: RestRequest, part: Partition) -> RestResponse:
    st = host.state
    rest.check_if_match(req, st.etag(part.uuid), f'LogicalPartition {part.uuid}')
    if part.is_mgmt:
        raise BadRequest(f'the management partition {part.name} cannot be deleted')
    st.partitions.remove(part)
    vnic.release_partition_vnics(st, part.uuid)
    host.commit(part.uuid, host.sys_uuid)
    host.emit(child_href(req.base, st, 'LogicalPartition', part.uuid), DELETE)
    return rest.NO_CONTENT
