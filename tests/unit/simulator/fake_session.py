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

"""A pypowervm Session that routes requests to SimHost.handle (no HTTP)."""

from __future__ import annotations

import urllib.parse

from pypowervm import adapter as pvm_adpt
from pypowervm import traits as pvm_traits

from powervm_sim.resources import RestRequest, SimHost

BASE = 'http://127.0.0.1:12080'


class SimSession(pvm_adpt.Session):
    """Session look-alike: NovaLink traits, requests answered by a SimHost."""

    def __init__(self, host: SimHost):  # noqa: D107 - no logon, no HTTP
        self.host_obj = host
        self.host, self.port, self.protocol = '127.0.0.1', 12080, 'http'
        self.dest = BASE
        self.use_file_auth = True
        self.mc_type = 'PVM'
        self.schema_version = 'V1_0'
        self.timeout = 60
        self._init_by = -1  # __del__ must not log off
        self._eventlistener = None
        self.traits = pvm_traits.APITraits(self)

    def request(self, method, path, headers=None, body='', sensitive=False, verify=False,
                timeout=-1, auditmemento=None, relogin=True, login=False, filehandle=None,
                chunksize=65536):
        parsed = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        data = body.encode() if isinstance(body, str) else (body or b'')
        resp = self.host_obj.handle(RestRequest(method, parsed.path, query, hdrs, data, BASE))
        text = resp.body.decode()
        out = pvm_adpt.Response(method, path, resp.status, 'reason', resp.headers,
                                reqheaders=headers or {}, reqbody=body, body=text)
        if resp.status in (204, 304):
            return out
        if 200 <= resp.status < 300:
            return out
        raise self._get_httperror(out)


def adapter_for(host: SimHost) -> pvm_adpt.Adapter:
    return pvm_adpt.Adapter(session=SimSession(host))
