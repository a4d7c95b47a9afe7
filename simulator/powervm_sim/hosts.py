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

"""Many hosts from one process: ``powervm-sim serve --hosts N --port P``.

Host ``n`` (1..N) is its own NovaLink endpoint on port ``P + n - 1`` with its
own ManagedSystem (name, serial, UUID), state, events and sessions; with
``--hosts 1`` everything is as for a single host.  With N > 1 host ``n`` keeps
its state in ``<state-dir>/host-NNN/`` and ``<state-dir>/server.json`` lists
every host (its top-level ``url`` is host 1's).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from powervm_sim import httpd
from powervm_sim.server import SimServer, build_server

MAX_HOSTS = 1000


def host_dir(state_dir: pathlib.Path, number: int, hosts: int) -> pathlib.Path:
    """The state directory of host ``number`` of ``hosts``."""
    return state_dir if hosts == 1 else state_dir / f'host-{number:03d}'


def host_dirs(state_dir: pathlib.Path) -> list[pathlib.Path]:
    """The per-host state directories of a many-host state dir (empty for one host)."""
    return sorted(p for p in state_dir.glob('host-[0-9][0-9][0-9]') if p.is_dir())


def listen_all(bind: str, port: int, hosts: int) -> list[httpd.HTTPServer]:
    """Listeners on ``port``..``port+hosts-1`` (each a free port if ``port`` is 0)."""
    if not 1 <= hosts <= MAX_HOSTS:
        raise ValueError(f'--hosts {hosts} is not in 1-{MAX_HOSTS}')
    if port and port + hosts - 1 > 65535:
        raise ValueError(f'--hosts {hosts} from port {port} needs ports beyond 65535')
    listeners: list[httpd.HTTPServer] = []
    try:
        for n in range(hosts):
            listeners.append(httpd.listen(bind, port + n if port else 0))
    except BaseException:
        for listener in listeners:
            listener.server_close()
        raise
    return listeners


def build_servers(scenario: str, state_dir: pathlib.Path, hosts: int, *, user: str,
                  password: str, bind: str = '127.0.0.1', port: int = 0,
                  **kwargs: Any) -> list[SimServer]:
    """One SimServer per host, all listening before any state is read or written."""
    listeners = listen_all(bind, port, hosts)
    servers: list[SimServer] = []
    try:
        for n, listener in enumerate(listeners, 1):
            servers.append(build_server(scenario, host_dir(state_dir, n, hosts), user=user,
                                        password=password, bind=bind, host_number=n,
                                        listener=listener, **kwargs))
    except BaseException:
        for server in servers:
            server.httpd.server_close()
        for listener in listeners[len(servers):]:
            listener.server_close()
        raise
    urls = [s.url for s in servers]
    for server in servers:
        server.peers = urls
    return servers


def write_server_json(state_dir: pathlib.Path, servers: list[SimServer]) -> None:
    """Each host's server.json, and for many hosts the list in ``state_dir/server.json``."""
    for server in servers:
        server.write_server_json()
    if len(servers) > 1:
        info = {**servers[0].server_info(), 'state_dir': str(state_dir),
                'hosts': [s.server_info() for s in servers]}
        path = state_dir / 'server.json'
        tmp = path.with_suffix('.tmp')
        tmp.write_text(json.dumps(info, indent=2))
        tmp.replace(path)
