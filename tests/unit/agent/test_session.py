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

"""Adapter construction from [powervm]: auth mode, TLS, logon retry, no secrets logged."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from pypowervm import exceptions as pvm_exc

from networking_powervm.agent import session


@pytest.fixture
def sess():
    with mock.patch.object(session, 'VerifiedSession') as s:
        yield s


def test_file_auth_without_password(conf, sess):
    adapter = session.build_adapter(conf, sleep=mock.Mock())
    kw = sess.call_args.kwargs
    assert kw['password'] is None and kw['host'] == 'localhost' and kw['protocol'] is None
    assert adapter.session is sess.return_value
    assert adapter.helpers[-1] is session.rest_count.count_helper
    assert len(adapter.helpers) == 3


def test_password_auth_passes_tls_settings(conf, sess):
    conf.set_override('host', 'novalink.example.com', 'powervm')
    conf.set_override('username', 'neutron', 'powervm')
    conf.set_override('password', 's3cret', 'powervm')
    conf.set_override('protocol', 'https', 'powervm')
    conf.set_override('port', 12443, 'powervm')
    conf.set_override('certpath', '/etc/pki', 'powervm')
    session.build_adapter(conf, sleep=mock.Mock())
    assert sess.call_args.kwargs == {
        'host': 'novalink.example.com', 'username': 'neutron', 'password': 's3cret',
        'protocol': 'https', 'port': 12443, 'timeout': 1200, 'certpath': '/etc/pki/',
        'ca_bundle': True}


def test_trusted_certificate_file_found_by_host_name(tmp_path):
    (tmp_path / 'nl_example_com.crt').write_text('x')
    assert session.ca_bundle_for('nl.example.com', str(tmp_path)) == str(
        tmp_path / 'nl_example_com.crt')
    assert session.ca_bundle_for('other.example.com', str(tmp_path)) is True
    assert session.ca_bundle_for('nl.example.com', '') is True


def test_connection_errors_retried_without_logging_password(conf, sess, caplog):
    caplog.set_level(logging.DEBUG)
    conf.set_override('password', 's3cret', 'powervm')
    conf.set_override('exception_interval', 7, 'AGENT')
    sleep = mock.Mock()
    sess.side_effect = [pvm_exc.ConnectionError('refused'), pvm_exc.ConnectionError('refused'),
                        mock.Mock()]
    session.build_adapter(conf, tries=5, sleep=sleep)
    assert sleep.call_args_list == [mock.call(7), mock.call(7)]
    assert 'refused' in caplog.text and 's3cret' not in caplog.text


def test_gives_up_with_clear_error(conf, sess):
    sess.side_effect = pvm_exc.ConnectionError('refused')
    with pytest.raises(session.SessionError, match='localhost.*after 3 attempts'):
        session.build_adapter(conf, tries=3, sleep=mock.Mock())


def test_bad_credentials_not_retried(conf, sess):
    conf.set_override('password', 's3cret', 'powervm')
    resp = mock.Mock(status=401, body='', reqmethod='PUT', reqpath='/rest/api/web/Logon',
                     reason='Unauthorized', reqheaders={}, reqbody='', headers={})
    sess.side_effect = pvm_exc.HttpError(resp)
    with pytest.raises(session.SessionError, match='HTTP 401') as err:
        session.build_adapter(conf, sleep=mock.Mock())
    assert 's3cret' not in str(err.value)
    assert sess.call_count == 1


def test_describe_hides_password(conf):
    conf.set_override('password', 's3cret', 'powervm')
    text = session.describe(conf)
    assert 's3cret' not in text and 'password auth' in text and text.startswith('https://')


BUSY_BODY = '''<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/vnd.ibm.powervm.web+xml; type=HttpErrorResponse"><HttpErrorResponse:HttpErrorResponse xmlns:HttpErrorResponse="http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/" xmlns="http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/" schemaVersion="V1_0"><HTTPStatus>500</HTTPStatus><URI>/rest/api/uom/ManagedSystem/x/NetworkBridge/y</URI><ReasonCode>Unknown internal error.</ReasonCode><Message>VIOS_BUSY: The VIOS is busy (HSCL3205)</Message></HttpErrorResponse:HttpErrorResponse></content></entry>'''  # noqa: E501


def busy_error():
    resp = mock.Mock(status=500, reason='Internal Server Error', body=BUSY_BODY,
                     reqmethod='POST', reqpath='/rest/api/uom/ManagedSystem/x/NetworkBridge/y')
    resp.entry = None
    return pvm_exc.HttpError(resp)


def test_vios_busy_retries_are_short_and_bounded(conf, sess, caplog):
    """pypowervm waits 5 + 10 + 15 s per busy request by default; here 1 + 2 + 3 at most."""
    caplog.set_level(logging.DEBUG)
    adapter = session.build_adapter(conf, sleep=mock.Mock())
    request = mock.Mock(side_effect=busy_error())
    wrapped = request
    for helper in reversed(adapter.helpers):
        wrapped = helper(wrapped)
    with mock.patch('pypowervm.helpers.vios_busy.SLEEP') as sleep, \
            session.rest_count.counting() as counts:
        with pytest.raises(pvm_exc.HttpError):
            wrapped('POST', '/rest/api/uom/x')
    assert [c.args[0] for c in sleep.call_args_list] == [1, 2, 3]
    assert request.call_count == 4
    # The request count is innermost: every retry counts.
    assert (counts.reads, counts.writes) == (0, 4)
    # Each failure: one DEBUG line, never the multi-line dump of pypowervm's log_helper.
    failures = [r for r in caplog.records if 'PowerVM REST request failed' in r.getMessage()]
    assert failures and all(r.levelno == logging.DEBUG for r in failures)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and
                'HttpErrorResponse' in r.getMessage()]
