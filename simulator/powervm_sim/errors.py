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

"""HttpErrorResponse bodies, shaped like the real PowerVM REST API's errors.

pypowervm turns any non-2xx answer into ``pypowervm.exceptions.HttpError``
whose ``.response.body`` is this Atom entry (see fake_httperror.txt).
"""

from __future__ import annotations

import datetime
import uuid
from xml.sax.saxutils import escape

from powervm_sim.model import RestResponse

_REASONS = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 409: 'Conflict', 412: 'Precondition Failed',
    415: 'Unsupported Media Type', 500: 'Internal Server Error',
    503: 'Service Unavailable',
}

_TEMPLATE = (
    '<entry xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:ns2="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:ns3="http://www.w3.org/1999/xhtml">\n'
    '    <id>{id}</id>\n'
    '    <title>HttpErrorResponse</title>\n'
    '    <published>{published}</published>\n'
    '    <author>\n        <name>IBM Power Systems Management Console</name>\n'
    '    </author>\n'
    '    <content type="application/vnd.ibm.powervm.web+xml; type=HttpErrorResponse">\n'
    '        <HttpErrorResponse:HttpErrorResponse '
    'xmlns:HttpErrorResponse="http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/" '
    'xmlns="http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/" '
    'xmlns:ns2="http://www.w3.org/XML/1998/namespace/k2" schemaVersion="V1_2_0">\n'
    '    <Metadata>\n        <Atom/>\n    </Metadata>\n'
    '    <HTTPStatus kb="ROR" kxe="false">{status}</HTTPStatus>\n'
    '    <RequestURI kb="ROR" kxe="false">{uri}</RequestURI>\n'
    '    <ReasonCode kb="ROR" kxe="false">{reason}</ReasonCode>\n'
    '    <Message kb="ROO" kxe="false">{message}</Message>\n'
    '    <RequestBody kb="ROO" kxe="false"/>\n'
    '    <RequestHeaders kb="ROO" kxe="false"/>\n'
    '</HttpErrorResponse:HttpErrorResponse>\n'
    '    </content>\n'
    '</entry>\n'
)


def published_now() -> str:
    """Atom ``published``/``updated`` timestamp (UTC, milliseconds, like the API)."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime('%Y-%m-%dT%H:%M:%S.') + f'{now.microsecond // 1000:03d}Z'


def http_error(status: int, request_uri: str, message: str,
               reason: str | None = None) -> RestResponse:
    """Build the HttpErrorResponse Atom entry for ``status``."""
    reason = reason or _REASONS.get(status, 'Error')
    body = _TEMPLATE.format(
        id=uuid.uuid4(), published=published_now(), status=int(status),
        uri=escape(request_uri), reason=escape(reason), message=escape(message))
    return RestResponse(status=int(status),
                        headers={'content-type': 'application/atom+xml'},
                        body=body.encode('utf-8'))
