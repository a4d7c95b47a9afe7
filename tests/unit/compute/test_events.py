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

"""powervm-vif posts the NOVA_PVM_VIF event in the one wire format the agents parse."""

from __future__ import annotations

from unittest import mock

import pytest

from networking_powervm.common import vif_event
from powervm_vif import events

HREF = ('https://h/rest/api/uom/LogicalPartition/0C8BC782-E312-40F7-ACAD-81EB3B9FB06D/'
        'ClientNetworkAdapter/4204d084-77a5-329c-9d3b-2f5ccffe2803')


def test_posted_event_parses_back_in_the_agent():
    with mock.patch.object(events.pvm_event.Event, 'bld') as bld:
        events.post_vif_event(mock.sentinel.adapter, 'plug', 'FA16.3E0A.0B0C', 'pvm_sea', HREF)
    bld.assert_called_once()
    kwargs = bld.call_args.kwargs
    bld.return_value.create.assert_called_once_with()
    parsed = vif_event.parse(kwargs['detail'], kwargs['data'])
    assert parsed == vif_event.VifEvent('plug', 'fa:16:3e:0a:0b:0c', 'pvm_sea', HREF)


@pytest.mark.parametrize('action, mac', [('replug', 'FA163E0A0B0C'), ('plug', 'nope')])
def test_bad_event_is_refused_before_posting(action, mac):
    with mock.patch.object(events.pvm_event.Event, 'bld') as bld:
        with pytest.raises(ValueError, match=repr(action if action != 'plug' else mac)):
            events.post_vif_event(mock.sentinel.adapter, action, mac, 'pvm_sea', HREF)
    bld.assert_not_called()
