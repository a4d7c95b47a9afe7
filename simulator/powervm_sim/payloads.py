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

"""The UOM payload vocabulary every resource family writes its XML with.

Element names, order, namespaces, ``kb``/``kxe`` attributes and schema version
follow pypowervm/tests/data (nbbr_network_bridge.txt, fake_vios.txt,
fake_cna.txt, fake_lpar_feed.txt, sys_with_sriov.txt, ...); the Atom envelope
around the content is atom.py's.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from powervm_sim import model
from powervm_sim.atom import UOM_NS
from powervm_sim.model import CNA, HostState, Partition, sim_uuid

# The schema of the newest captures (sys_with_sriov.txt, cna_feed.txt, vswitch_feed.txt)
# and of the X-HMC-Schema-Version header the server sends.
SCHEMA = 'V1_3_0'
SV = f'schemaVersion="{SCHEMA}"'
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



def part_href(base: str, st: HostState, part: Partition) -> str:
    """Href of a partition or VIOS under the ManagedSystem (as events carry it)."""
    kind = 'VirtualIOServer' if part.type == model.LPAR_TYPE_VIOS else 'LogicalPartition'
    return child_href(base, st, kind, part.uuid)

