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

"""Start-up validation of every agent option: a bad value names the option, as written."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from networking_powervm.agent import config as pvm_config


def conf_from(tmp_path, text):
    path = tmp_path / 'agent.conf'
    path.write_text(text)
    conf = cfg.ConfigOpts()
    pvm_config.register_opts(conf)
    conf(['--config-file', str(path)])
    return conf


@pytest.mark.parametrize('section, line, reason', [
    ('agent', 'heal_and_optimize_interval = 0', 'Should be greater than or equal to 1'),
    ('agent', 'heal_and_optimize_interval = -5', 'Should be greater than or equal to 1'),
    ('agent', 'heal_and_optimize_interval = often', 'often'),
    ('agent', 'exception_interval = 0', 'Should be greater than or equal to 1'),
    ('agent', 'full_scan_interval = -1', 'Should be greater than or equal to 0'),
    ('agent', 'scan_workers = 0', 'Should be greater than or equal to 1'),
    ('agent', 'automated_powervm_vlan_cleanup = perhaps', 'perhaps'),
    ('agent', 'report_interval = -1', 'must be 0 (no heartbeat) or more'),
    ('agent', 'report_interval = soon', 'soon'),
    ('powervm', 'timeout = 0', 'Should be greater than or equal to 1'),
    ('powervm', 'port = 99999', '99999'),
    ('powervm', 'protocol = ftp', 'ftp'),
])
def test_every_bad_option_is_named_at_start_up(tmp_path, section, line, reason):
    conf = conf_from(tmp_path, f'[{section}]\n{line}\n')
    with pytest.raises(pvm_config.InvalidOption) as err:
        pvm_config.validate(conf)
    assert f'Invalid [{section}] {line}: ' in str(err.value)
    assert reason in str(err.value)


def test_defaults_are_valid(tmp_path):
    pvm_config.validate(conf_from(tmp_path, ''))


def test_heal_scan_options_defaults_and_generator_namespace(tmp_path):
    conf = conf_from(tmp_path, '[agent]\nfull_scan_interval = 0\n')
    assert (conf.AGENT.full_scan_interval, conf.AGENT.scan_workers) == (0, 8)
    assert conf_from(tmp_path, '').AGENT.full_scan_interval == 14400
    listed = {o.name for group, opts in pvm_config.list_opts() if group == 'agent'
              for o in opts}
    assert {'full_scan_interval', 'scan_workers'} <= listed
