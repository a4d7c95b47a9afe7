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

"""Compute-side SR-IOV VIF plugging: a vNIC per Neutron port, as Nova's PowerVM driver did.

``plug_sriov`` builds a VirtualNICDedicated with pypowervm, lets
``set_vnic_back_devs`` pick backing ports, creates it under the partition and
posts the ``plug`` VIF event; ``unplug_sriov`` deletes it and posts ``unplug``.
Nothing is left behind when creation fails.
"""

from __future__ import annotations

import logging

from pypowervm import adapter as pvm_adapter
from pypowervm import util as pvm_util
from pypowervm.tasks import sriov as pvm_sriov
from pypowervm.wrappers import iocard
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.common import constants as pvm_const

LOG = logging.getLogger(__name__)


class VnicNotFound(LookupError):
    """No vNIC with the given MAC on the partition."""


def _post_event(adapter: pvm_adapter.Adapter, action: str, mac: str, href: str) -> None:
    try:
        # Imported late: a missing/broken events module must not undo a plug.
        from powervm_vif import events

        events.post_vif_event(adapter, action, mac, pvm_const.VIF_TYPE_PVM_SRIOV, href)
    except Exception:  # the vNIC exists/is gone either way; the agent heals later
        LOG.warning('could not post the %s VIF event for MAC %s', action, mac, exc_info=True)


def _check_args(mac: str, vlan: int | None, physical_ports: list[str], redundancy: int,
                capacity: float | None, max_capacity: float | None) -> str:
    norm = pvm_util.sanitize_mac_for_api(mac or '')
    if len(norm) != 12 or any(c not in '0123456789ABCDEF' for c in norm):
        raise ValueError(f'MAC address {mac!r} is not valid')
    if vlan is not None and not (isinstance(vlan, int) and 0 <= vlan <= pvm_const.MAX_VLAN):
        raise ValueError(f'VLAN {vlan!r} is outside 0-{pvm_const.MAX_VLAN}')
    if not physical_ports or not all(isinstance(p, str) and p for p in physical_ports):
        raise ValueError(f'physical ports {physical_ports!r}: need location code strings')
    if not isinstance(redundancy, int) or redundancy < 1:
        raise ValueError(f'redundancy {redundancy!r} must be a positive integer')
    for name, val in (('capacity', capacity), ('max_capacity', max_capacity)):
        if val is not None and not 0 < val <= 1:
            raise ValueError(f'{name} {val!r} must be a fraction in (0, 1]')
    if capacity is not None and max_capacity is not None and max_capacity < capacity:
        raise ValueError(f'max_capacity {max_capacity} is below capacity {capacity}')
    return norm


def plug_sriov(adapter: pvm_adapter.Adapter, host_uuid: str, lpar_uuid: str, mac: str,
               vlan: int | None, physical_ports: list[str], redundancy: int = 1,
               capacity: float | None = None,
               max_capacity: float | None = None) -> iocard.VNIC:
    """Create a vNIC for ``mac`` on ``lpar_uuid`` backed by ``physical_ports``.

    Raises pypowervm's InsufficientSRIOVCapacity (and friends) when the ports
    cannot satisfy ``redundancy``/``capacity``, HttpError when the server
    refuses; in both cases no vNIC exists afterwards.
    """
    norm_mac = _check_args(mac, vlan, physical_ports, redundancy, capacity, max_capacity)
    sys_w = pvm_ms.System.get(adapter, uuid=host_uuid)
    vnic = iocard.VNIC.bld(adapter, pvid=vlan, mac_addr=norm_mac)
    pvm_sriov.set_vnic_back_devs(vnic, physical_ports, sys_w=sys_w, redundancy=redundancy,
                                 capacity=capacity, max_capacity=max_capacity,
                                 check_port_status=True)
    created = vnic.create(parent_type=pvm_lpar.LPAR, parent_uuid=lpar_uuid)
    LOG.info('created vNIC %s (MAC %s, VLAN %s) on partition %s over %d backing device(s)',
             created.uuid, norm_mac, vlan, lpar_uuid, len(created.back_devs))
    _post_event(adapter, pvm_const.EVENT_ACTION_PLUG, norm_mac, created.href)
    return created


def find_vnic(adapter: pvm_adapter.Adapter, lpar_uuid: str, mac: str) -> iocard.VNIC | None:
    """The partition's vNIC with ``mac`` (any MAC notation), or None."""
    norm = pvm_util.sanitize_mac_for_api(mac)
    vnics = iocard.VNIC.get(adapter, parent_type=pvm_lpar.LPAR, parent_uuid=lpar_uuid)
    return next((v for v in vnics if v.mac == norm), None)


def unplug_sriov(adapter: pvm_adapter.Adapter, lpar_uuid: str, mac: str) -> None:
    """Delete the partition's vNIC with ``mac``; VnicNotFound if there is none."""
    vnic = find_vnic(adapter, lpar_uuid, mac)
    if vnic is None:
        raise VnicNotFound(f'partition {lpar_uuid} has no vNIC with MAC {mac}')
    href = vnic.href
    vnic.delete()
    LOG.info('deleted vNIC %s (MAC %s) of partition %s', vnic.uuid, vnic.mac, lpar_uuid)
    _post_event(adapter, pvm_const.EVENT_ACTION_UNPLUG, vnic.mac, href)
