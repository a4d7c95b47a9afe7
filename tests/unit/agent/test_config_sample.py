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

"""The sample configuration is what the generator makes of the options, and every
agent configuration shown to operators (README, docs) passes oslo-config-validator."""

from __future__ import annotations

import logging
import pathlib
import re
import sys

import pytest
from oslo_config import generator, validator

from networking_powervm.agent import config as pvm_config

ROOT = pathlib.Path(__file__).resolve().parents[3]
GENERATOR = ROOT / 'etc' / 'oslo-config-generator' / 'networking-powervm-agent.conf'
SAMPLE = ROOT / 'etc' / 'networking-powervm-agent.conf.sample'


def test_sample_is_up_to_date(tmp_path):
    out = tmp_path / 'sample.conf'
    generator.main(['--config-file', str(GENERATOR), '--output-file', str(out)])
    assert out.read_text() == SAMPLE.read_text(), (
        'etc/networking-powervm-agent.conf.sample is stale: run tox -e genconfig')


@pytest.mark.parametrize('needle', [
    '[agent]', '#report_interval = 30', '#log_agent_heartbeats = false', '#host = example.domain',
    '#bridge_mappings =', '[powervm]', '#certpath = /etc/ssl/certs/', '[oslo_messaging_rabbit]',
    '#transport_url = rabbit://', '#log_file = <None>', '#rpc_response_max_timeout = 600'])
def test_sample_covers_the_agents_whole_configuration(needle):
    assert needle in SAMPLE.read_text()


def test_list_opts_names_groups_as_files_spell_them():
    groups = [group for group, _ in pvm_config.list_opts()]
    assert groups == [None, 'agent', 'powervm']


def _validate(tmp_path, monkeypatch, text: str) -> int:
    path = tmp_path / 'input.conf'
    path.write_text(text)
    monkeypatch.setattr(sys, 'argv', ['oslo-config-validator', '--config-file', str(GENERATOR),
                                      '--input-file', str(path)])
    return validator.main()


def test_validator_rejects_the_upper_case_group_and_accepts_agent(tmp_path, monkeypatch):
    assert _validate(tmp_path, monkeypatch, '[AGENT]\nbridge_mappings = a:ent8:vios1\n') == 1
    assert _validate(tmp_path, monkeypatch, '[agent]\nbridge_mappings = a:ent8:vios1\n') == 0
    assert _validate(tmp_path, monkeypatch, SAMPLE.read_text()) == 0


def _agent_config_blocks() -> list[tuple[str, str]]:
    """The ini snippets of agent configuration in the README and the docs."""
    blocks = []
    readme = (ROOT / 'README.md').read_text()
    blocks += [('README.md', b) for b in re.findall(r'```ini\n(.*?)```', readme, re.S)]
    for rst in sorted((ROOT / 'doc' / 'source').rglob('*.rst')):
        for block in re.findall(r'\.\. code-block:: ini\n\n((?:(?: {3,}.*)?\n)+)', rst.read_text()):
            lines = [line[3:] if line.startswith('   ') else line for line in block.splitlines()]
            blocks.append((str(rst.relative_to(ROOT)), '\n'.join(lines) + '\n'))
    return [(where, text) for where, text in blocks
            if re.search(r'^\[(agent|powervm)\]', text, re.M | re.I)]


AGENT_BLOCKS = _agent_config_blocks()


def test_operator_docs_show_agent_configuration():
    assert {where for where, _ in AGENT_BLOCKS} >= {'README.md', 'doc/source/configuration.rst'}


@pytest.mark.parametrize(('where', 'text'), AGENT_BLOCKS)
def test_agent_configuration_in_docs_passes_the_validator(where, text, tmp_path, monkeypatch,
                                                          caplog):
    caplog.set_level(logging.INFO)
    assert _validate(tmp_path, monkeypatch, text) == 0, caplog.text
    # oslo.config has no inline comments: a '#' after a value becomes part of it
    assert not re.search(r'^[ \t]*[a-z_]+[ \t]*=.*[ \t]#', text, re.M), text
