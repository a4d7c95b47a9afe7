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

"""Shared start-up of the PowerVM agents' console scripts.

Threads, not eventlet: oslo.service's THREADING backend is selected before
anything imports oslo_messaging (as neutron.cmd.agents does for the in-tree
agents). A bad configuration or an unreachable REST API exits with status 1
and a message naming the problem.
"""

# Select oslo.service's threading backend before anything imports oslo_messaging.
from oslo_service import backend as _backend  # isort: skip

try:
    _backend.init_backend(_backend.BackendType.THREADING)
except _backend.exceptions.BackendAlreadySelected:  # pragma: no cover
    pass

import logging as std_logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

from neutron.common import config as common_config  # noqa: E402
from neutron_lib import rpc as n_rpc  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402

from networking_powervm import version  # noqa: E402
from networking_powervm.agent import base  # noqa: E402
from networking_powervm.agent import config as pvm_config  # noqa: E402
from networking_powervm.agent import session as pvm_session  # noqa: E402

LOG = logging.getLogger(__name__)

_STARTUP_ERRORS = (base.AgentError, pvm_session.SessionError, cfg.Error)


def run_agent(factory: Callable[[cfg.ConfigOpts], base.PVMAgentBase], binary: str,
              argv: list[str] | None = None) -> int:
    """Parse config, build the agent with ``factory`` and run it until SIGTERM."""
    conf = cfg.CONF
    pvm_config.register_opts(conf)
    common_config.register_common_config_options()
    try:
        parse_args(conf, sys.argv[1:] if argv is None else argv)
    except (cfg.Error, RuntimeError) as exc:
        print(f"{binary}: invalid configuration: {exc}", file=sys.stderr)
        return 1
    common_config.setup_logging()
    LOG.info("%s version %s", binary, version.version_string())
    try:
        agent = factory(conf)
    except _STARTUP_ERRORS as exc:
        return _startup_failed(binary, str(exc))
    except Exception as exc:
        LOG.exception("Cannot start %s", binary)
        return _startup_failed(binary, f"{type(exc).__name__}: {exc}")
    LOG.info("%s initialized, running", binary)
    try:
        agent.run()
    except _STARTUP_ERRORS as exc:
        LOG.error("%s stopped: %s", binary, exc)
        print(f"{binary}: {exc}", file=sys.stderr)
        return _exit(1)
    except Exception:
        LOG.exception("%s failed", binary)
        return _exit(1)
    return _exit(0)


def parse_args(conf: cfg.ConfigOpts, argv: list[str]) -> None:
    """Parse the command line and config files as neutron's agents do.

    Like ``neutron.common.config.init`` (project ``neutron``, so the default
    config files are neutron's; then the RPC transport), but ``--version``
    prints networking-powervm's version, not neutron's.
    """
    conf(args=argv, project='neutron', version=f'%(prog)s {version.version_string()}')
    n_rpc.init(conf)


def _startup_failed(binary: str, message: str) -> int:
    LOG.error("Cannot start %s: %s", binary, message)
    print(f"{binary}: cannot start: {message}", file=sys.stderr)
    return 1


def _exit(code: int) -> int:
    # pypowervm's event poll thread is not a daemon and may sit in a long poll
    # for up to [powervm] timeout seconds: leave without waiting for it.
    std_logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
    return code  # pragma: no cover
