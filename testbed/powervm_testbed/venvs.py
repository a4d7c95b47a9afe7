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

"""Side venvs of the test bed (Keystone, tempest): created on demand, cached across runs.

Each lives next to the project's ``.venv`` (``.venv-keystone``, ``.venv-tempest``;
``NPVM_VENV_DIR`` moves them) and is reinstalled only when its requirement list
changes (a stamp file holds its hash). A file lock makes parallel creators wait
for one another instead of installing twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Keystone of the same OpenStack series as neutron 29 (pip shows no conflict with
# Neutron's venv either; a venv of its own keeps Flask & co. out of Neutron's).
KEYSTONE_REQUIREMENTS = ('keystone==30.0.0', 'PyMySQL>=1.1', 'gunicorn>=22')
TEMPEST_REQUIREMENTS = ('tempest==47.0.0',)


class VenvError(RuntimeError):
    """A side venv could not be created or installed."""


def venv_dir(name: str) -> Path:
    """Where the side venv ``name`` lives (``<dir of .venv>/.venv-<name>``)."""
    base = os.environ.get('NPVM_VENV_DIR')
    return (Path(base) if base else Path(sys.prefix).resolve().parent) / f'.venv-{name}'


def ensure_venv(name: str, requirements: tuple[str, ...], *, timeout: float = 1200,
                log: Path | None = None) -> Path:
    """The side venv ``name`` with ``requirements`` installed; its path.

    Fast when the venv is already there with the same requirements.
    """
    path = venv_dir(name)
    want = hashlib.sha256('\n'.join(requirements).encode()).hexdigest()
    stamp = path / '.npvm-requirements'
    if stamp.exists() and stamp.read_text().strip() == want:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f'.venv-{name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing it
        if stamp.exists() and stamp.read_text().strip() == want:
            return path
        t0 = time.monotonic()
        print(f'venvs: installing {" ".join(requirements)} into {path} (once; cached)',
              file=sys.stderr, flush=True)
        if path.exists():
            shutil.rmtree(path)
        _run([sys.executable, '-m', 'venv', str(path)], timeout, log)
        _run([str(path / 'bin/python'), '-m', 'pip', 'install', '-q', '--upgrade', 'pip'],
             timeout, log)
        _run([str(path / 'bin/python'), '-m', 'pip', 'install', '-q', *requirements],
             timeout, log)
        stamp.write_text(want + '\n')
        print(f'venvs: {path} ready in {time.monotonic() - t0:.0f}s', file=sys.stderr,
              flush=True)
    return path


def _run(cmd: list[str], timeout: float, log: Path | None) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if log is not None:
        with open(log, 'a') as out:
            out.write(f'$ {" ".join(cmd)}\n{res.stdout}{res.stderr}')
    if res.returncode != 0:
        lines = (res.stdout + res.stderr).strip().splitlines()
        raise VenvError(f'{" ".join(cmd)} failed (exit {res.returncode}); is PyPI reachable?'
                        '\n' + '\n'.join(lines[-20:]))
