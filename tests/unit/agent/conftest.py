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

"""Fixtures for the agent unit tests."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from networking_powervm.agent import config as pvm_config


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    """A private ConfigOpts with the agent options (never the global CONF)."""
    c = cfg.ConfigOpts()
    c.register_opt(cfg.StrOpt('host', default='novalink1'))
    pvm_config.register_opts(c)
    c([], project='networking-powervm-test')
    c.set_override('exception_interval', 1, 'AGENT')
    return c
