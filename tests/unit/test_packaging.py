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

"""The product's packaging: declared dependencies, their lower bounds, the sdist manifest."""

from __future__ import annotations

import ast
import configparser
import pathlib
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from setuptools.command.egg_info import FileList

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / 'pyproject.toml').read_text())
DECLARED = {canonicalize_name(Requirement(r).name): Requirement(r)
            for r in PYPROJECT['project']['dependencies']}


def _top_level_imports() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / 'networking_powervm').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split('.')[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split('.')[0])
    return names - set(sys.stdlib_module_names) - {'networking_powervm'}


def _imported_distributions() -> set[str]:
    by_module = metadata.packages_distributions()
    dists: set[str] = set()
    for module in _top_level_imports():
        assert module in by_module, f"{module} is imported but no installed distribution has it"
        dists.update(canonicalize_name(d) for d in by_module[module])
    return dists


def test_every_import_is_declared_and_every_declaration_imported():
    imported = _imported_distributions()
    assert set(DECLARED) == imported


def _floor(req: Requirement) -> Version | None:
    floors = [Version(s.version) for s in req.specifier if s.operator in ('>=', '==', '~=')]
    return max(floors) if floors else None


@pytest.mark.parametrize('parent', ['neutron', 'neutron-lib'])
def test_lower_bounds_are_not_below_what_neutron_requires(parent):
    for line in metadata.requires(parent) or []:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name not in DECLARED or req.marker is not None:
            continue
        theirs, ours = _floor(req), _floor(DECLARED[name])
        if theirs is not None:
            assert ours is not None and ours >= theirs, (
                f"{name}: our lower bound {ours} is below {parent}'s {theirs}")
            assert req.extras <= DECLARED[name].extras, (name, req.extras)


def test_installed_versions_satisfy_the_declared_bounds():
    for name, req in DECLARED.items():
        assert req.specifier.contains(metadata.version(name), prereleases=True), name


def test_classifiers_name_python_3_11_to_3_13():
    classifiers = PYPROJECT['project']['classifiers']
    for minor in (11, 12, 13):
        assert f'Programming Language :: Python :: 3.{minor}' in classifiers


def test_wheel_packages_only_the_product():
    assert PYPROJECT['tool']['setuptools']['packages']['find']['include'] == [
        'networking_powervm*']


def test_sdist_manifest_takes_every_tracked_file():
    tracked = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    if not tracked:  # an unpacked sdist: its own files, less what sdist generates
        tracked = [str(p.relative_to(ROOT)) for p in ROOT.rglob('*')
                   if p.is_file() and p.name not in ('PKG-INFO', 'setup.cfg')
                   and '.egg-info' not in str(p)]
    files = FileList()
    files.set_allfiles(tracked)
    for line in (ROOT / 'MANIFEST.in').read_text().splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            files.process_template_line(line)
    # setuptools adds these itself: the build configuration and the product's modules.
    auto = {'pyproject.toml', 'MANIFEST.in'} | {
        f for f in tracked if f.startswith('networking_powervm/')}
    missing = sorted(set(tracked) - set(files.files) - auto)
    assert missing == []


@pytest.mark.parametrize('unit', sorted((ROOT / 'etc' / 'systemd').glob('*.service')),
                         ids=lambda p: p.name)
def test_systemd_unit_runs_an_agent_with_reload_and_restart(unit):
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str
    parser.read(unit)
    service = parser['Service']
    exe, *args = service['ExecStart'].split()
    scripts = {ep.name for ep in metadata.distribution('networking-powervm').entry_points
               if ep.group == 'console_scripts'}
    assert pathlib.Path(exe).name == unit.stem and unit.stem in scripts
    assert args[0::2] == ['--config-file'] * (len(args) // 2) and len(args) >= 4
    assert service['ExecReload'] == '/bin/kill -HUP $MAINPID'
    assert service['Restart'] == 'on-failure'
    data = PYPROJECT['tool']['setuptools']['data-files']
    assert str(unit.relative_to(ROOT)) in data['share/networking-powervm/etc/systemd']
