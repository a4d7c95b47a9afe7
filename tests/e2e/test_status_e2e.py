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

"""networking-powervm-status against the simulator and a real Neutron: a host in
sync shows no drift; a VLAN removed by hand and a port bound with no adapter
show as exactly those two drifts, and the command changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from networking_powervm.common import constants as const
from powervm_testbed.neutron_stack import NeutronStack, write_ini
from tests.e2e.sea_fixtures import (
    NO_PERIODIC_HEAL,
    create_lpar,
    plug,
    random_mac,
    remove_vlan,
    sea_environment,
    wait_until,
)

STATUS = str(Path(sys.executable).with_name('networking-powervm-status'))


def _status(conf_files: list[Path], *extra: str) -> subprocess.CompletedProcess:
    args = [a for f in conf_files for a in ('--config-file', str(f))]
    return subprocess.run([STATUS, *args, *extra], capture_output=True, text=True, timeout=120)


def _report(conf_files: list[Path]) -> tuple[int, dict]:
    out = _status(conf_files, '--json')
    assert out.returncode in (0, 1), out.stderr
    return out.returncode, json.loads(out.stdout)


def test_status_shows_exactly_the_drift_made_by_hand(neutron_stack: NeutronStack, tmp_path):
    with sea_environment(neutron_stack, tmp_path, 'single',
                         heal_and_optimize_interval=NO_PERIODIC_HEAL) as env:
        # [neutron]: Neutron's API (Keystone password auth, or auth none on a noauth stack).
        creds = write_ini(tmp_path / 'status-neutron.ini',
                          {'neutron': neutron_stack.neutron_auth_options()})
        conf_files = [env.agent.config_file, creds]

        net = env.network(2301)
        vlan = net['provider:segmentation_id']
        lpar = create_lpar(env.adapter)
        mac_a = random_mac()
        port_a = env.port(net, mac=mac_a)
        plug(env.adapter, env.host_uuid, lpar, mac_a, vlan)
        env.wait_status(port_a['id'], 'ACTIVE')
        env.wait_vlans(present={vlan})

        code, report = _report(conf_files)
        assert (code, report['drift']) == (0, [])
        assert report['host'] == env.host
        [bridge] = report['bridges']
        assert bridge['physnets'] == ['default'] and vlan in bridge['vlans']
        assert bridge['seas'] == ['ent8@vios1']
        [port] = report['ports']
        assert (port['id'], port['vlan'], port['physnet']) == (port_a['id'], vlan, 'default')

        # Drift: a port bound here that no partition has, and (with the agent
        # stopped, so nothing heals) the VLAN removed from the bridge by hand.
        port_b = env.port(net, mac=random_mac())
        wait_until(lambda: env.neutron.get_port(port_b['id'])['binding:vif_type']
                   == const.VIF_TYPE_PVM_SEA, 'port B bound')
        env.agent.stop()
        remove_vlan(env.adapter, env.host_uuid, vlan)
        vlans_before = env.vlans(fresh=True)
        ports_before = {p['id']: p['status'] for p in env.neutron.list_ports(network_id=net['id'])}

        code, report = _report(conf_files)
        assert code == 1
        assert sorted((d['kind'], d['port_id'], d['vlan']) for d in report['drift']) == [
            ('no_adapter', port_b['id'], vlan), ('vlan_missing', port_a['id'], vlan)]

        text = _status(conf_files)
        assert text.returncode == 1, text.stderr
        assert 'Drift' in text.stdout and port_b['id'] in text.stdout
        assert 'vlan_missing' in text.stdout and 'no_adapter' in text.stdout

        # Read-only: the host and Neutron are as they were.
        assert env.vlans(fresh=True) == vlans_before
        assert {p['id']: p['status'] for p in env.neutron.list_ports(
            network_id=net['id'])} == ports_before


def test_status_without_neutron_credentials_says_what_is_missing(tmp_path):
    conf = write_ini(tmp_path / 'agent.ini', {'DEFAULT': {'host': 'h1'}})
    out = _status([conf])
    assert out.returncode == 2
    assert '[neutron] auth_type is not set' in out.stderr
