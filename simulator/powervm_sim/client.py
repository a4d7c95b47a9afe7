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

"""Start/stop a simulator (in-process or as a subprocess) and call its admin API.

For tests, the demo and the benchmarks::

    sim = start_in_thread('single', tmp_path, user='admin', password='pw')
    ...  # sim.url, sim.host/sim.port, sim.admin('POST', 'fault', kind='412', count=2)
    sim.stop()

    proc = start_subprocess('redundant', tmp_path, user='admin', password='pw')
    ...  # proc.url, proc.admin(...), proc.restart_process()
    proc.stop()
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import requests

from powervm_sim.server import build_server

DEFAULT_USER = 'admin'
DEFAULT_PASSWORD = 'sim-password'


class AdminError(Exception):
    """An admin API call failed; the message names the action and the server's error."""


def admin_call(url: str, user: str, password: str, method: str, action: str,
               verify: bool | str = False, timeout: float = 30, **args: Any) -> dict:
    """Call ``METHOD /sim/admin/<action>`` with ``args`` as the JSON body."""
    resp = requests.request(method, url.rstrip('/') + '/sim/admin/' + action.strip('/'),
                            auth=(user, password), json=args if args else None,
                            verify=verify, timeout=timeout)
    try:
        payload = resp.json()
    except ValueError:
        payload = {'error': resp.text[:200]}
    if resp.status_code != 200:
        raise AdminError(f'{method} {action}: HTTP {resp.status_code}: '
                         f'{payload.get("error", payload)}')
    return payload


@dataclass
class _Handle:
    url: str
    user: str
    password: str
    state_dir: pathlib.Path
    cert: str | None = None
    certpath: str | None = None

    @property
    def host(self) -> str:
        """Host name to give pypowervm's Session."""
        return urllib.parse.urlsplit(self.url).hostname or '127.0.0.1'

    @property
    def port(self) -> int:
        """TCP port."""
        return urllib.parse.urlsplit(self.url).port or 0

    @property
    def protocol(self) -> str:
        """'http' or 'https'."""
        return urllib.parse.urlsplit(self.url).scheme

    def admin(self, method: str, action: str, **args: Any) -> dict:
        """Admin API call (see server.SimServer._admin_action)."""
        return admin_call(self.url, self.user, self.password, method, action,
                          verify=self.cert or False, **args)

    def session_kwargs(self, file_auth: bool = False) -> dict:
        """Keyword arguments for pypowervm.adapter.Session(...)."""
        kwargs: dict[str, Any] = {'host': self.host, 'port': self.port,
                                  'protocol': self.protocol,
                                  'username': self.user if not file_auth else None,
                                  'password': self.password if not file_auth else None}
        if self.certpath:
            kwargs['certpath'] = self.certpath
        return kwargs


@dataclass
class InThreadSim(_Handle):
    """A simulator served by a thread of this process."""

    server: Any = field(default=None, repr=False)

    def stop(self, save: bool = True) -> None:
        """Shut the server down (state saved)."""
        self.server.shutdown(save=save)


def start_in_thread(scenario: str, state_dir: pathlib.Path, user: str = DEFAULT_USER,
                    password: str = DEFAULT_PASSWORD, **kwargs: Any) -> InThreadSim:
    """Build and start a SimServer on 127.0.0.1 port 0 in a daemon thread.

    ``kwargs`` go to SimServer (tls, latency, poll_timeout, max_queue, idle_timeout, ...).
    """
    kwargs.setdefault('port', 0)
    server = build_server(scenario, pathlib.Path(state_dir), user=user, password=password,
                          **kwargs)
    server.start()
    server.write_server_json()
    info = server.server_info()
    return InThreadSim(url=server.url, user=user, password=password,
                       state_dir=pathlib.Path(state_dir), cert=info['cert'],
                       certpath=info['certpath'], server=server)


@dataclass
class SubprocessSim(_Handle):
    """A ``powervm-sim serve`` child process."""

    argv: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = field(default=None, repr=False)
    # Every host's URL (serve --hosts N); ``url`` is the first's.
    urls: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM (clean shutdown, state saved); returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: no chance to save (state_dir must still hold committed state)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart_process(self, kill: bool = False, timeout: float = 30) -> None:
        """Stop (or kill) the process and start it again on the same port and state dir."""
        self.kill() if kill else self.stop()
        argv = list(self.argv)
        argv[argv.index('--port') + 1] = str(self.port)
        started = _spawn(argv, self.state_dir, timeout, self.password)
        self.proc, self.url, self.urls = started.proc, started.url, started.urls


def _spawn(argv: list[str], state_dir: pathlib.Path, timeout: float,
           password: str) -> SubprocessSim:
    info_path = state_dir / 'server.json'
    info_path.unlink(missing_ok=True)
    log = open(state_dir / 'server.log', 'ab')  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, 'PYTHONUNBUFFERED': '1',
                                 'POWERVM_SIM_PASSWORD': password})
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state_dir / 'server.log').read_text(errors='replace')[-2000:]
            raise RuntimeError(f'powervm-sim exited with {proc.returncode}:\n{tail}')
        try:
            info = json.loads(info_path.read_text())
            if info.get('pid') == proc.pid:
                urls = [h['url'] for h in info.get('hosts', [])] or [info['url']]
                return SubprocessSim(url=info['url'], user='', password=password,
                                     state_dir=state_dir, cert=info.get('cert'),
                                     certpath=info.get('certpath'), argv=argv, proc=proc,
                                     urls=urls)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f'powervm-sim did not write {info_path} within {timeout}s')


def start_subprocess(scenario: str, state_dir: pathlib.Path, user: str = DEFAULT_USER,
                     password: str = DEFAULT_PASSWORD, port: int = 0,
                     extra_args: list[str] | None = None, timeout: float = 60) -> SubprocessSim:
    """Run ``powervm-sim serve`` on 127.0.0.1 and wait for its server.json."""
    state_dir = pathlib.Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, '-m', 'powervm_sim.cli', 'serve',
            '--host', '127.0.0.1', '--port', str(port), '--scenario', scenario,
            '--state-dir', str(state_dir), '--user', user, *(extra_args or [])]
    # The password goes by environment, not argv: nothing shows it in the process list.
    sim = _spawn(argv, state_dir, timeout, password)
    sim.user, sim.password = user, password
    return sim
