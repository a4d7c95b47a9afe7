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

"""`powervm-sim serve|admin|inspect` and `powervm-vif` end to end."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import socket
import subprocess
import sys

import pytest
from pypowervm.tasks import network_bridger as nbr
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net

from powervm_sim import cli as sim_cli
from powervm_sim import client
from powervm_vif import cli as vif_cli
from powervm_vif import partition
from tests.functional.conftest import PASSWORD, USER, log_off, new_adapter


def _vlans(sim) -> set[int]:
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    nb = pvm_net.NetBridge.get(adpt, parent_type=pvm_ms.System, parent_uuid=host_uuid)[0]
    return set(nb.list_vlans())


def _add_vlan(sim, vlan: int) -> None:
    adpt = new_adapter(sim)
    host_uuid = partition.host_uuid(adpt)
    nb = pvm_net.NetBridge.get(adpt, parent_type=pvm_ms.System, parent_uuid=host_uuid)[0]
    nbr.ensure_vlans_on_nb(adpt, host_uuid, nb.uuid, [vlan])


def test_serve_subprocess_sigterm_and_kill_keep_state(tmp_path):
    sim = client.start_subprocess('single', tmp_path, user=USER, password=PASSWORD)
    try:
        info = json.loads((tmp_path / 'server.json').read_text())
        assert info['url'] == sim.url and info['pid'] == sim.proc.pid
        assert PASSWORD not in (tmp_path / 'server.json').read_text()
        assert 'powervm-sim listening on ' + sim.url in (tmp_path / 'server.log').read_text()
        _add_vlan(sim, 901)
        port = sim.port
        log_off(sim)
        sim.restart_process()  # SIGTERM, then the same command on the same port
        assert sim.port == port
        assert 'state saved' in (tmp_path / 'server.log').read_text()
        assert 901 in _vlans(sim)
        _add_vlan(sim, 902)
        log_off(sim)
        sim.restart_process(kill=True)  # no clean shutdown: committed state survives
        assert {901, 902} <= _vlans(sim)
        assert PASSWORD not in (tmp_path / 'server.log').read_text()
        # The password travels by environment: not in the process list.
        cmdline = open(f'/proc/{sim.proc.pid}/cmdline', 'rb').read().decode()
        assert PASSWORD not in cmdline and 'serve' in cmdline
    finally:
        log_off(sim)
        assert sim.stop() == 0


def test_serve_and_admin_need_a_password(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(sim_cli.PASSWORD_ENV, raising=False)
    for argv in (['serve', '--state-dir', str(tmp_path), '--user', 'u'],
                 ['admin', '--url', 'http://127.0.0.1:1', '--user', 'u', 'stats']):
        with pytest.raises(SystemExit) as exc:
            sim_cli.main(argv)
        assert exc.value.code == 2
        assert f'--password (or ${sim_cli.PASSWORD_ENV}) is required' in capsys.readouterr().err


@pytest.mark.parametrize('argv,bad', [
    (['--port', '99999'], '99999'),
    (['--latency', 'slowish'], 'slowish'),
    (['--fault', 'explode:2'], 'explode'),
    (['--max-queue', '-3'], '-3'),
])
def test_serve_bad_arguments_name_the_value(tmp_path, capsys, argv, bad):
    base = ['serve', '--state-dir', str(tmp_path), '--user', 'u', '--password', 'p']
    with pytest.raises(SystemExit) as exc:
        sim_cli.main(base + argv)
    assert exc.value.code == 2
    assert bad in capsys.readouterr().err


def test_version_comes_from_the_package_metadata():
    out = subprocess.run([sys.executable, '-m', 'powervm_sim.cli', '--version'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.strip() == f'powervm-sim {importlib.metadata.version("powervm-sim")}'


def test_serve_on_a_port_in_use_says_so_and_writes_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        state = tmp_path / 'state'
        out = subprocess.run(
            [sys.executable, '-m', 'powervm_sim.cli', 'serve', '--port', str(port),
             '--state-dir', str(state), '--user', USER],
            env={**os.environ, sim_cli.PASSWORD_ENV: PASSWORD},
            capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f'powervm-sim serve: port {port} on 127.0.0.1 is already in use']
    assert not state.exists()


def _actions(parser, where='powervm-sim'):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice for choice in action._choices_actions}
            for name, sub in action.choices.items():
                # argparse lists a command among _choices_actions only if it has help
                yield f'{where} {name}', helps.get(name, argparse.Action([], name))
                yield from _actions(sub, f'{where} {name}')
        else:
            yield f'{where} {"/".join(action.option_strings) or action.dest}', action


def test_every_command_and_option_has_help():
    missing = [name for name, action in _actions(sim_cli.build_parser()) if not action.help]
    assert missing == []


def test_serve_unknown_scenario_names_it(tmp_path, capsys):
    rc = sim_cli.main(['serve', '--state-dir', str(tmp_path), '--user', 'u', '--password',
                       'p', '--port', '0', '--scenario', 'no-such-scenario'])
    assert rc == 2
    assert 'no-such-scenario' in capsys.readouterr().err


def test_admin_and_inspect_commands(sim, capsys):
    remote = ['--url', sim.url, '--user', USER, '--password', PASSWORD]
    assert sim_cli.main(['admin', *remote, 'fault', '503', '--count', '2']) == 0
    armed = sim.admin('GET', 'fault')['armed']
    assert [(f['kind'], f['count']) for f in armed] == [('service_unavailable', 2)]
    assert sim_cli.main(['admin', *remote, 'fault', '--clear']) == 0
    assert sim.admin('GET', 'fault')['armed'] == []
    assert sim_cli.main(['admin', *remote, 'latency', 'novalink']) == 0
    assert sim.admin('GET', 'stats')['latency'] == 'novalink'
    assert sim_cli.main(['admin', *remote, 'latency', 'none']) == 0
    capsys.readouterr()
    assert sim_cli.main(['admin', '--url', sim.url, '--user', USER, '--password', 'bad',
                         'stats']) == 1
    assert 'HTTP 401' in capsys.readouterr().err
    assert sim_cli.main(['inspect', *remote]) == 0
    out = capsys.readouterr().out
    assert '== Network bridges (1) ==' in out and 'legacy-db' in out
    assert 'FAD400000002' in out
    assert sim_cli.main(['inspect', '--state-dir', str(sim.state_dir)]) == 0
    assert 'vios1' in capsys.readouterr().out


def test_powervm_vif_cli_plug_unplug(sim, capsys):
    remote = ['--url', sim.url, '--user', USER, '--password', PASSWORD]
    assert vif_cli.main([*remote, 'create-lpar', 'vm-cli']) == 0
    assert json.loads(capsys.readouterr().out)['name'] == 'vm-cli'
    assert vif_cli.main([*remote, 'plug-sea', '--lpar', 'vm-cli', '--mac',
                         'fa:16:3e:aa:bb:cc', '--vlan', '2001']) == 0
    href = json.loads(capsys.readouterr().out)['href']
    fresh = new_adapter(sim)
    lpar = partition.find_lpar(fresh, 'vm-cli')
    cnas = pvm_net.CNA.get(fresh, parent_type=pvm_lpar.LPAR, parent_uuid=lpar.uuid)
    assert [(c.mac, c.pvid) for c in cnas] == [('FA163EAABBCC', 2001)]
    assert href.endswith(cnas[0].uuid)
    assert vif_cli.main([*remote, 'unplug-sea', '--lpar', 'vm-cli', '--mac',
                         'FA:16:3E:AA:BB:CC']) == 0
    assert pvm_net.CNA.get(new_adapter(sim), parent_type=pvm_lpar.LPAR,
                           parent_uuid=lpar.uuid) == []
    capsys.readouterr()
    assert vif_cli.main([*remote, 'unplug-sea', '--lpar', 'no-such-vm', '--mac',
                         'fa:16:3e:aa:bb:cc']) == 2
    assert 'no-such-vm' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        vif_cli.main([*remote, 'plug-sea', '--lpar', 'vm-cli', '--mac', 'zz:16', '--vlan', '5'])
    assert "'zz:16'" in capsys.readouterr().err


def test_fault_spec_with_scope_and_resource():
    spec = sim_cli._fault_spec('412:3,resource=NetworkBridge')
    assert spec == {'kind': '412', 'count': 3, 'resource': 'NetworkBridge'}
    assert sim_cli._fault_spec('503:0.5@30,scope=reads') == {
        'kind': '503', 'fraction': 0.5, 'seconds': 30.0, 'scope': 'reads'}


@pytest.mark.parametrize('spec,bad', [
    ('412:2,resource=Logon', "'Logon'"),
    ('412:2,colour=red', "'colour=red'"),
    ('503:0', '0'),
    ('503:1,scope=sideways', "'sideways'"),
])
def test_serve_bad_fault_spec_named(tmp_path, capsys, spec, bad):
    with pytest.raises(SystemExit) as exc:
        sim_cli.main(['serve', '--state-dir', str(tmp_path), '--user', 'u', '--password', 'p',
                      '--fault', spec])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert spec in err and bad in err


def test_admin_fault_resource(sim):
    remote = ['--url', sim.url, '--user', USER, '--password', PASSWORD]
    assert sim_cli.main(['admin', *remote, 'fault', '412', '--count', '2', '--resource',
                         'NetworkBridge']) == 0
    armed = sim.admin('GET', 'fault')['armed']
    assert [(f['kind'], f['count'], f['resource']) for f in armed] == [
        ('etag_mismatch', 2, 'NetworkBridge')]


@pytest.mark.parametrize('port', ['99999', 'abc', '0'])
def test_powervm_vif_bad_port_named(port, capsys):
    with pytest.raises(SystemExit) as exc:
        vif_cli.main(['--port', port, 'create-lpar', 'x'])
    assert exc.value.code == 2
    assert f"invalid port '{port}'" in capsys.readouterr().err
