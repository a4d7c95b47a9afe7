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

"""Text for logs and messages: exceptions in one line, untrusted values bounded."""

from __future__ import annotations

from typing import Any

#: Characters of an untrusted value kept in a log line or message.
MAX_SHOWN = 200


def bounded(value: Any, limit: int = MAX_SHOWN, quote: bool = True) -> str:
    """``repr(value)`` (or ``str`` with quote=False) cut to ``limit`` characters.

    Never raises: a value whose repr fails (or recurses too deep) is shown by type.
    """
    try:
        text = repr(value) if quote else str(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__ or a too deep structure
        text = f'<unprintable {type(value).__name__}>'
    if len(text) <= limit:
        return text
    return f'{text[:limit]}... ({len(text)} characters)'


def error_text(exc: BaseException, limit: int = 2 * MAX_SHOWN) -> str:
    """``Type: message`` of an exception on one line, bounded.

    pypowervm puts method and URL in its exceptions' text, never a request body.
    """
    message = ' '.join(bounded(exc, limit, quote=False).split())
    return f'{type(exc).__name__}: {message}'
