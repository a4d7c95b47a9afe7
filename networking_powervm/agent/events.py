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
agent.handle_vif_event as one parsed VifEvent; queue resets go to
agent.full_resync; everything else to agent.handle_other_event. Malformed
events are logged (bounded) and ignored; nothing raises into pypowervm.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm.wrappers import event as pvm_evt

from networking_powervm.common import logtext, vif_event

LOG = logging.getLogger(__name__)

RESYNC_TYPES = frozenset({pvm_evt.EventType.NEW_CLIENT,
                          pvm_evt.EventType.CACHE_CLEARED,
                          pvm_evt.EventType.MISSING_EVENTS})


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
            except Exception as exc:
                LOG.error("Error handling PowerVM event %s: %s", _describe(event),
                          logtext.error_text(exc))
                LOG.debug("Event handling failure", exc_info=True)
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
                vif = vif_event.parse(event.detail, event.data)
            except Exception as exc:  # any failure to parse untrusted input: malformed
                reason = (str(exc) if isinstance(exc, vif_event.EventError)
                          else logtext.error_text(exc))
                LOG.warning("Ignoring malformed PowerVM event %s: %s",
                            logtext.bounded(getattr(event, 'eid', None), quote=False), reason)
                return
            if vif is not None:
                self.agent.handle_vif_event(vif)
                return
        self.agent.handle_other_event(event)


def _describe(event: Any) -> str:
    """A bounded one-line description of an event (its text is untrusted)."""
    parts = [f'{name}={logtext.bounded(getattr(event, name, None))}'
             for name in ('eid', 'etype', 'data', 'detail')]
    return ' '.join(parts)
