"""One LCJB's revised quarter: seconds and memory from the rows' commit to new figures.

Copies a warehouse, loads a board's quarterly revision (one LCJB, its latest quarter and
months, every measure, every count moved by one under a new vintage: the upload
``tests/integration/test_mart_incremental.py`` makes), then times :func:`metrics.mart.refresh`
(CPU seconds of this process, wall seconds, and the process's peak resident memory) and says
how far it reached: measures re-planned, areas recomputed, figure rows written. ``--fresh``
then plans the re-planned measures afresh (decision 26's planner, no earlier plan) on the
same cells and compares how many cells each withholds, and ``--audit`` runs the exact attack
(:func:`metrics.statistics.disclosure.linear_attack`) on every re-planned measure's stored
plan over all its cells. Measure, don't assert: never part of the test suite.

Usage: ``PYTHONPATH=. python benchmarks/revision_refresh.py WAREHOUSE [--area Cumbria]
[--fresh] [--audit] [--replan]`` (``--replan``: the refresh itself plans afresh, as before
decision 32).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl

from cjsdash.core.gateway import Warehouse
from ingest.pipeline import ingest_paths
from metrics import disclosure, mart
from metrics.disclosure_relations import relations_for
from metrics.options import Options
from metrics.registry import default_registry
from metrics.statistics import disclosure as dc

QUARTER = ["2025-26 Q4", "2026-01", "2026-02", "2026-03"]


def revision(extract: Path, area: str, out: Path) -> int:
    frame = pl.read_csv(extract, infer_schema_length=0).filter(
        (pl.col("area") == area) & pl.col("period").is_in(QUARTER))
    num = pl.col("numerator").cast(pl.Int64, strict=False)
    frame = frame.with_columns(
        pl.when(num.is_null()).then(None).otherwise(num + 1).cast(pl.Utf8).alias("numerator"),
        pl.lit("revised-benchmark").alias("vintage"))
    frame.write_csv(out)
    return frame.height


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def audit(con, measures: list[str], stored: pl.DataFrame) -> dict[str, int]:
    """measure → primary cells the exact attack recovers from the plan ``stored`` (the
    relations the values satisfy, as protection uses them)."""
    registry, options = default_registry(), Options()
    protected = {m: p for m, p in disclosure.protected_measures(registry, options).items()
                 if m in measures}
    cells = disclosure.measure_cells(con, protected)
    keys = ["series", "area_code", "period_start", "period_end", "bdim", "bval"]
    flags = cells.join(stored.select(pl.col("measure").alias("series"), "area_code",
                                     "period_start", "period_end", "bdim",
                                     pl.col("breakdown").alias("bval"), "primary")
                       .with_columns(pl.lit(True).alias("_h")), on=keys, how="left",
                       maintain_order="left")
    sources = disclosure.area_sources(con)
    out = {}
    for m in measures:
        part = flags.filter(pl.col("series") == m)
        if part.height == 0:
            continue
        part = part.with_columns(pl.col("cell") - part["cell"].min())
        hidden = part["_h"].fill_null(False).to_numpy()
        primary = part["primary"].fill_null(False).to_numpy()
        values = part["value"].fill_null(float("nan")).to_numpy().astype(float)
        relations = dc.holding(relations_for(part, sources), values)
        attack = dc.linear_attack(hidden, relations, missing=part["value"].is_null().to_numpy(),
                                  targets=primary)
        out[m] = int((attack.recovered & primary).sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--area", default="Cumbria")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--audit", action="store_true")
    parser.add_argument("--replan", action="store_true")
    args = parser.parse_args()
    registry = default_registry()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.duckdb"
        shutil.copyfile(args.warehouse, path)
        upload = Path(tmp) / "revision.csv"
        rows = revision(args.warehouse.parent / "generated" / "synthetic_board_extract.csv",
                        args.area, upload)
        with Warehouse(path).writer() as con:
            [report] = ingest_paths(con, [upload])
            print(f"loaded {rows} rows ({report.status}); peak so far {peak_mb():,.0f} MB")
            hidden_before = con.execute("SELECT count(*) FROM mart.withheld").fetchall()[0][0]
            wall, cpu = time.perf_counter(), time.process_time()
            done = mart.refresh(con, registry, replan=args.replan)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            hidden_after = con.execute("SELECT count(*) FROM mart.withheld").fetchall()[0][0]
            print(f"refresh: {cpu:.1f} CPU s, {wall:.1f} s wall, peak {peak_mb():,.0f} MB; "
                  f"{len(done.replanned)} measures re-planned, {len(done.indicators)} "
                  f"indicators in {len(done.areas)} areas ({len(done.everywhere)} everywhere), "
                  f"{done.rows:,} figure rows; withheld cells {hidden_before:,} → "
                  f"{hidden_after:,}")
            if args.fresh and done.replanned:
                started = time.process_time()
                fresh = disclosure.plan_hidden_cells(con, registry, Options(),
                                                     only=done.replanned)
                kept = disclosure.stored_plan(con, done.replanned)
                print(f"afresh: {fresh.height:,} cells withheld ({time.process_time() - started:.1f}"
                      f" CPU s) against {kept.height:,} by the refresh's plan")
                if args.audit:
                    found = audit(con, done.replanned, fresh)
                    print(f"audit of the fresh plan: {sum(found.values())} primary cells "
                          "recovered", {m: n for m, n in found.items() if n})
            if args.audit and done.replanned:
                found = audit(con, done.replanned, disclosure.stored_plan(con, done.replanned))
                print(f"audit of the refresh's plan: {sum(found.values())} primary cells "
                      f"recovered over {len(found)} measures",
                      {m: n for m, n in found.items() if n})


if __name__ == "__main__":
    main()
