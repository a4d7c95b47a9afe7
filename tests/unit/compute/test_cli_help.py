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

"""Every option and command of powervm-vif has help text."""

from __future__ import annotations

import argparse

from powervm_vif import cli


def _undocumented(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            documented = {c.dest for c in action._choices_actions if c.help}
            missing += [f'{path} {name}' for name in action.choices if name not in documented]
            for name, sub in action.choices.items():
                missing += _undocumented(sub, f'{path} {name}')
        elif action.dest != 'help' and not action.help:
            missing.append(f'{path} {"/".join(action.option_strings) or action.dest}')
    return missing


def test_every_option_and_command_has_help():
    assert _undocumented(cli.build_parser(), 'powervm-vif') == []
