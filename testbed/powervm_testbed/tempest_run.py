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

"""tempest's network API tests against the test bed (``tools/tempest``, ``tox -e tempest``).

Installs tempest from PyPI into ``.venv-tempest`` (once), starts a stack (Keystone +
Neutron + a simulator with the SEA and SR-IOV agents on one host), writes
``tempest.conf`` for it (identity v3, the network service only, the extensions
Neutron reports, dynamic credentials from the admin account, an external network
for router gateways and floating IPs), runs ``tempest.api.network`` (or its smoke
tests) minus ``tempest-exclude.txt``, prints passed/failed/skipped and the wall
time, then checks that both agents are still alive and that the Neutron server
logs hold no error or traceback from ``networking_powervm``.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from networking_powervm.common import constants as const
from powervm_testbed import venvs
from powervm_testbed.agent_process import AgentProcessError
from powervm_testbed.neutron_stack import NeutronStack, StackError
from powervm_testbed.services import ServicesError
from powervm_testbed.venvs import VenvError

EXCLUDE_FILE = Path(__file__).with_name('tempest-exclude.txt')
NETWORK_REGEX = r'^tempest\.api\.network\.'
PUBLIC_CIDR = '172.24.4.0/24'
_SUMMARY = re.compile(r'^ - (Passed|Failed|Skipped): (\d+)', re.M)


class TempestError(RuntimeError):
    """tempest could not be installed, configured or run."""


@dataclass
class TempestResult:
    """Counts of one ``tempest run``, its wall time and the post-run checks."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    returncode: int = 0
    failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # dead agents, errors in logs
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failed and not self.problems

    def summary(self) -> str:
        return (f'tempest: {self.passed} passed, {self.failed} failed, {self.skipped} '
                f'skipped in {self.seconds:.0f}s')


def _ini(sections: dict[str, dict[str, Any]]) -> str:
    out = []
    for name, opts in sections.items():
        out.append(f'[{name}]')
        out += [f'{k} = {v}' for k, v in opts.items()]
        out.append('')
    return '\n'.join(out)


def public_network(stack: NeutronStack) -> str:
    """An external flat network with a subnet (router gateways, floating IPs); its id."""
    from powervm_testbed.neutron_client import NeutronClient

    admin = NeutronClient(stack.api_url, project_id=None)
    try:
        admin.project_id = admin.conn.current_project_id
        net = admin.create_network(f'public-{uuid.uuid4().hex[:6]}', physnet='physnet2',
                                   network_type='flat', **{'router:external': True})
        admin.create_subnet(net['id'], PUBLIC_CIDR, name='public-subnet')
        return net['id']
    finally:
        admin.close()


def extensions(stack: NeutronStack) -> list[str]:
    """Aliases of the API extensions Neutron reports."""
    from powervm_testbed.neutron_client import NeutronClient

    admin = NeutronClient(stack.api_url)
    try:
        return sorted(e['alias'] for e in admin.request('GET', 'extensions')['extensions'])
    finally:
        admin.close()


def write_config(stack: NeutronStack, workdir: Path, public_net_id: str) -> Path:
    """``etc/tempest.conf`` of a tempest workspace for ``stack``."""
    if stack.keystone is None:
        raise TempestError('tempest needs the Keystone stack (auth keystone)')
    ks = stack.keystone
    conf = workdir / 'etc' / 'tempest.conf'
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(_ini({
        'DEFAULT': {'log_file': workdir / 'tempest.log', 'debug': 'false'},
        'auth': {'use_dynamic_credentials': 'true', 'admin_username': 'admin',
                 'admin_password': ks.admin_password, 'admin_project_name': 'admin',
                 'admin_domain_name': 'Default', 'create_isolated_networks': 'true'},
        'identity': {'uri_v3': ks.auth_url, 'auth_version': 'v3', 'region': 'RegionOne',
                     'default_domain_id': 'default'},
        'identity-feature-enabled': {'api_v2': 'false'},
        'service_available': {'neutron': 'true', 'nova': 'false', 'glance': 'false',
                              'cinder': 'false', 'swift': 'false', 'horizon': 'false'},
        'network': {'public_network_id': public_net_id, 'floating_network_name': '',
                    'project_network_cidr': '10.100.0.0/16',
                    'project_network_mask_bits': 28, 'region': 'RegionOne',
                    'shared_physical_network': 'false'},
        'network-feature-enabled': {'api_extensions': ','.join(extensions(stack)),
                                    'ipv6': 'true', 'ipv6_subnet_attributes': 'true',
                                    'port_security': 'true'},
        'validation': {'run_validation': 'false'},
        'enforce_scope': {'neutron': 'true', 'keystone': 'true'},
    }))
    conf.chmod(0o600)
    # What `tempest init` writes: tests found from tempest's own package.
    top = _tempest_package_dir()
    (workdir / '.stestr.conf').write_text(
        f'[DEFAULT]\ntest_path={top / "test_discover"}\ntop_dir={top}\n'
        'group_regex=([^\\.]*\\.)*\n')
    return conf


def _tempest_venv() -> Path:
    return venvs.ensure_venv('tempest', venvs.TEMPEST_REQUIREMENTS)


def _tempest_package_dir() -> Path:
    res = subprocess.run([str(_tempest_venv() / 'bin/python'), '-c',
                          'import os, tempest; print(os.path.dirname(tempest.__file__))'],
                         capture_output=True, text=True, check=True, timeout=120)
    return Path(res.stdout.strip())


def run(stack: NeutronStack, workdir: Path, *, smoke: bool = False, concurrency: int = 2,
        regex: str = NETWORK_REGEX, agents: list[Any] | None = None,
        exclude_file: Path = EXCLUDE_FILE, timeout: float = 3 * 3600) -> TempestResult:
    """Run tempest's network API tests (``--smoke`` only with ``smoke``) against ``stack``."""
    workdir.mkdir(parents=True, exist_ok=True)
    venv = _tempest_venv()
    conf = write_config(stack, workdir, public_network(stack))
    log = workdir / 'tempest-run.log'
    if smoke:  # tempest's --smoke is its own regex, exclusive of --regex
        regex += r'.*\[.*\bsmoke\b.*\]'
    cmd = [str(venv / 'bin/tempest'), 'run', '--config-file', str(conf), '--regex', regex,
           '--concurrency', str(concurrency), '--exclude-list', str(exclude_file)]
    logs = (stack.api_log, stack.rpc_log)
    offsets = {p: p.stat().st_size if p.exists() else 0 for p in logs}
    t0 = time.monotonic()
    with open(log, 'wb') as out:
        res = subprocess.run(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                             timeout=timeout, check=False)
    result = TempestResult(seconds=time.monotonic() - t0, returncode=res.returncode, log=log)
    text = log.read_text(errors='replace')
    counts = {k: int(v) for k, v in _SUMMARY.findall(text)}
    result.passed, result.failed, result.skipped = (counts.get('Passed', 0),
                                                    counts.get('Failed', 0),
                                                    counts.get('Skipped', 0))
    result.failures = sorted(set(re.findall(r'^\{\d+\} (\S+) \[[\d.]+s\] \.\.\. FAILED',
                                            text, re.M)))
    if not counts:
        result.problems.append(f'no tempest summary in {log} (exit {res.returncode})')
    result.problems += check_after(agents or [], offsets)
    return result


def check_after(agents: list[Any], logs: dict[Path, int]) -> list[str]:
    """Dead agents, and networking_powervm errors or tracebacks in the Neutron server logs.

    ``logs`` maps each log to the offset it is read from (the run's own lines).
    """
    problems = [f'{Path(a.binary).name} on {a.host} exited ({a.returncode})'
                for a in agents if not a.running]
    for log, offset in logs.items():
        with open(log, 'rb') as f:
            f.seek(offset)
            text = f.read().decode(errors='replace')
        bad = [ln for ln in text.splitlines()
               if 'networking_powervm' in ln and (' ERROR ' in ln or 'Traceback' in ln
                                                  or 'File "' in ln)]
        if bad:
            problems.append(f'{len(bad)} networking_powervm error line(s) in {log}: '
                            + bad[0][:300])
    return problems


@contextlib.contextmanager
def agents_on_simulator(stack: NeutronStack, workdir: Path) -> Iterator[list[Any]]:
    """A ``single`` simulator with the SEA and SR-IOV agents of one host, alive in Neutron."""
    from powervm_sim.client import start_subprocess
    from powervm_testbed.agent_process import AgentProcess
    from powervm_testbed.neutron_client import NeutronClient

    password = secrets.token_urlsafe(12)
    sim = start_subprocess('single', workdir / 'sim', user='tempest-sim', password=password)
    host = f'tempest-{uuid.uuid4().hex[:6]}'
    powervm = {'host': sim.host, 'port': sim.port, 'protocol': sim.protocol,
               'username': sim.user, 'password': password}
    agents: list[Any] = []
    neutron = NeutronClient(stack.api_url)
    try:
        for kind, binary, agent_type, opts in (
                ('sea', 'networking-powervm-sea-agent', const.AGENT_TYPE_PVM_SEA,
                 {'bridge_mappings': 'default:ent8:vios1'}),
                ('sriov', 'networking-powervm-sriov-agent', const.AGENT_TYPE_PVM_SRIOV, {})):
            conf = stack.agent_config(host, {'AGENT': opts, 'powervm': powervm},
                                      name=f'{host}-{kind}')
            agents.append(AgentProcess(binary, conf, host, agent_type).start())
        for agent in agents:
            agent.wait_alive(neutron, timeout=120)
        yield agents
    finally:
        neutron.close()
        for agent in agents:
            agent.stop()
        sim.stop()


def main(argv: list[str] | None = None) -> int:
    """``tools/tempest``: 0 when tempest passed and the post-run checks are clean."""
    parser = argparse.ArgumentParser(prog='tools/tempest', description=__doc__.split('\n')[0])
    parser.add_argument('--workdir', type=Path, default=Path('run/tempest'))
    parser.add_argument('--smoke', action='store_true', help='only the smoke tests')
    parser.add_argument('--concurrency', type=int, default=2)
    parser.add_argument('--regex', default=NETWORK_REGEX)
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    t0 = time.monotonic()
    print('tempest: installing tempest (once) and starting Keystone + Neutron + agents ...',
          flush=True)
    try:
        _tempest_venv()
        with NeutronStack(workdir / 'stack', api_workers=2) as stack:
            print(f'tempest: stack up in {stack.timings["total"]:.0f}s '
                  f'({stack.memory_rss_mb():.0f} MiB); {stack.os_cloud_env()}', flush=True)
            with agents_on_simulator(stack, workdir) as agents:
                result = run(stack, workdir / 'tempest', smoke=args.smoke,
                             concurrency=args.concurrency, regex=args.regex, agents=agents)
    except KeyboardInterrupt:
        print('tempest: interrupted; stack torn down', file=sys.stderr)
        return 130
    except (StackError, ServicesError, VenvError, AgentProcessError, TempestError) as exc:
        print(f'tempest: ERROR: {exc}', file=sys.stderr)
        return 1
    print(result.summary() + f' (whole run {time.monotonic() - t0:.0f}s; log {result.log})')
    for name in result.failures:
        print(f'  FAILED {name}')
    for problem in result.problems:
        print(f'  PROBLEM {problem}')
    return 0 if result.ok else 1


if __name__ == '__main__':
    sys.exit(main())
