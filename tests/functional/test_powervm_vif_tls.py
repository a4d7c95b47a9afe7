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

"""``powervm-vif --certpath`` over https verifies the server as the agents' session does."""

from __future__ import annotations

import json
import shutil

import pytest

from powervm_sim import client
from powervm_sim.tls import ensure_certificate
from powervm_vif import cli as vif_cli


@pytest.fixture
def tls_sim(tmp_path, monkeypatch):
    # The session points requests' CA bundle variables at the trusted file;
    # monkeypatch restores them after the test.
    for var in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        monkeypatch.setenv(var, '/etc/ssl/certs/ca-certificates.crt')
    sim = client.start_in_thread('single', tmp_path / 'sim', tls=True)
    yield sim
    sim.stop()


def _remote(sim, certpath) -> list[str]:
    return ['--url', sim.url.replace('localhost', '127.0.0.1'), '--user', sim.user,
            '--password', sim.password, '--certpath', str(certpath)]


def test_certpath_with_the_servers_certificate_works(tls_sim, tmp_path, capsys):
    certs = tmp_path / 'certs'
    certs.mkdir()
    shutil.copy(tls_sim.cert, certs / '127_0_0_1.crt')
    assert vif_cli.main([*_remote(tls_sim, certs), 'create-lpar', 'vm-tls']) == 0
    assert json.loads(capsys.readouterr().out)['name'] == 'vm-tls'


def test_certpath_with_another_certificate_is_refused(tls_sim, tmp_path, capsys):
    cert, _key = ensure_certificate(tmp_path / 'other', '127.0.0.1')
    certs = tmp_path / 'certs'
    certs.mkdir()
    shutil.copy(cert, certs / '127_0_0_1.crt')
    assert vif_cli.main([*_remote(tls_sim, certs), 'create-lpar', 'vm-tls']) == 1
    assert 'CERTIFICATE_VERIFY_FAILED' in capsys.readouterr().err


def test_certpath_not_a_directory_is_named(tls_sim, tmp_path, capsys):
    assert vif_cli.main([*_remote(tls_sim, tmp_path / 'nope'), 'create-lpar', 'x']) == 2
    assert 'nope' in capsys.readouterr().err
