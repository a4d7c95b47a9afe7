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

"""The agent's REST session over https verifies the server certificate on every request."""

from __future__ import annotations

import shutil

import pytest
from oslo_config import cfg
from pypowervm.wrappers import managed_system as pvm_ms

from networking_powervm.agent import config, session
from powervm_sim import client
from powervm_sim.tls import ensure_certificate


@pytest.fixture
def tls_sim(tmp_path, monkeypatch):
    # build_adapter points requests' CA bundle variables at the trusted file;
    # monkeypatch restores them after each test.
    for var in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        monkeypatch.setenv(var, '/etc/ssl/certs/ca-certificates.crt')
    sim = client.start_in_thread('single', tmp_path / 'sim', tls=True)
    yield sim
    sim.stop()


def _conf(sim, certpath) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([])
    port = int(sim.url.rsplit(':', 1)[1])
    for name, value in (('host', '127.0.0.1'), ('port', port), ('protocol', 'https'),
                        ('username', sim.user), ('password', sim.password),
                        ('certpath', str(certpath))):
        conf.set_override(name, value, 'powervm')
    conf.set_override('exception_interval', 1, 'AGENT')
    return conf


def test_trusted_certificate_every_request_verified(tls_sim, tmp_path):
    certs = tmp_path / 'certs'
    certs.mkdir()
    shutil.copy(tls_sim.cert, certs / '127_0_0_1.crt')
    adapter = session.build_adapter(_conf(tls_sim, certs), tries=1)
    assert adapter.session.ca_bundle == str(certs / '127_0_0_1.crt')
    sys_w = pvm_ms.System.get(adapter)[0]
    assert sys_w.uuid


def test_untrusted_certificate_refused(tls_sim, tmp_path):
    other = tmp_path / 'other'
    cert, _key = ensure_certificate(other, '127.0.0.1')
    certs = tmp_path / 'certs'
    certs.mkdir()
    shutil.copy(cert, certs / '127_0_0_1.crt')
    with pytest.raises(session.SessionError, match='127.0.0.1') as exc:
        session.build_adapter(_conf(tls_sim, certs), tries=1)
    # The failure names the certificate it trusted.
    assert f"trusting the certificate {certs / '127_0_0_1.crt'}" in str(exc.value)


def test_no_trusted_certificate_uses_system_cas_and_refuses_self_signed(tls_sim, tmp_path):
    with pytest.raises(session.SessionError) as exc:
        session.build_adapter(_conf(tls_sim, tmp_path / 'empty'), tries=1)
    # The failure says where the trusted certificate was looked for.
    empty = tmp_path / 'empty'
    assert (f"no trusted certificate at {empty / '127.0.0.1.crt'} or "
            f"{empty / '127_0_0_1.crt'}, so verifying against the system CA bundle"
            in str(exc.value))
