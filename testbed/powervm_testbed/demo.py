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

"""The demo (``tools/demo``): the whole stack on one machine, ports plugged as Nova would.

Starts the PowerVM REST API simulator (``single`` scenario), a real Neutron
(API + RPC server on MariaDB and RabbitMQ) and the SEA and SR-IOV agents; waits
for both agents; creates VLAN networks, two partitions (compute library) and
SEA + SR-IOV ports; binds them to the host, plugs them from the binding's
``vif_details`` exactly as Nova's PowerVM driver did, waits for ACTIVE and
prints what Neutron and the simulator see. Everything is torn down at the end
unless ``--keep``. Any failure exits 1 naming the step, with the tail of the
failing component's log.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import shutil
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from networking_powervm.common import constants as const
from powervm_sim.inspect import table
from powervm_testbed.logs import tail

MARKER = '.npvm-demo'
SCENARIO = 'single'
SIM_USER = 'admin'
PHYSNET = 'default'
# (network name, VLAN, CIDR)
NETWORKS = (('demo-vlan-101', 101, '10.1.1.0/24'),
            ('demo-vlan-102', 102, '10.1.2.0/24'),
            ('demo-vlan-103', 103, '10.1.3.0/24'))
LPARS = ('demo-vm-1', 'demo-vm-2')


class DemoError(RuntimeError):
    """A demo step failed; ``logs`` are the logs worth showing the tail of."""

    def __init__(self, message: str, logs: list[Path | None] | None = None) -> None:
        super().__init__(message)
        self.logs = logs or []


@dataclass
class PortSpec:
    """One port the demo creates: on which network, for which partition, how."""

    name: str
    network: str
    lpar: str
    vnic_type: str = 'normal'
    profile: dict[str, Any] | None = None


PORTS = (
    PortSpec('sea-vm1-eth0', 'demo-vlan-101', 'demo-vm-1'),
    PortSpec('sea-vm1-eth1', 'demo-vlan-102', 'demo-vm-1'),
    PortSpec('sea-vm2-eth0', 'demo-vlan-101', 'demo-vm-2'),
    PortSpec('sea-vm2-eth1', 'demo-vlan-103', 'demo-vm-2'),
    PortSpec('sriov-vm2-eth2', 'demo-vlan-102', 'demo-vm-2', 'direct',
             {const.VNIC_REQUIRED_VFS: 2, const.CAPACITY: 0.02}),
)


@dataclass
class PortState:
    """A port as the demo goes through it."""

    spec: PortSpec
    port: dict[str, Any]
    lpar_uuid: str
    vlan: int | None = None
    plugged_at: float = 0.0
    active_after: float | None = None
    backing: str = ''
    details: dict[str, Any] = field(default_factory=dict)


class Progress:
    """Prints ``[  12.3s] message`` lines (seconds since the demo started)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.t0

    def __call__(self, message: str) -> None:
        print(f'[{self.elapsed():6.1f}s] {message}', flush=True)


def check_agent(label: str, agent: Any) -> None:
    """DemoError (with the agent's log tails) if its process has exited."""
    if not agent.running:
        raise DemoError(f'the {label} agent ({Path(agent.binary).name}) exited with status '
                        f'{agent.returncode}', [agent.log_file, agent.out_file])


# ---------------------------------------------------------------------- the demo


class Demo:
    """The demo's steps; each part registers its teardown on the ExitStack as it starts."""

    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        self.args = args
        self.exit = stack
        self.say = Progress()
        self.workdir: Path = args.workdir.resolve()
        self.sim: Any = None
        self.neutron: Any = None
        self.client: Any = None
        self.adapter: Any = None
        self.host_uuid = ''
        self.agents: dict[str, Any] = {}
        self.networks: dict[str, dict[str, Any]] = {}
        self.lpars: dict[str, str] = {}
        self.ports: list[PortState] = []
        self.started = False  # something to tear down

    # ------------------------------------------------------------------ setup

    def _safely(self, what: str, func: Callable[..., None], *args: Any) -> None:
        """Run a teardown step; report (not raise) its failure so the others still run."""
        try:
            func(*args)
        except Exception as exc:
            self.say(f'WARNING: {what} failed: {type(exc).__name__}: {exc}')

    def prepare_workdir(self) -> None:
        """Empty the work dir (only if it is a previous demo's or already empty)."""
        wd = self.workdir
        if wd.exists():
            if not wd.is_dir():
                raise DemoError(f'--workdir {wd} exists and is not a directory')
            if any(wd.iterdir()) and not (wd / MARKER).exists():
                raise DemoError(f'refusing to clean --workdir {wd}: it is not empty and has '
                                f'no {MARKER} marker (not a demo work dir)')
            shutil.rmtree(wd)
        wd.mkdir(parents=True)
        (wd / MARKER).write_text('networking-powervm demo work dir; deleted by the next demo\n')
        logging.basicConfig(filename=wd / 'demo.log', level=logging.INFO,
                            format='%(asctime)s %(levelname)s %(name)s %(message)s')
        self.say(f'work dir {wd}')

    def start_simulator(self) -> None:
        """``powervm-sim serve`` with the single scenario; password kept in a 0600 file."""
        from powervm_sim import client as sim_client

        sim_dir = self.workdir / 'sim'
        sim_dir.mkdir()
        password = secrets.token_urlsafe(16)
        pw_file = sim_dir / 'password'
        pw_file.touch(mode=0o600)
        pw_file.write_text(password + '\n')
        try:
            self.sim = sim_client.start_subprocess(
                SCENARIO, sim_dir, user=SIM_USER, password=password,
                extra_args=['--latency', self.args.latency])
        except RuntimeError as exc:
            raise DemoError(f'the simulator did not start: {exc}') from None
        self.exit.callback(self._safely, 'stopping the simulator', self._stop_simulator)
        self.started = True
        self.say(f'simulator up: {self.sim.url} (scenario {SCENARIO}, '
                 f'latency {self.args.latency}, log {sim_dir / "server.log"})')
        from pypowervm import adapter as pvm_adapter

        from powervm_vif import partition

        self.adapter = pvm_adapter.Adapter(pvm_adapter.Session(**self.sim.session_kwargs()))
        self.host_uuid = partition.host_uuid(self.adapter)

    def _stop_simulator(self) -> None:
        code = self.sim.stop()
        self.say(f'simulator stopped (exit {code})')

    def start_neutron(self) -> None:
        """Neutron API + RPC server on a fresh database and vhost."""
        from powervm_testbed.neutron_client import NeutronClient
        from powervm_testbed.neutron_stack import NeutronStack

        self.say('starting Neutron (database, schema migration, API + RPC server) ...')
        self.neutron = NeutronStack(self.workdir / 'neutron', debug=self.args.debug)
        self.exit.callback(self._safely, 'stopping Neutron', self._stop_neutron)
        self.neutron.start()
        t = self.neutron.timings
        self.say(f'Neutron up: {self.neutron.api_url} (migrate {t.get("migrate", 0):.1f}s, '
                 f'processes {t.get("processes", 0):.1f}s; logs {self.neutron.log_dir})')
        self.client = NeutronClient(self.neutron.api_url, project_id='demo')

    def _stop_neutron(self) -> None:
        self.neutron.stop()
        self.say('Neutron stopped; database and RabbitMQ vhost dropped')

    def _agent_config(self, label: str, agent_opts: dict[str, Any]) -> tuple[Path, Path]:
        """Write etc/<label>-agent.ini (0600: it holds the REST password); (config, log)."""
        name = label.lower().replace('-', '')
        log = self.neutron.log_dir / f'{name}-agent.log'
        password = (self.workdir / 'sim' / 'password').read_text().strip()
        config = self.neutron.agent_config(self.args.host, {
            'DEFAULT': {'log_file': str(log)},
            'AGENT': agent_opts,
            'powervm': {'host': self.sim.host, 'port': self.sim.port,
                        'protocol': self.sim.protocol, 'username': SIM_USER,
                        'password': password},
        }, name=f'{name}-agent')
        return config, log

    def start_agents(self) -> None:
        """Start the SEA and SR-IOV agents and wait until Neutron lists both alive."""
        common = {'heal_and_optimize_interval': 300, 'exception_interval': 2}
        specs = (('SEA', 'networking-powervm-sea-agent', const.AGENT_TYPE_PVM_SEA,
                  {**common, 'bridge_mappings': f'{PHYSNET}:ent8:vios1'}),
                 ('SR-IOV', 'networking-powervm-sriov-agent', const.AGENT_TYPE_PVM_SRIOV,
                  {**common, 'vnic_required_vfs': 1}))
        from powervm_testbed.agent_process import AgentProcess, AgentProcessError

        types = {}
        self.exit.callback(self._safely, 'stopping the agents', self._stop_agents)
        for label, binary, agent_type, opts in specs:
            config, log = self._agent_config(label, opts)
            try:
                agent = AgentProcess(binary, config, self.args.host, agent_type, log_file=log)
                agent.start()
            except (AgentProcessError, OSError) as exc:
                raise DemoError(f'cannot start {binary}: {exc}; run tools/setup') from None
            self.agents[label] = agent
            types[label] = agent_type
            self.say(f'{binary} started on host {self.args.host} (pid {agent.pid}, '
                     f'log {log})')
        t0 = time.monotonic()
        last_report = 0.0
        alive: dict[str, dict[str, Any]] = {}
        while len(alive) < len(types):
            for label, agent in self.agents.items():
                check_agent(label, agent)
                if label in alive:
                    continue
                rows = self.client.list_agents(host=self.args.host, agent_type=types[label])
                if rows and rows[0]['alive']:
                    alive[label] = rows[0]
                    self.say(f'{label} agent alive after {time.monotonic() - t0:.1f}s: '
                             f'bridge_mappings '
                             f'{rows[0]["configurations"].get(const.CONF_BRIDGE_MAPPINGS)}')
            waited = time.monotonic() - t0
            if len(alive) == len(types):
                break
            if waited > self.args.agent_timeout:
                missing = [lbl for lbl in types if lbl not in alive]
                raise DemoError(f'agent(s) {", ".join(missing)} not alive in Neutron within '
                                f'{self.args.agent_timeout:.0f}s',
                                [self.agents[m].log_file for m in missing])
            if waited - last_report >= 5:
                last_report = waited
                self.say(f'waiting for agents: {waited:.0f}s, alive: '
                         f'{", ".join(sorted(alive)) or "none yet"}')
            time.sleep(0.5)

    def _stop_agents(self) -> None:
        """SIGTERM all agents at once, then wait for each (SIGKILL after 20s)."""
        from powervm_testbed.agent_process import AgentProcessError

        for agent in self.agents.values():
            agent.signal(signal.SIGTERM)
        for agent in self.agents.values():
            try:
                code = agent.wait_exit(20)
            except AgentProcessError:
                code = agent.kill()
                self.say(f'{Path(agent.binary).name} ignored SIGTERM for 20s; killed')
            self.say(f'{Path(agent.binary).name} stopped (exit {code})')

    # ------------------------------------------------------------------ resources

    def create_networks(self) -> None:
        """VLAN networks on physnet ``default``, each with a subnet."""
        for name, vlan, cidr in NETWORKS:
            net = self.client.create_network(name, physnet=PHYSNET, segmentation_id=vlan)
            self.client.create_subnet(net['id'], cidr, name=f'{name}-subnet')
            self.networks[name] = net
            self.say(f'network {name}: vlan {vlan} on physnet {PHYSNET}, subnet {cidr}')

    def create_lpars(self) -> None:
        """Two client partitions, as Nova creates them."""
        from powervm_vif import partition

        for name in LPARS:
            lpar = partition.create_lpar(self.adapter, name)
            self.lpars[name] = lpar.uuid
            self.say(f'partition {name} created (id {lpar.id}, uuid {lpar.uuid})')

    def bind_and_plug(self, spec: PortSpec) -> PortState:
        """Create the port, bind it to the host, plug it from its vif_details."""
        net = self.networks[spec.network]
        lpar_uuid = self.lpars[spec.lpar]
        port = self.client.create_port(net['id'], name=spec.name, device_id=lpar_uuid,
                                       device_owner='compute:nova', vnic_type=spec.vnic_type)
        changes: dict[str, Any] = {'binding:host_id': self.args.host}
        if spec.profile:
            changes['binding:profile'] = spec.profile
        port = self.client.update_port(port['id'], changes)
        vif_type = port.get('binding:vif_type')
        expected = const.VIF_TYPE_PVM_SRIOV if spec.vnic_type == 'direct' else \
            const.VIF_TYPE_PVM_SEA
        if vif_type != expected:
            raise DemoError(f'port {spec.name} did not bind to {self.args.host}: '
                            f'binding:vif_type {vif_type!r} (expected {expected!r})',
                            [self.neutron.api_log])
        details = port.get('binding:vif_details') or {}
        state = PortState(spec, port, lpar_uuid, details=details)
        state.vlan = int(details['vlan'])
        self.say(f'port {spec.name} ({port["mac_address"]}, {spec.vnic_type}): bound, '
                 f'{vif_type} vlan {state.vlan}' + (
                     f', redundancy {details.get(const.REDUNDANCY)} capacity '
                     f'{details.get(const.CAPACITY)}' if vif_type == const.VIF_TYPE_PVM_SRIOV
                     else ''))
        self._plug(state, vif_type)
        state.plugged_at = time.monotonic()
        self.say(f'port {spec.name}: plugged on {spec.lpar} ({state.backing})')
        return state

    def _plug(self, state: PortState, vif_type: str) -> None:
        from pypowervm import exceptions as pvm_exc

        mac = state.port['mac_address']
        try:
            if vif_type == const.VIF_TYPE_PVM_SEA:
                from powervm_vif import sea_vif

                cna = sea_vif.plug_sea(self.adapter, self.host_uuid, state.lpar_uuid, mac,
                                       state.vlan)
                state.backing = f'CNA slot {cna.slot}, pvid {cna.pvid}'
            else:
                from powervm_vif import sriov_vif

                d = state.details
                vnic = sriov_vif.plug_sriov(
                    self.adapter, self.host_uuid, state.lpar_uuid, mac, state.vlan,
                    list(d[const.PHYSICAL_PORTS]), int(d.get(const.REDUNDANCY) or 1),
                    d.get(const.CAPACITY), d.get(const.MAXCAPACITY))
                state.backing = f'vNIC with {len(vnic.back_devs)} backing VF(s)'
        except (pvm_exc.Error, ValueError, LookupError) as exc:
            raise DemoError(f'plugging port {state.spec.name} ({vif_type}) failed: {exc}',
                            [self.workdir / 'sim' / 'server.log']) from None

    def wait_active(self, states: list[PortState]) -> None:
        """Poll until every port is ACTIVE; DemoError (agent log) after --port-timeout."""
        pending = {s.port['id']: s for s in states}
        while pending:
            for label, agent in self.agents.items():
                check_agent(label, agent)
            for port_id, state in list(pending.items()):
                port = self.client.get_port(port_id)
                state.port = port
                waited = time.monotonic() - state.plugged_at
                if port['status'] == 'ACTIVE':
                    state.active_after = waited
                    del pending[port_id]
                    self.say(f'port {state.spec.name}: ACTIVE {waited:.1f}s after the plug')
                elif waited > self.args.port_timeout:
                    label = 'SR-IOV' if state.spec.vnic_type == 'direct' else 'SEA'
                    raise DemoError(
                        f'port {state.spec.name} ({port["mac_address"]}) is {port["status"]}, '
                        f'not ACTIVE, {waited:.0f}s after the plug '
                        f'(--port-timeout {self.args.port_timeout:g})',
                        [self.agents[label].log_file])
            if pending:
                time.sleep(0.3)

    # ------------------------------------------------------------------ report

    def _vios_names(self) -> dict[str, str]:
        from pypowervm.wrappers import virtual_io_server as pvm_vios

        try:
            return {v.uuid.lower(): v.name for v in pvm_vios.VIOS.get(self.adapter)}
        except Exception:  # names are cosmetic; fall back to UUIDs
            return {}

    def bridges(self) -> list[dict[str, Any]]:
        """The simulator's network bridges as pypowervm's NetBridge.get sees them."""
        from pypowervm.wrappers import network as pvm_net

        names = self._vios_names()
        rows = []
        from pypowervm.wrappers import managed_system as pvm_ms

        for nb in pvm_net.NetBridge.get(self.adapter, parent_type=pvm_ms.System,
                                        parent_uuid=self.host_uuid):
            seas = []
            for sea in nb.seas:
                vios_uuid = (sea.vio_uri or '').rstrip('/').rsplit('/', 1)[-1].lower()
                seas.append(f'{sea.dev_name}@{names.get(vios_uuid, vios_uuid[:8])}')
            rows.append({'uuid': nb.uuid, 'pvid': nb.pvid, 'vswitch_id': nb.vswitch_id,
                         'seas': seas, 'load_groups': len(nb.load_grps),
                         'vlans': sorted(nb.list_vlans(pvid=False))})
        return rows

    def _sriov_backing(self, state: PortState) -> str:
        """Location codes of the physical ports backing the port's vNIC."""
        from pypowervm.wrappers import managed_system as pvm_ms

        from powervm_vif import sriov_vif

        vnic = sriov_vif.find_vnic(self.adapter, state.lpar_uuid, state.port['mac_address'])
        if vnic is None:
            return '(no vNIC!)'
        codes: dict[tuple[int, int], str] = {}
        system = pvm_ms.System.get(self.adapter, uuid=self.host_uuid)
        for adapter in system.asio_config.sriov_adapters:
            for pport in adapter.phys_ports:
                codes[(int(adapter.sriov_adap_id), int(pport.port_id))] = pport.loc_code
        return ', '.join(codes.get((int(b.sriov_adap_id), int(b.pport_id)),
                                   f'adapter {b.sriov_adap_id} port {b.pport_id}')
                         for b in vnic.back_devs)

    def report(self) -> None:
        """Print the ports table and the simulator's bridges."""
        bridges = self.bridges()
        rows = []
        for s in self.ports:
            if s.spec.vnic_type == 'direct':
                backing = 'SR-IOV ' + self._sriov_backing(s)
            else:
                hits = [b for b in bridges if s.vlan in b['vlans'] or s.vlan == b['pvid']]
                backing = ('SEA ' + ', '.join(sea for b in hits for sea in b['seas'])
                           if hits else f'(VLAN {s.vlan} on no bridge!)')
            rows.append([s.spec.name, s.spec.lpar, s.port['mac_address'], s.spec.vnic_type,
                         s.port.get('binding:vif_type'), s.port['status'], s.vlan,
                         f'{s.active_after:.1f}s' if s.active_after is not None else '-',
                         backing])
        print()
        print(table('Neutron ports', ['PORT', 'LPAR', 'MAC', 'VNIC', 'VIF_TYPE',
                                             'STATUS', 'VLAN', 'ACTIVE', 'BACKING'], rows))
        print()
        print(table('Simulator network bridges (pypowervm NetBridge.get)',
                           ['BRIDGE', 'VSWITCH', 'PVID', 'SEAS', 'LOAD GROUPS', 'VLANS'],
                           [[b['uuid'][:8], b['vswitch_id'], b['pvid'], ', '.join(b['seas']),
                             b['load_groups'], ','.join(map(str, b['vlans']))]
                            for b in bridges]))
        print(flush=True)

    def keep(self) -> None:
        """Print how to look at the running stack; wait for Ctrl-C."""
        pw = self.workdir / 'sim' / 'password'
        print('Everything keeps running (--keep). Inspect with:')
        print(f'  .venv/bin/powervm-sim inspect --url {self.sim.url} --user {SIM_USER} '
              f'--password "$(cat {pw})"')
        print(f'  curl -s -H "X-Project-Id: demo" -H "X-Roles: admin" '
              f'{self.neutron.api_url}/v2.0/ports')
        print(f'  Neutron API: {self.neutron.api_url}   logs: {self.neutron.log_dir}')
        print('Press Ctrl-C to tear down.', flush=True)
        stop = threading.Event()
        while not stop.wait(1):
            for label, agent in self.agents.items():
                check_agent(label, agent)

    # ------------------------------------------------------------------ all of it

    def run(self) -> None:
        """Every step in order (teardown happens when ``self.exit`` closes)."""
        self.prepare_workdir()
        self.start_simulator()
        self.start_neutron()
        self.start_agents()
        self.create_networks()
        self.create_lpars()
        for spec in PORTS:
            self.ports.append(self.bind_and_plug(spec))
        self.wait_active(self.ports)
        self.report()
        self.say(f'all {len(self.ports)} ports ACTIVE')
        if self.args.keep:
            self.keep()


# ---------------------------------------------------------------------- CLI


def _host(value: str) -> str:
    if not value or len(value) > 255 or any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(f'invalid host name {value!r}')
    return value


def latency_arg(value: str) -> str:
    """The simulator CLI's latency type (imported lazily: --help needs only the stdlib)."""
    from powervm_sim.cli import latency_arg as sim_latency_arg
    return sim_latency_arg(value)


def positive_arg(kind: type) -> Callable[[str], Any]:
    """The simulator CLI's positive-number type (imported lazily, as latency_arg)."""
    def parse(value: str) -> Any:
        from powervm_sim.cli import positive_arg as sim_positive_arg
        return sim_positive_arg(kind)(value)
    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The demo's argument parser (stdlib only until arguments are converted)."""
    p = argparse.ArgumentParser(prog='tools/demo', description=(
        'Simulator + real Neutron + PowerVM SEA and SR-IOV agents: binds and plugs ports '
        'as Nova would, prints the result, tears everything down.'))
    p.add_argument('--workdir', type=Path, default=Path('run/demo'),
                   help='work dir, emptied at start (default: %(default)s)')
    p.add_argument('--latency', type=latency_arg, default='none',
                   help='simulator latency profile: none or novalink (default: %(default)s)')
    p.add_argument('--host', type=_host, default='pvm-host-1',
                   help='agents\' host name (default: %(default)s)')
    p.add_argument('--keep', action='store_true',
                   help='leave everything running until Ctrl-C and print how to inspect it')
    p.add_argument('--agent-timeout', type=positive_arg(float), default=120,
                   help='seconds for the agents to become alive (default: %(default)s)')
    p.add_argument('--port-timeout', type=positive_arg(float), default=90,
                   help='seconds for a plugged port to become ACTIVE (default: %(default)s)')
    p.add_argument('--debug', action='store_true', help='debug logging in Neutron')
    # tools/demo checks the arguments before it installs or starts anything.
    p.add_argument('--check-args', action='store_true', help=argparse.SUPPRESS)
    return p


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so teardown runs."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, handler)
    # Also when started in the background of a script (SIGINT inherited as ignored).
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


def _fail(say: Callable[[str], None], message: str, logs: list[Path | None]) -> None:
    say(f'FAILED: {message}')
    for log in logs:
        if log is not None:
            print(tail(log), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when every port went ACTIVE (and teardown happened)."""
    args = build_parser().parse_args(argv)
    if args.check_args:
        return 0
    # oslo.utils try-imports eventlet (for its helpers) when pypowervm loads; we never use it.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    import requests
    from pypowervm import exceptions as pvm_exc

    from powervm_testbed.neutron_client import NeutronApiError
    from powervm_testbed.neutron_stack import StackError
    from powervm_testbed.services import ServicesError

    code = 0
    with _sigterm_as_interrupt(), contextlib.ExitStack() as exit_stack:
        demo = Demo(args, exit_stack)
        exit_stack.callback(lambda: demo.started and demo.say('torn down' + (
            '' if code == 0 else f'; logs kept in {demo.workdir}')))
        try:
            demo.run()
            demo.say('tearing down')
        except KeyboardInterrupt:
            done = args.keep and len(demo.ports) == len(PORTS)
            demo.say('tearing down' if done else 'interrupted; tearing down')
            code = 0 if done else 130
        except DemoError as exc:
            _fail(demo.say, str(exc), exc.logs)
            code = 1
        except NeutronApiError as exc:
            _fail(demo.say, f'Neutron API call failed: {exc}',
                  [demo.neutron.api_log] if demo.neutron else [])
            code = 1
        except requests.RequestException as exc:
            _fail(demo.say, f'Neutron API unreachable: {exc}',
                  [demo.neutron.api_log] if demo.neutron else [])
            code = 1
        except (StackError, ServicesError) as exc:
            _fail(demo.say, f'Neutron could not be started: {exc}', [])
            code = 1
        except pvm_exc.Error as exc:
            _fail(demo.say, f'PowerVM REST API call failed: {exc}',
                  [demo.workdir / 'sim' / 'server.log'])
            code = 1
        except Exception:
            traceback.print_exc()
            _fail(demo.say, 'unexpected error (traceback above)', [])
            code = 1
    return code


if __name__ == '__main__':
    sys.exit(main())
