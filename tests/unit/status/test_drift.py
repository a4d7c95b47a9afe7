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

"""The drift rules of networking-powervm-status (pure: plain data in, drift out)."""

from __future__ import annotations

import pytest

from networking_powervm.status import model

BASE_MAC = 'fa:16:3e:00:00:00'
SEA = 'pvm_sea'


def _bridge(vlans, unused=(), physnets=('default',)):
    return model.Bridge(uuid='nb-1', physnets=list(physnets), seas=['ent8@vios1'],
                        vswitch_id=0, pvid=1, load_groups=[model.LoadGroup(1, [])],
                        vlans=sorted(vlans), unused_vlans=list(unused))


def _adapter(mac, pvid):
    return model.Adapter(mac=mac, partition='vm1', pvid=pvid, tagged_vlans=[], vswitch_id=0)


def _port(mac, vlan, physnet='default', vif_type=SEA, pid=None):
    return model.Port(id=pid or f'port-{mac[-2:]}', mac=mac, status='ACTIVE', vif_type=vif_type,
                      network_id='net', physnet=physnet, vlan=vlan)


def _kinds(drift):
    return [(d.kind, d.mac, d.vlan) for d in drift]


def test_in_sync_host_has_no_drift():
    mac = 'fa:16:3e:00:00:01'
    drift = model.compute_drift([_bridge({1, 2001})], [_adapter(mac, 2001)],
                                [_port(mac, 2001)], {mac}, BASE_MAC, SEA)
    assert drift == []


def test_each_kind_of_drift_is_reported_once():
    a, b, c, d = (f'fa:16:3e:00:00:0{i}' for i in range(1, 5))
    bridges = [_bridge({1, 2001, 3000}, unused=[3000])]
    adapters = [_adapter(a, 2002), _adapter(c, 2001), _adapter('00:11:22:33:44:55', 2001),
                _adapter(d, 2001)]
    ports = [_port(a, 2002), _port(b, 2003), _port(c, 2001),
             _port(d, 2001, physnet='other')]
    drift = model.compute_drift(bridges, adapters, ports, {a, b, d}, BASE_MAC, SEA)
    assert _kinds(drift) == [
        (model.VLAN_MISSING, a, 2002),
        (model.NO_ADAPTER, b, 2003),
        (model.NO_BRIDGE, d, 2001),
        (model.UNUSED_VLAN, None, 3000),
        (model.UNKNOWN_MAC, c, 2001),
    ]


def test_sriov_ports_and_flat_networks_have_no_vlan_drift():
    mac = 'fa:16:3e:00:00:01'
    ports = [_port(mac, None), _port('fa:16:3e:00:00:09', 2005, vif_type='pvm_sriov')]
    drift = model.compute_drift([_bridge({1})], [_adapter(mac, 1)], ports,
                                {mac, 'fa:16:3e:00:00:09'}, BASE_MAC, SEA)
    assert drift == []


@pytest.mark.parametrize(('mac', 'base', 'expected'), [
    ('fa:16:3e:12:34:56', 'fa:16:3e:00:00:00', True),
    ('FA:16:3E:12:34:56', 'fa:16:3e:00:00:00', True),
    ('fa:16:3f:12:34:56', 'fa:16:3e:00:00:00', False),
    ('fa:16:3e:4f:00:01', 'fa:16:3e:4f:00:00', True),
    ('fa:16:3e:12:00:01', 'fa:16:3e:4f:00:00', False),
])
def test_openstack_mac_follows_neutrons_base_mac_rule(mac, base, expected):
    assert model.is_openstack_mac(mac, base) is expected
