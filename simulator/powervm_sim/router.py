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

"""Which family handles a ``/rest/api/uom/...`` path.

::

    ManagedSystem[/<sys>]                                    system
    ManagedSystem/<sys>/{VirtualSwitch,VirtualNetwork,NetworkBridge}[/...]   network
    [ManagedSystem/<sys>/]{LogicalPartition,VirtualIOServer}[/...]          partitions
        .../<uuid>/ClientNetworkAdapter[/...]                partitions.cna
        .../<uuid>/VirtualNICDedicated[/...]                 sriov.vnic
"""

from __future__ import annotations

from powervm_sim import system
from powervm_sim.network import resource as network
from powervm_sim.partitions import resource as partitions
from powervm_sim.rest import BadRequest, Host, RestRequest, RestResponse


def route(host: Host, req: RestRequest) -> RestResponse:
    """Answer ``req`` with the handler of its resource family (BadRequest if none)."""
    segs = [s for s in req.path.split('?')[0].split('/') if s]
    if segs[:3] != ['rest', 'api', 'uom'] or len(segs) < 4:
        raise BadRequest(f'unknown URI {req.path}', 404)
    rest = segs[3:]
    if rest[0] in partitions.KINDS:
        return partitions.handle(host, req, rest[0], rest[1:])
    if rest[0] != 'ManagedSystem':
        raise BadRequest(f'unknown URI {req.path}', 404)
    if len(rest) == 1:
        return system.handle(host, req, feed=True)
    if rest[1].lower() != host.sys_uuid.lower():
        raise BadRequest(f'ManagedSystem {rest[1]} not found', 404)
    if len(rest) == 2:
        return system.handle(host, req, feed=False)
    if rest[2] in partitions.KINDS:
        return partitions.handle(host, req, rest[2], rest[3:])
    if rest[2] in network.KINDS:
        return network.handle(host, req, rest[2], rest[3:])
    raise BadRequest(f'unknown URI {req.path}', 404)
