"""networking-powervm-sriov-agent."""

import sys

from networking_powervm.cmd import agent_runner  # isort: skip  (threading backend first)
from networking_powervm.agent.sriov import agent as sriov_agent


def main(argv: list[str] | None = None) -> int:
    """Run the SR-IOV agent until SIGTERM; exit 1 with a clear message on start-up errors."""
    return agent_runner.run_agent(sriov_agent.SRIOVAgent, sriov_agent.SRIOVAgent.BINARY, argv)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
