"""Whole callback answers kept per data version: a least-recently-used store bounded in bytes,
shared by a server process's request threads (decision 0027).

A page callback's answer depends only on its request (which callback, its inputs, states and
which of them changed) and on the warehouse's data (decision 0017: the figures are read from
the published mart). So an answer computed at one *data version* can be sent again, byte for
byte, to every request with the same canonical body until the data changes; when it does, the
cache moves to the new version and drops everything it held (:meth:`ResponseCache.get`). It
never answers a request at one version with an answer kept for another.

What is cacheable, how the data version is read and where the layer sits in front of Dash is
:mod:`cjsdash.cached_callbacks`; this module is the store and the request's key only.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

ENTRY_OVERHEAD = 256
"""Bytes counted per entry beyond its key, headers and body (the objects that hold them)."""
RETIRED_KEPT = 16
"""Data versions remembered as left behind: a request still carrying one is not cached."""
FIELDS = ("output", "outputs", "inputs", "state", "changedPropIds")
"""The parts of a Dash callback body that choose its answer (``changedPropIds`` too: a
callback may ask which input changed, ``dash.ctx.triggered_id``)."""


def canonical_body(body: Any) -> bytes | None:
    """The request body's answer-choosing fields as canonical JSON (sorted keys, no spaces),
    or None when ``body`` is not a callback request (then nothing is cached for it). Two
    bodies give the same bytes exactly when Dash would see the same request; a field Dash
    does not read (none today) is left out so that it cannot split equal requests."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return None
    chosen = {name: body[name] for name in FIELDS if name in body}
    try:
        text = json.dumps(chosen, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError):  # NaN or Infinity in a value: not a JSON request
        return None
    return text.encode("utf-8")


def request_key(path: str, query: str, body: bytes) -> bytes:
    """The key of a request: its path, its query string and its canonical body."""
    return b"\n".join((path.encode("utf-8", "surrogateescape"),
                       query.encode("latin-1", "replace"), body))


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer as the application gave it: status line, headers, body."""

    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def size(self, key: bytes) -> int:
        return (len(key) + len(self.body) + ENTRY_OVERHEAD
                + sum(len(n) + len(v) for n, v in self.headers))


@dataclass
class Counts:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    evicted: int = 0
    too_big: int = 0
    version_changes: int = 0


@dataclass
class ResponseCache:
    """Answers by (data version, request key), at most ``max_bytes`` in all (keys, headers
    and bodies counted); least recently used first out. Thread-safe.

    The cache holds one data version at a time. The first request carrying a new version
    moves the cache to it and drops every answer of the old one; a version moved away from
    is *retired*, so a request that read it just before the swap (and finishes after) can
    neither read nor store: it is answered, uncached, from whatever data it reads.
    """

    max_bytes: int
    counts: Counts = field(default_factory=Counts)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[Answer, int]] = OrderedDict()
        self._bytes = 0
        self._version: Hashable | None = None
        self._retired: deque[Hashable] = deque(maxlen=RETIRED_KEPT)
        self._flights: dict[tuple[Hashable, bytes], threading.Event] = {}

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _at(self, version: Hashable) -> bool:
        """Move to ``version`` if it is new (caller holds the lock); False if retired."""
        if version == self._version:
            return True
        if version in self._retired:
            return False
        if self._version is not None:
            self._retired.append(self._version)
        self._version = version
        self._entries.clear()
        self._bytes = 0
        self.counts.version_changes += 1
        return True

    def get(self, version: Hashable, key: bytes) -> Answer | None:
        """The answer kept for ``key`` at ``version``, or None."""
        with self._lock:
            found = self._entries.get(key) if self._at(version) else None
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def record(self, *, hit: bool) -> None:
        """Count a request answered from the cache (``hit``) or computed for it."""
        with self._lock:
            if hit:
                self.counts.hits += 1
            else:
                self.counts.misses += 1

    def put(self, version: Hashable, key: bytes, answer: Answer) -> bool:
        """Keep ``answer`` for ``key`` at ``version``; False when it is not kept (the version
        was left behind, or the answer alone is over the bound)."""
        size = answer.size(key)
        with self._lock:
            if not self._at(version):
                return False
            if size > self.max_bytes:
                self.counts.too_big += 1
                return False
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (answer, size)
            self._bytes += size
            self.counts.stored += 1
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
                self.counts.evicted += 1
            return True

    def lead(self, version: Hashable, key: bytes) -> threading.Event | None:
        """None: this request computes ``key``'s answer and must call :meth:`landed` after;
        else the event set when the request computing the same answer has finished (wait on
        it, then :meth:`get` again), so concurrent first views compute once."""
        with self._lock:
            flight = self._flights.get((version, key))
            if flight is None:
                self._flights[(version, key)] = threading.Event()
            return flight

    def landed(self, version: Hashable, key: bytes) -> None:
        with self._lock:
            flight = self._flights.pop((version, key), None)
        if flight is not None:
            flight.set()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._bytes,
                    "max_bytes": self.max_bytes, **self.counts.__dict__}
