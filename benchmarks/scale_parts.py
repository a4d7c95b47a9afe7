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

"""Pieces of scale_bench.py: many simulated hosts with their agents, and what it samples.

* ScaleHosts: one ``powervm-sim serve --hosts N`` process, two agent processes per
  host (SEA + SR-IOV, the fault campaign's configs), a plug burst over all hosts;
* AgentWatch: polls GET /v2.0/agents in a thread (all alive?, alive->dead flaps);
* VhostTraffic: the broker's per-connection packet counters of ONE vhost
  (``rabbitmqctl list_connections``), as a rate;
* cpu_seconds: CPU time of a set of processes (neutron-server);
* heal spread: when each agent's heal passes ended (its log), bunched or spread.
"""

from __future__ import annotations

import dataclasses
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import floor_parts as fp
import plug_bench as pb
import psutil
from pypowervm import adapter as pvm_adapter
from pypowervm.tasks import cna as pvm_cna
from pypowervm.util import sanitize_mac_for_api

from networking_powervm.common import constants as const
from powervm_sim import client as sim_client
from powervm_testbed import fault_campaign as fc
from powervm_testbed.agent_process import AgentProcess
from powervm_testbed.neutron_client import NeutronClient
from powervm_testbed.neutron_stack import NeutronStack
from powervm_vif import events as vif_events
from powervm_vif import partition, sea_vif

# The agents' console scripts without jitter: heal_timer's rng answers 0 (the
# timing before heal_timer: exact intervals, resyncs at once, no back-off jitter).
_NO_JITTER = '''#!{python}
import sys
from networking_powervm.agent import heal_timer


class _NoJitter:
    @staticmethod
    def random():
        return 0.0


heal_timer.new_rng = _NoJitter
from networking_powervm.cmd import {module} as _cmd  # noqa: E402
sys.exit(_cmd.main())
'''


def no_jitter_binaries(directory: Path) -> dict[str, str]:
    """Wrapper scripts running both agents with the jitter off; {agent: path}."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for agent, module in ((fc.inv.SEA, 'sea_agent'), (fc.inv.SRIOV, 'sriov_agent')):
        path = directory / f'{module}-no-jitter'
        path.write_text(_NO_JITTER.format(python=sys.executable, module=module))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        out[agent] = str(path)
    return out


# --------------------------------------------------------------------------- hosts

@dataclasses.dataclass
class Host:
    name: str
    sim: Any                      # this host's simulator handle (its own URL)
    agents: dict[str, AgentProcess]
    adapter: Any = None           # the compute side's pypowervm adapter
    host_uuid: str = ''


class ScaleHosts:
    """N simulated hosts (one simulator process), two agent processes per host."""

    def __init__(self, stack: NeutronStack, workdir: Path, count: int, tag: str, *,
                 heal_interval: int, report_interval: int, rpc_timeout: int = 60,
                 latency: str = 'none', binaries: dict[str, str] | None = None) -> None:
        self.stack, self.count, self.tag = stack, count, tag
        self.sim = sim_client.start_subprocess(
            'single', workdir / f'sim-{tag}', user=fc.SIM_USER, password=fc.SIM_PASSWORD,
            extra_args=['--hosts', str(count), '--latency', latency, '--log-level', 'WARNING'],
            timeout=300)
        self.hosts: list[Host] = []
        for n, url in enumerate(self.sim.urls, 1):
            handle = dataclasses.replace(self.sim, url=url)
            name = f'{tag}-h{n:02d}'
            sections = fc.agent_sections(handle, heal_interval, report_interval)
            sections['DEFAULT'] = {**sections['DEFAULT'], 'rpc_response_timeout': rpc_timeout}
            self.hosts.append(Host(name, handle, fc.host_agents(stack, name, sections, binaries)))

    @property
    def agents(self) -> list[AgentProcess]:
        return [a for h in self.hosts for a in h.agents.values()]

    def start_agents(self) -> None:
        for agent in self.agents:
            if agent.log_file is not None:
                agent.log_file.unlink(missing_ok=True)
            agent.start()

    def check_running(self) -> None:
        dead = [a for a in self.agents if not a.running]
        if dead:
            raise RuntimeError(f'{len(dead)} agent(s) exited, e.g. {dead[0].host} '
                               f'({dead[0].agent_type}):\n{dead[0].log_tail(30)}')

    def stop(self) -> None:
        for agent in self.agents:
            agent.signal(15)
        for agent in self.agents:
            agent.stop(timeout=10)
        for host in self.hosts:
            if host.adapter is not None:
                try:
                    host.adapter.session._logoff()
                except Exception:  # noqa: BLE001 - best effort at teardown
                    pass
        self.sim.stop()

    def rss_mib(self) -> dict[str, list[float]]:
        """Resident memory of each agent process, by agent (sea / sriov)."""
        out: dict[str, list[float]] = {}
        for host in self.hosts:
            for kind, agent in host.agents.items():
                try:
                    rss = psutil.Process(agent.pid).memory_info().rss / 2**20
                except (psutil.NoSuchProcess, TypeError):
                    continue
                out.setdefault(kind, []).append(rss)
        return out

    # ------------------------------------------------------------ plugs
    def _adapter(self, host: Host) -> Any:
        if host.adapter is None:
            session = pvm_adapter.Session(**host.sim.session_kwargs(), conn_tries=3)
            host.adapter = pvm_adapter.Adapter(session)
            host.host_uuid = partition.host_uuid(host.adapter)
        return host.adapter

    def prepare_plugs(self, neutron: NeutronClient, per_host: int, nets: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
        """Per host ``per_host`` partitions with a CNA, and their bound Neutron ports."""
        plugs = []
        for hn, host in enumerate(self.hosts):
            for i in range(per_host):
                n = hn * 1000 + i
                net = nets[i % len(nets)]
                plugs.append({'host': host, 'name': f'{host.name}-vm{i:03d}',
                              'vlan': net['provider:segmentation_id'], 'net': net['id'],
                              'mac': f'fa:16:3e:{self.count:02x}:{n >> 8 & 255:02x}:'
                                     f'{n & 255:02x}'})

        def setup(p: dict[str, Any]) -> None:
            adapter = self._adapter(p['host'])
            p['lpar'] = partition.create_lpar(adapter, p['name']).uuid
            cna = pvm_cna.crt_cna(adapter, p['host'].host_uuid, p['lpar'], pvid=p['vlan'],
                                  mac_addr=sanitize_mac_for_api(p['mac']))
            p['href'] = sea_vif.cna_href(cna)

        for host in self.hosts:  # sessions first, one at a time
            self._adapter(host)
        with futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(setup, plugs))
        pb.create_sea_ports(neutron, plugs, [
            {'network_id': p['net'], 'mac_address': p['mac'], 'name': p['name'],
             'device_id': p['lpar'], 'binding:host_id': p['host'].name} for p in plugs])
        return plugs


def post_plugs(plugs: list[dict[str, Any]]) -> dict[str, float]:
    """Post every plug event at once (one thread each); {port id: monotonic post time}."""
    at: dict[str, float] = {}
    gate = threading.Barrier(len(plugs))

    def post(p: dict[str, Any]) -> None:
        gate.wait()
        at[p['port_id']] = time.monotonic()
        fc.retry(lambda: vif_events.post_vif_event(
            p['host'].adapter, const.EVENT_ACTION_PLUG, p['mac'], const.VIF_TYPE_PVM_SEA,
            p['href']), f'posting the plug event of {p["mac"]}', timeout=30)

    with futures.ThreadPoolExecutor(len(plugs)) as pool:
        for fut in [pool.submit(post, p) for p in plugs]:
            fut.result()
    return at


def port_status(neutron: NeutronClient, net_ids: list[str]) -> dict[str, str]:
    """{port id: status} of the ports on ``net_ids``."""
    return {p['id']: p['status'] for p in neutron.list_ports(
        network_id=net_ids, fields=['id', 'status'])}


def wait_active(neutron: NeutronClient, net_ids: list[str], port_ids: list[str],
                poll: float, timeout: float, check: Callable[[], None]) -> dict[str, float]:
    """Monotonic time each port was first seen ACTIVE."""
    seen: dict[str, float] = {}
    pending = set(port_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        status = port_status(neutron, net_ids)
        now = time.monotonic()
        for pid in [p for p in pending if status.get(p) == 'ACTIVE']:
            seen[pid] = now
            pending.discard(pid)
        check()
        if pending:
            time.sleep(poll)
    return seen


# --------------------------------------------------------------------------- agents alive

class AgentWatch:
    """Polls GET /v2.0/agents for ``hosts``: alive counts, alive->dead transitions."""

    def __init__(self, api_url: str, hosts: set[str], poll: float = 1.0) -> None:
        self.neutron = NeutronClient(api_url)
        self.hosts, self.poll = hosts, poll
        self.alive: dict[tuple[str, str], bool] = {}
        self.flaps = 0           # alive -> dead transitions seen
        self.errors = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name='agent-watch')
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rows = self.neutron.list_agents(fields=['host', 'agent_type', 'alive'])
            except Exception:  # noqa: BLE001 - the API restarting: try again
                self.errors += 1
                self._stop.wait(self.poll)
                continue
            with self._cond:
                for row in rows:
                    if row['host'] not in self.hosts:
                        continue
                    key = (row['host'], row['agent_type'])
                    if self.alive.get(key) and not row['alive']:
                        self.flaps += 1
                    self.alive[key] = bool(row['alive'])
                self._cond.notify_all()
            self._stop.wait(self.poll)

    def count_alive(self) -> int:
        with self._cond:
            return sum(self.alive.values())

    def wait_all(self, expected: int, timeout: float, check: Callable[[], None]
                 ) -> float | None:
        """Monotonic time all ``expected`` agents were seen alive (None: timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                self._cond.wait(self.poll * 2)
                if sum(self.alive.values()) >= expected:
                    return time.monotonic()
            check()
        return None

    def wait_some_dead(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                self._cond.wait(self.poll * 2)
                if self.alive and not all(self.alive.values()):
                    return True
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.neutron.close()


# --------------------------------------------------------------------------- RabbitMQ

def rabbitmqctl(*args: str) -> str:
    """rabbitmqctl -q ARGS (the stack's vhost only; never the server itself)."""
    res = subprocess.run(['rabbitmqctl', '-q', *args], capture_output=True, text=True,
                         timeout=60, check=False)
    if res.returncode != 0:
        raise RuntimeError(f'rabbitmqctl {" ".join(args)}: {(res.stdout + res.stderr).strip()}')
    return res.stdout


class VhostTraffic:
    """Packets clients sent the broker (``recv_cnt``) on one vhost's connections, as a rate.

    A connection's counter goes with it: a rate between two samples counts the
    connections of the second sample (new ones from 0), so reconnections are not negative.
    """

    def __init__(self, vhost: str) -> None:
        self.vhost = vhost

    def sample(self) -> tuple[float, dict[str, int]]:
        out = rabbitmqctl('list_connections', '--no-table-headers', 'name', 'vhost',
                          'recv_cnt')
        counts: dict[str, int] = {}
        for line in out.splitlines():
            parts = line.rsplit('\t', 2)
            if len(parts) == 3 and parts[1] == self.vhost and parts[2].isdigit():
                counts[parts[0]] = int(parts[2])
        return time.monotonic(), counts

    @staticmethod
    def rate(before: tuple[float, dict[str, int]], after: tuple[float, dict[str, int]]) -> float:
        seconds = max(1e-6, after[0] - before[0])
        total = sum(max(0, n - before[1].get(name, 0)) for name, n in after[1].items())
        return total / seconds

    def outage(self, user: str, seconds: float) -> None:
        """Revoke ``user``'s permissions on the vhost, close its connections, wait, restore."""
        rabbitmqctl('clear_permissions', '-p', self.vhost, user)
        rabbitmqctl('close_all_connections', '--vhost', self.vhost, '--limit', '100000',
                    'scale bench: vhost outage')
        time.sleep(seconds)
        rabbitmqctl('set_permissions', '-p', self.vhost, user, '.*', '.*', '.*')


class RateSampler:
    """VhostTraffic sampled every ``every`` seconds in a thread; the peak rate."""

    def __init__(self, traffic: VhostTraffic, every: float = 3.0) -> None:
        self.traffic, self.every = traffic, every
        self.rates: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name='rate-sampler')
        self._thread.start()

    def _run(self) -> None:
        prev = None
        while not self._stop.is_set():
            try:
                cur = self.traffic.sample()
            except Exception:  # noqa: BLE001 - permissions being restored etc.
                cur = None
            if prev is not None and cur is not None:
                self.rates.append(VhostTraffic.rate(prev, cur))
            prev = cur
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(70)
        return max(self.rates, default=float('nan'))


# --------------------------------------------------------------------------- CPU

def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (gone processes count 0)."""
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def server_pids(stack: NeutronStack) -> list[int]:
    """neutron-server: the API's and the RPC server's processes (with their workers)."""
    return stack.pids('neutron-api') + stack.pids('neutron-rpc-server')


# --------------------------------------------------------------------------- heal spread

_RESYNC = re.compile(r'Full resync \(heal\) in')


def heal_ends(agents: list[AgentProcess], start: float, end: float) -> list[float]:
    """Epoch times of every agent's 'Heal and optimize done' lines in [start, end]."""
    return [t for agent in agents for t, _ in fp.heal_done(agent.log_file) if start <= t <= end]


def resync_heal_ends(agents: list[AgentProcess], start: float, end: float) -> list[float]:
    """Per agent that scheduled a full resync in [start, end]: when the next heal ended."""
    out = []
    for agent in agents:
        lines = fp._lines(agent.log_file)
        asked = [fp._epoch(m.group(1)) for ln in lines
                 if _RESYNC.search(ln) and (m := fp._OSLO_TS.match(ln))]
        asked = [t for t in asked if start <= t <= end]
        if asked:
            done = [t for t, _ in fp.heal_done(agent.log_file) if asked[0] <= t <= end]
            if done:
                out.append(done[0])
    return out


def peak_in(times: list[float], width: float = 1.0) -> int:
    """Most of ``times`` within any ``width`` seconds."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] > width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def spread(first: list[float]) -> float:
    """Seconds between the first and the last of ``first`` (nan if empty)."""
    return max(first) - min(first) if first else float('nan')
