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

"""SEA VIF plug/unplug as Nova's PowerVM driver did it: a CNA + a custom event."""

from __future__ import annotations

from pypowervm import adapter as pvm_adapter
from pypowervm import util as pvm_util
from pypowervm.tasks import cna as pvm_cna
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import network as pvm_net

from networking_powervm.common import constants as pvm_const
from networking_powervm.common.vif_event import norm_mac
from powervm_vif.events import post_vif_event


def _check_vlan(vlan: int) -> int:
    if not isinstance(vlan, int) or not pvm_const.MIN_VLAN <= vlan <= pvm_const.MAX_VLAN:
        raise ValueError(f'Invalid VLAN {vlan!r}: must be '
                         f'{pvm_const.MIN_VLAN}-{pvm_const.MAX_VLAN}')
    return vlan


def cna_href(cna: pvm_net.CNA) -> str:
    """The CNA's own URI (no query), even if the create answer linked the feed."""
    href = cna.href.split('?', 1)[0].rstrip('/')
    if cna.uuid and not href.lower().endswith(cna.uuid.lower()):
        href = f'{href}/{cna.uuid}'
    return href


def find_cna(adapter: pvm_adapter.Adapter, lpar_uuid: str, mac: str) -> pvm_net.CNA | None:
    """The partition's CNA with ``mac`` (any notation), or None."""
    want = pvm_util.sanitize_mac_for_api(norm_mac(mac))
    for cna in pvm_net.CNA.get(adapter, parent_type=pvm_lpar.LPAR, parent_uuid=lpar_uuid):
        if pvm_util.sanitize_mac_for_api(cna.mac) == want:
            return cna
    return None


def plug_sea(adapter: pvm_adapter.Adapter, host_uuid: str, lpar_uuid: str, mac: str,
             vlan: int, vswitch: str = pvm_net.VSW_DEFAULT_VSWITCH) -> pvm_net.CNA:
    """Create the CNA (PVID ``vlan``, ``mac``) and post the plug event."""
    _check_vlan(vlan)
    neutron_mac = norm_mac(mac)
    cna = pvm_cna.crt_cna(adapter, host_uuid, lpar_uuid, pvid=vlan, vswitch=vswitch,
                          mac_addr=pvm_util.sanitize_mac_for_api(neutron_mac))
    post_vif_event(adapter, pvm_const.EVENT_ACTION_PLUG, neutron_mac,
                   pvm_const.VIF_TYPE_PVM_SEA, cna_href(cna))
    return cna


def unplug_sea(adapter: pvm_adapter.Adapter, lpar_uuid: str, mac: str) -> str:
    """Delete the CNA with ``mac`` and post the unplug event; returns its href."""
    cna = find_cna(adapter, lpar_uuid, mac)
    if cna is None:
        raise LookupError(f'Partition {lpar_uuid} has no CNA with MAC {mac!r}')
    href = cna_href(cna)
    cna.delete()
    post_vif_event(adapter, pvm_const.EVENT_ACTION_UNPLUG, norm_mac(mac),
                   pvm_const.VIF_TYPE_PVM_SEA, href)
    return href
