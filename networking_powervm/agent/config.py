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

"""Configuration options of the PowerVM agents.

``[agent]`` keeps the original networking-powervm option names; ``[powervm]``
says how to reach the PowerVM REST API (default: local file auth, as on a
NovaLink partition).

Neutron registers its agent options in the group ``AGENT`` (and so do we, to
share them); oslo.config matches config-file sections case-insensitively, so
files and the generated sample spell it ``[agent]``, which is also the only
spelling ``oslo-config-validator`` accepts.
"""

import itertools

from neutron.conf import common as neutron_common
from neutron.conf import service as neutron_service
from neutron.conf.agent import common as agent_common
from oslo_config import cfg

AGENT_GROUP = 'AGENT'
AGENT_GROUP_IN_FILES = 'agent'
POWERVM_GROUP = 'powervm'

agent_opts = [
    cfg.IntOpt('exception_interval', default=5, min=1,
               help='Seconds to wait before retrying after an error talking to '
                    'the PowerVM REST API.'),
    cfg.IntOpt('heal_and_optimize_interval', default=1800, min=1,
               help='Seconds between heal-and-optimize passes, which re-provision '
                    'every port on the host and (with cleanup on) remove unused '
                    'VLANs.'),
    cfg.BoolOpt('automated_powervm_vlan_cleanup', default=True,
                help='Remove VLANs from the Shared Ethernet Adapters that no '
                     'partition on the host uses. VLANs of the primary load group '
                     'and VLANs in use by any partition are never removed.'),
]

sea_opts = [
    cfg.StrOpt('bridge_mappings', default='',
               help='Comma-separated physnet:sea_dev:vios_name entries mapping '
                    'physical networks to Shared Ethernet Adapters. With one bridge '
                    'on the host and no mapping, it serves physnet "default".'),
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
