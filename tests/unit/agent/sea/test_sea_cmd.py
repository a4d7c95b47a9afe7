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

"""networking-powervm-sea-agent: a bad option exits 1 at start-up, naming it.

Run in a subprocess: main() parses the global cfg.CONF. Nothing listens on the
[powervm] address: an agent that tried to connect before validating would hang.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CMD = [sys.executable, '-m', 'networking_powervm.cmd.sea_agent']


@pytest.mark.parametrize('line', ['heal_and_optimize_interval = 0',
                                  'heal_and_optimize_interval = -30',
                                  'exception_interval = 0'])
def test_bad_interval_exits_1_naming_the_option(tmp_path, line):
    conf = tmp_path / 'sea.conf'
    conf.write_text(f'[AGENT]\n{line}\n[powervm]\nhost = 127.0.0.1\nport = 9\n')
    proc = subprocess.run(CMD + ['--config-file', str(conf)], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONWARNINGS='ignore'))
    assert proc.returncode == 1, proc.stderr
    assert f'networking-powervm-sea-agent: cannot start: Invalid [agent] {line}: ' \
        in proc.stderr
    assert 'Traceback' not in proc.stderr
