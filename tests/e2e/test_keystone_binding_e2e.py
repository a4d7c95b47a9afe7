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

"""Port binding through Keystone: a project member's ports, bound by the admin, plugged.

As a deployment runs it: the admin creates a VLAN provider network and shares it
with one project (RBAC ``access_as_shared``); a member of that project creates
the port; the admin account (which, as Nova's service user, has the ``service``
role) binds it to the agents' host; ``powervm-vif`` plugs it; the agent makes it
ACTIVE. What the member may set follows Neutron's default policy.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from networking_powervm.common import constants as const
from powervm_sim.client import SubprocessSim, start_subprocess
from powervm_testbed.agent_process import AgentProcess, AgentProcessError
from powervm_testbed.neutron_client import NeutronApiError, NeutronClient
from powervm_testbed.neutron_stack import NeutronStack
from tests.e2e import sriov_fixtures as fx

SIM_USER = 'ks-sim-admin'
SIM_PASSWORD = 'ks-sim-e2e-password'
WAIT = 60


@dataclass
class Env:
    """Simulator + SEA and SR-IOV agents of one host, the admin client, a member client."""

    stack: NeutronStack
    sim: SubprocessSim
    host: str
    admin: NeutronClient
    member: NeutronClient
    member_project: str

    def vif(self, *args: str) -> str:
        """Run ``powervm-vif`` against the simulator; its stdout."""
        cmd = [str(Path(sys.executable).parent / 'powervm-vif'), '--url', self.sim.url,
               '--user', SIM_USER, *args]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                             env={**os.environ, 'POWERVM_PASSWORD': SIM_PASSWORD})
        assert res.returncode == 0, f'{" ".join(cmd)}: {res.stdout}{res.stderr}'
        return res.stdout


@pytest.fixture(scope='module')
def env(neutron_stack: NeutronStack, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Env]:
    """Keystone project + member user, a simulator and both agents, alive in Neutron."""
    if neutron_stack.keystone is None:
        pytest.fail('these tests need the Keystone stack (NPVM_E2E_AUTH=keystone)',
                    pytrace=False)
    ks = neutron_stack.keystone.admin_connection()
    name = f'e2e-{uuid.uuid4().hex[:8]}'
    project = ks.identity.create_project(name=name, domain_id='default')
    password = secrets.token_urlsafe(12)
    user = ks.identity.create_user(name=name, password=password, domain_id='default',
                                   default_project_id=project.id)
    member_role = ks.identity.find_role('member', ignore_missing=False)
    ks.identity.assign_project_role_to_user(project, user, member_role)
    sim = start_subprocess('single', tmp_path_factory.mktemp('ks-sim'), user=SIM_USER,
                           password=SIM_PASSWORD)
    host = f'ks-e2e-{uuid.uuid4().hex[:8]}'
    agents: list[AgentProcess] = []
    admin = NeutronClient(neutron_stack.api_url, project_id=f'p-{uuid.uuid4().hex[:8]}')
    member = NeutronClient(neutron_stack.api_url, auth={
        'auth_url': neutron_stack.keystone.auth_url, 'username': name, 'password': password,
        'project_name': name, 'user_domain_name': 'Default',
        'project_domain_name': 'Default'})
    try:
        common = {'powervm': fx.powervm_section(sim)}
        opts = {'heal_and_optimize_interval': 3600, 'exception_interval': 1}
        sea_conf, sea_log = fx.agent_config(neutron_stack, host, 'sea', {
            **common, 'AGENT': {**opts, 'bridge_mappings': 'default:ent8:vios1'}})
        sriov_conf, sriov_log = fx.agent_config(neutron_stack, host, 'sriov', {
            **common, 'AGENT': {**opts, 'vnic_required_vfs': 2}})
        agents += [AgentProcess('networking-powervm-sea-agent', sea_conf, host,
                                const.AGENT_TYPE_PVM_SEA, log_file=sea_log).start(),
                   AgentProcess('networking-powervm-sriov-agent', sriov_conf, host,
                                const.AGENT_TYPE_PVM_SRIOV, log_file=sriov_log).start()]
        for agent in agents:
            try:
                agent.wait_alive(admin, timeout=WAIT)
            except AgentProcessError as exc:
                pytest.fail(str(exc), pytrace=False)
        yield Env(neutron_stack, sim, host, admin, member, project.id)
    finally:
        for agent in agents:
            agent.stop()
        sim.stop()
        member.close()
        admin.close()
        ks.identity.delete_user(user)
        ks.identity.delete_project(project)
        ks.close()


def _shared_vlan_network(env: Env, vlan: int) -> dict[str, Any]:
    """An admin-made VLAN provider network (free id from ``vlan``) shared with the project."""
    net = env.admin.create_free_vlan_network('ks-shared', 'default', vlan, tries=50)
    seg = net['provider:segmentation_id']
    env.admin.create_subnet(net['id'], f'10.{seg // 256}.{seg % 256}.0/24')
    env.admin.conn.network.create_rbac_policy(
        object_type='network', object_id=net['id'], action='access_as_shared',
        target_project_id=env.member_project)
    return net


def _lpar(env: Env) -> str:
    name = f'ks-vm-{uuid.uuid4().hex[:8]}'
    env.vif('create-lpar', name)
    return name


def test_member_sees_only_the_network_shared_with_its_project(env: Env) -> None:
    net = _shared_vlan_network(env, 2100)
    hidden = env.admin.create_network('ks-not-shared', physnet='default')
    seen = {n['id'] for n in env.member.list_networks()}
    assert net['id'] in seen and hidden['id'] not in seen
    # Provider attributes are the admin's: the member cannot make a VLAN network.
    with pytest.raises(NeutronApiError) as err:
        env.member.create_network('ks-member-vlan', physnet='default', segmentation_id=2199)
    assert err.value.status == 403


def test_member_port_bound_by_admin_plugged_sea_goes_active(env: Env) -> None:
    net = _shared_vlan_network(env, 2110)
    port = env.member.create_port(net['id'], name='ks-sea-port')
    assert port['project_id'] == env.member_project
    assert port['status'] == 'DOWN'
    lpar = _lpar(env)
    bound = env.admin.bind_port(port['id'], env.host)
    assert bound['binding:vif_type'] == const.VIF_TYPE_PVM_SEA, bound
    vlan = bound['binding:vif_details']['vlan']
    assert vlan == str(net['provider:segmentation_id'])
    env.vif('plug-sea', '--lpar', lpar, '--mac', port['mac_address'], '--vlan', vlan)
    active = env.member.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)
    # The member sees its port ACTIVE, but not where or how it is bound.
    assert 'binding:host_id' not in active or not active['binding:host_id']
    assert not active.get('binding:profile')
    env.vif('unplug-sea', '--lpar', lpar, '--mac', port['mac_address'])
    env.member.wait_for_port(port['id'], status='DOWN', timeout=WAIT)
    # Neutron's default: a compute port is deleted with Nova's service role, not by a member.
    with pytest.raises(NeutronApiError) as err:
        env.member.delete_port(port['id'])
    assert err.value.status == 403
    env.admin.delete_port(port['id'])


def test_member_direct_port_with_admin_profile_override_goes_active(env: Env) -> None:
    net = _shared_vlan_network(env, 2120)
    # binding:vnic_type is the member's to choose ...
    port = env.member.create_port(net['id'], name='ks-sriov-port', vnic_type='direct')
    assert port['binding:vnic_type'] == 'direct'
    lpar = _lpar(env)
    profile = {const.VNIC_REQUIRED_VFS: 1, const.CAPACITY: 0.04}  # 2% port granularity
    bound = env.admin.bind_port(port['id'], env.host, binding_profile=profile)
    assert bound['binding:vif_type'] == const.VIF_TYPE_PVM_SRIOV, bound
    assert bound['binding:profile'] == profile
    details = bound['binding:vif_details']
    assert details[const.REDUNDANCY] == 1 and details[const.CAPACITY] == 0.04, details
    env.vif('plug-sriov', '--lpar', lpar, '--mac', port['mac_address'],
            '--vlan', details['vlan'], '--physical-ports',
            ','.join(details[const.PHYSICAL_PORTS]), '--redundancy',
            str(details[const.REDUNDANCY]), '--capacity', str(details[const.CAPACITY]))
    env.member.wait_for_port(port['id'], status='ACTIVE', timeout=WAIT)
    env.vif('unplug-sriov', '--lpar', lpar, '--mac', port['mac_address'])
    env.member.wait_for_port(port['id'], status='DOWN', timeout=WAIT)
    env.admin.delete_port(port['id'])


def test_member_may_not_set_binding_profile_or_host(env: Env) -> None:
    """Neutron's defaults: binding:profile and binding:host_id need the service/admin role."""
    net = _shared_vlan_network(env, 2130)
    profile = {const.VNIC_REQUIRED_VFS: 1}
    for attrs in ({'binding_profile': profile}, {'host_id': env.host}):
        with pytest.raises(NeutronApiError) as err:
            env.member.create_port(net['id'], vnic_type='direct', **attrs)
        assert err.value.status == 403, err.value
        assert 'binding:' in err.value.body
    port = env.member.create_port(net['id'], vnic_type='direct')
    with pytest.raises(NeutronApiError) as err:
        env.member.update_port(port['id'], {'binding:profile': profile})
    assert err.value.status == 403
    assert not env.admin.get_port(port['id'])['binding:profile']
    env.member.delete_port(port['id'])
