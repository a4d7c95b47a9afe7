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

"""Small client for the Neutron v2.0 API of a ``noauth`` server (admin by headers)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

Resource = dict[str, Any]
_UNSET: Any = object()


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


class NeutronClient:
    """Requests-based client: every call is made as an admin of ``project_id``."""

    def __init__(self, api_url: str, project_id: str = 'npvm-project',
                 timeout: float = 30) -> None:
        self.api_url = api_url.rstrip('/')
        self.project_id = project_id
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({'X-Project-Id': project_id, 'X-Tenant-Id': project_id,
                                     'X-User-Id': 'npvm-admin', 'X-Roles': 'admin',
                                     'Accept': 'application/json'})

    # ------------------------------------------------------------------ transport

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                params: dict[str, Any] | None = None) -> Any:
        """One API call; returns the decoded JSON body (None for 204)."""
        url = f'{self.api_url}/v2.0/{path.lstrip("/")}'
        resp = self.session.request(method, url, json=body, params=params,
                                    timeout=self.timeout)
        if resp.status_code >= 400:
            raise NeutronApiError(method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def _create(self, kind: str, attrs: dict[str, Any]) -> Resource:
        attrs = {k: v for k, v in attrs.items() if v is not _UNSET}
        attrs.setdefault('project_id', self.project_id)
        return self.request('POST', f'{kind}s', {kind: attrs})[kind]

    def _list(self, kind: str, filters: dict[str, Any]) -> list[Resource]:
        return self.request('GET', f'{kind}s', params=filters or None)[f'{kind}s']

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

    def get_network(self, network_id: str) -> Resource:
        return self.request('GET', f'networks/{network_id}')['network']

    def list_networks(self, **filters: Any) -> list[Resource]:
        return self._list('network', filters)

    def delete_network(self, network_id: str) -> None:
        self.request('DELETE', f'networks/{network_id}')

    def create_subnet(self, network_id: str, cidr: str, *, name: str = '',
                      ip_version: int = 4, enable_dhcp: bool = False,
                      gateway_ip: str | None = _UNSET, **attrs: Any) -> Resource:
        """Create a subnet (DHCP off by default: there is no DHCP agent)."""
        return self._create('subnet', {'network_id': network_id, 'cidr': cidr, 'name': name,
                                       'ip_version': ip_version, 'enable_dhcp': enable_dhcp,
                                       'gateway_ip': gateway_ip, **attrs})

    def delete_subnet(self, subnet_id: str) -> None:
        self.request('DELETE', f'subnets/{subnet_id}')

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
        return self.request('GET', f'ports/{port_id}')['port']

    def list_ports(self, **filters: Any) -> list[Resource]:
        return self._list('port', filters)

    def update_port(self, port_id: str, changes: dict[str, Any]) -> Resource:
        """PUT raw Neutron attributes, e.g. ``{'binding:host_id': 'h1'}``."""
        return self.request('PUT', f'ports/{port_id}', {'port': changes})['port']

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
        self.request('DELETE', f'ports/{port_id}')

    # ------------------------------------------------------------------ agents

    def list_agents(self, **filters: Any) -> list[Resource]:
        return self._list('agent', filters)

    def get_agent(self, agent_id: str) -> Resource:
        return self.request('GET', f'agents/{agent_id}')['agent']

    def delete_agent(self, agent_id: str) -> None:
        self.request('DELETE', f'agents/{agent_id}')

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
