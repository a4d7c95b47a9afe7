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

"""REST event parsing and dispatch to the agent."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from unittest import mock

import pytest

from networking_powervm.agent import events
from networking_powervm.common import constants as pvm_const
from networking_powervm.common import vif_event

HREF = ('https://127.0.0.1:12443/rest/api/uom/LogicalPartition/'
        '0C8BC782-E312-40F7-ACAD-81EB3B9FB06D/ClientNetworkAdapter/'
        '4204d084-77a5-329c-9d3b-2f5ccffe2803')


def ev(etype: str, data: str | None = None, detail: str | None = None, eid: str = '1'):
    return SimpleNamespace(etype=etype, data=data, detail=detail, eid=eid)


def vif(action='plug', mac='FA163E0A0B0C', vtype='pvm_sea', **extra):
    body = {'provider': 'NOVA_PVM_VIF', 'action': action, 'mac': mac, 'type': vtype}
    body.update(extra)
    return ev('CUSTOM_CLIENT_EVENT', HREF, json.dumps(body))


@pytest.fixture
def agent():
    a = mock.Mock()
    a.VIF_TYPE = pvm_const.VIF_TYPE_PVM_SEA
    a.handle_other_event.return_value = True
    return a


def vif_of(action, mac, href=HREF, vtype='pvm_sea'):
    return vif_event.VifEvent(action, mac, vtype, href)


def test_plug_and_unplug_dispatched_with_normalised_mac(agent):
    handler = events.AgentEventHandler(agent)
    handler.process([vif('plug'), vif('unplug', mac='fa:16:3e:0a:0b:0d')])
    assert agent.handle_vif_event.call_args_list == [
        mock.call(vif_of('plug', 'fa:16:3e:0a:0b:0c')),
        mock.call(vif_of('unplug', 'fa:16:3e:0a:0b:0d'))]
    agent.handle_other_event.assert_not_called()


def test_vif_events_of_any_type_go_to_the_agent_never_to_other_events(agent):
    events.AgentEventHandler(agent).process([vif(vtype='pvm_sriov')])
    agent.handle_vif_event.assert_called_once_with(
        vif_of('plug', 'fa:16:3e:0a:0b:0c', vtype='pvm_sriov'))
    agent.handle_other_event.assert_not_called()


@pytest.mark.parametrize('etype', ['NEW_CLIENT', 'CACHE_CLEARED', 'MISSING_EVENTS'])
def test_queue_resets_trigger_one_full_resync(agent, etype, caplog):
    caplog.set_level(logging.INFO)
    events.AgentEventHandler(agent).process([ev(etype), ev(etype), vif()])
    agent.full_resync.assert_called_once_with()
    agent.handle_vif_event.assert_called_once()
    assert f'PowerVM REST event {etype}: the event queue was reset' in caplog.text


def test_other_events_go_to_handle_other_event(agent):
    other = ev('MODIFY_URI', 'https://h/rest/api/uom/SRIOVEthernetLogicalPort/x')
    custom = ev('CUSTOM_CLIENT_EVENT', None, 'SRIOVPhysicalPort.ConfigChange')
    events.AgentEventHandler(agent).process([other, custom])
    assert agent.handle_other_event.call_args_list == [mock.call(other), mock.call(custom)]


@pytest.mark.parametrize('event, bad', [
    (ev('CUSTOM_CLIENT_EVENT', HREF, '{"provider": "NOVA_PVM_VIF", "action": '), 'not valid JSON'),
    (ev('CUSTOM_CLIENT_EVENT', HREF,
        json.dumps({'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'type': 'pvm_sea'})), "'mac'"),
    (vif(action='replug'), "'replug'"),
    (vif(mac='not-a-mac'), "'not-a-mac'"),
    (ev('CUSTOM_CLIENT_EVENT', None, json.dumps(
        {'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'mac': 'FA163E0A0B0C',
         'type': 'pvm_sea'})), 'href'),
])
def test_malformed_vif_events_logged_and_ignored(agent, caplog, event, bad):
    caplog.set_level(logging.WARNING)
    events.AgentEventHandler(agent).process([event, vif()])
    assert bad in caplog.text
    # The good event after the bad one is still handled; the bad one is not.
    agent.handle_vif_event.assert_called_once_with(vif_of('plug', 'fa:16:3e:0a:0b:0c'))
    agent.handle_other_event.assert_not_called()


def test_handler_never_raises_into_pypowervm(agent, caplog):
    agent.handle_vif_event.side_effect = RuntimeError('boom')
    agent.full_resync.side_effect = RuntimeError('boom2')
    events.AgentEventHandler(agent).process([vif(), ev('NEW_CLIENT'), vif('unplug')])
    assert agent.handle_vif_event.call_count == 2
    assert 'boom' in caplog.text


def test_handler_is_a_pypowervm_wrapper_handler(agent):
    from pypowervm import adapter as pvm_adpt
    assert isinstance(events.AgentEventHandler(agent), pvm_adpt.WrapperEventHandler)


def test_real_event_wrapper_parsed(agent):
    from pypowervm.wrappers import event as pvm_evt

    from tests.unit.agent import pvmdata
    w = pvm_evt.Event.bld(pvmdata.make_adapter(), HREF, json.dumps(
        {'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'mac': 'FA163E0A0B0C', 'type': 'pvm_sea'}))
    w.set_parm_value('EventType', 'CUSTOM_CLIENT_EVENT')
    events.AgentEventHandler(agent).process([w])
    agent.handle_vif_event.assert_called_once_with(vif_of('plug', 'fa:16:3e:0a:0b:0c'))


# ------------------------------------------------ hostile input: bounded, never raised


def deep_detail(depth=100_000):
    return '{"provider": "NOVA_PVM_VIF", "x": ' + '[' * depth + ']' * depth + '}'


def test_deeply_nested_detail_is_a_malformed_event(agent, caplog):
    caplog.set_level(logging.WARNING)
    events.AgentEventHandler(agent).process([ev('CUSTOM_CLIENT_EVENT', HREF, deep_detail()),
                                             vif()])
    assert 'Ignoring malformed PowerVM event' in caplog.text
    agent.handle_vif_event.assert_called_once_with(vif_of('plug', 'fa:16:3e:0a:0b:0c'))
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)


@pytest.mark.parametrize('body', [
    {'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'mac': 'x' * 100_000, 'type': 'pvm_sea'},
    {'provider': 'NOVA_PVM_VIF', 'action': 'y' * 100_000, 'mac': 'FA163E0A0B0C',
     'type': 'pvm_sea'},
    {'provider': 'NOVA_PVM_VIF', 'action': 'plug', 'type': 'pvm_sea', 'pad': 'z' * 100_000},
])
def test_what_is_logged_of_a_large_bad_event_is_bounded(agent, caplog, body):
    caplog.set_level(logging.DEBUG)
    events.AgentEventHandler(agent).process([
        ev('CUSTOM_CLIENT_EVENT', HREF, json.dumps(body), eid='e' * 50_000)])
    agent.handle_vif_event.assert_not_called()
    assert 'Ignoring malformed PowerVM event' in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) < 1000


def test_an_agent_failure_logs_the_event_bounded(agent, caplog):
    agent.handle_vif_event.side_effect = RuntimeError('boom')
    events.AgentEventHandler(agent).process([vif(pad='p' * 100_000)])
    assert 'Error handling PowerVM event' in caplog.text and 'boom' in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) < 2000
