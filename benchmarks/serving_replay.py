"""Concurrent readers replaying recorded browser callbacks, and what their timings say.

Each reader is a thread with one keep-alive connection, going round the recorded bodies from
its own starting point, until a deadline or a stop signal: bounded in time, loopback only.
A reader gives up on a request after 120 s (:class:`serving_process.Client`); that counts as
an error (``TimeoutError``), as does any answer other than 200 or 204 or a 200 that is not a
Dash callback answer.
Used by ``benchmarks/serving.py``; never part of the test suite.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from run import pct
from serving_capture import label
from serving_process import Client, timed_post


@dataclass(frozen=True)
class Sample:
    callback: str
    started: float  # time.monotonic() when sent
    seconds: float
    error: str | None
    cache: str | None = None  # the answer's X-Cjsdash-Cache: hit, miss, off (None: no cache)


def replay(port: int, records: Sequence[dict[str, Any]], readers: int, *,
           seconds: float, stop: threading.Event | None = None) -> list[Sample]:
    """``readers`` threads sending the recorded bodies for ``seconds`` (or until ``stop``)."""
    bodies = [(label(r), r["body"]) for r in records]
    stop = stop or threading.Event()
    deadline = time.monotonic() + seconds
    samples: list[Sample] = []

    def reader(k: int) -> None:
        client = Client(port)
        i = k * len(bodies) // readers
        while not stop.is_set() and time.monotonic() < deadline:
            name, body = bodies[i % len(bodies)]
            i += 1
            started = time.monotonic()
            took, error, _ = timed_post(client, body)
            samples.append(Sample(name, started, took, error, client.last_cache))
        client.close()

    threads = [threading.Thread(target=reader, args=(k,), daemon=True) for k in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def stats(times: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in ms."""
    if not times:
        return {"n": 0}
    return {"n": len(times), "p50_ms": pct(times, 0.5) * 1000,
            "p95_ms": pct(times, 0.95) * 1000, "p99_ms": pct(times, 0.99) * 1000}


def summarise(samples: Sequence[Sample], start: float | None = None,
              end: float | None = None) -> dict[str, Any]:
    """Overall and per-callback figures of the requests sent between ``start`` and ``end``."""
    chosen = [s for s in samples if (start is None or s.started >= start)
              and (end is None or s.started <= end)]
    if not chosen:
        return {"overall": {"n": 0, "errors": 0}, "callbacks": {}}
    first = min(s.started for s in chosen)
    last = max(s.started + s.seconds for s in chosen)
    errors = Counter(s.error for s in chosen if s.error)
    overall = {**stats([s.seconds for s in chosen]), "errors": sum(errors.values()),
               "error_kinds": dict(errors), "per_s": len(chosen) / max(last - first, 1e-9),
               **cache_figures(chosen)}
    names = sorted({s.callback for s in chosen})
    callbacks = {name: {**stats([s.seconds for s in chosen if s.callback == name]),
                        "errors": sum(1 for s in chosen if s.callback == name and s.error)}
                 for name in names}
    return {"overall": overall, "callbacks": callbacks}


def cache_figures(samples: Sequence[Sample]) -> dict[str, Any]:
    """How the server's response cache answered (decision 0027): the share of hits among
    answers that could be cached, and p95 of hits and misses apart (a miss is a first view
    at this data version, or a repeat the cache had let go)."""
    kinds = Counter(s.cache for s in samples if s.cache)
    if not kinds:
        return {}
    cached = kinds["hit"] + kinds["miss"]
    return {"cache": dict(kinds), "hit_share": kinds["hit"] / cached if cached else None,
            "hit_p95_ms": stats([s.seconds for s in samples if s.cache == "hit"]).get("p95_ms"),
            "miss_p95_ms": stats([s.seconds for s in samples
                                  if s.cache == "miss"]).get("p95_ms"),
            "off_p95_ms": stats([s.seconds for s in samples if s.cache == "off"]).get("p95_ms")}


def stable_probes(port: int, records: Sequence[dict[str, Any]], min_bytes: int = 2000
                  ) -> list[tuple[str, str, bytes]]:
    """One body per callback whose answer carries content and is the same twice running:
    (callback, body, answer) — the answers an upload's new figures must change."""
    client, seen, probes = Client(port), set(), []
    for record in records:
        name = label(record)
        if name in seen or record.get("answer_bytes", 0) < min_bytes:
            continue
        seen.add(name)
        _, error, first = timed_post(client, record["body"])
        _, _, second = timed_post(client, record["body"])
        if error is None and first == second:
            probes.append((name, record["body"], first))
    client.close()
    return probes


def time_to_visible(port: int, probes: Sequence[tuple[str, str, bytes]], since: float,
                    limit_s: float) -> dict[str, float | None]:
    """Seconds from ``since`` until each probe's answer differs from the one before the
    upload (each probe polled by its own thread, as each open page would); ``None`` for a
    probe still unchanged after ``limit_s``."""
    found: dict[str, float | None] = {name: None for name, _, _ in probes}

    def poll(name: str, body: str, before: bytes) -> None:
        client = Client(port)
        while time.monotonic() - since < limit_s:
            _, error, now = timed_post(client, body)
            if error is None and now != before:
                found[name] = time.monotonic() - since
                break
            time.sleep(0.05)
        client.close()

    threads = [threading.Thread(target=poll, args=probe, daemon=True) for probe in probes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found
