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

import uuid
from xml.sax.saxutils import escape

from powervm_sim import atom
from powervm_sim.rest import RestResponse

_REASONS = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 409: 'Conflict', 412: 'Precondition Failed',
    413: 'Request Entity Too Large', 415: 'Unsupported Media Type',
    500: 'Internal Server Error', 503: 'Service Unavailable',
}
_CONTENT_TYPE = 'application/vnd.ibm.powervm.web+xml; type=HttpErrorResponse'


def _field(tag: str, value: object, kb: str = 'ROR') -> str:
    return f'<{tag} kb="{kb}" kxe="false">{escape(str(value))}</{tag}>'


def http_error(status: int, request_uri: str, message: str,
               reason: str | None = None) -> RestResponse:
    """The HttpErrorResponse Atom entry for ``status``."""
    reason = reason or _REASONS.get(status, 'Error')
    content = (
        f'<HttpErrorResponse:HttpErrorResponse xmlns:HttpErrorResponse="{atom.WEB_NS}" '
        f'xmlns="{atom.WEB_NS}" xmlns:ns2="http://www.w3.org/XML/1998/namespace/k2" '
        'schemaVersion="V1_2_0"><Metadata><Atom/></Metadata>'
        + _field('HTTPStatus', int(status)) + _field('RequestURI', request_uri)
        + _field('ReasonCode', reason) + _field('Message', message, 'ROO')
        + '<RequestBody kb="ROO" kxe="false"/><RequestHeaders kb="ROO" kxe="false"/>'
        '</HttpErrorResponse:HttpErrorResponse>')
    body = atom.entry('HttpErrorResponse', str(uuid.uuid4()), content,
                      content_type=_CONTENT_TYPE, standalone=True)
    return RestResponse(status=int(status), headers={'content-type': atom.CONTENT_TYPE},
                        body=body.encode('utf-8'))
