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

"""SR-IOV part of the PowerVM REST API simulator.

Adapters/physical ports (shown in the ManagedSystem payload) and dedicated
vNICs under partitions.  See :mod:`.state` for the scenario YAML shape.
"""

from powervm_sim.sriov.render import render_sriov_adapters
from powervm_sim.sriov.scenario import adapters_from_scenario
from powervm_sim.sriov.state import (
    BackingDevice,
    SriovAdapter,
    SriovPort,
    Vnic,
    relabel_port,
    snapshot,
    state_from_dict,
    state_to_dict,
)
from powervm_sim.sriov.vnic import (
    handle_vnic,
    release_partition_vnics,
    vnic_macs,
    vnic_slots,
)

__all__ = [
    'BackingDevice', 'SriovAdapter', 'SriovPort', 'Vnic', 'adapters_from_scenario',
    'handle_vnic', 'relabel_port', 'release_partition_vnics', 'render_sriov_adapters',
    'snapshot', 'state_from_dict', 'state_to_dict', 'vnic_macs', 'vnic_slots',
]
