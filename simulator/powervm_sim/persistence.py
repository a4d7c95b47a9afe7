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

"""The host state on disk: ``<state-dir>/state.json``, written atomically.

A simulator restarted (or killed and started again) on the same state
directory finds every committed change.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import tempfile
from typing import Any

from powervm_sim.model import CNA, SEA, Bridge, HostState, Partition, System, Trunk, VSwitch
from powervm_sim.sriov import state as sriov_state

STATE_FILE = 'state.json'


def to_dict(st: HostState) -> dict[str, Any]:
    """The state as JSON-able data."""
    return {
        'system': dataclasses.asdict(st.system),
        'vswitches': [dataclasses.asdict(v) for v in st.vswitches],
        'vioses': [dataclasses.asdict(v) for v in st.vioses],
        'partitions': [dataclasses.asdict(p) for p in st.partitions],
        'bridges': [dataclasses.asdict(b) for b in st.bridges],
        'versions': dict(st.versions),
        'next_mac': st.next_mac,
        'sriov': sriov_state.state_to_dict(st.sriov_adapters, st.vnics),
    }


def _partition(p: dict) -> Partition:
    p = dict(p)
    p['cnas'] = [CNA(**c) for c in p.get('cnas', [])]
    return Partition(**p)


def _bridge(b: dict) -> Bridge:
    b = dict(b)
    seas = []
    for s in b['seas']:
        s = dict(s)
        s['trunks'] = [Trunk(**t) for t in s['trunks']]
        seas.append(SEA(**s))
    b['seas'] = seas
    return Bridge(**b)


def from_dict(d: dict[str, Any]) -> HostState:
    """The state ``to_dict`` wrote."""
    state = HostState(
        system=System(**d['system']),
        vswitches=[VSwitch(**v) for v in d['vswitches']],
        vioses=[_partition(v) for v in d['vioses']],
        partitions=[_partition(p) for p in d['partitions']],
        bridges=[_bridge(b) for b in d['bridges']],
        versions=dict(d.get('versions', {})),
        next_mac=int(d.get('next_mac', 1)),
    )
    if d.get('sriov') is not None:
        adapters, vnics = sriov_state.state_from_dict(d['sriov'])
        state.sriov_adapters, state.vnics = list(adapters), list(vnics)
    return state


def save(st: HostState, state_dir: pathlib.Path) -> None:
    """Write ``state_dir/state.json`` atomically (temporary file + rename)."""
    path = state_dir / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.state-', dir=str(path.parent))
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(to_dict(st), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(state_dir: pathlib.Path) -> HostState | None:
    """The saved state of ``state_dir``; None if it has none yet."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return from_dict(json.load(f))
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f'corrupt simulator state file {path}: {e}') from e
