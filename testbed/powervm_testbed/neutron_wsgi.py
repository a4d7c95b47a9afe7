"""WSGI shim for the Neutron API under gunicorn.

``neutron.wsgi.api`` parses ``sys.argv`` as its own command line, so gunicorn's
arguments are cleared first. The config files come from OS_NEUTRON_CONFIG_DIR and
OS_NEUTRON_CONFIG_FILES (set by :class:`~powervm_testbed.neutron_stack.NeutronStack`).
"""

import sys

from oslo_service import backend as _backend

sys.argv = ['neutron-api']
# As neutron's own console scripts do: oslo.service on threads, never eventlet.
_backend.init_backend(_backend.BackendType.THREADING)

from neutron.wsgi.api import application  # noqa: E402

__all__ = ['application']
