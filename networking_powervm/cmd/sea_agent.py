"""networking-powervm-sea-agent (also installed as networking-powervm-sharedethernet-agent)."""

import sys

from networking_powervm.cmd import agent_runner  # isort: skip  (threading backend first)
from networking_powervm.agent.sea import agent as sea_agent


def main(argv: list[str] | None = None) -> int:
    """Run the SEA agent until SIGTERM; exit 1 with a clear message on start-up errors."""
    return agent_runner.run_agent(sea_agent.SharedEthernetAgent, 'networking-powervm-sea-agent',
                                  argv)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
