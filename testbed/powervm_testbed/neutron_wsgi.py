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

"""WSGI shim for the Neutron API under gunicorn.

``neutron.wsgi.api`` parses ``sys.argv`` as its own command line, so gunicorn's
arguments are cleared first. The config files come from OS_NEUTRON_CONFIG_DIR and
OS_NEUTRON_CONFIG_FILES (set by :class:`~powervm_testbed.neutron_stack.NeutronStack`).
The policy enforcer is loaded at import, before the worker takes requests.
"""

import sys

from oslo_service import backend as _backend

sys.argv = ['neutron-api']
# As neutron's own console scripts do: oslo.service on threads, never eventlet.
_backend.init_backend(_backend.BackendType.THREADING)

from neutron import policy  # noqa: E402
from neutron.wsgi.api import application  # noqa: E402

# Load the policy enforcer now, before the worker serves: neutron creates it on the
# first request, and requests arriving while its defaults are still being
# registered (seconds after a (re)spawn) were checked against the policy file's
# rules alone and refused (PolicyNotAuthorized on admin provider-network creates).
policy.init()

__all__ = ['application']
