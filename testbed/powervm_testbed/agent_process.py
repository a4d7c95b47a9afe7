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

"""Run one of our L2 agents as a separate process for e2e tests and demos.

::

    agent = AgentProcess('networking-powervm-sea-agent', conf_path, host,
                         const.AGENT_TYPE_PVM_SEA)
    agent.start()
    agent.wait_alive(neutron)          # alive in GET /v2.0/agents (this process's start)
    agent.kill(); agent.start(); agent.wait_alive(neutron)
    agent.stop()                       # SIGTERM; returns the exit code

Output (stdout/stderr) goes to ``<log_file>.out``; ``log_tail()`` shows both files.
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from powervm_testbed.logs import tail


class AgentProcessError(RuntimeError):
    """The agent process did not start, died, or did not show up alive."""


class AgentLister(Protocol):
    """What wait_alive needs of a Neutron client (NeutronClient fits)."""

    def list_agents(self, **filters: Any) -> list[dict[str, Any]]: ...


def agent_binary(name: str) -> str:
    """Path of a console script next to this interpreter (or on PATH)."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise AgentProcessError(f'{name} not found next to {sys.executable} nor on PATH')
    return found


def log_file_of(config_file: Path) -> Path | None:
    """The ``[DEFAULT] log_file`` of an oslo.config INI file, if set."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config_file)
    value = parser.defaults().get('log_file')
    return Path(value) if value else None


class AgentProcess:
    """One agent process started from a config file; restartable.

    :param binary: console script name or path, e.g. ``networking-powervm-sea-agent``.
    :param config_file: the agent's config (e.g. from ``NeutronStack.agent_config``).
    :param host: the agent's ``[DEFAULT] host`` (its row in /v2.0/agents).
    :param agent_type: the agent type it reports.
    :param log_file: the oslo.log file; read from the config when omitted.
    """

    def __init__(self, binary: str, config_file: Path | str, host: str, agent_type: str,
                 log_file: Path | str | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.binary = binary if os.sep in binary else agent_binary(binary)
        self.config_file = Path(config_file)
        if not self.config_file.is_file():
            raise AgentProcessError(f'agent config file {self.config_file} does not exist')
        self.host = host
        self.agent_type = agent_type
        self.log_file = Path(log_file) if log_file else log_file_of(self.config_file)
        base = self.log_file or self.config_file
        self.out_file = base.with_name(base.name + '.out')
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._started_at: str | None = None  # Neutron's started_at of the last wait_alive

    # ------------------------------------------------------------------ state
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> AgentProcess:
        """Spawn the agent (a new session); AgentProcessError if one is running."""
        if self.running:
            raise AgentProcessError(f'agent on {self.host} already runs (pid {self.pid})')
        self.out_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.out_file, 'ab') as out:
            out.write(f'==== start #{self.starts + 1} at {time.ctime()} ====\n'.encode())
            out.flush()
            self.proc = subprocess.Popen(
                [self.binary, '--config-file', str(self.config_file), *self.extra_args],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, 'PYTHONUNBUFFERED': '1'}, start_new_session=True)
        self.starts += 1
        return self

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the agent process (no-op when it is not running)."""
        if self.running:
            assert self.proc is not None
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to exit; its exit code (AgentProcessError on timeout)."""
        if self.proc is None:
            raise AgentProcessError(f'agent on {self.host} was never started')
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AgentProcessError(
                f'agent on {self.host} (pid {self.pid}) still runs after {timeout:.0f}s\n'
                + self.log_tail()) from None

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM and wait; SIGKILL if it outlives ``timeout``. The exit code (None: never run)."""
        if self.proc is None:
            return None
        if self.running:
            self.signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self) -> int | None:
        """SIGKILL (no clean-up chance) and reap; the exit code."""
        if self.proc is None:
            return None
        if self.running:
            self.signal(signal.SIGKILL)
            self.proc.wait(30)
        return self.proc.returncode

    def restart(self, kill: bool = False, timeout: float = 15) -> AgentProcess:
        """Stop (SIGTERM, or SIGKILL with ``kill``) and start again with the same config."""
        self.kill() if kill else self.stop(timeout)
        return self.start()

    def wait_alive(self, neutron: AgentLister, timeout: float = 60,
                   interval: float = 0.5) -> dict[str, Any]:
        """Wait until this process's agent shows ``alive`` in GET /v2.0/agents.

        After a restart, waits for a new ``started_at`` too (Neutron still shows
        the previous process alive for agent_down_time). Raises AgentProcessError
        with the log tail if the process exits or the timeout passes.
        """
        deadline = time.monotonic() + timeout
        previous = self._started_at
        last: dict[str, Any] | None = None
        while True:
            if not self.running:
                raise AgentProcessError(
                    f'agent on {self.host} exited with {self.returncode} before showing up '
                    f'alive\n{self.log_tail()}')
            agents = neutron.list_agents(host=self.host, agent_type=self.agent_type)
            last = agents[0] if agents else None
            if (last is not None and last.get('alive') is True
                    and (previous is None or last.get('started_at') != previous)):
                self._started_at = last.get('started_at')
                return last
            if time.monotonic() >= deadline:
                raise AgentProcessError(
                    f'agent {self.agent_type!r} on {self.host} not alive (new start) within '
                    f'{timeout:.0f}s; last seen {last!r}\n{self.log_tail()}')
            time.sleep(interval)

    # ------------------------------------------------------------------ logs
    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the oslo.log file and of the process output."""
        parts = [tail(self.log_file, lines), tail(self.out_file, min(lines, 20))]
        return '\n'.join(p for p in parts if p)


    def log_text(self) -> str:
        """The whole oslo.log file ('' if none yet)."""
        if self.log_file is None:
            return ''
        try:
            return self.log_file.read_text(errors='replace')
        except OSError:
            return ''

    def __enter__(self) -> AgentProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
