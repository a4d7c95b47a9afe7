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

"""Log excerpts for the error messages of the stack, the agents and the demo."""

from __future__ import annotations

from pathlib import Path


def tail(path: Path | None, lines: int = 30) -> str:
    """The last ``lines`` lines of a log, headed by its path ('' for no path)."""
    if path is None:
        return ''
    try:
        text = path.read_text(errors='replace').splitlines()
    except OSError:
        return f'--- (no log at {path}) ---'
    return f'--- last {min(lines, len(text))} lines of {path} ---\n' + '\n'.join(text[-lines:])
