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

"""The repository's three parts and the rules their imports follow (doc/DEVELOPING.md).

Every import statement counts, at module level or inside a function: a lazy
import does not hide a crossing or a cycle.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# top-level package -> (its folder, the top-level packages of this repo it may import)
PARTS = {
    'networking_powervm': (ROOT / 'networking_powervm', set()),
    'powervm_sim': (ROOT / 'simulator' / 'powervm_sim', set()),
    # Stands in for Nova, which shares the NOVA_PVM_VIF wire format with the agents.
    'powervm_vif': (ROOT / 'testbed' / 'powervm_vif', {'networking_powervm'}),
    'powervm_testbed': (ROOT / 'testbed' / 'powervm_testbed',
                        {'networking_powervm', 'powervm_sim', 'powervm_vif'}),
}
OURS = set(PARTS) | {'tests', 'benchmarks'}


def _module_name(package: str, path: pathlib.Path) -> str:
    rel = path.relative_to(PARTS[package][0]).with_suffix('')
    parts = [package, *rel.parts]
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def _imports(path: pathlib.Path, module: str) -> set[str]:
    """Every module name an import statement in ``path`` names (absolute)."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == '__init__.py'
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split('.')
                base = base[:len(base) - node.level + (1 if is_pkg else 0)]
                prefix = '.'.join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ''
            out.add(prefix)
            out.update(f'{prefix}.{a.name}' for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    modules: dict[str, pathlib.Path] = {}
    for package, (folder, _) in PARTS.items():
        for path in folder.rglob('*.py'):
            modules[_module_name(package, path)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, name) if m in modules and m != name}
    return graph


GRAPH = _graph()


@pytest.mark.parametrize('package', sorted(PARTS))
def test_each_part_imports_only_what_its_rule_allows(package):
    allowed = PARTS[package][1] | {package}
    crossings = sorted(
        f'{mod} imports {dep}'
        for mod, deps in GRAPH.items() if mod.split('.')[0] == package
        for dep in deps if dep.split('.')[0] not in allowed)
    assert crossings == []


def test_no_part_imports_the_tests_or_benchmarks():
    bad = []
    for package, (folder, _) in PARTS.items():
        for path in folder.rglob('*.py'):
            names = _imports(path, _module_name(package, path))
            bad += [f'{path.relative_to(ROOT)}: {n}' for n in names
                    if n.split('.')[0] in {'tests', 'benchmarks'}]
    assert bad == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _without_ancestors(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop a module's edges to its own enclosing packages: Python runs those first,
    so ``from pkg import sibling`` inside ``pkg`` is no cycle (a package's
    ``__init__`` importing its submodules still counts)."""
    return {m: {d for d in deps if not m.startswith(d + '.')} for m, deps in graph.items()}


def test_no_import_cycle_anywhere():
    assert _cycles(_without_ancestors(GRAPH)) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]


def test_every_python_file_carries_the_licence_header():
    files = subprocess.check_output(['git', 'ls-files', '*.py'], cwd=ROOT, text=True).split()
    missing = [f for f in files
               if (ROOT / f).exists() and (ROOT / f).read_text().strip()
               and 'Licensed under the Apache License, Version 2.0' not in (ROOT / f).read_text()]
    assert missing == []
