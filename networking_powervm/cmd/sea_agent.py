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
