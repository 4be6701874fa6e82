"""Whole-set protection of several batches side by side, in processes of their own (decision
0048).

A whole-set plan (decision 26) protects each measure's cells on its own: no identity crosses
two measures. :func:`metrics.statistics.disclosure.protect` is pure Python over numpy, so
threads would take turns on one core; a command that loads and exits (``cjsdash ingest``)
gives the measures of different batches to processes instead, when at least two batches are
large enough to be worth a process's start (about half a second: Python, numpy and the
parent's main module imported afresh, ``spawn`` being the only safe start in a process that
runs DuckDB's and polars' threads). At most twice ``workers`` batches are held at once,
where one is held planning one after another (decision 32). The masks are those the same
calls make in turn: each job is the same pure function of the same arrays. A server's
upload plans in turn (decision 44: its memory, not its minutes, is what is bounded).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from metrics.statistics import disclosure as dc

B = TypeVar("B")
Job = tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], dc.Relations, dict[str, Any]]
""":func:`~metrics.statistics.disclosure.protect`'s values, primary cells, relations and
keywords for one measure."""
Mask = npt.NDArray[np.bool_]

PLAN_WORKERS = max(1, min(4, os.cpu_count() or 1))
"""Processes a command plans in: one a core, at most four (each holds a batch)."""
PARALLEL_ROWS = 20_000
"""Area rollup rows a batch must have to count towards planning in processes: below two
such batches a process's start costs more than it saves."""


def worth_processes(rows: Iterable[int], workers: int) -> bool:
    """Whether batches of these sizes (area rollup rows) are planned in processes."""
    return workers > 1 and sum(1 for n in rows if n >= PARALLEL_ROWS) >= 2


def protect_jobs(jobs: Iterable[Job]) -> list[Mask]:
    """Each job's mask, in turn (a batch's measures: one process's work); a job is let
    go once done (given lazily, one measure's relations are held at a time)."""
    return [dc.protect(values, primary, relations, **keywords)
            for values, primary, relations, keywords in jobs]


def protected(batches: Iterable[tuple[B, Iterable[Job]]], workers: int = 1
              ) -> Iterator[tuple[B, list[Mask]]]:
    """Each batch with its jobs' masks: in turn, in order, when ``workers`` is 1; else a
    batch a process, in ``workers`` processes, as they finish, with at most twice
    ``workers`` batches submitted and not yet taken (give the largest first: the longest
    then start first)."""
    if workers <= 1:
        for batch, jobs in batches:
            yield batch, protect_jobs(jobs)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        waiting: dict[Future[list[Mask]], B] = {}
        try:
            pending = iter(batches)
            while True:
                while len(waiting) < 2 * workers and (item := next(pending, None)):
                    waiting[pool.submit(protect_jobs, list(item[1]))] = item[0]
                    del item
                if not waiting:
                    return
                done, _ = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    yield waiting.pop(future), future.result()
        finally:
            for future in waiting:
                future.cancel()
