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

"""Make sure the services a real Neutron needs are up: MariaDB and RabbitMQ.

Fast and idempotent when everything already runs. If a service is installed but
stopped it is started; if it is missing and we are root with apt-get it is
installed first. Otherwise :class:`ServicesError` says what is missing and how
to get it. CLI: ``python -m powervm_testbed.services``.

MariaDB only: neutron 29.0.0's own schema migrations fail on PostgreSQL
(``syntax error at or near "CONVERT"``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable

HOST = '127.0.0.1'
MYSQL_PORT = 3306
AMQP_PORT = 5672
RABBIT_USER = 'guest'
RABBIT_PASSWORD = 'guest'

# The MariaDB server's URL (no database name); NPVM_DB_URL overrides it.
DB_SERVER_URL = f'mysql+pymysql://root@{HOST}:{MYSQL_PORT}'


class ServicesError(RuntimeError):
    """A required service is missing or does not come up."""


def _log(msg: str) -> None:
    print(f'services: {msg}', file=sys.stderr, flush=True)


def db_server_url() -> str:
    """SQLAlchemy URL of the MariaDB server (without a database name)."""
    return os.environ.get('NPVM_DB_URL', DB_SERVER_URL).rstrip('/')


def safe_url(url: str) -> str:
    """``url`` with its password masked, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _db_endpoint() -> tuple[str, int]:
    from sqlalchemy.engine import make_url

    url = make_url(db_server_url())
    host = url.host or HOST
    return ('127.0.0.1' if host == 'localhost' else host), url.port or MYSQL_PORT


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true, or raise ServicesError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise ServicesError(f'{what} did not come up within {timeout:.0f}s')
        time.sleep(0.3)


def _run(cmd: list[str], timeout: float = 600, env: dict[str, str] | None = None) -> None:
    _log('running ' + ' '.join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})}, check=False)
    if res.returncode != 0:
        tail = '\n'.join((res.stdout + res.stderr).strip().splitlines()[-20:])
        raise ServicesError(f'{" ".join(cmd)} failed (exit {res.returncode}):\n{tail}')


def _can_apt() -> bool:
    return os.geteuid() == 0 and shutil.which('apt-get') is not None


_apt_updated = False


def _apt_install(*packages: str) -> None:
    global _apt_updated
    env = {'DEBIAN_FRONTEND': 'noninteractive'}
    if not _apt_updated:
        _run(['apt-get', 'update'], env=env)
        _apt_updated = True
    _run(['apt-get', 'install', '-y', '--no-install-recommends', *packages], env=env)


# --------------------------------------------------------------------------- MariaDB

def _mysql_login_error() -> str | None:
    """None if the configured server URL accepts a login, else the error text."""
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(db_server_url())
    try:
        conn = pymysql.connect(host=url.host or HOST, port=url.port or MYSQL_PORT,
                               user=url.username or 'root', password=url.password or '',
                               connect_timeout=3)
    except pymysql.MySQLError as exc:
        return str(exc)
    conn.close()
    return None


def _mariadbd() -> str | None:
    for name in ('mariadbd', 'mysqld'):
        for path in (f'/usr/sbin/{name}', shutil.which(name)):
            if path and os.access(path, os.X_OK):
                return path
    return None


def _start_mariadb(server: str) -> None:
    if os.geteuid() != 0:
        raise ServicesError(
            f'MariaDB is installed ({server}) but not running on {HOST}:{MYSQL_PORT}, and only '
            'root can start it here: run `sudo tools/services` or start it yourself')
    os.makedirs('/run/mysqld', exist_ok=True)
    shutil.chown('/run/mysqld', 'mysql', 'mysql')
    if not os.path.isdir('/var/lib/mysql/mysql'):
        installer = shutil.which('mariadb-install-db') or shutil.which('mysql_install_db')
        if not installer:
            raise ServicesError('MariaDB data directory /var/lib/mysql is empty and neither '
                                'mariadb-install-db nor mysql_install_db exists')
        _run([installer, '--user=mysql', '--datadir=/var/lib/mysql'])
    _run(['start-stop-daemon', '--start', '--oknodo', '--background', '--exec', server,
          '--', '--user=mysql'])


def _allow_root_tcp_login() -> None:
    """On a fresh Debian install root logs in by unix socket only: also allow no password."""
    client = shutil.which('mariadb') or shutil.which('mysql')
    if client:
        _run([client, '-uroot', '-e',
              "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket "
              "OR mysql_native_password USING PASSWORD('')"])


def ensure_mysql(timeout: float = 90) -> None:
    """MariaDB listening on 127.0.0.1:3306 and accepting the configured login."""
    installed_now = False
    host, port = _db_endpoint()
    if (host, port) != (HOST, MYSQL_PORT) and not port_open(port, host):
        raise ServicesError(f'nothing listens on {host}:{port} (from NPVM_DB_URL); '
                            'start that database server or unset NPVM_DB_URL')
    if not port_open(MYSQL_PORT):
        server = _mariadbd()
        if server is None:
            if not _can_apt():
                raise ServicesError(
                    'MariaDB is not installed and not running on 127.0.0.1:3306. Install it '
                    '(as root: `apt-get install -y mariadb-server`) or run `sudo tools/services`')
            _log('MariaDB not installed: installing mariadb-server')
            _apt_install('mariadb-server', 'mariadb-client')
            installed_now = True
            server = _mariadbd()
            if server is None:
                raise ServicesError('mariadb-server was installed but no mariadbd binary found')
        if not port_open(MYSQL_PORT):
            _log(f'starting MariaDB ({server})')
            _start_mariadb(server)
        try:
            wait_until(lambda: port_open(MYSQL_PORT), timeout, f'MariaDB on {HOST}:{MYSQL_PORT}')
        except ServicesError as exc:
            raise ServicesError(f'{exc}; see /var/log/mysql/error.log') from None
    error = _mysql_login_error()
    if error and installed_now:
        _allow_root_tcp_login()
        error = _mysql_login_error()
    if error:
        login = safe_url(db_server_url())
        raise ServicesError(
            f'MariaDB runs on {HOST}:{MYSQL_PORT} but login as {login!r} '
            f'fails: {error}. Set NPVM_DB_URL=mysql+pymysql://USER:PASSWORD@{HOST}:{MYSQL_PORT} '
            'for a user allowed to create and drop databases')


# --------------------------------------------------------------------------- RabbitMQ

def _amqp_login_error() -> str | None:
    import kombu

    conn = kombu.Connection(f'amqp://{RABBIT_USER}:{RABBIT_PASSWORD}@{HOST}:{AMQP_PORT}//',
                            connect_timeout=3)
    try:
        conn.connect()
    except Exception as exc:  # any AMQP or socket failure is reported as text
        return f'{type(exc).__name__}: {exc}'
    finally:
        conn.release()
    return None


def ensure_rabbitmq(timeout: float = 120) -> None:
    """RabbitMQ on 127.0.0.1:5672 accepting guest/guest, and rabbitmqctl usable (vhosts)."""
    if not port_open(AMQP_PORT):
        server = shutil.which('rabbitmq-server') or (
            '/usr/sbin/rabbitmq-server' if os.path.exists('/usr/sbin/rabbitmq-server') else None)
        if server is None:
            if not _can_apt():
                raise ServicesError(
                    'RabbitMQ is not installed and not running on 127.0.0.1:5672. Install it '
                    '(as root: `apt-get install -y rabbitmq-server`) or run `sudo tools/services`')
            _log('RabbitMQ not installed: installing rabbitmq-server')
            _apt_install('rabbitmq-server')
            server = shutil.which('rabbitmq-server') or '/usr/sbin/rabbitmq-server'
        if not port_open(AMQP_PORT):
            if os.geteuid() != 0:
                raise ServicesError('RabbitMQ is installed but not running on 127.0.0.1:5672; '
                                    'start it as root: `rabbitmq-server -detached`')
            _log('starting RabbitMQ')
            _run([server, '-detached'])
        try:
            wait_until(lambda: port_open(AMQP_PORT), timeout, f'RabbitMQ on {HOST}:{AMQP_PORT}')
        except ServicesError as exc:
            raise ServicesError(f'{exc}; see /var/log/rabbitmq/') from None
    deadline = time.monotonic() + 30
    while (error := _amqp_login_error()) and time.monotonic() < deadline:
        time.sleep(0.5)  # the port opens a moment before the broker accepts logins
    if error:
        raise ServicesError(f'RabbitMQ on {HOST}:{AMQP_PORT} refuses {RABBIT_USER}/'
                            f'{RABBIT_PASSWORD}: {error}')
    if not shutil.which('rabbitmqctl'):
        raise ServicesError('rabbitmqctl is not on PATH (needed to create a vhost per stack); '
                            'add /usr/sbin to PATH or install rabbitmq-server')


def ensure_services() -> None:
    """Make MariaDB and RabbitMQ reachable or raise ServicesError."""
    ensure_mysql()
    ensure_rabbitmq()


def main(argv: list[str] | None = None) -> int:
    """CLI: exit 0 when the services are up, 1 with the reason otherwise."""
    parser = argparse.ArgumentParser(prog='tools/services', description=__doc__.split('\n')[0])
    parser.parse_args(argv)
    try:
        ensure_services()
    except ServicesError as exc:
        print(f'services: ERROR: {exc}', file=sys.stderr)
        return 1
    print(f'services: MariaDB ({safe_url(db_server_url())}) and RabbitMQ '
          f'(amqp://{HOST}:{AMQP_PORT}) are up')
    return 0


if __name__ == '__main__':
    sys.exit(main())
