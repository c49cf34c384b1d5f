"""A process-wide memo bounded by its number of entries and by the bytes they hold.

sigmail's caches are keyed by encodings that anyone can make: a certificate, a CRL, a key.
Bounded by count alone, 4,096 entries of 4 MB certificates would hold 16 GB; a mail filter or
a service worker lives for months. Each cache weighs an entry by the bytes it keeps alive (its
key's encoding and, for parsed objects, that encoding again, since a parsed object is a
multiple of it) and forgets the least recently used entries beyond either bound. What the
caches of sigmail hold at most is listed in docs/architecture.md ("Memory of a long-lived
process"). Thread-safe: the milter and the service verify in threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, cast, overload

__all__ = ["BoundedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")
_MISSING = object()


class BoundedCache(Generic[K, V]):
    """Least-recently-used entries are forgotten beyond ``max_entries`` or ``max_weight``
    (the sum of ``weigh(key, value)``). One entry heavier than ``max_weight`` is kept alone
    until the next one arrives: the newest answer is never refused."""

    __slots__ = ("_entries", "_lock", "_weigh", "max_entries", "max_weight", "weight")

    def __init__(self, *, max_entries: int, max_weight: int, weigh: Callable[[K, V], int]) -> None:
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._weigh = weigh
        self.max_entries = max_entries
        self.max_weight = max_weight
        self.weight = 0

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...
    def get(self, key, default=None):
        # A hit takes no lock (it was a third of a verification's cache time, ~40 hits a
        # message): each OrderedDict call is atomic under the GIL, and an entry another
        # thread evicts between the two is simply not moved; the value read stands.
        entries = self._entries
        found = entries.get(key)
        if found is None:
            return default
        try:  # noqa: SIM105 - contextlib.suppress costs what the lock did
            entries.move_to_end(key)
        except KeyError:
            pass
        return found[0]

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, or ``make()`` kept and returned (made outside the lock;
        if it raises, nothing is kept). A value of None is kept like any other."""
        found = self.get(key, _MISSING)
        if found is _MISSING:
            return self.put(key, make())
        return cast(V, found)

    def __contains__(self, key: K) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: K, value: V) -> V:
        """Store ``value`` unless ``key`` is already there; the stored value is returned
        (two threads that computed the same entry share the first one's)."""
        weight = self._weigh(key, value)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0]
            self._entries[key] = (value, weight)
            self.weight += weight
            self._trim()
            return value

    def replace(self, key: K, value: V) -> None:
        """Store ``value`` for ``key``, whatever was there."""
        weight = self._weigh(key, value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            self._entries[key] = (value, weight)
            self.weight += weight
            self._trim()

    def pop(self, key: K, default: V | None = None) -> V | None:
        with self._lock:
            found = self._entries.pop(key, None)
            if found is None:
                return default
            self.weight -= found[1]
            return found[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.weight = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _trim(self) -> None:
        entries = self._entries
        while len(entries) > 1 and (
            len(entries) > self.max_entries or self.weight > self.max_weight
        ):
            _key, (_value, weight) = entries.popitem(last=False)
            self.weight -= weight
