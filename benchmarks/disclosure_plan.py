"""Whole-set disclosure planning, per measure: seconds, cells, primary and hidden.

Reads the measure cells of a warehouse (read-only) once, builds each measure's relations
and overlapping windows, then times :func:`metrics.statistics.disclosure.protect` on each
in CPU seconds of this process (steadier than wall time on a shared machine; the planner is
single-threaded): p50/p95 over ``--repeats`` for measures under a second, one run otherwise. ``--save DIR``
writes each measure's inputs and hidden mask (``<measure>.npz``) so two versions of the
planner can be compared cell for cell (``--compare DIR``: cells hidden by one and not the
other). Measure, don't assert: never part of the test suite.

Usage: ``python benchmarks/disclosure_plan.py [--db PATH] [--measures a,b] [--repeats N]
[--save DIR] [--compare DIR] [--load DIR] [--rule pieces|contains]`` (``--load``: the
inputs a ``--save`` wrote, measures with a primary only; ``--rule contains``: decision 8's
windows, withheld whenever they hold a hidden cell).

``--whole N``: instead, the whole plan as a refresh makes it
(:func:`metrics.disclosure.plan_hidden_cells`), in turn and in N processes
(:mod:`metrics.disclosure_workers`, decision 48), alternating for ``--repeats`` rounds, each
round checking that both withheld the same cells: wall seconds p50 / p95 of each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from metrics import disclosure as d
from metrics.disclosure_relations import overlapping_windows, relations_for, window_pieces
from metrics.options import Options
from metrics.registry import load_registry
from metrics.statistics import disclosure as dc
from metrics.statistics.disclosure_windows import WindowPieces
from metrics.statistics.suppression import primary_suppression

PIECES = ("is_window", "month_window", "month", "month_quarter", "quarter_window", "quarter",
          "quarter_month")


def _inputs(con: duckdb.DuckDBPyConnection, only: set[str] | None, rule: str):
    measures = d.protected_measures(load_registry(), Options(disclosure="whole_set"))
    started = time.process_time()
    cells = d.measure_cells(con, measures)
    print(f"read {cells.height:,} cells in {time.process_time() - started:.1f} s", flush=True)
    sources = d.area_sources(con)
    for name, spec in measures.items():
        if only and name not in only:
            continue
        part = cells.filter(pl.col("series") == name)
        if part.height == 0:
            continue
        part = part.with_columns(pl.col("cell") - part["cell"].min())
        values = part["value"].fill_null(np.nan).to_numpy().astype(float)
        primary = primary_suppression(values, threshold=spec.threshold)
        started = time.process_time()
        relations = relations_for(part, sources)
        if rule == "contains":  # decision 8's rule: every window holding a hidden cell
            window, inside = overlapping_windows(part)
            windows = WindowPieces.containing(part.height, window.to_numpy(), inside.to_numpy())
        else:
            windows = window_pieces(part)
        built = time.process_time() - started
        yield name, values, primary, relations, windows, built


def _saved(folder: Path, only: set[str] | None):
    """The inputs ``--save`` wrote (no warehouse needed)."""
    for path in sorted(folder.glob("*.npz")):
        if only and path.stem not in only:
            continue
        z = np.load(path)
        if not z["primary"].any():
            continue
        relations = dc.Relations(z["relation"], z["cell"], z["coef"])
        windows = (WindowPieces(*(z[f] for f in PIECES)) if "is_window" in z
                   else WindowPieces.containing(z["values"].size, z["outer"], z["inner"]))
        yield path.stem, z["values"], z["primary"], relations, windows, 0.0


def _whole(con: duckdb.DuckDBPyConnection, only: set[str] | None, workers: int,
           repeats: int) -> None:
    registry, options = load_registry(), Options(disclosure="whole_set")
    measures = sorted(only) if only else None
    seconds: dict[int, list[float]] = {1: [], workers: []}
    for round_ in range(repeats):
        plans = {}
        for n in ((1, workers) if round_ % 2 == 0 else (workers, 1)):
            started = time.perf_counter()
            plans[n] = d.plan_hidden_cells(con, registry, options, only=measures, workers=n)
            seconds[n].append(time.perf_counter() - started)
        same = plans[1].equals(plans[workers])
        print(f"round {round_ + 1}: in turn {seconds[1][-1]:.1f} s, in {workers} processes "
              f"{seconds[workers][-1]:.1f} s; {plans[1].height:,} cells withheld, "
              f"{'the same' if same else 'NOT the same'}", flush=True)
    for n, runs in seconds.items():
        print(f"{'in turn' if n == 1 else f'in {n} processes'}: p50 "
              f"{np.percentile(runs, 50):.1f} s, p95 {np.percentile(runs, 95):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="/tmp/dsp.duckdb")
    parser.add_argument("--measures", default="")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--load", type=Path, help="inputs saved by --save, not the warehouse")
    parser.add_argument("--rule", choices=("pieces", "contains"), default="pieces",
                        help="windows withheld unless sums of visible cells (decision 26), or "
                             "whenever they hold a hidden cell (decision 8)")
    parser.add_argument("--whole", type=int, default=0, metavar="N",
                        help="time the whole plan in turn and in N processes, alternating")
    args = parser.parse_args()
    only = set(filter(None, args.measures.split(","))) or None
    if args.whole:
        return _whole(duckdb.connect(args.db, read_only=True), only, args.whole, args.repeats)
    inputs = (_saved(args.load, only) if args.load
              else _inputs(duckdb.connect(args.db, read_only=True), only, args.rule))
    total = 0.0
    totals = {"cells": 0, "primary": 0, "hidden": 0}
    print(f"{'measure':42s} {'cells':>8s} {'primary':>7s} {'hidden':>7s} {'rel s':>6s} "
          f"{'p50 s':>7s} {'p95 s':>7s}  vs saved")
    for name, values, primary, relations, windows, built in inputs:
        runs: list[float] = []
        while True:
            started = time.process_time()
            mask = dc.protect(values, primary, relations, windows=windows)
            runs.append(time.process_time() - started)
            if len(runs) >= args.repeats or sum(runs) > 1.0:
                break
        p50, p95 = np.percentile(runs, 50), np.percentile(runs, 95)
        total += p50
        versus = ""
        saved = args.compare / f"{name}.npz" if args.compare else None
        old = np.load(saved)["hidden"] if saved and saved.exists() else None
        if old is not None and old.size != mask.size:
            versus = f"saved {int(old.sum())} of {old.size} cells (other grains)"
        elif old is not None:
            versus = (f"saved {int(old.sum())}: +{int((mask & ~old).sum())} "
                      f"-{int((old & ~mask).sum())}")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(args.save / f"{name}.npz", values=values, primary=primary,
                                relation=relations.relation, cell=relations.cell,
                                coef=relations.coef, hidden=mask,
                                **{f: getattr(windows, f) for f in PIECES})
        totals["cells"] += values.size
        totals["primary"] += int(primary.sum())
        totals["hidden"] += int(mask.sum())
        print(f"{name:42s} {values.size:8d} {int(primary.sum()):7d} {int(mask.sum()):7d} "
              f"{built:6.1f} {p50:7.2f} {p95:7.2f}  {versus}", flush=True)
    print(f"{'total':42s} {totals['cells']:8d} {totals['primary']:7d} {totals['hidden']:7d} "
          f"{'':6s} {total:7.2f}")


if __name__ == "__main__":
    main()
