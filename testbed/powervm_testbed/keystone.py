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

"""A real Keystone for a test-bed stack: its own venv, database, fernet keys, gunicorn.

:class:`Keystone` prepares (config, ``db_sync``, fernet/credential keys,
``keystone-manage bootstrap``: admin project/user/role, region ``RegionOne`` and
the identity endpoints), gives the command that serves it, and once it answers
registers Neutron as an operator would: a ``service`` project, a ``neutron``
user with the ``admin`` and ``service`` roles there (for ``[keystone_authtoken]``)
and the ``network`` service with its endpoints. The bootstrap admin also gets the
``service`` role on ``admin``: it binds ports as Nova's service user does.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import subprocess
from pathlib import Path
from typing import Any

import requests

from powervm_testbed import venvs
from powervm_testbed.logs import tail

REGION = 'RegionOne'
DOMAIN = 'Default'
ADMIN_USER = 'admin'
ADMIN_PROJECT = 'admin'
SERVICE_PROJECT = 'service'
NEUTRON_USER = 'neutron'


# keystone.wsgi.api parses sys.argv as its own command line (gunicorn's options):
# this shim, written next to keystone.conf, clears it first.
_WSGI_SHIM = '''"""Keystone under gunicorn (written by powervm_testbed.keystone)."""
import sys

sys.argv = ['keystone-wsgi-public']
from keystone.wsgi.api import application  # noqa: E402,F401
'''
_SHIM_MODULE = 'npvm_keystone_wsgi'


class KeystoneError(RuntimeError):
    """Keystone could not be prepared or registered."""


def _ini(sections: dict[str, dict[str, Any]]) -> str:
    out = []
    for name, opts in sections.items():
        out.append(f'[{name}]')
        out += [f'{k} = {v}' for k, v in opts.items()]
        out.append('')
    return '\n'.join(out)


class Keystone:
    """One Keystone served from ``venv`` on 127.0.0.1:``port``, state under ``workdir``."""

    def __init__(self, workdir: Path, port: int, db_url: str, *, debug: bool = False,
                 workers: int = 1, timeout: float = 240) -> None:
        self.workdir = workdir
        self.port = port
        self.db_url = db_url
        self.debug = debug
        self.workers = workers
        self.timeout = timeout
        self.url = f'http://127.0.0.1:{port}'
        self.auth_url = f'{self.url}/v3'
        self.conf = workdir / 'keystone.conf'
        self.log = workdir / 'keystone.log'
        self.admin_password = secrets.token_urlsafe(18)
        self.neutron_password = secrets.token_urlsafe(18)
        self.venv: Path | None = None

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Venv (cached), config, schema, keys and bootstrap; no process yet."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.venv = venvs.ensure_venv('keystone', venvs.KEYSTONE_REQUIREMENTS,
                                      log=self.workdir / 'venv-install.log')
        keys = {sub: self.workdir / sub
                for sub in ('fernet-keys', 'fernet-receipts', 'credential-keys')}
        for path in keys.values():
            path.mkdir(mode=0o700, exist_ok=True)
        self.conf.write_text(_ini({
            'DEFAULT': {'log_file': self.log, 'use_stderr': 'false',
                        'debug': str(self.debug).lower()},
            'database': {'connection': self.db_url, 'max_pool_size': 5},
            'token': {'provider': 'fernet', 'expiration': 4 * 3600},
            'fernet_tokens': {'key_repository': keys['fernet-keys']},
            'fernet_receipts': {'key_repository': keys['fernet-receipts']},
            'credential': {'key_repository': keys['credential-keys']},
            # A test bed: bcrypt's minimum cost keeps each password login cheap.
            'identity': {'password_hash_rounds': 4},
            # One worker: its in-process cache is coherent; it spares the database a
            # dozen queries per token validation and role lookup.
            'cache': {'enabled': 'true', 'backend': 'dogpile.cache.memory'},
        }))
        self.conf.chmod(0o600)
        (self.workdir / f'{_SHIM_MODULE}.py').write_text(_WSGI_SHIM)
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        self._manage('db_sync')
        self._manage('fernet_setup', '--keystone-user', user, '--keystone-group', group)
        self._manage('credential_setup', '--keystone-user', user, '--keystone-group', group)
        # The password goes by environment (OS_BOOTSTRAP_PASSWORD), never in argv.
        self._manage('bootstrap', '--bootstrap-username', ADMIN_USER,
                     '--bootstrap-project-name', ADMIN_PROJECT,
                     '--bootstrap-role-name', 'admin', '--bootstrap-region-id', REGION,
                     *[arg for iface in ('admin', 'public', 'internal')
                       for arg in (f'--bootstrap-{iface}-url', self.url)],
                     env={'OS_BOOTSTRAP_PASSWORD': self.admin_password})

    def _manage(self, *args: str, env: dict[str, str] | None = None) -> None:
        assert self.venv is not None
        log = self.workdir / 'keystone-manage.log'
        with open(log, 'ab') as out:
            res = subprocess.run([str(self.venv / 'bin/keystone-manage'), '--config-file',
                                  str(self.conf), *args], stdout=out,
                                 stderr=subprocess.STDOUT, timeout=self.timeout,
                                 env={**os.environ, **(env or {})}, check=False)
        if res.returncode != 0:
            raise KeystoneError(f'keystone-manage {args[0]} failed (exit {res.returncode})\n'
                                + tail(log) + '\n' + tail(self.log, 15))

    def command(self) -> tuple[list[str], dict[str, str]]:
        """(argv, extra environment) of the gunicorn process serving Keystone."""
        assert self.venv is not None
        return ([str(self.venv / 'bin/gunicorn'), '--workers', str(self.workers),
                 '--worker-class', 'gthread', '--threads', '4', '--timeout',
                 str(int(self.timeout)), '--graceful-timeout', '5',
                 '--bind', f'127.0.0.1:{self.port}', '--name', f'keystone-{self.port}',
                 '--no-control-socket', '--pythonpath', str(self.workdir),
                 f'{_SHIM_MODULE}:application'],
                {'OS_KEYSTONE_CONFIG_DIR': str(self.workdir),
                 'OS_KEYSTONE_CONFIG_FILES': self.conf.name})

    def ready(self) -> bool:
        """True if GET /v3 answers 200."""
        try:
            return requests.get(self.auth_url, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    # ------------------------------------------------------------------ accounts

    def admin_auth(self) -> dict[str, str]:
        """openstacksdk/keystoneauth password auth of the bootstrap admin (project admin)."""
        return {'auth_url': self.auth_url, 'username': ADMIN_USER,
                'password': self.admin_password, 'project_name': ADMIN_PROJECT,
                'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN}

    def authtoken_options(self) -> dict[str, Any]:
        """Neutron's ``[keystone_authtoken]`` section."""
        return {'www_authenticate_uri': self.url, 'auth_url': self.url,
                'auth_type': 'password', 'username': NEUTRON_USER,
                'password': self.neutron_password, 'project_name': SERVICE_PROJECT,
                'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN,
                'region_name': REGION, 'service_token_roles_required': 'true'}

    def admin_connection(self) -> Any:
        """An openstacksdk Connection as the bootstrap admin."""
        import openstack

        return openstack.connect(**self.admin_auth(), region_name=REGION,
                                 identity_api_version='3', load_envvars=False,
                                 load_yaml_config=False)

    def register_neutron(self, neutron_url: str) -> None:
        """Service project, neutron user (admin + service there), network service + endpoints."""
        conn = self.admin_connection()
        try:
            idn = conn.identity
            domain = idn.find_domain(DOMAIN, ignore_missing=False)
            service_project = idn.create_project(name=SERVICE_PROJECT, domain_id=domain.id)
            admin_project = idn.find_project(ADMIN_PROJECT, domain_id=domain.id,
                                             ignore_missing=False)
            admin = idn.find_user(ADMIN_USER, domain_id=domain.id, ignore_missing=False)
            neutron = idn.create_user(name=NEUTRON_USER, password=self.neutron_password,
                                      domain_id=domain.id, default_project_id=service_project.id)
            roles = {r.name: r for r in idn.roles()}
            for role in ('admin', 'service'):
                if role not in roles:
                    raise KeystoneError(f'bootstrap made no {role!r} role (roles: '
                                        f'{sorted(roles)})')
                idn.assign_project_role_to_user(service_project, neutron, roles[role])
            idn.assign_project_role_to_user(admin_project, admin, roles['service'])
            service = idn.create_service(name='neutron', type='network',
                                         description='OpenStack Networking')
            for iface in ('public', 'internal', 'admin'):
                idn.create_endpoint(service_id=service.id, interface=iface,
                                    url=neutron_url, region_id=REGION)
        finally:
            conn.close()

