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

"""The wheel built at the repository root is the product alone, and works alone."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import sysconfig
import textwrap
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def product_wheel(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    (wheel,) = out.glob('networking_powervm-*.whl')
    return wheel


@pytest.fixture(scope='module')
def installed_product(product_wheel, tmp_path_factory) -> pathlib.Path:
    """The wheel installed alone into a fresh target folder (its dependencies come from
    this venv's site-packages, without the editable installs of this repository)."""
    target = tmp_path_factory.mktemp('target')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target',
                    str(target), str(product_wheel)], check=True, capture_output=True)
    return target


def test_the_product_wheel_holds_only_the_product_package(product_wheel):
    names = zipfile.ZipFile(product_wheel).namelist()
    top = {n.split('/')[0] for n in names if not n.split('/')[0].endswith('.dist-info')}
    assert top == {'networking_powervm'}
    assert not [n for n in names if '/tests/' in n or n.startswith('tests/')]


def _run_isolated(target: pathlib.Path, code: str) -> dict:
    """Run ``code`` with the wheel's folder first and site-packages without its .pth
    files (so this repository's editable installs are invisible)."""
    site = sysconfig.get_paths()['purelib']
    prog = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{str(target)!r}, {site!r}]
    """) + textwrap.dedent(code)
    out = subprocess.run([sys.executable, '-S', '-c', prog], check=True, cwd=target,
                         capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_the_installed_wheel_loads_both_agents_and_both_drivers_and_nothing_else(
        installed_product):
    result = _run_isolated(installed_product, """
        import importlib, importlib.util
        from importlib import metadata
        dist = metadata.distribution('networking-powervm')
        eps = {(e.group, e.name): e for e in dist.entry_points}
        loaded = {}
        for key in [('neutron.ml2.mechanism_drivers', 'pvm_sea'),
                    ('neutron.ml2.mechanism_drivers', 'pvm_sriov'),
                    ('console_scripts', 'networking-powervm-sea-agent'),
                    ('console_scripts', 'networking-powervm-sriov-agent')]:
            obj = eps[key].load()
            loaded[key[1]] = sys.modules[obj.__module__].__file__
        absent = {m: importlib.util.find_spec(m) is None
                  for m in ('powervm_sim', 'powervm_vif', 'powervm_testbed', 'tests')}
        print(json.dumps({'loaded': loaded, 'absent': absent}))
    """)
    assert set(result['loaded']) == {'pvm_sea', 'pvm_sriov', 'networking-powervm-sea-agent',
                                     'networking-powervm-sriov-agent'}
    assert all(path.startswith(str(installed_product)) for path in result['loaded'].values())
    assert result['absent'] == {'powervm_sim': True, 'powervm_vif': True,
                                'powervm_testbed': True, 'tests': True}
