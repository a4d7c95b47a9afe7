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

"""The PowerVM platform's own limits and names, as the simulator enforces them."""

# Shared Ethernet Adapter limits (VIOS).
MAX_VLANS_PER_TRUNK = 20
MAX_TRUNKS_PER_SEA = 15
MIN_VLAN = 1
MAX_VLAN = 4094

# Event detail NovaLink posts when an SR-IOV physical port's configuration changes.
SRIOV_PORT_CONFIG_CHANGE = 'SRIOVPhysicalPort.ConfigChange'
