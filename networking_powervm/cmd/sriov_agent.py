"""``networking-powervm-sriov-agent``: run the PowerVM SR-IOV agent.

Threads, not eventlet: importing neutron.cmd.agents selects oslo.service's
THREADING backend before anything else of neutron or oslo.service is used.
A bad configuration or an unreachable REST API exits with status 1 and a
message naming the problem.
"""

import sys

import neutron.cmd.agents  # noqa: F401  (oslo.service THREADING backend, first)
from neutron.common import config as common_config
from oslo_config import cfg
from oslo_log import log as logging

from networking_powervm.agent import base
from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import session as pvm_session
from networking_powervm.agent.sriov import agent as sriov_agent

LOG = logging.getLogger(__name__)


def _fail(message: str) -> int:
    LOG.error(message)
    print(f"{sriov_agent.SRIOVAgent.BINARY}: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Parse the config and command line, build the agent and run it until SIGTERM."""
    conf = cfg.CONF
    common_config.register_common_config_options()
    pvm_config.register_opts(conf)
    try:
        common_config.init(sys.argv[1:] if argv is None else argv)
    except (cfg.Error, RuntimeError) as exc:
        print(f"{sriov_agent.SRIOVAgent.BINARY}: invalid configuration: {exc}",
              file=sys.stderr)
        return 1
    common_config.setup_logging()
    try:
        agent = sriov_agent.SRIOVAgent(conf)
    except (base.AgentError, pvm_session.SessionError) as exc:
        return _fail(str(exc))
    except cfg.Error as exc:
        return _fail(f"invalid configuration: {exc}")
    LOG.info("PowerVM SR-IOV agent initialized, running")
    agent.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
