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

"""Latency profiles: ``none`` and ``novalink`` (what a real NovaLink feels like).

The server sleeps the returned delay in the request's own thread, outside any
lock, so concurrent requests overlap as on a real server.
"""

from __future__ import annotations

import random

PROFILES = ('none', 'novalink')


def validate_profile(name: str) -> str:
    """``name`` if it is a known profile, else ValueError naming it."""
    if name not in PROFILES:
        raise ValueError(f'Unknown latency profile {name!r}; use one of {", ".join(PROFILES)}')
    return name


class Latency:
    """Delay per request for the active profile (changeable at run time)."""

    def __init__(self, profile: str = 'none', scale: float = 1.0) -> None:
        self.profile = validate_profile(profile)
        self.scale = scale
        self._rand = random.Random()

    def set(self, profile: str, scale: float | None = None) -> None:
        """Switch profile (and optionally the scale factor)."""
        self.profile = validate_profile(profile)
        if scale is not None:
            if scale < 0:
                raise ValueError(f'Latency scale must be >= 0, got {scale!r}')
            self.scale = scale

    def delay(self, method: str, resource: str, entries: int = 0) -> float:
        """Seconds to delay a request on ``resource`` answering ``entries`` entries."""
        if self.profile == 'none':
            return 0.0
        if resource in ('Event', 'Logon'):
            return 0.0 if resource == 'Event' else 0.1 * self.scale
        if method == 'GET':
            # tens of ms for an entry, hundreds for a large feed
            secs = 0.02 + 0.0003 * entries + self._rand.uniform(0, 0.01)
        elif resource == 'NetworkBridge':
            secs = self._rand.uniform(1.8, 2.2)
        else:
            secs = self._rand.uniform(0.5, 1.0)
        return secs * self.scale
