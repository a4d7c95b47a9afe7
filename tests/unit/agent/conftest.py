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
