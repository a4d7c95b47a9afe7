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
import tempfile
import unittest

CMD = [sys.executable, '-m', 'networking_powervm.cmd.sriov_agent']


class SriovAgentCmdTestCase(unittest.TestCase):

    def _run(self, *args):
        return subprocess.run(CMD + list(args), capture_output=True, text=True,
                              timeout=120, env=dict(os.environ, PYTHONWARNINGS='ignore'))

    def _conf(self, text):
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_capacity_with_too_many_decimals(self):
        proc = self._run('--config-file', self._conf('[AGENT]\nvnic_vf_capacity = 0.12345\n'))
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('networking-powervm-sriov-agent: cannot start: '
                      'Invalid [AGENT] vnic_vf_capacity = '
                      '0.12345: at most 4 decimal places', proc.stderr)

    def test_out_of_range_redundancy(self):
        proc = self._run('--config-file', self._conf('[AGENT]\nvnic_required_vfs = 0\n'))
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('networking-powervm-sriov-agent: cannot start: '
                      'Invalid [AGENT] vnic_required_vfs = 0: '
                      'Should be greater than or equal to 1', proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)

    def test_nan_capacity(self):
        # oslo.config's min/max check lets NaN through; the agent must not report it.
        proc = self._run('--config-file', self._conf('[AGENT]\nvnic_vf_capacity = nan\n'))
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('networking-powervm-sriov-agent: cannot start: '
                      'Invalid [AGENT] vnic_vf_capacity = nan: not a number', proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)

    def test_missing_config_file(self):
        proc = self._run('--config-file', '/nonexistent/sriov.conf')
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('invalid configuration', proc.stderr)
        self.assertIn('/nonexistent/sriov.conf', proc.stderr)

    def test_threading_backend_selected(self):
        code = ('import networking_powervm.cmd.sriov_agent\n'
                'from oslo_service import backend\n'
                'print(type(backend.get_backend()).__name__)\n')
        proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual('ThreadingBackend', proc.stdout.strip())
