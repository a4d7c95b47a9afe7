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

"""Many hosts from one process: ``powervm-sim serve --hosts N --port P``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import network as pvm_net
from pypowervm.wrappers import virtual_io_server as pvm_vios

from powervm_sim import cli as sim_cli
from powervm_sim import client
from powervm_sim import hosts as sim_hosts
from tests.functional.conftest import PASSWORD, USER, log_off, new_adapter


@pytest.fixture
def three(tmp_path):
    """Three 'single' hosts in one process (threads), ports picked free."""
    servers = sim_hosts.build_servers('single', tmp_path, 3, user=USER, password=PASSWORD,
                                      poll_timeout=0.5)
    for server in servers:
        server.start()
    sim_hosts.write_server_json(tmp_path, servers)
    handles = [client.InThreadSim(url=s.url, user=USER, password=PASSWORD,
                                  state_dir=s.state_dir, server=s) for s in servers]
    yield handles
    for handle in handles:
        log_off(handle)
        handle.stop()


def _identity(sim):
    adpt = new_adapter(sim)
    system = pvm_ms.System.get(adpt)[0]
    lpars = pvm_lpar.LPAR.get(adpt)
    vios = pvm_vios.VIOS.get(adpt, xag=[])[0]
    macs = {c.mac for c in pvm_net.CNA.get(adpt, parent=vios)}
    return system, {p.uuid for p in lpars}, macs


def test_each_host_is_its_own_managed_system(three, tmp_path):
    ids = [_identity(sim) for sim in three]
    systems = [s for s, _u, _m in ids]
    assert len({s.uuid for s in systems}) == len({s.system_name for s in systems}) == 3
    assert len({s.mtms.serial for s in systems}) == 3
    assert systems[0].system_name == 'sim-8286-42A-21B1E3V'  # host 1 is the scenario's own
    lpar_sets = [u for _s, u, _m in ids]
    assert not (lpar_sets[0] & lpar_sets[1]) and not (lpar_sets[1] & lpar_sets[2])
    mac_sets = [m for _s, _u, m in ids]
    assert all(mac_sets) and not (mac_sets[0] & mac_sets[1]) and not (mac_sets[1] & mac_sets[2])
    assert [d.name for d in sim_hosts.host_dirs(tmp_path)] == ['host-001', 'host-002', 'host-003']
    assert all((d / 'state.json').is_file() for d in sim_hosts.host_dirs(tmp_path))
    info = json.loads((tmp_path / 'server.json').read_text())
    assert [h['url'] for h in info['hosts']] == [s.url for s in three] and \
        info['url'] == three[0].url


def test_hosts_keep_their_own_sessions_events_and_state(three):
    adpts = [new_adapter(sim) for sim in three]
    three[1].admin('POST', 'expire-sessions')
    stats = [sim.admin('GET', 'stats') for sim in three]
    assert [s['sessions'] for s in stats] == [1, 0, 1]
    lpar = next(p for p in pvm_lpar.LPAR.get(adpts[0]) if p.name == 'instance-00000001')
    vswitch = pvm_net.VSwitch.get(adpts[0], parent_type=pvm_ms.System,
                                  parent_uuid=pvm_ms.System.get(adpts[0])[0].uuid)[0]
    pvm_net.CNA.bld(adpts[0], 2001, vswitch.related_href).create(parent=lpar)
    assert [sim.admin('GET', 'stats')['events']['published'] for sim in three] == [2, 0, 0]
    counts = [sum(len(p['cnas']) for p in sim.admin('GET', 'state')['partitions'])
              for sim in three]
    assert counts == [2, 1, 1]
    assert three[0].admin('GET', 'hosts') == {'hosts': [sim.url for sim in three]}


def test_admin_and_inspect_address_one_host_or_all(three, capsys, tmp_path):
    base = ['--url', three[0].url, '--user', USER, '--password', PASSWORD]
    assert sim_cli.main(['admin', *base, '--all-hosts', 'expire-sessions']) == 0
    assert list(json.loads(capsys.readouterr().out)) == [sim.url for sim in three]
    assert sim_cli.main(['admin', *base, 'stats']) == 0
    assert 'requests' in json.loads(capsys.readouterr().out)  # one host: as before
    assert sim_cli.main(['inspect', *base, '--all-hosts', '--json']) == 0
    snaps = json.loads(capsys.readouterr().out)
    assert len({s['system']['uuid'] for s in snaps.values()}) == 3
    for sim in three:
        sim.server.save()
    assert sim_cli.main(['inspect', '--state-dir', str(tmp_path)]) == 0
    assert capsys.readouterr().out.count('##### ') == 3


def _free_range(count: int) -> int:
    """A first port P with P..P+count-1 free just now."""
    for first in range(31000, 60000, 97):
        socks = []
        try:
            for n in range(count):
                s = socket.socket()
                s.bind(('127.0.0.1', first + n))
                socks.append(s)
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError('no free port range')


def _rss_kb(pid: int) -> int:
    with open(f'/proc/{pid}/status') as fh:
        return int(next(line for line in fh if line.startswith('VmRSS:')).split()[1])


def test_fifty_single_hosts_on_consecutive_ports_in_little_memory(tmp_path):
    port = _free_range(50)
    one = client.start_subprocess('single', tmp_path / 'one', user=USER, password=PASSWORD)
    many = client.start_subprocess('single', tmp_path / 'many', user=USER, password=PASSWORD,
                                   port=port, extra_args=['--hosts', '50'])
    try:
        assert many.urls == [f'http://127.0.0.1:{port + n}' for n in range(50)]
        uuids = {client.admin_call(url, USER, PASSWORD, 'GET', 'state')['system']['uuid']
                 for url in many.urls}
        assert len(uuids) == 50
        per_host = (_rss_kb(many.proc.pid) - _rss_kb(one.proc.pid)) / 49
        print(f'memory per simulated single host: {per_host:.0f} kB')
        assert per_host < 2048
    finally:
        assert many.stop() == 0 and one.stop() == 0
    assert len(sim_hosts.host_dirs(tmp_path / 'many')) == 50


def test_a_port_in_use_in_the_range_stops_serve_before_any_state(tmp_path):
    port = _free_range(3)
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', port + 2))
        taken.listen()
        out = subprocess.run(
            [sys.executable, '-m', 'powervm_sim.cli', 'serve', '--hosts', '3', '--port',
             str(port), '--state-dir', str(tmp_path / 'state'), '--user', USER],
            env={**os.environ, sim_cli.PASSWORD_ENV: PASSWORD},
            capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f'powervm-sim serve: port {port + 2} on 127.0.0.1 is already in use']
    assert not (tmp_path / 'state').exists()


def test_hosts_beyond_the_last_port_named(tmp_path, capsys):
    rc = sim_cli.main(['serve', '--hosts', '10', '--port', '65530', '--state-dir',
                       str(tmp_path), '--user', USER, '--password', PASSWORD])
    assert rc == 2
    assert '--hosts 10 from port 65530' in capsys.readouterr().err
