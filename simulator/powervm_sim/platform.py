"""The PowerVM platform's own limits and names, as the simulator enforces them."""

# Shared Ethernet Adapter limits (VIOS).
MAX_VLANS_PER_TRUNK = 20
MAX_TRUNKS_PER_SEA = 15
MIN_VLAN = 1
MAX_VLAN = 4094

# Event detail NovaLink posts when an SR-IOV physical port's configuration changes.
SRIOV_PORT_CONFIG_CHANGE = 'SRIOVPhysicalPort.ConfigChange'
