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

"""``networking-powervm-status``: what the SEA agent sees on this host, and its drift
from Neutron. Read-only: GETs on the PowerVM REST API and on Neutron's API.

Reads the agent's own configuration files (``--config-file``, same options),
logs on to the REST API as the agent does (``networking_powervm.agent.session``)
and reads Neutron's ports with the keystone credentials of ``[neutron]``.
Exit status: 0 no drift, 1 drift, 2 cannot tell.
"""

from __future__ import annotations

import logging
import sys

from neutron.conf import common as neutron_common
from oslo_config import cfg

from networking_powervm import version
from networking_powervm.agent import config as pvm_config
from networking_powervm.agent import session as pvm_session
from networking_powervm.agent.sea import mappings as sea_map
from networking_powervm.common import constants as const
from networking_powervm.status import host as st_host
from networking_powervm.status import model, render
from networking_powervm.status import neutron as st_neutron

PROG = 'networking-powervm-status'
NO_DRIFT, DRIFT, UNKNOWN = 0, 1, 2

cli_opts = [
    cfg.BoolOpt('json', default=False, help='Print the report as one JSON document.'),
]

# neutron's options the report needs: the host ports are bound to, and the MAC
# prefix of the ports Neutron makes (base_mac).
_neutron_opts = [pvm_config.host_opt,
                 next(opt for opt in neutron_common.core_opts if opt.dest == 'base_mac')]


def build_conf(argv: list[str]) -> cfg.ConfigOpts:
    """Parse the command line and config files as the agent does (project neutron)."""
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(cli_opts)
    conf.register_opts(_neutron_opts)
    pvm_config.register_opts(conf)
    st_neutron.register_opts(conf)
    conf(args=argv, project='neutron', prog=PROG,
         version=f'%(prog)s {version.version_string()}')
    return conf


def gather(conf: cfg.ConfigOpts) -> model.Report:
    """Read the host and Neutron; raises SessionError/MappingError/NeutronError."""
    api = st_neutron.client(conf)
    adapter = pvm_session.build_adapter(conf, tries=1)
    bridges, adapters = st_host.read_host(adapter, conf.AGENT.bridge_mappings)
    ports = st_neutron.bound_ports(api, conf.host)
    openstack = [a.mac for a in adapters if model.is_openstack_mac(a.mac, conf.base_mac)]
    known = st_neutron.known_macs(api, openstack) if openstack else set()
    report = model.Report(host=conf.host, rest_api=pvm_session.describe(conf),
                          bridges=bridges, adapters=adapters, ports=ports)
    report.drift = model.compute_drift(bridges, adapters, ports, known, conf.base_mac,
                                       const.VIF_TYPE_PVM_SEA)
    return report


def main(argv: list[str] | None = None) -> int:
    """Print the report; exit 0 (no drift), 1 (drift) or 2 (cannot tell)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f'{PROG}: %(levelname)s %(name)s: %(message)s')
    try:
        conf = build_conf(sys.argv[1:] if argv is None else argv)
    except cfg.Error as exc:
        print(f'{PROG}: invalid configuration: {exc}', file=sys.stderr)
        return UNKNOWN
    try:
        report = gather(conf)
    except (pvm_session.SessionError, sea_map.MappingError,
            st_neutron.NeutronError) as exc:
        print(f'{PROG}: {exc}', file=sys.stderr)
        return UNKNOWN
    sys.stdout.write(render.as_json(report) if conf.json else render.as_text(report))
    return DRIFT if report.drift else NO_DRIFT


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
