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

"""Physical network -> SR-IOV physical port location codes, from port labels.

The operator names the physical network of an SR-IOV physical port by setting
the port's label (HMC/NovaLink ``pvmctl sriov update``). Unlabelled ports
serve ``default``. Only adapters in shared (``Sriov``) mode can back vNICs;
dedicated adapters are skipped.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm.wrappers import iocard as pvm_card
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.common import constants as pvm_const

LOG = logging.getLogger(__name__)


def mappings_from_system(sys_w: Any) -> dict[str, list[str]]:
    """{physnet: [location code, ...]} of a ManagedSystem wrapper's shared-mode ports.

    Location codes keep the order of the REST API (adapter, then port); labels
    are stripped, an empty label means ``default``.
    """
    mappings: dict[str, list[str]] = {}
    for sriov in sys_w.asio_config.sriov_adapters:
        if sriov.mode != pvm_card.SRIOVAdapterMode.SRIOV:
            LOG.debug("Skipping SR-IOV adapter %s in mode %s",
                      getattr(sriov, 'sriov_adap_id', '?'), sriov.mode)
            continue
        for pport in sriov.phys_ports:
            loc_code = pport.loc_code
            if not loc_code:
                LOG.warning("Skipping an SR-IOV physical port without a location code "
                            "(label %r)", pport.label)
                continue
            physnet = (pport.label or '').strip() or pvm_const.DEFAULT_PHYSNET
            mappings.setdefault(physnet, []).append(loc_code)
    return mappings


def get_mappings(adapter: pvm_adpt.Adapter) -> dict[str, list[str]]:
    """Read the host's ManagedSystem and return its physnet -> location code mappings."""
    systems = pvm_ms.System.get(adapter)
    if not systems:
        raise LookupError("The PowerVM REST API reports no managed system")
    return mappings_from_system(systems[0])
