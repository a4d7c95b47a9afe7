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

"""Configuration options of the PowerVM agents and their start-up validation.

``[agent]`` keeps the original networking-powervm option names; ``[powervm]``
says how to reach the PowerVM REST API (default: local file auth, as on a
NovaLink partition).

Neutron registers its agent options in the group ``AGENT`` (and so do we, to
share them); oslo.config matches config-file sections case-insensitively, so
files and the generated sample spell it ``[agent]``, which is also the only
spelling ``oslo-config-validator`` accepts.
"""

import itertools
from decimal import Decimal
from typing import Any

from neutron.conf import common as neutron_common
from neutron.conf import service as neutron_service
from neutron.conf.agent import common as agent_common
from oslo_config import cfg

from networking_powervm.common import profile as pvm_profile

AGENT_GROUP = 'AGENT'
AGENT_GROUP_IN_FILES = 'agent'
POWERVM_GROUP = 'powervm'

agent_opts = [
    cfg.IntOpt('exception_interval', default=5, min=1, mutable=True,
               help='Seconds to wait before retrying after an error talking to '
                    'the PowerVM REST API.'),
    cfg.IntOpt('heal_and_optimize_interval', default=1800, min=1, mutable=True,
               help='Seconds between heal-and-optimize passes, which re-provision '
                    'every port on the host and (with cleanup on) remove unused '
                    'VLANs.'),
    cfg.BoolOpt('automated_powervm_vlan_cleanup', default=True, mutable=True,
                help='Remove VLANs from the Shared Ethernet Adapters that no '
                     'partition on the host uses. VLANs of the primary load group '
                     'and VLANs in use by any partition are never removed.'),
]

sea_opts = [
    cfg.StrOpt('bridge_mappings', default='',
               help='Comma-separated physnet:sea_dev:vios_name entries mapping '
                    'physical networks to Shared Ethernet Adapters. With one bridge '
                    'on the host and no mapping, it serves physnet "default".'),
    cfg.IntOpt('full_scan_interval', default=14400, min=0, mutable=True,
               help='Seconds between full scans of the host\'s partitions by the SEA '
                    'agent\'s heal. Between them a heal re-reads only the partitions '
                    'that REST events named since the last pass (the Network Bridges '
                    'are read on every pass). A full scan also runs at start-up and '
                    'after the REST event queue was reset. 0 means a full scan on '
                    'every pass.'),
    cfg.IntOpt('scan_workers', default=8, min=1, mutable=True,
               help='Partitions whose adapters a heal reads in parallel (at most this '
                    'many REST requests in flight).'),
]

sriov_opts = [
    cfg.IntOpt('vnic_required_vfs', default=2, min=1,
               help='Default number of backing VFs (redundancy) for a vNIC.'),
    cfg.FloatOpt('vnic_vf_capacity', min=0.0, max=1.0,
                 help='Default capacity of each vNIC backing VF, a fraction from '
                      '0.0 to 1.0 with at most 4 decimal places; it must be a '
                      'multiple of each physical port\'s minimum capacity '
                      'granularity. Unset means the platform default.'),
]

powervm_opts = [
    cfg.StrOpt('host', default='localhost',
               help='Host name or IP address of the PowerVM REST API server.'),
    cfg.PortOpt('port',
                help='TCP port of the REST API. Default: 12080 for http, '
                     '12443 for https.'),
    cfg.StrOpt('protocol', choices=['http', 'https'],
               help='Protocol of the REST API. Default: http with local file '
                    'auth, https with a password.'),
    cfg.StrOpt('username',
               help='REST API user. Optional with local file auth.'),
    cfg.StrOpt('password', secret=True,
               help='REST API password. Unset means local file-based auth, as '
                    'on a NovaLink partition.'),
    cfg.StrOpt('certpath', default='/etc/ssl/certs/',
               help='Directory holding <host>.crt, the certificate used to '
                    'verify a remote https REST API server.'),
    cfg.IntOpt('timeout', default=1200, min=1,
               help='Timeout in seconds of one REST request.'),
]


# neutron's [DEFAULT] host: the agents report it and Neutron binds ports to it.
host_opt = next(opt for opt in neutron_common.core_opts if opt.dest == 'host')


def register_opts(conf: cfg.ConfigOpts = cfg.CONF) -> None:
    """Register every option the agents read (idempotent)."""
    conf.register_opts(agent_opts + sea_opts + sriov_opts, AGENT_GROUP)
    conf.register_opts(powervm_opts, POWERVM_GROUP)
    agent_common.register_agent_state_opts_helper(conf)
    # rpc_response_max_timeout: neutron-lib's RPC client backs off up to it
    # on timeouts, and fails with NoSuchOptError without it.
    conf.register_opts(neutron_service.RPC_EXTRA_OPTS)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Options for oslo-config-generator (namespace ``networking_powervm``).

    Every option the agents register themselves, including neutron's that
    they read (``host``, ``[agent]`` report_interval and log_agent_heartbeats,
    ``rpc_response_max_timeout``); oslo.messaging and oslo.log have their own
    namespaces (etc/oslo-config-generator/networking-powervm-agent.conf).
    """
    return [
        (None, [host_opt, *neutron_service.RPC_EXTRA_OPTS]),
        (AGENT_GROUP_IN_FILES, list(itertools.chain(
            agent_opts, sea_opts, sriov_opts, agent_common.AGENT_STATE_OPTS))),
        (POWERVM_GROUP, list(powervm_opts)),
    ]


class InvalidOption(ValueError):
    """An option with a bad value; the message names the option and the value as written."""


def validate(conf: cfg.ConfigOpts) -> None:
    """Read every agent option now, so that a bad value stops the start-up.

    oslo.config reads an option lazily: a bad value read first in a worker
    thread would kill that thread only. Raises InvalidOption naming the
    option and the value as the operator wrote it. Beyond oslo.config's type
    and range checks: report_interval may not be negative, vnic_required_vfs
    not empty, vnic_vf_capacity must be a finite number with at most 4 decimals.
    """
    for group in (AGENT_GROUP, POWERVM_GROUP):
        for name in sorted(conf[group]):
            try:
                getattr(conf[group], name)
            except cfg.Error as exc:
                reason = str(exc).rpartition('is not valid: ')[2] or str(exc)
                raise InvalidOption(f"Invalid [{group.lower()}] {name} = "
                                    f"{_raw_value(conf, group, name)}: {reason}") from None
    agent = conf[AGENT_GROUP]
    if agent.report_interval is not None and agent.report_interval < 0:
        _invalid(conf, 'report_interval', agent.report_interval,
                 'must be 0 (no heartbeat) or more')
    if agent.vnic_required_vfs is None:  # "vnic_required_vfs =" in a file
        _invalid(conf, 'vnic_required_vfs', None, 'must be an integer of at least 1')
    _check_capacity(conf, agent.vnic_vf_capacity)


def _check_capacity(conf: cfg.ConfigOpts, capacity: float | None) -> None:
    if capacity is None:
        return
    dec = Decimal(str(capacity))
    if not dec.is_finite():  # oslo's range check lets NaN through
        _invalid(conf, 'vnic_vf_capacity', capacity, 'not a number between 0.0 and 1.0')
    if pvm_profile.decimal_places(dec) > pvm_profile.CAPACITY_DECIMALS:
        _invalid(conf, 'vnic_vf_capacity', capacity,
                 f'at most {pvm_profile.CAPACITY_DECIMALS} decimal places are allowed')


def _invalid(conf: cfg.ConfigOpts, name: str, value: Any, reason: str) -> None:
    raise InvalidOption(f"Invalid [{AGENT_GROUP.lower()}] {name} = "
                        f"{_shown(conf, AGENT_GROUP, name, value)}: {reason}")


def _raw_value(conf: cfg.ConfigOpts, group: str, name: str) -> Any:
    """The option's text as written in the config files (best effort, for messages)."""
    for section in (group, group.lower()):  # files may spell [AGENT] or [agent]
        try:
            value, _loc = conf._namespace._get_file_value([(section, name)])
        except Exception:
            continue
        return value[-1] if isinstance(value, list) and value else value
    return '<unknown>'


def _shown(conf: cfg.ConfigOpts, group: str, name: str, value: Any) -> str:
    """The value as the operator wrote it, else its parsed form ('' for empty)."""
    raw = _raw_value(conf, group, name)
    if raw == '<unknown>' or raw is None:
        return repr('') if value is None else str(value)
    raw = str(raw)
    return repr(raw) if raw.strip() == '' else raw
