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

"""tools/demo answers --help at once (before installing or starting anything) and
checks its arguments before any service starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from powervm_testbed import demo

ROOT = Path(__file__).resolve().parents[2]


def test_help_needs_only_the_standard_library():
    # -S: no site-packages at all, so no pypowervm, lxml, neutron, ...
    out = subprocess.run([sys.executable, '-S', '-m', 'powervm_testbed.demo', '--help'],
                         env={**os.environ, 'PYTHONPATH': f'{ROOT}:{ROOT}/simulator:'
                                                          f'{ROOT}/testbed'},
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('usage: tools/demo')
    assert '--latency' in out.stdout and '--check-args' not in out.stdout


def test_tools_demo_help_installs_and_starts_nothing():
    out = subprocess.run([str(ROOT / 'tools' / 'demo'), '--keep', '--help'],
                         env={**os.environ, 'PYTHON': sys.executable},
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('usage: tools/demo')
    assert 'setup:' not in out.stdout + out.stderr
    assert 'services:' not in out.stdout + out.stderr


def test_every_option_has_help():
    for action in demo.build_parser()._actions:
        if action.dest not in ('help', 'check_args'):
            assert action.help, action.dest


@pytest.mark.parametrize(('argv', 'bad'), [
    (['--latency', 'bogus'], "'bogus'"),
    (['--agent-timeout', '-1'], "'-1'"),
    (['--port-timeout', 'x'], "'x'"),
])
def test_bad_arguments_are_named_before_anything_starts(argv, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main(['--check-args', *argv])
    assert exc.value.code == 2
    assert bad in capsys.readouterr().err


def test_check_args_accepts_good_arguments_and_returns():
    assert demo.main(['--check-args', '--latency', 'novalink', '--agent-timeout', '5']) == 0
