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

"""A real Neutron server (API under gunicorn + ``neutron-rpc-server``) for demos and e2e tests.

Each stack gets its own database and RabbitMQ vhost (both dropped on stop), its own
config files and logs under ``workdir``, and a free API port. ML2 runs with the
mechanism drivers given (our ``pvm_sea,pvm_sriov`` by default), configured as a
typical ML2/VLAN deployment (``router`` service plugin, ``port_security``).

``auth='keystone'`` (the default) adds a real Keystone (its own venv, database and
gunicorn; see :mod:`powervm_testbed.keystone`) and runs Neutron with
``auth_strategy = keystone``; ``auth='noauth'`` skips it for quick runs. Either
way ``etc/clouds.yaml`` holds the admin cloud ``npvm-admin`` for openstacksdk and
the ``openstack`` CLI (``stack.os_cloud_env()``).

CLI for the demo::

    python -m powervm_testbed.neutron_stack up --workdir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from powervm_testbed import services
from powervm_testbed.keystone import Keystone, KeystoneError
from powervm_testbed.logs import tail
from powervm_testbed.venvs import VenvError

DEFAULT_MECHANISM_DRIVERS = 'pvm_sea,pvm_sriov'
PHYSNETS = ('default', 'physnet1', 'physnet2')
NAME_PREFIX = 'npvm_'
# Queues the RPC server consumes once it is ready (topics.PLUGIN, topics.REPORTS).
RPC_QUEUES = ('q-plugin', 'q-reports-plugin')
AUTH_STRATEGIES = ('keystone', 'noauth')
CLOUD = 'npvm-admin'  # the admin cloud in every stack's etc/clouds.yaml
SERVICE_PLUGINS = 'router'
EXTENSION_DRIVERS = 'port_security'
# api_url -> (clouds.yaml, cloud name) of the stacks started by this process.
CLOUDS: dict[str, tuple[Path, str]] = {}


class StackError(RuntimeError):
    """The stack could not be set up or a process did not come up."""


def _bin(name: str) -> str:
    """Path of a console script of this venv (falls back to PATH)."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    import shutil

    found = shutil.which(name)
    if not found:
        raise StackError(f'{name} not found next to {sys.executable} nor on PATH; '
                         'run tools/setup')
    return found


def _api_paste_ini() -> Path:
    candidates = [Path(sys.prefix) / 'etc/neutron/api-paste.ini',
                  Path(sys.executable).parent.parent / 'etc/neutron/api-paste.ini',
                  Path('/etc/neutron/api-paste.ini')]
    for path in candidates:
        if path.exists():
            return path
    raise StackError('api-paste.ini not found (looked in '
                     + ', '.join(str(p) for p in candidates) + '); reinstall neutron')


def _gunicorn_extra_args() -> list[str]:
    """Disable gunicorn's (>= 24) per-user control socket, which parallel stacks would share."""
    from gunicorn.config import KNOWN_SETTINGS

    return ['--no-control-socket'] if any(
        s.name == 'control_socket_disable' for s in KNOWN_SETTINGS) else []


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the creating thread dies (Linux), no orphans."""
    if sys.platform.startswith('linux'):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, dict):
        return ','.join(f'{k}:{v}' for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ','.join(str(v) for v in value)
    return '' if value is None else str(value)


def write_ini(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """Write an oslo.config style INI file (dicts become ``k:v,...``, lists ``a,b``)."""
    lines: list[str] = []
    for section, opts in sections.items():
        lines.append(f'[{section}]')
        lines += [f'{key} = {_ini_value(val)}' for key, val in opts.items()]
        lines.append('')
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600: agent configs hold the REST API password.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write('\n'.join(lines))
    os.chmod(path, 0o600)
    return path


def merge_sections(base: dict[str, dict[str, Any]],
                   extra: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """``base`` with ``extra``'s sections/options added or overriding."""
    merged = {name: dict(opts) for name, opts in base.items()}
    for name, opts in (extra or {}).items():
        merged.setdefault(name, {}).update(opts)
    return merged


def _rabbitmqctl(*args: str, check: bool = True) -> str:
    cmd = [_rabbitmqctl_path(), '-q', *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if check and res.returncode != 0:
        raise StackError(f'{" ".join(cmd)} failed: {(res.stdout + res.stderr).strip()}')
    return res.stdout


def _rabbitmqctl_path() -> str:
    import shutil

    path = shutil.which('rabbitmqctl') or '/usr/sbin/rabbitmqctl'
    if not os.path.exists(path):
        raise StackError('rabbitmqctl not found; run tools/services')
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_pid(name: str) -> int | None:
    """The creating process id encoded in ``npvm_<pid>_<hex>[_<suffix>]``, or None."""
    parts = name.split('_')
    if len(parts) in (3, 4) and parts[0] + '_' == NAME_PREFIX and parts[1].isdigit():
        return int(parts[1])
    return None


class _Database:
    """Create/drop one database on the MariaDB server (see services: MariaDB only)."""

    def __init__(self) -> None:
        from sqlalchemy.engine import make_url

        self.server_url = make_url(services.db_server_url())

    def _execute(self, *statements: str) -> list[tuple[Any, ...]]:
        import pymysql

        url = self.server_url
        conn = pymysql.connect(host=url.host, port=url.port or services.MYSQL_PORT,
                               user=url.username or 'root', password=url.password or '',
                               autocommit=True, connect_timeout=5)
        try:
            cur = conn.cursor()
            rows: list[tuple[Any, ...]] = []
            for stmt in statements:
                cur.execute(stmt)
                rows = list(cur.fetchall()) if cur.description else []
            return rows
        finally:
            conn.close()

    def names(self) -> list[str]:
        return [r[0] for r in self._execute(f"SHOW DATABASES LIKE '{NAME_PREFIX}%'")]

    def create(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS {name}',
                      f'CREATE DATABASE {name} CHARACTER SET utf8')

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS {name}')

    def url(self, name: str) -> str:
        base = self.server_url.render_as_string(hide_password=False)
        return f'{base}/{name}?charset=utf8'


# Checks of roles only: a rule reference ("rule:...") in an override is resolved
# against whatever the enforcer has registered when it loads the file.
BINDING_PROFILE_RULE = 'role:admin or role:service'


def write_policy(path: Path) -> None:
    """noauth only: let the admin set binding:profile, as Nova does with the ``service`` role.

    With ``auth_strategy = noauth`` every request runs as a plain admin, which
    neutron's default policy refuses for binding:profile (oslo.policy finds
    this file next to neutron.conf). With Keystone no file is written: Neutron's
    defaults apply and the admin account has the ``service`` role.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'"{action}_port:binding:profile": "{BINDING_PROFILE_RULE}"\n'
                            for action in ('create', 'update')))


class NeutronStack:
    """Neutron API + RPC server on a fresh database and RabbitMQ vhost.

    Attributes once started: ``api_url``, ``transport_url``, ``workdir``,
    ``neutron_conf``, ``ml2_conf``, ``api_log``, ``rpc_log``, ``clouds_yaml``,
    ``keystone`` (None with ``auth='noauth'``).
    """

    def __init__(self, workdir: Path | str, *,
                 mechanism_drivers: str = DEFAULT_MECHANISM_DRIVERS,
                 agent_down_time: int = 20, debug: bool = False,
                 api_port: int | None = None, start_timeout: float = 240,
                 auth: str = 'keystone', api_workers: int = 1, rpc_workers: int = 1,
                 rpc_state_report_workers: int = 0) -> None:
        if auth not in AUTH_STRATEGIES:
            raise StackError(f'unknown auth {auth!r}; use one of {", ".join(AUTH_STRATEGIES)}')
        self.workdir = Path(workdir).resolve()
        self.auth = auth
        self.api_workers = api_workers
        # neutron-rpc-server's worker processes: RPC (q-plugin) and state reports
        # (q-reports-plugin; 0: the RPC workers serve them too).
        self.rpc_workers = rpc_workers
        self.rpc_state_report_workers = rpc_state_report_workers
        self.mechanism_drivers = mechanism_drivers
        self.agent_down_time = agent_down_time
        self.debug = debug
        self.start_timeout = start_timeout
        self.name = f'{NAME_PREFIX}{os.getpid()}_{secrets.token_hex(4)}'
        self.api_port = api_port or free_port()
        self.api_url = f'http://127.0.0.1:{self.api_port}'
        self.vhost = self.name
        self.transport_url = (f'rabbit://{services.RABBIT_USER}:{services.RABBIT_PASSWORD}@'
                              f'{services.HOST}:{services.AMQP_PORT}/{self.vhost}')
        self.etc_dir = self.workdir / 'etc'
        self.log_dir = self.workdir / 'log'
        self.neutron_conf = self.etc_dir / 'neutron.conf'
        self.ml2_conf = self.etc_dir / 'ml2_conf.ini'
        self.api_conf = self.etc_dir / 'neutron-api.conf'
        self.api_log = self.log_dir / 'neutron-api.log'
        self.rpc_log = self.log_dir / 'neutron-rpc-server.log'
        self.clouds_yaml = self.etc_dir / 'clouds.yaml'
        self.cloud = CLOUD
        self.keystone: Keystone | None = None
        if auth == 'keystone':
            self.keystone = Keystone(self.workdir / 'keystone', free_port(),
                                     _Database().url(f'{self.name}_ks'), debug=debug,
                                     timeout=start_timeout)
        self.timings: dict[str, float] = {}
        self._database = _Database()
        self._db_created = False
        self._ks_db_created = False
        self._token: str | None = None
        self._vhost_created = False
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> NeutronStack:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> NeutronStack:
        """Set up services, config, schema and processes; return when the API and RPC serve."""
        t0 = time.monotonic()
        try:
            services.ensure_services()
            self._cleanup_stale()
            self._create_vhost()
            self._database.create(self.name)
            self._db_created = True
            self.write_configs()
            self.timings['setup'] = time.monotonic() - t0
            # Keystone's venv, schema and bootstrap run beside Neutron's migration.
            keystone = _Background(self._prepare_keystone) if self.keystone else None
            t1 = time.monotonic()
            self._migrate()
            self.timings['migrate'] = time.monotonic() - t1
            if keystone is not None:
                keystone.join(self.start_timeout * 5)
                self.timings['keystone_prepare'] = keystone.seconds
            t2 = time.monotonic()
            self._start_processes()
            self._wait_ready()
            self.timings['processes'] = time.monotonic() - t2
        except BaseException:
            self.stop()
            raise
        self.timings['total'] = time.monotonic() - t0
        self.write_clouds_yaml()
        CLOUDS[self.api_url] = (self.clouds_yaml, self.cloud)
        (self.workdir / 'stack.json').write_text(json.dumps(self.describe(), indent=2))
        return self

    def _prepare_keystone(self) -> None:
        assert self.keystone is not None
        self._database.create(f'{self.name}_ks')
        self._ks_db_created = True
        self.keystone.prepare()

    def stop(self) -> None:
        """Terminate the processes, drop the database and the vhost (idempotent)."""
        with self._lock:
            procs = list(self._procs.values())
            for proc in procs:  # signal all first: they shut down in parallel
                self._signal_group(proc, signal.SIGTERM)
            for proc in procs:
                self._terminate(proc)
            self._procs.clear()
            CLOUDS.pop(self.api_url, None)
            if self._ks_db_created:
                try:
                    self._database.drop(f'{self.name}_ks')
                finally:
                    self._ks_db_created = False
            if self._db_created:
                try:
                    self._database.drop(self.name)
                finally:
                    self._db_created = False
            if self._vhost_created:
                try:
                    _rabbitmqctl('delete_vhost', self.vhost)
                except StackError as exc:  # leave it to the next start's stale cleanup
                    print(f'neutron_stack: {exc}', file=sys.stderr)
                self._vhost_created = False

    def describe(self) -> dict[str, Any]:
        """What a demo or another process needs to use this stack."""
        return {'api_url': self.api_url, 'transport_url': self.transport_url, 'auth': self.auth,
                'keystone_url': self.keystone.url if self.keystone else None,
                'clouds_yaml': str(self.clouds_yaml), 'cloud': self.cloud,
                'database': self._database.url(self.name).split('@')[-1],
                'workdir': str(self.workdir), 'neutron_conf': str(self.neutron_conf),
                'ml2_conf': str(self.ml2_conf), 'api_log': str(self.api_log),
                'rpc_log': str(self.rpc_log), 'mechanism_drivers': self.mechanism_drivers,
                'pids': {name: p.pid for name, p in self._procs.items()}}

    # ------------------------------------------------------------------ configs

    def write_configs(self) -> None:
        """Write neutron.conf, ml2_conf.ini, policy.yaml and the API's logging overlay."""
        for sub in ('etc', 'log', 'state', 'lock'):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        if self.keystone is None:
            write_policy(self.etc_dir / 'policy.yaml')
        extra: dict[str, dict[str, Any]] = {}
        if self.keystone is not None:
            extra['keystone_authtoken'] = self.keystone.authtoken_options()
        write_ini(self.neutron_conf, merge_sections({
            'DEFAULT': {
                'core_plugin': 'ml2', 'service_plugins': SERVICE_PLUGINS,
                'auth_strategy': self.auth,
                'transport_url': self.transport_url,
                'api_paste_config': str(_api_paste_ini()),
                'state_path': str(self.workdir / 'state'),
                'api_workers': self.api_workers, 'rpc_workers': self.rpc_workers,
                'rpc_state_report_workers': self.rpc_state_report_workers,
                'agent_down_time': self.agent_down_time,
                'dhcp_agent_notification': False,
                'notify_nova_on_port_status_changes': False,
                'notify_nova_on_port_data_changes': False,
                'debug': self.debug, 'use_stderr': False,
                'graceful_shutdown_timeout': 5,
            },
            'database': {'connection': self._database.url(self.name), 'max_pool_size': 5},
            'oslo_concurrency': {'lock_path': str(self.workdir / 'lock')},
            'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 60},
        }, extra))
        write_ini(self.ml2_conf, {
            'ml2': {'type_drivers': 'flat,vlan', 'project_network_types': 'vlan',
                    'mechanism_drivers': self.mechanism_drivers,
                    'extension_drivers': EXTENSION_DRIVERS},
            'ml2_type_vlan': {'network_vlan_ranges': [f'{p}:1:4094' for p in PHYSNETS]},
            'ml2_type_flat': {'flat_networks': '*'},
        })
        write_ini(self.api_conf, {'DEFAULT': {'log_file': str(self.api_log)}})

    def agent_config(self, host: str, extra: dict[str, dict[str, Any]] | None = None,
                     name: str | None = None) -> Path:
        """Write ``etc/agent-<name or host>.ini`` for one of our agents; ``extra`` adds/overrides.

        Sets transport_url, host, logging and a short [AGENT] report_interval; the
        caller adds the agent-specific options, e.g. ``{'AGENT': {...}, 'powervm': {...}}``.
        Give each agent of one host its own ``name`` (e.g. ``'host1-sea'``).
        """
        safe = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in (name or host))
        base = {
            'DEFAULT': {'transport_url': self.transport_url, 'host': host,
                        'debug': self.debug, 'use_stderr': False,
                        'log_file': str(self.log_dir / f'agent-{safe}.log'),
                        'state_path': str(self.workdir / 'state')},
            'AGENT': {'report_interval': max(1, min(5, self.agent_down_time // 4))},
            'oslo_concurrency': {'lock_path': str(self.workdir / 'lock')},
        }
        return write_ini(self.etc_dir / f'agent-{safe}.ini', merge_sections(base, extra))

    # ------------------------------------------------------------------ steps

    def _cleanup_stale(self) -> None:
        """Drop databases and vhosts left by stacks whose process died without stop()."""
        try:
            for name in self._database.names():
                pid = _owner_pid(name)
                if pid is not None and not _pid_alive(pid):
                    self._database.drop(name)
            for vhost in _rabbitmqctl('list_vhosts').split():
                pid = _owner_pid(vhost)
                if pid is not None and not _pid_alive(pid):
                    _rabbitmqctl('delete_vhost', vhost, check=False)
        except Exception as exc:  # best effort: never block a start on housekeeping
            print(f'neutron_stack: stale cleanup skipped: {exc}', file=sys.stderr)

    def _create_vhost(self) -> None:
        _rabbitmqctl('add_vhost', self.vhost)
        self._vhost_created = True
        _rabbitmqctl('set_permissions', '-p', self.vhost, services.RABBIT_USER, '.*', '.*', '.*')

    def _config_args(self) -> list[str]:
        return ['--config-file', str(self.neutron_conf), '--config-file', str(self.ml2_conf)]

    def _migrate(self) -> None:
        log = self.log_dir / 'neutron-db-manage.log'
        with open(log, 'wb') as out:
            res = subprocess.run([_bin('neutron-db-manage'), *self._config_args(),
                                  'upgrade', 'heads'], stdout=out, stderr=subprocess.STDOUT,
                                 timeout=self.start_timeout * 2, check=False)
        if res.returncode != 0:
            raise StackError(f'neutron-db-manage upgrade heads failed (exit {res.returncode})\n'
                             + tail(log))

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        out = open(self.log_dir / f'{name}.out', 'ab')  # the child owns a dup
        try:
            self._procs[name] = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.workdir, env={**os.environ, **(env or {})}, start_new_session=True,
                preexec_fn=_die_with_parent)
        finally:
            out.close()

    def _start_processes(self) -> None:
        env = {'OS_NEUTRON_CONFIG_DIR': str(self.etc_dir),
               'OS_NEUTRON_CONFIG_FILES': ';'.join(
                   p.name for p in (self.neutron_conf, self.ml2_conf, self.api_conf))}
        if self.keystone is not None:
            self._spawn('keystone', *self.keystone.command())
        self._spawn('neutron-api', [
            _bin('gunicorn'), '--workers', str(self.api_workers), '--worker-class', 'gthread',
            '--threads', '4',
            '--timeout', str(int(self.start_timeout)), '--graceful-timeout', '5',
            '--bind', f'127.0.0.1:{self.api_port}', '--name', f'neutron-api-{self.name}',
            *_gunicorn_extra_args(), 'powervm_testbed.neutron_wsgi:application'],
            env)
        self._spawn('neutron-rpc-server', [
            _bin('neutron-rpc-server'), *self._config_args(), '--log-file', str(self.rpc_log)])

    def check_alive(self) -> None:
        """Raise StackError (with the log tail) if a stack process has exited."""
        for name, proc in self._procs.items():
            code = proc.poll()
            if code is not None:
                log = {'neutron-api': self.api_log, 'neutron-rpc-server': self.rpc_log,
                       'keystone': self.keystone.log if self.keystone else None}[name]
                raise StackError(f'{name} exited with {code}\n{tail(log)}\n'
                                 + tail(self.log_dir / f'{name}.out', 15))

    def admin_token(self) -> str:
        """A Keystone token of the admin account (fetched once per stack)."""
        assert self.keystone is not None
        if self._token is None:
            from keystoneauth1 import session
            from keystoneauth1.identity import v3

            auth = v3.Password(**self.keystone.admin_auth())
            self._token = session.Session(auth=auth).get_token()
        return self._token

    def api_ready(self) -> bool:
        """True if GET /v2.0/networks answers 200 (with an admin token under Keystone)."""
        headers = {'X-Project-Id': 'admin', 'X-Roles': 'admin'}
        try:
            if self.keystone is not None:
                headers = {'X-Auth-Token': self.admin_token()}
            resp = requests.get(f'{self.api_url}/v2.0/networks', timeout=5, headers=headers)
        except requests.RequestException:
            return False
        return resp.status_code == 200

    def rpc_ready(self) -> bool:
        """True if the RPC server consumes the plugin and state-report queues."""
        import kombu

        try:
            with kombu.Connection(self.transport_url.replace('rabbit://', 'amqp://'),
                                  connect_timeout=3) as conn:
                for queue in RPC_QUEUES:
                    channel = conn.channel()
                    try:
                        _, _, consumers = channel.queue_declare(queue=queue, passive=True)
                    finally:
                        try:
                            channel.close()
                        except Exception:  # closed by the broker after a 404
                            pass
                    if consumers < 1:
                        return False
        except Exception:  # queue missing (404) or broker hiccup: not ready yet
            return False
        return True

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        if self.keystone is not None:
            t0 = time.monotonic()
            while not self.keystone.ready():
                self.check_alive()
                if time.monotonic() > deadline:
                    raise StackError(f'Keystone not ready within {self.start_timeout:.0f}s\n'
                                     + tail(self.keystone.log))
                time.sleep(0.3)
            self.keystone.register_neutron(self.api_url)
            self.timings['keystone_ready'] = time.monotonic() - t0
        api_ok = rpc_ok = False
        while True:
            self.check_alive()
            api_ok = api_ok or self.api_ready()
            rpc_ok = rpc_ok or self.rpc_ready()
            if api_ok and rpc_ok:
                return
            if time.monotonic() > deadline:
                what = ' and '.join(n for n, ok in (('API', api_ok), ('RPC server', rpc_ok))
                                    if not ok)
                log = self.api_log if not api_ok else self.rpc_log
                raise StackError(f'Neutron {what} not ready within {self.start_timeout:.0f}s'
                                 f'\n{tail(log)}')
            time.sleep(0.5)

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
        """Signal the process group created for ``proc`` (it and its forked workers)."""
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _terminate(self, proc: subprocess.Popen[bytes], timeout: float = 5) -> None:
        """SIGTERM, a short grace period (the data is dropped anyway), then SIGKILL."""
        if proc.poll() is None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait(10)
        # Forked workers may outlive their parent briefly; finish the group.
        self._signal_group(proc, signal.SIGKILL)

    # ------------------------------------------------------------------ clients

    def cloud_config(self) -> dict[str, Any]:
        """The admin cloud as clouds.yaml holds it (openstacksdk / openstack CLI)."""
        if self.keystone is not None:
            return {'auth': self.keystone.admin_auth(), 'region_name': 'RegionOne',
                    'identity_api_version': 3, 'interface': 'public'}
        # noauth: no catalog; Neutron serves every request as admin.
        return {'auth_type': 'none', 'auth': {'endpoint': self.api_url},
                'network_endpoint_override': self.api_url}

    def write_clouds_yaml(self) -> Path:
        """Write etc/clouds.yaml (0600: it holds the admin password)."""
        import yaml

        fd = os.open(self.clouds_yaml, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            yaml.safe_dump({'clouds': {self.cloud: self.cloud_config()}}, f,
                           default_flow_style=False)
        return self.clouds_yaml

    def neutron_auth_options(self) -> dict[str, Any]:
        """keystoneauth options (e.g. a ``[neutron]`` section) that reach this stack's API."""
        if self.keystone is not None:
            return {'auth_type': 'password', **self.keystone.admin_auth(),
                    'region_name': 'RegionOne'}
        return {'auth_type': 'none', 'endpoint_override': self.api_url}

    def os_cloud_env(self) -> str:
        """The shell line that points the ``openstack`` CLI at this stack's admin cloud."""
        return f'export OS_CLOUD={self.cloud} OS_CLIENT_CONFIG_FILE={self.clouds_yaml}'

    # ------------------------------------------------------------------ introspection

    def pids(self, name: str | None = None) -> list[int]:
        """Process ids of the stack's processes (or of ``name``, e.g. 'neutron-rpc-server')
        and their children (the forked workers)."""
        import psutil

        pids: list[int] = []
        for proc_name, proc in self._procs.items():
            if name is not None and proc_name != name:
                continue
            try:
                parent = psutil.Process(proc.pid)
                pids += [parent.pid] + [c.pid for c in parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return pids

    def memory_rss_mb(self) -> float:
        """Total resident memory of the stack's processes in MiB."""
        import psutil

        total = 0
        for pid in self.pids():
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total / (1024 * 1024)

    def loaded_mechanism_drivers(self) -> str | None:
        """The "Registered mechanism drivers" line of the RPC server log, if any."""
        try:
            text = self.rpc_log.read_text(errors='replace')
        except OSError:
            return None
        lines = [ln for ln in text.splitlines() if 'Registered mechanism drivers' in ln]
        return lines[-1] if lines else None


class _Background(threading.Thread):
    """Runs ``fn`` in a thread; ``join()`` re-raises its exception in the caller."""

    def __init__(self, fn: Any) -> None:
        super().__init__(daemon=True, name=f'bg-{fn.__name__}')
        self.fn = fn
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.start()

    def run(self) -> None:
        t0 = time.monotonic()
        try:
            self.fn()
        except BaseException as exc:  # handed to join()
            self.error = exc
        self.seconds = time.monotonic() - t0

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.is_alive():
            raise StackError(f'{self.fn.__name__} still running after {timeout:.0f}s')
        if self.error is not None:
            if isinstance(self.error, KeystoneError | VenvError):
                raise StackError(str(self.error)) from self.error
            raise self.error


class AgentStateReporter:
    """Report agent heartbeats to a stack over RPC with neutron's own PluginReportStateAPI.

    Stands in for an agent (e.g. a host with no simulator). It sets neutron-lib's
    global RPC transport while open and restores the previous one on close().
    """

    def __init__(self, transport_url: str) -> None:
        from oslo_service import backend

        try:  # as neutron's console scripts do, before neutron is imported: no eventlet
            backend.init_backend(backend.BackendType.THREADING)
        except backend.exceptions.BackendAlreadySelected:
            pass
        import oslo_messaging
        from neutron.agent import rpc as agent_rpc
        from neutron.conf.agent import common as agent_common
        from neutron_lib import rpc as lib_rpc
        from neutron_lib.agent import topics
        from oslo_config import cfg
        from oslo_messaging import conffixture

        agent_common.register_agent_state_opts_helper(cfg.CONF)  # report_interval (timeout)
        self._lib_rpc = lib_rpc
        self._saved = (lib_rpc.TRANSPORT, lib_rpc.NOTIFICATION_TRANSPORT)
        conf = cfg.ConfigOpts()  # private: the test process's cfg.CONF stays unparsed
        conf([], project='neutron', default_config_files=[])
        # Registers every messaging option group (incl. tracing) on ``conf``.
        conffixture.ConfFixture(conf, transport_url=transport_url)
        oslo_messaging.set_transport_defaults('neutron')
        lib_rpc.init(conf)
        self.api = agent_rpc.PluginReportStateAPI(topics.REPORTS)

    def report(self, host: str, agent_type: str, binary: str,
               configurations: dict[str, Any], *, start_flag: bool = False) -> Any:
        """One synchronous state report; returns the server's answer (e.g. 'alive')."""
        # A plain oslo context: neutron-lib's would load policy from the unparsed cfg.CONF.
        from oslo_context import context

        state = {'binary': binary, 'host': host, 'topic': 'N/A', 'agent_type': agent_type,
                 'configurations': configurations, 'start_flag': start_flag}
        return self.api.report_state(context.RequestContext(is_admin=True), state,
                                     use_call=True)

    def close(self) -> None:
        """Drop this reporter's transport and restore neutron-lib's previous one."""
        if self._lib_rpc.TRANSPORT is not None:
            self._lib_rpc.cleanup()
        self._lib_rpc.TRANSPORT, self._lib_rpc.NOTIFICATION_TRANSPORT = self._saved

    def __enter__(self) -> AgentStateReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    """``up --workdir DIR``: start a stack, print its URLs, run until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog='python -m powervm_testbed.neutron_stack')
    sub = parser.add_subparsers(dest='command', required=True)
    up = sub.add_parser('up', help='start a Neutron stack and stay in the foreground')
    up.add_argument('--workdir', required=True, type=Path)
    up.add_argument('--mechanism-drivers', default=DEFAULT_MECHANISM_DRIVERS)
    up.add_argument('--agent-down-time', type=int, default=20)
    up.add_argument('--port', type=int, default=None, help='API port (default: a free one)')
    up.add_argument('--debug', action='store_true')
    up.add_argument('--auth', choices=AUTH_STRATEGIES, default='keystone',
                    help='keystone (default) or noauth (no Keystone: quicker)')
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = NeutronStack(args.workdir, mechanism_drivers=args.mechanism_drivers,
                         agent_down_time=args.agent_down_time, debug=args.debug,
                         api_port=args.port, auth=args.auth)
    try:
        stack.start()
    except (StackError, services.ServicesError) as exc:
        print(f'neutron_stack: ERROR: {exc}', file=sys.stderr)
        return 1
    try:
        info = stack.describe()
        print(f'api_url {stack.api_url}')
        print(f'transport_url {stack.transport_url}')
        print(f'workdir {stack.workdir} (stack.json, etc/, log/)')
        print(stack.os_cloud_env())
        print(f'started in {stack.timings["total"]:.1f}s, {stack.memory_rss_mb():.0f} MiB; '
              f'pids {info["pids"]}; Ctrl-C to stop', flush=True)
        while not stop.wait(1):
            try:
                stack.check_alive()
            except StackError as exc:
                print(f'neutron_stack: ERROR: {exc}', file=sys.stderr)
                return 1
    finally:
        stack.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
