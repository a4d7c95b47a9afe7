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

"""The floor stand-ins of floor_bench.py and the parsing of the logs its timeline uses.

* NeutronFloor: a stand-in agent that makes only the RPCs a plug or a heal needs,
  with neutron's own agent RPC client (``neutron.agent.rpc.PluginApi``, as the real
  agent) and the real agent's chunking; no REST.
* RestFloor: only the unavoidable pypowervm requests (event delivery, bridge read,
  one bridge write per bridge; for the start-up heal the host scan), timed.
* log parsing: the agent's own oslo.log lines at debug: oslo.messaging's ``Calling
  RPC method X`` (sent) and urllib3's request lines (answered, as pypowervm got them).
"""

from __future__ import annotations

import datetime
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from networking_powervm.agent.neutron_rpc import chunked
from networking_powervm.common import constants as const

SCAN_WORKERS = 8  # as the agent's heal scan (sea/scan.py SCAN_WORKERS)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of fn()."""
    t0 = time.monotonic()
    out = fn()
    return time.monotonic() - t0, out


# --------------------------------------------------------------------------- Neutron

class NeutronFloor:
    """A stand-in agent making only the RPCs of a plug/heal (no REST); counts its calls."""

    def __init__(self, reporter: Any) -> None:
        from neutron.agent import rpc as agent_rpc
        from neutron.conf import service as service_conf
        from neutron_lib import rpc as lib_rpc
        from neutron_lib.agent import topics

        self.reporter = reporter  # its open transport is neutron-lib's global one
        # neutron-lib's backing-off client reads rpc_response_max_timeout after a
        # timeout; without it a timed-out call raises NoSuchOptError instead of retrying.
        lib_rpc.TRANSPORT.conf.register_opts(service_conf.RPC_EXTRA_OPTS)
        self.rpc = agent_rpc.PluginApi(topics.PLUGIN)
        self.calls: Counter[str] = Counter()
        self._count_lock = threading.Lock()  # chunks are sent from several threads

    def _count(self, method: str) -> None:
        with self._count_lock:
            self.calls[method] += 1

    @staticmethod
    def _ctx() -> Any:
        from oslo_context import context

        return context.RequestContext(is_admin=True)

    @staticmethod
    def _agent_id(host: str) -> str:
        return f'{const.AGENT_BINARY_SEA}-{host}'

    def details(self, macs: list[str], host: str) -> list[dict]:
        """get_devices_details_list in the agent's chunks (as many in flight as the agent)."""
        def call(chunk: list[str]) -> list[dict]:
            self._count('get_devices_details_list')
            return self.rpc.get_devices_details_list(
                self._ctx(), chunk, self._agent_id(host), host) or []
        answers, _failed = chunked(macs, call, 'get_devices_details_list')
        return [det for answer in answers for det in answer]

    def up(self, macs: list[str], host: str) -> None:
        """update_device_list (devices up) in the agent's chunks."""
        def call(chunk: list[str]) -> None:
            self._count('update_device_list')
            self.rpc.update_device_list(self._ctx(), chunk, [], self._agent_id(host), host)
        chunked(macs, call, 'update_device_list')

    def down(self, macs: list[str], host: str) -> None:
        """update_device_list (devices down) in the agent's chunks: set-up, not counted."""
        chunked(macs, lambda chunk: self.rpc.update_device_list(
            self._ctx(), [], chunk, self._agent_id(host), host), 'update_device_list')

    def bound(self, host: str) -> list[dict]:
        """get_ports_by_vnic_type_and_host (what a heal asks first)."""
        self.calls['get_ports_by_vnic_type_and_host'] += 1
        return self.rpc.get_ports_by_vnic_type_and_host(self._ctx(), 'normal', host) or []


class Heartbeat:
    """Keeps stand-in SEA agents alive in Neutron (ports bind only to live agents)."""

    def __init__(self, reporter: Any, hosts: list[str], physnet: str) -> None:
        self.reporter, self.hosts, self.physnet = reporter, list(hosts), physnet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name='stand-in-beat')

    def _run(self) -> None:
        while not self._stop.is_set():
            for host in list(self.hosts):
                try:
                    self.reporter.report(host, const.AGENT_TYPE_PVM_SEA, const.AGENT_BINARY_SEA,
                                         {const.CONF_BRIDGE_MAPPINGS: {self.physnet: 'ent8'}},
                                         start_flag=False)
                except Exception:  # noqa: BLE001 - a missed beat is retried
                    pass
            self._stop.wait(2)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# --------------------------------------------------------------------------- REST

class _Receiver:
    """pypowervm event handler: monotonic time each NOVA_PVM_VIF MAC was delivered."""

    def __init__(self) -> None:
        from pypowervm import adapter as pvm_adapter

        outer = self

        class Handler(pvm_adapter.WrapperEventHandler):
            def process(self, events: list[Any]) -> None:
                now = time.monotonic()
                with outer.cond:
                    for evt in events or []:
                        detail = getattr(evt, 'detail', '') or ''
                        for mac in re.findall(r'"mac": ?"([0-9a-f:]+)"', detail):
                            outer.seen.setdefault(mac, now)
                    outer.cond.notify_all()

        self.handler = Handler()
        self.cond = threading.Condition()
        self.seen: dict[str, float] = {}

    def wait(self, macs: list[str], timeout: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not all(m in self.seen for m in macs) and time.monotonic() < deadline:
                self.cond.wait(0.5)
            return {m: self.seen[m] for m in macs if m in self.seen}


class RestFloor:
    """The unavoidable pypowervm requests of a workload, on their own simulator."""

    def __init__(self, sim: Any, compute_adapter: Callable[[Any], Any]) -> None:
        from pypowervm.wrappers import managed_system as pvm_ms
        from pypowervm.wrappers import network as pvm_net

        from powervm_vif import partition

        self.sim = sim
        self.adapter = compute_adapter(sim)          # the compute side (event posts)
        self.agent_adapter = compute_adapter(sim)    # the stand-in agent's own session
        self.host_uuid = partition.host_uuid(self.adapter)
        nbs = pvm_net.NetBridge.get(self.agent_adapter, parent_type=pvm_ms.System,
                                    parent_uuid=self.host_uuid)
        self.nb_uuid = nbs[0].uuid
        self.receiver = _Receiver()
        self.listener = self.agent_adapter.session.get_event_listener()
        self.listener.subscribe(self.receiver.handler)

    def close(self) -> None:
        try:
            self.listener.unsubscribe(self.receiver.handler)
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass
        for adapter in (self.adapter, self.agent_adapter):
            try:
                adapter.session._logoff()
            except Exception:  # noqa: BLE001
                pass

    def events(self, macs: list[str], timeout: float = 120) -> float:
        """Post one plug event per MAC at once; seconds until the stand-in got them all."""
        from powervm_vif import events as vif_events

        href = (f'{self.sim.handle.url}/rest/api/uom/LogicalPartition/{uuid.uuid4()}'
                f'/ClientNetworkAdapter/{uuid.uuid4()}')
        gate = threading.Barrier(len(macs))

        def post(mac: str) -> None:
            gate.wait()
            vif_events.post_vif_event(self.adapter, const.EVENT_ACTION_PLUG, mac,
                                      const.VIF_TYPE_PVM_SEA, href)

        t0 = time.monotonic()
        with futures.ThreadPoolExecutor(len(macs)) as pool:
            for fut in [pool.submit(post, m) for m in macs]:
                fut.result()
        seen = self.receiver.wait(macs, timeout)
        if len(seen) < len(macs):
            raise RuntimeError(f'REST floor: {len(macs) - len(seen)} event(s) not delivered')
        return max(seen.values()) - t0

    def bridge_read(self) -> float:
        from pypowervm.wrappers import managed_system as pvm_ms
        from pypowervm.wrappers import network as pvm_net

        return timed(lambda: pvm_net.NetBridge.get(
            self.agent_adapter, parent_type=pvm_ms.System, parent_uuid=self.host_uuid))[0]

    def vios_read(self) -> float:
        from pypowervm.wrappers import virtual_io_server as pvm_vios

        return timed(lambda: pvm_vios.VIOS.get(self.agent_adapter, xag=[]))[0]

    def bridge_add(self, vlans: list[int]) -> float:
        """One bridge write adding ``vlans`` (pypowervm's ensure_vlans_on_nb)."""
        from pypowervm.tasks import network_bridger as pvm_bridger

        return timed(lambda: pvm_bridger.ensure_vlans_on_nb(
            self.agent_adapter, self.host_uuid, self.nb_uuid, vlans))[0]

    def bridge_remove(self, vlans: list[int]) -> float:
        """One bridge write removing ``vlans`` (read + update, as the agent's cleanup)."""
        from networking_powervm.agent.sea import vlans as sea_vlans

        return timed(lambda: sea_vlans.remove_vlans_from_nb(
            self.agent_adapter, self.host_uuid, self.nb_uuid, lambda nb: sorted(vlans)))[0]

    def scan(self, workers: int = SCAN_WORKERS) -> float:
        """The start-up scan: LPAR and VIOS feeds, every partition's CNAs (bounded)."""
        from pypowervm.wrappers import logical_partition as pvm_lpar
        from pypowervm.wrappers import network as pvm_net
        from pypowervm.wrappers import virtual_io_server as pvm_vios

        def run() -> int:
            parts = list(pvm_lpar.LPAR.get(self.agent_adapter)) + list(
                pvm_vios.VIOS.get(self.agent_adapter, xag=[]))
            with futures.ThreadPoolExecutor(workers) as pool:
                return sum(len(c) for c in pool.map(
                    lambda p: pvm_net.CNA.get(self.agent_adapter, parent=p), parts))
        return timed(run)[0]


# --------------------------------------------------------------------------- logs

_OSLO_TS = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})')
_RPC_CALL = re.compile(r'Calling RPC method (\w+)')
_REST = re.compile(r'urllib3\.connectionpool .*"(GET|PUT|POST|DELETE) (/rest/api/\S+) '
                   r'HTTP/1\.1" (\d{3})')
_HEAL_DONE = re.compile(r'Heal and optimize done in ([\d.]+) seconds')
_HEAL_COST = re.compile(r'Heal and optimize done in [\d.]+ seconds: (\d+) REST reads, '
                        r'(\d+) writes \(full scan: (yes|no)\)')


def _epoch(stamp: str) -> float:
    """Epoch seconds of a local-time 'YYYY-mm-dd HH:MM:SS.mmm' (or ',mmm')."""
    return datetime.datetime.strptime(stamp.replace(',', '.'), '%Y-%m-%d %H:%M:%S.%f'
                                      ).timestamp()


def _lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        return path.read_text(errors='replace').splitlines()
    except OSError:
        return []


@dataclass(frozen=True)
class Mark:
    """One timeline point: epoch seconds, what happened, which log said so."""

    at: float
    what: str
    source: str


def resource_of(path: str) -> str:
    """Last resource name of a REST path (UUIDs and the query dropped)."""
    parts = [p for p in path.split('?')[0].split('/') if p and not re.fullmatch(
        r'[0-9A-Fa-f-]{36}', p)]
    return parts[-1] if parts else path


def agent_rpc_calls(agent_log: Path | None, start: float, end: float) -> list[Mark]:
    """The agent's RPC calls to the plugin (oslo.messaging debug lines) in [start, end]."""
    out = []
    for line in _lines(agent_log):
        m, ts = _RPC_CALL.search(line), _OSLO_TS.match(line)
        if m and ts and m.group(1) != 'report_state':
            at = _epoch(ts.group(1))
            if start <= at <= end:
                out.append(Mark(at, f'{m.group(1)} sent', 'agent'))
    return out


def heal_done(agent_log: Path | None) -> list[tuple[float, float]]:
    """(epoch of the line, seconds) of every 'Heal and optimize done' line."""
    out = []
    for line in _lines(agent_log):
        m, ts = _HEAL_DONE.search(line), _OSLO_TS.match(line)
        if m and ts:
            out.append((_epoch(ts.group(1)), float(m.group(1))))
    return out


def heal_costs(agent_log: Path | None) -> list[tuple[int, int, str]]:
    """(REST reads, writes, full scan yes|no) of every heal pass, from its own log line."""
    return [(int(m.group(1)), int(m.group(2)), m.group(3)) for line in _lines(agent_log)
            for m in [_HEAL_COST.search(line)] if m]


def agent_rest_calls(agent_log: Path | None, start: float, end: float) -> list[Mark]:
    """The agent's REST requests answered in [start, end] (urllib3's debug lines)."""
    out = []
    for line in _lines(agent_log):
        m, ts = _REST.search(line), _OSLO_TS.match(line)
        if m and ts:
            at = _epoch(ts.group(1))
            if start <= at <= end:
                res = resource_of(m.group(2))
                if res == 'Event' and m.group(1) == 'GET' and m.group(3) != '200':
                    continue  # an empty long poll
                label = ('event delivered (GET Event 200)' if res == 'Event' and
                         m.group(1) == 'GET' else f'{m.group(1)} {res} answered')
                out.append(Mark(at, label, 'agent'))
    return out


def count_rpc(marks: list[Mark]) -> Counter[str]:
    """RPC calls per method among timeline marks."""
    return Counter(m.what.removesuffix(' sent') for m in marks if m.what.endswith(' sent'))


def collapse(marks: list[Mark]) -> list[tuple[float, float, str, str, int]]:
    """Consecutive marks of the same kind merged: (first, last, what, source, count)."""
    out: list[tuple[float, float, str, str, int]] = []
    for m in sorted(marks, key=lambda m: m.at):
        if out and out[-1][2] == m.what:
            first, _, what, src, n = out[-1]
            out[-1] = (first, m.at, what, src, n + 1)
        else:
            out.append((m.at, m.at, m.what, m.source, 1))
    return out


def attribute(timeline: list[tuple[float, float, str, str, int]]) -> dict[str, float]:
    """Seconds of a batch's timeline per step, along the provisioning thread.

    Event deliveries come from the listener thread: only the first one counts (the
    events' delivery); the others overlap. Along the rest, each gap goes to what the
    thread was waiting for: after an RPC was sent, that RPC (until the next mark: its
    answer is not logged, so the next REST request's own latency is in it); between
    REST answers, the later request; before an RPC is sent, the agent itself.
    """
    out: dict[str, float] = {}

    def add(label: str, secs: float) -> None:
        out[label] = out.get(label, 0.0) + max(0.0, secs)

    prev_what, prev_end, delivered = '', 0.0, False
    for first, last, what, _, _ in timeline:
        if what.startswith('event delivered'):
            if not delivered:
                delivered = True
                add('event delivery', first - prev_end)
                prev_what, prev_end = what, first
            continue
        if prev_what == 'get_devices_details_list sent':
            label = 'Neutron: device details'
        elif prev_what == 'update_device_list sent':
            label = 'Neutron: devices up' + (' (+ poll)' if 'ACTIVE' in what else '')
        elif what.endswith(' sent'):
            label = 'agent (queue, processing)'
        elif what.endswith(' answered'):
            label = 'REST: ' + what.removesuffix(' answered')
        else:
            label = 'other'
        add(label, last - prev_end)
        prev_what, prev_end = what, last
    return out
