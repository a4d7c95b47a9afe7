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

"""Every console script of the product and the test bed answers ``--version``
with its own distribution's version (package metadata), never neutron's."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import pytest

SCRIPTS = [(dist, ep.name)
           for dist in ('networking-powervm', 'networking-powervm-testbed')
           for ep in metadata.distribution(dist).entry_points
           if ep.group == 'console_scripts']


def test_the_agents_and_powervm_vif_are_among_the_scripts():
    names = {name for _, name in SCRIPTS}
    assert {'networking-powervm-sea-agent', 'networking-powervm-sharedethernet-agent',
            'networking-powervm-sriov-agent', 'powervm-vif'} <= names


@pytest.mark.parametrize(('dist', 'script'), SCRIPTS)
def test_version_is_the_distributions(dist, script):
    exe = os.path.join(os.path.dirname(sys.executable), script)
    out = subprocess.run([exe, '--version'], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == f'{script} {metadata.version(dist)}'
    assert metadata.version(dist) != metadata.version('neutron')
