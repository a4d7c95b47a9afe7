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

"""Self-signed TLS certificate for ``powervm-sim serve --tls``.

Generated once into ``<state-dir>/tls/`` and reused.

How a pypowervm client verifies it: pypowervm 1.1.27's certificate pinning
(``{certpath}{host}{certext}``, util.validate_certificate) is broken on Python 3:
``ssl.wrap_socket`` detaches the socket and the ``finally: conn.shutdown()``
raises EBADF, so a pinned file makes ``Session()`` fail.  Instead give
``Session(protocol='https', certpath=<a dir without that file>)`` -- pypowervm
then lets requests verify the chain -- and point ``REQUESTS_CA_BUNDLE`` at
``<state-dir>/tls/server.crt`` (self-signed, CA:true, SAN host/127.0.0.1/localhost).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pathlib
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _names(host: str) -> list[str]:
    names = [host, '127.0.0.1', 'localhost']
    return list(dict.fromkeys(n for n in names if n))


def _generate(host: str, cert_path: pathlib.Path, key_path: pathlib.Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    alt = []
    for name in _names(host):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_certificate(state_dir: pathlib.Path, host: str) -> tuple[pathlib.Path, pathlib.Path]:
    """(cert, key) paths under ``state_dir``, generated on first use."""
    tls_dir = state_dir / 'tls'
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = tls_dir / 'server.crt', tls_dir / 'server.key'
    if not (cert_path.exists() and key_path.exists()):
        _generate(host, cert_path, key_path)
    return cert_path, key_path


def server_context(cert_path: pathlib.Path, key_path: pathlib.Path) -> ssl.SSLContext:
    """Server-side SSL context for the certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert_path), str(key_path))
    return ctx
