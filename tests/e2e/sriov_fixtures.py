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

"""Helpers of the SR-IOV e2e tests: per-agent configs, fresh pypowervm reads, agent state.

Host reads are new GETs through a pypowervm Adapter of their own (pypowervm keeps
no cache), so nothing of the compute side's wrappers can hide the simulator's state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypowervm import adapter as pvm_adapter
from pypowervm.wrappers import iocard
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net

from networking_powervm.common import constants as const
from powervm_sim.client import SubprocessSim
from powervm_testbed.neutron_client import NeutronClient
from powervm_testbed.neutron_stack import NeutronStack


# ---------------------------------------------------------------- agent configs
def agent_config(stack: NeutronStack, host: str, kind: str,
                 extra: dict[str, dict[str, Any]]) -> tuple[Path, Path]:
    """Write the ``kind`` agent's config for ``host``; returns (config path, log path)."""
    name = f'{host}-{kind}'
    return stack.agent_config(host, extra, name=name), stack.log_dir / f'agent-{name}.log'


def powervm_section(sim: SubprocessSim) -> dict[str, Any]:
    """The agents' [powervm] options for the simulator (password auth, plain http)."""
    return {'host': sim.host, 'port': sim.port, 'protocol': sim.protocol,
            'username': sim.user, 'password': sim.password, 'timeout': 60}


# ---------------------------------------------------------------- fresh host reads
def new_adapter(sim: SubprocessSim) -> pvm_adapter.Adapter:
    """A new pypowervm Session + Adapter logged on to ``sim``."""
    return pvm_adapter.Adapter(pvm_adapter.Session(**sim.session_kwargs(), conn_tries=1))


def log_off(adapter: pvm_adapter.Adapter) -> None:
    """Log the adapter's session off now (not at garbage collection, after the sim is gone)."""
    adapter.session._logoff()


def sriov_ports(adapter: pvm_adapter.Adapter) -> dict[str, Any]:
    """{location code: SR-IOV physical port wrapper} from a ManagedSystem GET."""
    sys_w = pvm_ms.System.get(adapter)[0]
    return {p.loc_code: p for a in sys_w.asio_config.sriov_adapters for p in a.phys_ports}


def port_usage(adapter: pvm_adapter.Adapter) -> dict[str, tuple[float, int]]:
    """{location code: (allocated capacity, configured VFs)} from a GET."""
    return {loc: (p.allocated_capacity, p.cfg_lps) for loc, p in sriov_ports(adapter).items()}


def lpar_vnics(adapter: pvm_adapter.Adapter, lpar_uuid: str) -> list[iocard.VNIC]:
    """The partition's vNICs from a GET."""
    return iocard.VNIC.get(adapter, parent_type=pvm_lpar.LPAR,
                           parent_uuid=lpar_uuid)


def back_dev_locations(adapter: pvm_adapter.Adapter, vnic: iocard.VNIC) -> list[str]:
    """Location codes of the physical ports backing ``vnic``."""
    by_id = {(p.sriov_adap_id, p.port_id): loc for loc, p in sriov_ports(adapter).items()}
    return [by_id[(b.sriov_adap_id, b.pport_id)] for b in vnic.back_devs]


def bridge_vlans(adapter: pvm_adapter.Adapter, host_uuid: str) -> set[int]:
    """Every VLAN (PVID and tagged) of every Network Bridge, from a GET."""
    vlans: set[int] = set()
    for nb in pvm_net.NetBridge.get(adapter, parent_type=pvm_ms.System,
                                   parent_uuid=host_uuid):
        vlans.update(nb.list_vlans(pvid=True, arbitrary=False))
    return vlans


def expected_mappings(sim: SubprocessSim) -> dict[str, list[str]]:
    """physnet -> sorted location codes, from the simulator's own state (admin API).

    Independent of pypowervm parsing: ports of Running adapters in Sriov mode,
    grouped by label, unlabelled ports under 'default'.
    """
    result: dict[str, list[str]] = {}
    for port in sim.admin('GET', 'state')['sriov_adapters']:
        if port['mode'] != 'Sriov':
            continue
        physnet = (port['label'] or '').strip() or const.DEFAULT_PHYSNET
        result.setdefault(physnet, []).append(port['location_code'])
    return {k: sorted(v) for k, v in result.items()}


# ---------------------------------------------------------------- Neutron side
def neutron_agent(neutron: NeutronClient, host: str, agent_type: str) -> dict[str, Any]:
    """The agent row of ``agent_type`` on ``host`` (AssertionError if absent)."""
    agents = neutron.list_agents(host=host, agent_type=agent_type)
    assert len(agents) == 1, f'expected one {agent_type!r} on {host}, got {agents}'
    return agents[0]


def reported_mappings(neutron: NeutronClient, host: str) -> dict[str, list[str]]:
    """The SR-IOV agent's reported bridge_mappings, location codes sorted."""
    conf = neutron_agent(neutron, host, const.AGENT_TYPE_PVM_SRIOV)['configurations']
    return {k: sorted(v) for k, v in conf[const.CONF_BRIDGE_MAPPINGS].items()}
