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

"""PVMAgentBase: heartbeat, device RPC helpers, run()/stop()/SIGTERM."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from unittest import mock

import pytest
from neutron_lib import constants as n_const
from neutron_lib.agent import constants as agent_consts

from networking_powervm.agent import base, neutron_rpc, rest_count
from networking_powervm.agent import provision as prov
from networking_powervm.common import vif_event
from tests.unit.agent import fakes


class Agent(base.PVMAgentBase):
    AGENT_TYPE = 'Test agent'
    BINARY = 'test-agent'
    VIF_TYPE = 'pvm_test'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []
        self.batches = []
        self.outcomes = []

    def provision(self, batch):
        self.batches.append(sorted((r.action, r.mac) for r in batch))
        outcome = self.outcomes.pop(0) if self.outcomes else prov.Outcome()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def get_configurations(self):
        return {'devices': 3}


@pytest.fixture
def rpc():
    with fakes.patched_rpc() as r:
        yield r


@pytest.fixture
def agent(conf, rpc):
    return Agent(conf, adapter=mock.MagicMock())


@pytest.fixture(autouse=True)
def vios_ready():
    """validate_vios_ready against a mock adapter would poll for many minutes."""
    with mock.patch.object(base.pvm_partition, 'validate_vios_ready') as ready:
        yield ready


def test_run_waits_for_vioses_before_setup(conf, rpc, vios_ready):
    class Stopping(Agent):
        def setup(self):
            self.calls.append(('setup', vios_ready.call_count))
            self.stop()

    a = Stopping(conf, adapter=mock.MagicMock())
    a.run()
    vios_ready.assert_called_once_with(a.adapter)
    assert a.calls == [('setup', 1)]


def test_no_ready_vios_is_a_startup_error(conf, rpc, vios_ready):
    vios_ready.side_effect = base.pvm_exc.ViosNotAvailable(wait_time=300)
    a = Agent(conf, adapter=mock.MagicMock())
    with pytest.raises(base.AgentError, match='No Virtual I/O Server of the host is ready'):
        a.run()


def test_init(agent, conf):
    assert agent.host_uuid == fakes.HOST_UUID
    assert agent.conf is conf and agent.host == 'novalink1'
    assert agent.context.is_admin


def test_report_state_start_flag_only_first(conf, rpc):
    sent = []
    rpc.state.report_state.side_effect = lambda ctx, state, use_call: sent.append(dict(state))
    a = Agent(conf, adapter=mock.MagicMock())
    a.report_state()
    a.report_state()
    assert sent[0] == {'binary': 'test-agent', 'host': 'novalink1',
                       'topic': n_const.L2_AGENT_TOPIC, 'configurations': {'devices': 3},
                       'agent_type': 'Test agent', 'start_flag': True}
    assert 'start_flag' not in sent[1]


def test_report_state_failure_is_logged_not_raised(agent, rpc, caplog):
    rpc.state.report_state.side_effect = RuntimeError('amqp down')
    agent.report_state()
    assert 'Failed to report state' in caplog.text


def test_revived_triggers_full_resync(agent, rpc):
    rpc.state.report_state.return_value = agent_consts.AGENT_REVIVED
    agent.report_state()
    assert agent._heal_now.is_set()


def test_device_helpers(agent, rpc):
    rpc.plugin.get_devices_details_list.return_value = [{'device': 'a'}]
    assert agent.neutron.details(['a']) == ([{'device': 'a'}], [])
    rpc.plugin.get_devices_details_list.assert_called_once_with(
        agent.context, ['a'], agent.agent_id, 'novalink1')
    assert agent.neutron.update(['a', 'b'], []) == []
    assert agent.neutron.update([], ['c']) == []
    assert agent.neutron.update(['d'], ['e']) == []
    assert rpc.plugin.update_device_list.call_args_list == [
        mock.call(agent.context, ['a', 'b'], [], agent.agent_id, 'novalink1'),
        mock.call(agent.context, [], ['c'], agent.agent_id, 'novalink1'),
        mock.call(agent.context, ['d'], ['e'], agent.agent_id, 'novalink1')]
    assert agent.neutron.details([]) == ([], [])
    assert agent.neutron.update([], []) == []
    assert rpc.plugin.update_device_list.call_count == 3


def test_details_by_mac_keeps_known_ports_only(agent, rpc):
    rpc.plugin.get_devices_details_list.return_value = [
        {'device': 'FA:16:3E:00:00:01', 'port_id': 'p1'}, {'device': 'fa:16:3e:00:00:02'},
        {'device': 'bogus', 'port_id': 'p3'}]
    assert agent.neutron.details_by_mac(['fa:16:3e:00:00:01', 'fa:16:3e:00:00:02']) == ({
        'fa:16:3e:00:00:01': {'device': 'FA:16:3E:00:00:01', 'port_id': 'p1'}}, [])


def _macs(n):
    return [f'fa:16:3e:00:{i // 256:02x}:{i % 256:02x}' for i in range(n)]


def test_rpc_calls_are_chunked(agent, rpc):
    macs = _macs(60)
    rpc.plugin.get_devices_details_list.side_effect = lambda ctx, devs, aid, host: [
        {'device': d} for d in devs]
    assert [d['device'] for d in agent.neutron.details(macs)[0]] == macs
    assert [len(c.args[1]) for c in rpc.plugin.get_devices_details_list.call_args_list] == [
        25, 25, 10]
    agent.neutron.update(macs, [])
    assert sorted(len(c.args[1]) for c in rpc.plugin.update_device_list.call_args_list) == [
        10, 25, 25]


def test_chunks_are_in_flight_together(agent, rpc):
    # Each chunk waits until a second one is in flight too: sent one after the
    # other, the first would time out at the barrier and every chunk fail.
    barrier = threading.Barrier(2, timeout=10)

    def details(ctx, devs, aid, host):
        barrier.wait()
        return [{'device': d} for d in devs]

    rpc.plugin.get_devices_details_list.side_effect = details
    found, failed = agent.neutron.details(_macs(50))
    assert failed == [] and len(found) == 50


def test_a_failed_chunk_costs_only_its_devices(agent, rpc):
    macs = _macs(60)

    def details(ctx, devs, aid, host):
        if macs[30] in devs:
            raise TimeoutError('MessagingTimeout')
        return [{'device': d, 'port_id': d} for d in devs]

    rpc.plugin.get_devices_details_list.side_effect = details
    found, failed = agent.neutron.details_by_mac(macs)
    assert failed == macs[25:50]
    assert sorted(found) == macs[:25] + macs[50:]
    rpc.plugin.update_device_list.side_effect = lambda ctx, up, down, aid, host: (
        (_ for _ in ()).throw(TimeoutError('MessagingTimeout')) if macs[0] in up else {})
    assert agent.neutron.update(macs, []) == macs[:25]


def test_every_chunk_failing_raises(agent, rpc):
    rpc.plugin.get_devices_details_list.side_effect = TimeoutError('MessagingTimeout')
    with pytest.raises(TimeoutError):
        agent.neutron.details(_macs(60))
    with pytest.raises(TimeoutError):
        agent.neutron.details(_macs(1))


def test_prefetched_details_are_taken_not_asked_again(agent, rpc):
    a, b = _macs(2)
    rpc.plugin.get_devices_details_list.side_effect = lambda ctx, devs, aid, host: [
        {'device': d, 'port_id': d} for d in devs]
    agent.neutron.prefetch_details([a])
    found, failed = agent.neutron.details_by_mac([a, b])
    assert sorted(found) == [a, b] and failed == []
    asked = [c.args[1] for c in rpc.plugin.get_devices_details_list.call_args_list]
    assert sorted(asked) == [[a], [b]]  # a once (ahead), b asked now


def test_a_failed_prefetch_is_asked_again(agent, rpc):
    a = _macs(1)[0]
    answers = iter([TimeoutError('MessagingTimeout'), [{'device': a, 'port_id': 'p'}]])

    def details(ctx, devs, aid, host):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    rpc.plugin.get_devices_details_list.side_effect = details
    agent.neutron.prefetch_details([a])
    assert agent.neutron.details_by_mac([a]) == ({a: {'device': a, 'port_id': 'p'}}, [])
    assert rpc.plugin.get_devices_details_list.call_count == 2


def test_dropped_prefetch_is_not_used_and_other_ports_are_not_returned(agent, rpc):
    a, b = _macs(2)
    rpc.plugin.get_devices_details_list.side_effect = lambda ctx, devs, aid, host: [
        {'device': d, 'port_id': d} for d in devs]
    agent.neutron.prefetch_details([a, b])
    assert sorted(agent.neutron.details_by_mac([a])[0]) == [a]  # b was asked, not wanted
    agent.neutron.drop_prefetched()
    assert sorted(agent.neutron.details_by_mac([b])[0]) == [b]
    assert rpc.plugin.get_devices_details_list.call_count == 2  # b asked again after drop


def test_provision_loop_prefetches_plug_details_while_the_burst_settles(agent, rpc):
    a = _macs(1)[0]
    seen = []
    agent.prefetch = lambda requests: seen.append(sorted(r.mac for r in requests))

    def provision(batch):
        agent.stop()
        return prov.Outcome()

    agent.provision = provision
    agent.queue.add(prov.ProvisionRequest(prov.PLUG, a, prov.Origin.EVENT, None, 0.0))
    agent.provision_loop()
    assert seen == [[a]]


def test_prefetch_returns_the_details_future_the_settle_waits_for(agent, rpc):
    a = _macs(1)[0]
    rpc.plugin.get_devices_details_list.side_effect = lambda ctx, devs, aid, host: [
        {'device': d, 'port_id': d} for d in devs]
    unplug = prov.ProvisionRequest(prov.UNPLUG, a, prov.Origin.EVENT, None, 0.0)
    assert agent.prefetch([unplug]) == []  # nothing to ask: nothing to wait for
    (fut,) = agent.prefetch([prov.ProvisionRequest(prov.PLUG, a, prov.Origin.EVENT, None, 0.0)])
    assert fut.result(timeout=5) == ([{'device': a, 'port_id': a}], [])


def test_bound_ports_normalises_and_skips_bad_macs(agent, rpc):
    rpc.plugin.get_ports_by_vnic_type_and_host.return_value = [
        {'id': 'a', 'mac_address': 'FA:16:3E:00:00:01'}, {'id': 'b', 'mac_address': 'bogus'}]
    assert agent.neutron.bound_ports('normal') == {
        'fa:16:3e:00:00:01': {'id': 'a', 'mac_address': 'FA:16:3E:00:00:01'}}
    rpc.plugin.get_ports_by_vnic_type_and_host.assert_called_once_with(
        agent.context, 'normal', 'novalink1')


def test_run_starts_everything_and_stop_ends_it(conf, rpc):
    class Stopping(Agent):
        def heal(self):
            self.calls.append('heal')
            self.stop()

    adapter = mock.MagicMock()
    a = Stopping(conf, adapter=adapter)
    a.run()  # returns because heal() called stop()
    assert a.calls == ['heal']
    listener = adapter.session.get_event_listener.return_value
    handler = listener.subscribe.call_args[0][0]
    listener.unsubscribe.assert_called_once_with(handler)
    rpc.consumers.return_value.consume_in_threads.assert_called_once_with()
    rpc.consumers.return_value.close.assert_called_once_with()
    assert rpc.consumers.call_args[0][2] == [['port', 'update']]
    rpc.state.report_state.assert_called()


def test_stop_returns_within_the_shutdown_budget_when_rpc_close_and_a_thread_hang(
        conf, rpc, monkeypatch):
    monkeypatch.setattr(base, 'SHUTDOWN_TIMEOUT', 0.5)
    release = threading.Event()
    rpc.consumers.return_value.close.side_effect = lambda: release.wait(30)

    class Stuck(Agent):
        def start_workers(self):
            self.start_thread('scan', lambda: release.wait(30))  # a REST call that hangs

        def heal(self):
            self.stop()

    a = Stuck(conf, adapter=mock.MagicMock())
    t0 = time.monotonic()
    try:
        a.run()
        assert time.monotonic() - t0 < 2.0
    finally:
        release.set()


def test_sigterm_ends_run(conf, rpc):
    class Terminated(Agent):
        def start_workers(self):
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    try:
        a = Terminated(conf, adapter=mock.MagicMock())
        a.run()
        assert a.stopped
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_setup_error_aborts_run_and_cleans_up(conf, rpc):
    class Broken(Agent):
        def setup(self):
            raise base.AgentError('no bridge')

    adapter = mock.MagicMock()
    with pytest.raises(base.AgentError, match='no bridge'):
        Broken(conf, adapter=adapter).run()
    adapter.session.get_event_listener.assert_not_called()


def test_port_update_endpoint_never_raises(agent):
    agent.port_update = mock.Mock(side_effect=RuntimeError('x'))
    neutron_rpc.RpcCallbacks(agent).port_update(None, port={'id': 'p1'})
    agent.port_update.assert_called_once_with(None, port={'id': 'p1'})


def test_no_managed_system(conf):
    with fakes.patched_rpc(), mock.patch.object(base.pvm_ms.System, 'get', return_value=[]):
        with pytest.raises(base.AgentError, match='no managed system'):
            Agent(conf, adapter=mock.MagicMock())


HREF = ('https://h/rest/api/uom/LogicalPartition/0C8BC782-E312-40F7-ACAD-81EB3B9FB06D/'
        'ClientNetworkAdapter/4204d084-77a5-329c-9d3b-2f5ccffe2803')
MAC = 'fa:16:3e:00:00:01'


def event(action='plug', vif_type='pvm_test', mac=MAC):
    return vif_event.VifEvent(action, mac, vif_type, HREF)


def test_vif_events_of_the_agents_type_are_queued_as_one_request(agent):
    agent.handle_vif_event(event('plug'))
    agent.handle_vif_event(event('plug', vif_type='pvm_other', mac='fa:16:3e:00:00:02'))
    (request,) = agent.queue.pending
    assert (request.action, request.mac, request.origin, request.lpar_uuid) == (
        'plug', MAC, prov.Origin.EVENT, '0C8BC782-E312-40F7-ACAD-81EB3B9FB06D')


def run_loop_until(agent, condition):
    """Run the base's provision loop in its thread until condition() (then stop)."""
    agent.start_thread('provision', agent.provision_loop)
    try:
        for _ in range(200):
            if condition():
                return
            agent.wait(0.05)
        raise AssertionError('condition not reached')
    finally:
        agent.stop()
        for thread in agent.workers.threads:
            thread.join(5)
            assert not thread.is_alive()


def test_provision_loop_hands_batches_to_provision_and_stop_ends_it(agent):
    agent.handle_vif_event(event('plug'))
    agent.handle_vif_event(event('unplug', mac='fa:16:3e:00:00:02'))
    run_loop_until(agent, lambda: agent.batches)
    assert agent.batches[0] == [('plug', MAC), ('unplug', 'fa:16:3e:00:00:02')]


def test_waiting_plugs_are_offered_again_until_neutron_knows_them(agent):
    agent.handle_vif_event(event('plug'))
    request = agent.queue.pending[0]
    agent.outcomes = [prov.Outcome(waiting=[request]), prov.Outcome(up={MAC})]
    run_loop_until(agent, lambda: len(agent.batches) >= 2)
    assert agent.batches[:2] == [[('plug', MAC)], [('plug', MAC)]]
    assert agent.queue.retrying == [] and agent.queue.pending == []


def test_a_failed_batch_is_requeued_and_retried(agent, caplog):
    agent.handle_vif_event(event('plug'))
    agent.outcomes = [RuntimeError('REST down\n<xml>' + 'x' * 5000)]
    run_loop_until(agent, lambda: len(agent.batches) >= 2)
    assert agent.batches[:2] == [[('plug', MAC)], [('plug', MAC)]]
    failure = [r for r in caplog.records if 'Provisioning of 1 request(s) failed' in r.message]
    assert failure and '\n' not in failure[0].getMessage()
    assert len(failure[0].getMessage()) < 600


def test_stop_wakes_the_provision_loop_at_once(agent):
    agent.conf.set_override('exception_interval', 3600, 'AGENT')
    thread = agent.start_thread('provision', agent.provision_loop)
    agent.stop()
    thread.join(5)
    assert not thread.is_alive()


class Const:
    """An rng always answering ``value`` (0.0: no jitter)."""

    def __init__(self, value):
        self.value = value

    def random(self):
        return self.value


def fake_clock_agent(cls, conf, rng):
    """An agent on a fake clock whose heal-loop waits advance the clock; (agent, waits)."""
    now = [0.0]
    a = cls(conf, adapter=mock.MagicMock(), clock=lambda: now[0], rng=rng)
    waits = []

    def wait(seconds):
        waits.append(seconds)
        now[0] += seconds
        return False

    a._heal_now = mock.Mock(wait=wait)
    return a, waits


class Healing(Agent):
    """Records the clock at each heal; stops after ``passes``."""

    passes = 4

    def heal(self):
        self.calls.append(self.clock())
        if len(self.calls) >= self.passes:
            self.stop()


def test_periodic_heals_are_jittered_and_the_first_one_offset(conf, rpc):
    conf.set_override('heal_and_optimize_interval', 100, 'AGENT')
    a, _ = fake_clock_agent(Healing, conf, Const(0.5))
    a._heal_loop()
    # start-up heal at once; first periodic pass 10-100 % of an interval later
    # (55 s at a draw of 0.5); then each pass 0-10 % early (95 s).
    assert a.calls == pytest.approx([0, 55, 150, 245])


def test_without_jitter_heals_are_one_interval_apart(conf, rpc):
    conf.set_override('heal_and_optimize_interval', 100, 'AGENT')
    a, _ = fake_clock_agent(Healing, conf, Const(0.0))
    a._heal_loop()
    assert a.calls == [0, 100, 200, 300]


def test_a_resync_during_a_heal_heals_again_after_its_random_delay(conf, rpc):
    conf.set_override('heal_and_optimize_interval', 100, 'AGENT')

    class Resynced(Healing):
        passes = 3

        def heal(self):
            if not self.calls:
                self.full_resync()  # e.g. NEW_CLIENT while the start-up heal runs
            super().heal()

    a, _ = fake_clock_agent(Resynced, conf, Const(0.5))
    a._heal_loop()
    # resync: 0.5 x 10 % of the interval = 5 s, before the first periodic pass was
    # due (55 s); after it a periodic pass 5 % early (95 s)
    assert a.calls == pytest.approx([0, 5, 100])


def test_revival_resync_is_delayed_and_capped_at_30_seconds(conf, rpc, caplog):
    caplog.set_level(logging.INFO)
    conf.set_override('heal_and_optimize_interval', 1800, 'AGENT')
    rpc.state.report_state.return_value = agent_consts.AGENT_REVIVED
    a = Agent(conf, adapter=mock.MagicMock(), clock=lambda: 1000.0, rng=Const(0.999))
    a.report_state()
    assert a._heal_now.is_set()
    assert a.heal_timer.due(float('inf')) == pytest.approx(1000 + 29.97)
    assert 'Full resync (heal) in 30.0 seconds' in caplog.text


def test_schedule_heal_wakes_the_waiting_loop_at_once(conf, rpc):
    conf.set_override('heal_and_optimize_interval', 3600, 'AGENT')
    a = Healing(conf, adapter=mock.MagicMock())
    a.passes = 2
    thread = a.start_thread('heal', a._heal_loop)
    for _ in range(100):
        if a.calls:
            break
        time.sleep(0.02)
    a.schedule_heal()
    thread.join(5)
    assert len(a.calls) == 2 and not thread.is_alive()


def test_heal_failures_back_off_log_one_line_each_and_recovery(conf, rpc, caplog):
    """REST down for three passes: no traceback at ERROR, growing waits, then 'works again'."""
    caplog.set_level(logging.INFO)

    class Flaky(Agent):
        def heal(self):
            self.calls.append('heal')
            if len(self.calls) <= 3:
                raise base.pvm_exc.ConnectionError('Connection refused for GET /rest/api/uom')
            self.stop()

    a, waits = fake_clock_agent(Flaky, conf, Const(0.0))
    a._heal_loop()
    assert a.calls == ['heal'] * 4
    assert waits[:3] == [1, 2, 4]            # exception_interval = 1, doubling (no jitter)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3 and all(r.exc_info is None for r in errors)
    assert 'ConnectionError: Connection refused' in errors[0].getMessage()
    assert 'Heal and optimize works again after 3 failure(s)' in caplog.text


def test_provisioning_failures_back_off(conf, rpc, caplog):
    caplog.set_level(logging.INFO)
    agent = Agent(conf, adapter=mock.MagicMock(), rng=Const(0.0))
    agent.handle_vif_event(event('plug'))
    agent.outcomes = [RuntimeError('VIOS busy'), RuntimeError('VIOS busy'), prov.Outcome()]
    waits = []
    agent._retry = lambda outcome, delay: (waits.append(delay),
                                           agent.queue.requeue(outcome.failed))
    run_loop_until(agent, lambda: len(agent.batches) >= 3)
    assert waits[:3] == [1, 2, 1]   # doubling while failing, exception_interval once it works
    assert 'Provisioning of 1 request(s) works again after 2 failure(s)' in caplog.text


def test_each_heal_pass_ends_with_one_info_line_of_its_rest_cost(conf, rpc, caplog):
    """The heal thread's requests (and those of work it binds to other threads) counted."""
    caplog.set_level(logging.INFO)

    class Counting(Agent):
        def heal(self):
            rest_count.count_helper(lambda *a, **kw: None)('GET', '/rest/api/uom/x')
            rest_count.count_helper(lambda *a, **kw: None)('POST', '/rest/api/uom/x')
            worker = threading.Thread(target=rest_count.bind(
                lambda: rest_count.count_helper(lambda *a, **kw: None)('GET', '/x')))
            worker.start()
            worker.join()
            self.stop()

        def heal_summary(self):
            return 'full scan: no'

    a = Counting(conf, adapter=mock.MagicMock())
    a._heal_now = mock.Mock(wait=lambda seconds: None)
    a._heal_loop()
    done = [r.getMessage() for r in caplog.records if 'Heal and optimize done' in r.getMessage()]
    assert len(done) == 1
    assert re.fullmatch(r'Heal and optimize done in \d+\.\d seconds: 2 REST reads, 1 writes '
                        r'\(full scan: no\)', done[0])
