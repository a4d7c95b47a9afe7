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


"""Counting the REST requests a job makes (e.g. one heal pass), per thread.

:func:`count_helper` is a pypowervm Adapter helper: each request is counted
in the counts of the thread making it, if that thread is inside
:func:`counting`. Work handed to other threads is counted too when wrapped
with :func:`bind` in the counting thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar('T')

READ_METHODS = frozenset({'GET', 'HEAD'})

_local = threading.local()


class RestCounts:
    """REST reads (GET) and writes (PUT/POST/DELETE) counted so far; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reads = 0
        self.writes = 0

    def add(self, method: str) -> None:
        with self._lock:
            if str(method).upper() in READ_METHODS:
                self.reads += 1
            else:
                self.writes += 1

    def __repr__(self) -> str:
        return f'RestCounts(reads={self.reads}, writes={self.writes})'


def current() -> RestCounts | None:
    """The counts the calling thread adds to, if any."""
    return getattr(_local, 'counts', None)


@contextlib.contextmanager
def counting() -> Iterator[RestCounts]:
    """Count the calling thread's requests (and bound work's) until the block ends."""
    previous = current()
    counts = _local.counts = RestCounts()
    try:
        yield counts
    finally:
        _local.counts = previous


def bind(func: Callable[..., T]) -> Callable[..., T]:
    """``func`` counting its requests in the calling thread's counts, wherever it runs."""
    counts = current()
    if counts is None:
        return func

    def bound(*args: Any, **kwargs: Any) -> T:
        previous = current()
        _local.counts = counts
        try:
            return func(*args, **kwargs)
        finally:
            _local.counts = previous
    return bound


def count_helper(func: Callable) -> Callable:
    """pypowervm Adapter helper counting each request (every retry too, innermost)."""
    def wrapper(method: str, *args: Any, **kwargs: Any) -> Any:
        counts = current()
        if counts is not None:
            counts.add(method)
        return func(method, *args, **kwargs)
    return wrapper
