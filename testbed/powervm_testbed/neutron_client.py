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

"""The test bed's Neutron client: a thin facade of test helpers over openstacksdk.

Resources come back as plain dicts in Neutron's wire format (``binding:vif_type``,
``provider:segmentation_id``, ``alive``, ...), API errors as :class:`NeutronApiError`
with the HTTP status and body. The client finds its cloud (Keystone password auth,
or ``auth_type: none`` for a noauth stack) in the clouds.yaml of the
:class:`~powervm_testbed.neutron_stack.NeutronStack` serving ``api_url``.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import openstack
from openstack import exceptions as sdk_exc
from openstack import warnings as sdk_warnings
from openstack.config import loader
from openstack.network.v2 import agent as sdk_agent
from openstack.network.v2 import network as sdk_network
from openstack.network.v2 import port as sdk_port
from openstack.network.v2 import subnet as sdk_subnet

# openstacksdk 4.x warns about its own internals (not our calls) on every request.
warnings.filterwarnings('ignore', category=sdk_warnings.RemovedInSDK50Warning)

Resource = dict[str, Any]
_UNSET: Any = object()
_SDK_CLASSES = {'agent': sdk_agent.Agent, 'network': sdk_network.Network,
                'port': sdk_port.Port, 'subnet': sdk_subnet.Subnet}


class NeutronApiError(RuntimeError):
    """A Neutron API call answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.method, self.path, self.status, self.body = method, path, status, body
        super().__init__(f'{method} {path} -> HTTP {status}: {body[:500]}')


class WaitTimeout(TimeoutError):
    """A wait_for condition did not hold in time; carries the last value seen."""

    def __init__(self, what: str, timeout: float, last: Any) -> None:
        self.last = last
        super().__init__(f'{what} not reached within {timeout:.1f}s; last seen: {last!r}')


@contextlib.contextmanager
def _api_errors(method: str, path: str) -> Iterator[None]:
    """openstacksdk's HTTP errors as NeutronApiError (status + body)."""
    try:
        yield
    except sdk_exc.HttpException as exc:
        resp = exc.response
        body = resp.text if resp is not None else str(exc)
        raise NeutronApiError(method, path, exc.status_code or 0, body) from None


def _wire(resource: Any) -> Resource:
    """An openstacksdk resource as Neutron's JSON names it."""
    return resource.to_dict(body=True, headers=False, computed=False, original_names=True)


def connect(api_url: str | None = None, *, config_file: Path | str | None = None,
            cloud: str | None = None, auth: dict[str, Any] | None = None,
            timeout: float = 30) -> openstack.connection.Connection:
    """An openstacksdk Connection: ``auth`` (password auth dict) or a clouds.yaml cloud.

    Without ``config_file``/``cloud`` the stack serving ``api_url`` (started in this
    process) gives its admin cloud.
    """
    if auth is not None:
        return openstack.connect(auth=auth, region_name='RegionOne',
                                 identity_api_version='3', api_timeout=timeout,
                                 load_envvars=False, load_yaml_config=False)
    if config_file is None or cloud is None:
        from powervm_testbed.neutron_stack import CLOUDS

        known = CLOUDS.get((api_url or '').rstrip('/'))
        if known is None:
            raise LookupError(f'no stack started by this process serves {api_url!r}; '
                              'give config_file and cloud (its etc/clouds.yaml)')
        config_file, cloud = known
    config = loader.OpenStackConfig(config_files=[str(config_file)], load_envvars=False)
    return openstack.connection.Connection(config=config.get_one(cloud=cloud,
                                                                 api_timeout=timeout))


class NeutronClient:
    """Neutron through openstacksdk; creates are made for ``project_id`` (admin cloud).

    ``auth`` (a Keystone password-auth dict) makes the client act as that user
    instead; then ``project_id`` is not sent (the token's project owns what it makes).
    """

    def __init__(self, api_url: str, project_id: str | None = 'npvm-project',
                 timeout: float = 30, *, config_file: Path | str | None = None,
                 cloud: str | None = None, auth: dict[str, Any] | None = None) -> None:
        self.api_url = api_url.rstrip('/')
        self.timeout = timeout
        self.conn = connect(self.api_url, config_file=config_file, cloud=cloud, auth=auth,
                            timeout=timeout)
        self.as_user = auth is not None
        self.project_id = self.conn.current_project_id if self.as_user else project_id

    def close(self) -> None:
        """Close the connection's HTTP session."""
        self.conn.close()

    # ------------------------------------------------------------------ transport

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                params: dict[str, Any] | None = None) -> Any:
        """One raw v2.0 API call through the sdk's authenticated session; the JSON body.

        For calls openstacksdk has no method for; everything else uses its proxies.
        """
        resp = self.conn.network.request(f'/{path.lstrip("/")}', method, json=body,
                                         params=params, raise_exc=False)
        if resp.status_code >= 400:
            raise NeutronApiError(method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def _create(self, kind: str, attrs: dict[str, Any]) -> Resource:
        attrs = {k: v for k, v in attrs.items() if v is not _UNSET}
        if not self.as_user:
            attrs.setdefault('project_id', self.project_id)
        with _api_errors('POST', f'{kind}s'):
            return _wire(getattr(self.conn.network, f'create_{kind}')(**attrs))

    def _get(self, kind: str, res_id: str) -> Resource:
        with _api_errors('GET', f'{kind}s/{res_id}'):
            return _wire(getattr(self.conn.network, f'get_{kind}')(res_id))

    def _list(self, kind: str, filters: dict[str, Any]) -> list[Resource]:
        lister = getattr(self.conn.network, 'agents' if kind == 'agent' else f'{kind}s')
        # openstacksdk drops filters it does not know; a test must never get every
        # resource because of a misspelt filter.
        cls = _SDK_CLASSES[kind]
        try:
            cls._query_mapping._validate(filters, cls.base_path)
        except sdk_exc.InvalidResourceQuery as exc:
            raise ValueError(f'{kind}s cannot be filtered by {exc}') from None
        with _api_errors('GET', f'{kind}s'):
            return [_wire(r) for r in lister(**filters)]

    def _delete(self, kind: str, res_id: str) -> None:
        with _api_errors('DELETE', f'{kind}s/{res_id}'):
            getattr(self.conn.network, f'delete_{kind}')(res_id, ignore_missing=False)

    # ------------------------------------------------------------------ networks

    def create_network(self, name: str, *, physnet: str | None = None,
                       network_type: str | None = 'vlan', segmentation_id: int | None = None,
                       **attrs: Any) -> Resource:
        """Create a network; provider attributes only when given (admin may set them)."""
        body: dict[str, Any] = {'name': name, 'admin_state_up': True, **attrs}
        if network_type is not None and (physnet is not None or segmentation_id is not None):
            body['provider:network_type'] = network_type
        if physnet is not None:
            body['provider:physical_network'] = physnet
        if segmentation_id is not None:
            body['provider:segmentation_id'] = segmentation_id
        return self._create('network', body)

    def create_free_vlan_network(self, name: str, physnet: str, first: int, *,
                                 avoid: Collection[int] = (), tries: int = 200,
                                 **attrs: Any) -> Resource:
        """A VLAN network on ``physnet`` at segmentation id ``first`` or the next free one.

        A session's stack is shared by many tests, and Neutron gives networks made
        without an id a random one: a test that needs a fresh VLAN asks for it here.
        """
        for vlan in range(first, first + tries):
            if vlan in avoid:
                continue
            try:
                return self.create_network(name, physnet=physnet, segmentation_id=vlan,
                                           **attrs)
            except NeutronApiError as exc:
                if exc.status != 409:
                    raise
        raise NeutronApiError('POST', 'networks', 409,
                              f'no free VLAN on {physnet} in {first}-{first + tries - 1}')

    def get_network(self, network_id: str) -> Resource:
        return self._get('network', network_id)

    def list_networks(self, **filters: Any) -> list[Resource]:
        return self._list('network', filters)

    def delete_network(self, network_id: str) -> None:
        self._delete('network', network_id)

    def create_subnet(self, network_id: str, cidr: str, *, name: str = '',
                      ip_version: int = 4, enable_dhcp: bool = False,
                      gateway_ip: str | None = _UNSET, **attrs: Any) -> Resource:
        """Create a subnet (DHCP off by default: there is no DHCP agent)."""
        return self._create('subnet', {'network_id': network_id, 'cidr': cidr, 'name': name,
                                       'ip_version': ip_version, 'enable_dhcp': enable_dhcp,
                                       'gateway_ip': gateway_ip, **attrs})

    def delete_subnet(self, subnet_id: str) -> None:
        self._delete('subnet', subnet_id)

    # ------------------------------------------------------------------ ports

    def create_port(self, network_id: str, *, name: str = '', host_id: str | None = None,
                    vnic_type: str | None = None, binding_profile: dict[str, Any] | None = None,
                    mac: str | None = None, device_owner: str | None = None,
                    device_id: str | None = None, **attrs: Any) -> Resource:
        """Create a port; binding attributes only when given."""
        body: dict[str, Any] = {'network_id': network_id, 'name': name, **attrs}
        optional = {'binding:host_id': host_id, 'binding:vnic_type': vnic_type,
                    'binding:profile': binding_profile, 'mac_address': mac,
                    'device_owner': device_owner, 'device_id': device_id}
        body.update({k: v for k, v in optional.items() if v is not None})
        return self._create('port', body)

    def get_port(self, port_id: str) -> Resource:
        return self._get('port', port_id)

    def list_ports(self, **filters: Any) -> list[Resource]:
        return self._list('port', filters)

    def update_port(self, port_id: str, changes: dict[str, Any]) -> Resource:
        """PUT raw Neutron attributes, e.g. ``{'binding:host_id': 'h1'}``."""
        with _api_errors('PUT', f'ports/{port_id}'):
            return _wire(self.conn.network.update_port(port_id, **changes))

    def bind_port(self, port_id: str, host_id: str, *, vnic_type: str | None = None,
                  binding_profile: dict[str, Any] | None = None,
                  device_owner: str | None = 'compute:nova') -> Resource:
        """Set binding:host_id (and optionally vnic type/profile) as Nova does."""
        changes: dict[str, Any] = {'binding:host_id': host_id}
        if vnic_type is not None:
            changes['binding:vnic_type'] = vnic_type
        if binding_profile is not None:
            changes['binding:profile'] = binding_profile
        if device_owner is not None:
            changes['device_owner'] = device_owner
        return self.update_port(port_id, changes)

    def delete_port(self, port_id: str) -> None:
        self._delete('port', port_id)

    # ------------------------------------------------------------------ agents

    def list_agents(self, **filters: Any) -> list[Resource]:
        return self._list('agent', filters)

    def get_agent(self, agent_id: str) -> Resource:
        return self._get('agent', agent_id)

    def delete_agent(self, agent_id: str) -> None:
        self._delete('agent', agent_id)

    # ------------------------------------------------------------------ waiting

    @staticmethod
    def wait_for(fetch: Callable[[], Any], predicate: Callable[[Any], bool], *,
                 timeout: float = 30, interval: float = 0.3, what: str = 'condition') -> Any:
        """Poll ``fetch()`` until ``predicate(value)``; return the value or raise WaitTimeout."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            last = fetch()
            if predicate(last):
                return last
            if time.monotonic() >= deadline:
                raise WaitTimeout(what, timeout, last)
            time.sleep(interval)

    def wait_for_port(self, port_id: str, *, status: str | None = None,
                      vif_type: str | None = None, timeout: float = 30) -> Resource:
        """Wait until the port has ``status`` and/or ``binding:vif_type``."""
        def ok(port: Resource) -> bool:
            return ((status is None or port['status'] == status)
                    and (vif_type is None or port.get('binding:vif_type') == vif_type))

        return self.wait_for(lambda: self.get_port(port_id), ok, timeout=timeout,
                             what=f'port {port_id} status={status} vif_type={vif_type}')

    def wait_for_agent(self, host: str, agent_type: str, *, alive: bool = True,
                       timeout: float = 30) -> Resource:
        """Wait until the agent of ``agent_type`` on ``host`` exists with ``alive``."""
        def fetch() -> Resource | None:
            agents = self.list_agents(host=host, agent_type=agent_type)
            return agents[0] if agents else None

        return self.wait_for(fetch, lambda a: a is not None and a['alive'] is alive,
                             timeout=timeout, what=f'agent {agent_type!r} on {host} '
                             f'alive={alive}')
