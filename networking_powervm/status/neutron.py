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

"""Neutron's view, read through its API with keystoneauth (GETs only).

Why the API and not the agent's RPC: the RPC that returns a port's segment
(``get_devices_details_list[_and_failed_devices]``) also sets the port to
BUILD, so it is not a read; ``get_ports_by_vnic_type_and_host`` has no
segment; and neither can say whether Neutron knows a MAC at all (a port on
another host, or unbound). The API answers all three and changes nothing.
Credentials come from a ``[neutron]`` section of keystoneauth options, as
nova's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from neutron_lib.api.definitions import portbindings, provider_net
from oslo_config import cfg
from requests import utils as requests_utils

from networking_powervm.status import model

GROUP = 'neutron'
# MACs per ``GET /v2.0/ports?mac_address=...`` (keeps URLs short).
MAC_CHUNK = 50


class NeutronError(Exception):
    """Neutron's API cannot be reached or refused a request; operator-readable."""


def register_opts(conf: cfg.ConfigOpts) -> None:
    """[neutron]: keystoneauth session, auth and adapter options (service_type network)."""
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP)
    conf.set_default('service_type', 'network', GROUP)
    conf.set_default('valid_interfaces', ['internal', 'public'], GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """[neutron] options for the generator (password auth shown, as nova's sample)."""
    opts = (ks_loading.get_session_conf_options() + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options('password')
            + ks_loading.get_adapter_conf_options(include_deprecated=False))
    seen: set[str] = set()
    unique = [o for o in opts if not (o.dest in seen or seen.add(o.dest))]
    for opt in unique:
        if opt.dest == 'service_type':
            opt.default = 'network'
    return [(GROUP, unique)]


def client(conf: cfg.ConfigOpts) -> ks_adapter.Adapter:
    """A keystoneauth Adapter for Neutron's API from [neutron]."""
    try:
        auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
    except ks_exc.MissingRequiredOptions as exc:
        raise NeutronError(f"[{GROUP}] is incomplete: {exc}") from None
    except ks_exc.NoMatchingPlugin as exc:
        raise NeutronError(f"[{GROUP}] auth_type: {exc}") from None
    if auth is None:
        raise NeutronError(f"[{GROUP}] auth_type is not set: give keystone credentials "
                           "(auth_type = password, auth_url, username, ...) to read "
                           "Neutron's ports")
    session = ks_loading.load_session_from_conf_options(conf, GROUP, auth=auth)
    if session.verify is True:
        # Pin the CA bundle now: the PowerVM session later points requests'
        # REQUESTS_CA_BUNDLE at the NovaLink certificate, which would otherwise
        # override "verify against the system CAs" for Keystone and Neutron too.
        session.verify = (os.environ.get('REQUESTS_CA_BUNDLE')
                          or requests_utils.DEFAULT_CA_BUNDLE_PATH)
    return ks_loading.load_adapter_from_conf_options(conf, GROUP, session=session, auth=auth)


def _get(api: ks_adapter.Adapter, path: str, params: Any) -> dict[str, Any]:
    try:
        resp = api.get(path, params=params, raise_exc=False)
    except ks_exc.ClientException as exc:
        raise NeutronError(f"Cannot reach Neutron's API: {type(exc).__name__}: {exc}") from None
    if resp.status_code >= 400:
        raise NeutronError(f"Neutron's API answered GET {path} with HTTP "
                           f"{resp.status_code}: {resp.text[:200]}")
    return resp.json()


def bound_ports(api: ks_adapter.Adapter, host: str) -> list[model.Port]:
    """The ports bound to ``host``, with the physnet and VLAN of their bound segment."""
    ports = _get(api, '/v2.0/ports', {'binding:host_id': host})['ports']
    net_ids = sorted({p['network_id'] for p in ports})
    networks: dict[str, dict[str, Any]] = {}
    for start in range(0, len(net_ids), MAC_CHUNK):
        chunk = net_ids[start:start + MAC_CHUNK]
        for net in _get(api, '/v2.0/networks', [('id', i) for i in chunk])['networks']:
            networks[net['id']] = net
    out = []
    for port in ports:
        details = port.get(portbindings.VIF_DETAILS) or {}
        try:
            vlan = int(details[portbindings.VIF_DETAILS_VLAN])
        except (KeyError, TypeError, ValueError):
            vlan = None
        out.append(model.Port(
            id=port['id'], mac=port['mac_address'].lower(), status=port.get('status', ''),
            vif_type=port.get(portbindings.VIF_TYPE, ''), network_id=port['network_id'],
            physnet=_physnet(networks.get(port['network_id'], {}), vlan), vlan=vlan))
    return sorted(out, key=lambda p: p.mac)


def _physnet(net: dict[str, Any], vlan: int | None) -> str | None:
    """The network's physical network (of the segment with ``vlan`` on multi-segment ones)."""
    segments = net.get('segments') or [net]
    for seg in segments:
        if vlan is None or str(seg.get(provider_net.SEGMENTATION_ID)) == str(vlan):
            return seg.get(provider_net.PHYSICAL_NETWORK)
    return None


def known_macs(api: ks_adapter.Adapter, macs: Iterable[str]) -> set[str]:
    """Which of ``macs`` Neutron has a port for, on any host or none."""
    macs = sorted(set(macs))
    known: set[str] = set()
    for start in range(0, len(macs), MAC_CHUNK):
        chunk = macs[start:start + MAC_CHUNK]
        params = [('mac_address', m) for m in chunk] + [('fields', 'mac_address')]
        known.update(p['mac_address'].lower()
                     for p in _get(api, '/v2.0/ports', params)['ports'])
    return known
