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

"""Names shared by the server side (ML2 drivers) and the host side (agents).

These are the drop-in names of the original networking-powervm: operators'
configs, Nova's PowerVM VIF driver and existing agent rows depend on them.
"""

AGENT_TYPE_PVM_SEA = 'PowerVM Shared Ethernet agent'
AGENT_TYPE_PVM_SRIOV = 'PowerVM SR-IOV Ethernet agent'

VIF_TYPE_PVM_SEA = 'pvm_sea'
VIF_TYPE_PVM_SRIOV = 'pvm_sriov'

# Binary names reported in the agent state (the original SEA agent's name is kept).
AGENT_BINARY_SEA = 'networking-powervm-sharedethernet-agent'
AGENT_BINARY_SRIOV = 'networking-powervm-sriov-agent'

# Physical network used when a host has exactly one bridge and no mapping,
# and for unlabelled SR-IOV physical ports.
DEFAULT_PHYSNET = 'default'

# The custom REST event the compute side posts on VIF plug/unplug.
EVENT_PROVIDER_NOVA_PVM_VIF = 'NOVA_PVM_VIF'
EVENT_ACTION_PLUG = 'plug'
EVENT_ACTION_UNPLUG = 'unplug'

# Keys in the agents' reported configurations.
CONF_BRIDGE_MAPPINGS = 'bridge_mappings'
CONF_DEVICES = 'devices'
CONF_DEFAULT_REDUNDANCY = 'default_redundancy'
CONF_DEFAULT_CAPACITY = 'default_capacity'

# binding:profile / vif_details keys for SR-IOV.
VNIC_REQUIRED_VFS = 'vnic_required_vfs'
CAPACITY = 'capacity'
MAXCAPACITY = 'maxcapacity'
REDUNDANCY = 'redundancy'
PHYSICAL_PORTS = 'physical_ports'

# SR-IOV port config-change event detail.
SRIOV_PORT_CONFIG_CHANGE = 'SRIOVPhysicalPort.ConfigChange'

# Real platform limits.
MAX_VLANS_PER_TRUNK = 20
MAX_TRUNKS_PER_SEA = 15
MIN_VLAN = 1
MAX_VLAN = 4094

# How long a plug for a port Neutron does not know yet is retried (seconds).
PORT_WAIT_TIMEOUT = 20 * 60
