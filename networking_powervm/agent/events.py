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

"""pypowervm EventListener handler dispatching REST events to an agent.

NOVA_PVM_VIF custom events (posted by the compute side on plug/unplug) go to
agent.handle_vif_event when their type is the agent's VIF_TYPE; queue resets
go to agent.full_resync; everything else to agent.handle_other_event.
Malformed events are logged and ignored; nothing raises into pypowervm.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm.wrappers import event as pvm_evt

from networking_powervm.common import constants as c

LOG = logging.getLogger(__name__)

RESYNC_TYPES = frozenset({pvm_evt.EventType.NEW_CLIENT,
                          pvm_evt.EventType.CACHE_CLEARED,
                          pvm_evt.EventType.MISSING_EVENTS})
VIF_ACTIONS = frozenset({c.EVENT_ACTION_PLUG, c.EVENT_ACTION_UNPLUG})

_MAC_RE = re.compile(r'^[0-9a-f]{12}$')


class EventError(ValueError):
    """A malformed event; the message names the bad value."""


def norm_mac(mac: Any) -> str:
    """Neutron form (aa:bb:cc:dd:ee:ff) of a MAC with or without ':'/'-' separators."""
    if not isinstance(mac, str):
        raise EventError(f"MAC {mac!r} is not a string")
    bare = mac.strip().lower().replace(':', '').replace('-', '')
    if not _MAC_RE.match(bare):
        raise EventError(f"invalid MAC address {mac!r}")
    return ':'.join(bare[i:i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True)
class VifEvent:
    """A parsed NOVA_PVM_VIF event."""

    action: str
    mac: str
    vif_type: str
    href: str


def parse_vif_detail(detail: Any, href: Any) -> VifEvent | None:
    """Parse a CUSTOM_CLIENT_EVENT detail; None if it is not a NOVA_PVM_VIF event.

    Raises EventError (naming the bad value) for a malformed NOVA_PVM_VIF event.
    """
    if not detail:
        return None
    try:
        body = json.loads(detail)
    except (TypeError, ValueError) as exc:
        # Other providers' details need not be JSON; only flag ours.
        if c.EVENT_PROVIDER_NOVA_PVM_VIF in str(detail):
            raise EventError(f"event detail {detail!r} is not valid JSON: {exc}") from None
        return None
    if not isinstance(body, dict) or body.get('provider') != c.EVENT_PROVIDER_NOVA_PVM_VIF:
        return None
    for key in ('action', 'mac', 'type'):
        if key not in body:
            raise EventError(f"{c.EVENT_PROVIDER_NOVA_PVM_VIF} event {detail!r} lacks {key!r}")
    action = body['action']
    if action not in VIF_ACTIONS:
        raise EventError(f"{c.EVENT_PROVIDER_NOVA_PVM_VIF} event has invalid action "
                         f"{action!r} (expected plug or unplug)")
    if not isinstance(body['type'], str):
        raise EventError(f"{c.EVENT_PROVIDER_NOVA_PVM_VIF} event has invalid type "
                         f"{body['type']!r}")
    if not href or not isinstance(href, str):
        raise EventError(f"{c.EVENT_PROVIDER_NOVA_PVM_VIF} event has no adapter href "
                         f"(EventData {href!r})")
    return VifEvent(action, norm_mac(body['mac']), body['type'], href)


class AgentEventHandler(pvm_adpt.WrapperEventHandler):
    """Dispatches wrapped pypowervm events to a PVMAgentBase."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    def process(self, events: list[pvm_evt.Event]) -> None:
        resync: set[str] = set()
        for event in events or []:
            try:
                if event.etype in RESYNC_TYPES:
                    resync.add(event.etype)
                else:
                    self._dispatch(event)
            except Exception:
                LOG.exception("Error handling PowerVM event %s", _describe(event))
        if resync:
            LOG.info("PowerVM REST event %s: the event queue was reset; scheduling a full "
                     "resync", '/'.join(sorted(resync)))
            try:
                self.agent.full_resync()
            except Exception:
                LOG.exception("Error scheduling a full resync")

    def _dispatch(self, event: pvm_evt.Event) -> None:
        if event.etype == pvm_evt.EventType.CUSTOM_CLIENT_EVENT:
            try:
                vif = parse_vif_detail(event.detail, event.data)
            except EventError as exc:
                LOG.warning("Ignoring malformed PowerVM event %s: %s", event.eid, exc)
                return
            if vif is not None:
                if vif.vif_type == self.agent.VIF_TYPE:
                    self.agent.handle_vif_event(vif.action, vif.mac, vif.href)
                else:
                    LOG.debug("Ignoring %s event for VIF type %s", vif.action, vif.vif_type)
                return
        self.agent.handle_other_event(event)


def _describe(event: Any) -> str:
    try:
        return str(event)
    except Exception:
        return repr(event)
