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

"""networking-powervm-sriov-agent: a bad configuration exits 1 with a clear message.

Run in a subprocess: main() parses the global cfg.CONF and initializes RPC.
"""

import os
import subprocess
import sys

CMD = [sys.executable, '-m', 'networking_powervm.cmd.sriov_agent']


def run(*args):
    return subprocess.run(CMD + list(args), capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONWARNINGS='ignore'))


def conf_file(tmp_path, text):
    path = tmp_path / 'sriov.conf'
    path.write_text(text)
    return str(path)


def test_capacity_with_too_many_decimals(tmp_path):
    proc = run('--config-file', conf_file(tmp_path, '[AGENT]\nvnic_vf_capacity = 0.12345\n'))
    assert proc.returncode == 1, proc.stderr
    assert ('networking-powervm-sriov-agent: cannot start: Invalid [agent] vnic_vf_capacity = '
            '0.12345: at most 4 decimal places') in proc.stderr


def test_out_of_range_redundancy(tmp_path):
    proc = run('--config-file', conf_file(tmp_path, '[AGENT]\nvnic_required_vfs = 0\n'))
    assert proc.returncode == 1, proc.stderr
    assert ('networking-powervm-sriov-agent: cannot start: Invalid [agent] vnic_required_vfs = '
            '0: Should be greater than or equal to 1') in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_nan_capacity(tmp_path):
    # oslo.config's min/max check lets NaN through; the agent must not report it.
    proc = run('--config-file', conf_file(tmp_path, '[AGENT]\nvnic_vf_capacity = nan\n'))
    assert proc.returncode == 1, proc.stderr
    assert ('networking-powervm-sriov-agent: cannot start: Invalid [agent] vnic_vf_capacity = '
            'nan: not a number') in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_missing_config_file():
    proc = run('--config-file', '/nonexistent/sriov.conf')
    assert proc.returncode == 1, proc.stderr
    assert 'invalid configuration' in proc.stderr
    assert '/nonexistent/sriov.conf' in proc.stderr


def test_threading_backend_selected():
    code = ('import networking_powervm.cmd.sriov_agent\n'
            'from oslo_service import backend\n'
            'print(type(backend.get_backend()).__name__)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'ThreadingBackend'
