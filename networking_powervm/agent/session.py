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

"""pypowervm Adapter built from the [powervm] options.

No password: local file-based auth (as on a NovaLink partition). Password:
password auth, https by default. Over https every request verifies the
server certificate: against ``<certpath>/<host>.crt`` when that file exists
(``.`` and ``:`` in the host may be written ``_``, as pypowervm names it),
otherwise against the system CA bundle. pypowervm alone verifies only the
logon, and its certificate pinning fails on Python 3.11+, so
:class:`VerifiedSession` takes over verification.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.helpers import vios_busy as pvm_busy

from networking_powervm.agent import rest_count
from networking_powervm.common import logtext

LOG = logging.getLogger(__name__)

# Logon attempts on connection errors before giving up (exception_interval apart).
DEFAULT_LOGON_TRIES = 60
# Retries of one request the VIOS answers busy (or 503), VIOS_BUSY_DELAY * n seconds apart.
VIOS_BUSY_RETRIES = 3
VIOS_BUSY_DELAY = 1


class SessionError(Exception):
    """The REST API session cannot be established; the message is operator-readable."""


class VerifiedSession(pvm_adpt.Session):
    """A pypowervm Session that verifies TLS on every https request."""

    def __init__(self, *, ca_bundle: str | bool = True, **kwargs) -> None:
        self.ca_bundle = ca_bundle
        if isinstance(ca_bundle, str):
            # pypowervm sets verify on a fresh requests.Session per request, and
            # requests lets these variables override a session-level verify; make
            # them name the trusted certificate (this process talks TLS only to
            # the PowerVM REST API).
            os.environ['REQUESTS_CA_BUNDLE'] = ca_bundle
            os.environ['CURL_CA_BUNDLE'] = ca_bundle
        # certpath='' turns off pypowervm's own (logon-only, broken) pinning;
        # request() below verifies instead.
        super().__init__(**{**kwargs, 'certpath': ''})

    def request(self, method: str, path: str, *args, **kwargs):  # noqa: D102
        if self.protocol == 'https':
            kwargs['verify'] = self.ca_bundle
        return super().request(method, path, *args, **kwargs)


def _cert_candidates(host: str, certpath: str) -> list[str]:
    if not certpath:
        return []
    names = dict.fromkeys((host, re.sub('[:.]', '_', host)))  # ordered, no duplicate
    return [os.path.join(certpath, name + '.crt') for name in names]


def ca_bundle_for(host: str, certpath: str) -> str | bool:
    """The trusted certificate file for ``host`` under ``certpath``, else True (system CAs)."""
    for candidate in _cert_candidates(host, certpath):
        if os.path.isfile(candidate):
            return candidate
    return True


def trust_description(host: str, certpath: str) -> str:
    """Which certificate an https session trusts, and where it was looked for."""
    bundle = ca_bundle_for(host, certpath)
    if isinstance(bundle, str):
        return f"trusting the certificate {bundle} ([powervm] certpath)"
    looked = ' or '.join(_cert_candidates(host, certpath)) or '(no [powervm] certpath)'
    return (f"no trusted certificate at {looked}, so verifying against the system CA "
            "bundle; put the server's certificate there to trust it")


def session_kwargs(conf: cfg.ConfigOpts) -> dict:
    """pypowervm Session keyword arguments from [powervm] (may hold the password)."""
    pvm = conf.powervm
    certpath = pvm.certpath or ''
    if certpath and not certpath.endswith(os.sep):
        certpath += os.sep
    return {
        'host': pvm.host,
        'username': pvm.username or None,
        'password': pvm.password or None,
        'protocol': pvm.protocol,
        'port': pvm.port,
        'timeout': pvm.timeout,
        'certpath': certpath,
    }


def describe(conf: cfg.ConfigOpts) -> str:
    """Where and how we connect, without credentials."""
    kw = session_kwargs(conf)
    auth = 'password' if kw['password'] else 'local file'
    proto = kw['protocol'] or ('https' if kw['password'] else 'http')
    port = f":{kw['port']}" if kw['port'] else ''
    return f"{proto}://{kw['host']}{port} ({auth} auth, user {kw['username'] or '<auto>'})"


def build_session(conf: cfg.ConfigOpts, tries: int = DEFAULT_LOGON_TRIES,
                  sleep: Callable[[float], None] = time.sleep) -> pvm_adpt.Session:
    """Log on, retrying connection errors every exception_interval seconds."""
    kwargs = session_kwargs(conf)
    where = describe(conf)
    # Over https, every failure says which certificate is trusted, or where it was looked for.
    trust = (f" ({trust_description(kwargs['host'], kwargs['certpath'])})"
             if where.startswith('https:') else '')
    interval = conf.AGENT.exception_interval
    for attempt in range(1, tries + 1):
        try:
            return VerifiedSession(ca_bundle=ca_bundle_for(kwargs['host'], kwargs['certpath']),
                                   **kwargs)
        except pvm_exc.ConnectionError as exc:
            if attempt >= tries:
                raise SessionError(f"Cannot connect to the PowerVM REST API at {where} "
                                   f"after {tries} attempts: {logtext.error_text(exc)}{trust}"
                                   ) from None
            LOG.warning("Cannot connect to the PowerVM REST API at %s (attempt %d of %d): "
                        "%s%s; retrying in %d seconds", where, attempt, tries,
                        logtext.error_text(exc), trust, interval)
            sleep(interval)
        except pvm_exc.HttpError as exc:
            status = getattr(exc.response, 'status', None)
            raise SessionError(f"Logon to the PowerVM REST API at {where} failed "
                               f"(HTTP {status}); check [powervm] username/password") from None
        except pvm_exc.Error as exc:
            raise SessionError(f"Logon to the PowerVM REST API at {where} failed: "
                               f"{logtext.error_text(exc)}{trust}") from None
        except ValueError as exc:
            raise SessionError(f"Invalid [powervm] configuration: {exc}") from None
    raise SessionError(f"Cannot connect to the PowerVM REST API at {where}")  # tries < 1


def build_adapter(conf: cfg.ConfigOpts, tries: int = DEFAULT_LOGON_TRIES,
                  sleep: Callable[[float], None] = time.sleep) -> pvm_adpt.Adapter:
    """A logged-on Adapter: concise REST error logging, bounded VIOS-busy retries,
    per-thread request counts (each retry counted)."""
    session = build_session(conf, tries=tries, sleep=sleep)
    LOG.info("Connected to the PowerVM REST API at %s", describe(conf))
    return pvm_adpt.Adapter(session, helpers=[rest_error_log_helper, vios_busy_retry_helper,
                                              rest_count.count_helper])


def vios_busy_retry_helper(func: Callable) -> Callable:
    """pypowervm's VIOS-busy/503 retry with a short back-off (1 + 2 + 3 seconds at most).

    pypowervm's default waits 5, 10 and 15 seconds per request; the agents retry
    a failed batch themselves with a bounded back-off.
    """
    return pvm_busy.vios_busy_retry_helper(func, max_retries=VIOS_BUSY_RETRIES,
                                           delay=VIOS_BUSY_DELAY)


def rest_error_log_helper(func: Callable) -> Callable:
    """Log a failed REST request on one DEBUG line (status, method, path, bounded body).

    Replaces pypowervm's log_helper, which dumps the recent requests and the
    whole XML error body at INFO on every failure; the caller logs the concise
    error line.
    """
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except pvm_exc.Error as exc:
            resp = getattr(exc, 'response', None)
            LOG.debug("PowerVM REST request failed: %s; response body: %s",
                      logtext.error_text(exc),
                      logtext.bounded(getattr(resp, 'body', None), limit=2000))
            raise
    return wrapper

