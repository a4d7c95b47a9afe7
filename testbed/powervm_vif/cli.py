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

"""``powervm-vif``: create partitions and plug/unplug VIFs as Nova's PowerVM driver did."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from collections.abc import Sequence
from importlib import metadata

from networking_powervm.common import constants as pvm_const
from networking_powervm.common.vif_event import norm_mac
from powervm_vif import partition


def _mac(value: str) -> str:
    try:
        return norm_mac(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _int_in(what: str, low: int, high: int):
    """An argparse type: an integer from ``low`` to ``high``, errors naming the value."""
    def parse(value: str) -> int:
        try:
            num = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f'invalid {what} {value!r}: not an integer') from None
        if not low <= num <= high:
            raise argparse.ArgumentTypeError(f'invalid {what} {value!r}: must be {low}-{high}')
        return num
    return parse


_vlan = _int_in('VLAN', pvm_const.MIN_VLAN, pvm_const.MAX_VLAN)
_port = _int_in('port', 1, 65535)


def _float(value: str) -> float:
    try:
        num = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid number {value!r}') from None
    if not 0 < num <= 1:
        raise argparse.ArgumentTypeError(f'invalid capacity {value!r}: must be in (0, 1]')
    return num


def _version() -> str:
    try:
        return metadata.version('networking-powervm-testbed')
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare tree
        return 'unknown'


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(prog='powervm-vif', description=__doc__)
    p.add_argument('--version', action='version', version=f'%(prog)s {_version()}')
    p.add_argument('--url', help='REST API URL, e.g. http://127.0.0.1:12080 '
                                 '(overrides --host/--port/--protocol)')
    p.add_argument('--host', default='localhost',
                   help='REST API host name or address (default: %(default)s)')
    p.add_argument('--port', type=_port,
                   help='REST API TCP port (default: 12080 for http, 12443 for https)')
    p.add_argument('--protocol', choices=['http', 'https'],
                   help='REST API protocol (default: http)')
    p.add_argument('--user', help='REST API user name')
    p.add_argument('--password', help='REST API password; omit for file (local) '
                                      'authentication; or set POWERVM_PASSWORD')
    p.add_argument('--certpath',
                   help='https: directory holding <host>.crt, the certificate trusted for '
                        'the REST API server, as the agents\' [powervm] certpath '
                        '(default: the system CAs)')
    sub = p.add_subparsers(dest='command', required=True, metavar='COMMAND')
    c = sub.add_parser('create-lpar', help='create an AIX/Linux partition')
    c.add_argument('name', help='partition name (1-47 characters)')
    d = sub.add_parser('delete-lpar', help='delete a partition')
    d.add_argument('name', help='partition name')
    helps = {'plug-sea': 'plug a SEA VIF (a client network adapter) and send NOVA_PVM_VIF',
             'unplug-sea': 'unplug a SEA VIF and send NOVA_PVM_VIF',
             'plug-sriov': 'plug an SR-IOV vNIC and send NOVA_PVM_VIF',
             'unplug-sriov': 'unplug an SR-IOV vNIC and send NOVA_PVM_VIF'}
    for name, text in helps.items():
        s = sub.add_parser(name, help=text)
        s.add_argument('--lpar', required=True, help='partition name')
        s.add_argument('--mac', required=True, type=_mac,
                       help='MAC address of the VIF (aa:bb:cc:dd:ee:ff or aabbccddeeff)')
        if name.startswith('plug'):
            s.add_argument('--vlan', required=True, type=_vlan, help='VLAN id (1-4094)')
        if name == 'plug-sea':
            s.add_argument('--vswitch', default='ETHERNET0',
                           help='virtual switch name (default: %(default)s)')
        if name == 'plug-sriov':
            s.add_argument('--physical-ports', required=True,
                           help='comma-separated physical port location codes')
            s.add_argument('--redundancy', type=int, default=1,
                           help='number of backing VFs (default: %(default)s)')
            s.add_argument('--capacity', type=_float,
                           help='capacity of each VF, in (0, 1] (default: the platform\'s)')
            s.add_argument('--max-capacity', type=_float,
                           help='maximum capacity of each VF, in (0, 1]')
    return p


def _adapter(args: argparse.Namespace):  # -> pypowervm.adapter.Adapter
    from pypowervm import adapter as pvm_adapter

    from networking_powervm.agent import session as pvm_session

    host, port, protocol = args.host, args.port, args.protocol
    if args.url:
        parts = urllib.parse.urlsplit(args.url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError(f'Invalid --url {args.url!r}: need http(s)://HOST:PORT')
        host, port, protocol = parts.hostname, parts.port, parts.scheme
    password = args.password or os.environ.get('POWERVM_PASSWORD')
    if args.certpath and not os.path.isdir(args.certpath):
        raise ValueError(f'Invalid --certpath {args.certpath!r}: not a directory')
    kwargs = {'host': host, 'port': port, 'protocol': protocol or 'http',
              'username': args.user, 'password': password}
    # As the agents do: pypowervm's own certificate pinning fails on Python
    # 3.11+, so the session verifies every https request itself, against
    # <certpath>/<host>.crt when present, else the system CAs.
    ca_bundle = pvm_session.ca_bundle_for(host, args.certpath or '')
    return pvm_adapter.Adapter(pvm_session.VerifiedSession(ca_bundle=ca_bundle, **kwargs))


def run(args: argparse.Namespace) -> dict:
    """Execute the parsed command; returns a JSON-able result."""
    adapter = _adapter(args)
    if args.command == 'create-lpar':
        lpar = partition.create_lpar(adapter, args.name)
        return {'name': lpar.name, 'uuid': lpar.uuid, 'id': lpar.id}
    if args.command == 'delete-lpar':
        partition.delete_lpar(adapter, args.name)
        return {'deleted': args.name}
    lpar = partition.find_lpar(adapter, args.lpar)
    if args.command == 'plug-sea':
        from powervm_vif import sea_vif
        cna = sea_vif.plug_sea(adapter, partition.host_uuid(adapter), lpar.uuid, args.mac,
                               args.vlan, vswitch=args.vswitch)
        return {'plugged': args.mac, 'href': sea_vif.cna_href(cna), 'vlan': args.vlan}
    if args.command == 'unplug-sea':
        from powervm_vif import sea_vif
        return {'unplugged': args.mac, 'href': sea_vif.unplug_sea(adapter, lpar.uuid, args.mac)}
    from powervm_vif import sriov_vif  # written by SIM-SRIOV
    if args.command == 'plug-sriov':
        ports = [p.strip() for p in args.physical_ports.split(',') if p.strip()]
        result = sriov_vif.plug_sriov(adapter, partition.host_uuid(adapter), lpar.uuid,
                                      args.mac, args.vlan, ports, args.redundancy,
                                      args.capacity, args.max_capacity)
        return {'plugged': args.mac, 'result': str(getattr(result, 'href', result))}
    result = sriov_vif.unplug_sriov(adapter, lpar.uuid, args.mac)
    return {'unplugged': args.mac, 'result': str(result)}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``powervm-vif``."""
    args = build_parser().parse_args(argv)
    from pypowervm import exceptions as pvm_exc
    try:
        print(json.dumps(run(args), indent=2))
    except (ValueError, LookupError) as exc:
        print(f'powervm-vif {args.command}: {exc}', file=sys.stderr)
        return 2
    except pvm_exc.Error as exc:
        print(f'powervm-vif {args.command}: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
