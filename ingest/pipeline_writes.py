"""Writing a batch in one transaction: core upserts (revisions, withdrawals, targets),
record-level rows, and the run log with its rejects."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from cjsdash.core.frames import arrow_table
from cjsdash.core.rollup import mark_pending
from cjsdash.core.schema import OBSERVATION_KEY
from ingest.base import (
    Progress,
    Reject,
    with_run_ids,
)
from ingest.catalogue import source_spec
from ingest.load import (
    register_sources,
    replace_local_targets,
    upsert_versioned_runs,
    withdraw_outside_slices,
)
from ingest.pipeline_reports import Pending, files_label


def write_batch(con: duckdb.DuckDBPyConnection, items: list[Pending],
           progress: Progress | None) -> None:
    """Everything the batch's files bring, in one transaction (all or nothing)."""
    if not items:
        return
    rows = sum(i.result.frame.height for i in items if i.result is not None)
    label = files_label(i.report.file_name for i in items)
    if progress:
        progress(f"loading {label}", 0, rows)
    con.execute("BEGIN TRANSACTION")
    try:
        run_ids = con.execute("SELECT nextval('meta.run_ids') FROM range(?)",
                              [len(items)]).fetchall()
        for item, (run_id,) in zip(items, sorted(run_ids), strict=True):
            item.report.run_id = run_id
        loads = [item for item in items if item.result is not None]
        _load_core(con, loads)
        _load_raw(con, loads)
        _insert_runs(con, items)
        _insert_rejects(con, items)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if progress:
        progress(f"loaded {label}", rows, rows)


def _load_core(con: duckdb.DuckDBPyConnection, loads: list[Pending]) -> None:
    """Upsert the batch's frames, one statement per table when their keys do not overlap,
    and note the measures the rollup must refresh. Each table's frames are tagged with their
    run ids once (:func:`ingest.base.with_run_ids`), and what the reports need is taken
    from that one frame: a few polars queries a batch, not a few per file."""
    touched: set[str] = set()
    periods: list[pl.DataFrame] = []
    sources: set[str] = set()
    tagged: dict[str, tuple[list[Pending], pl.DataFrame]] = {}
    for table in ("observations", "populations", "targets"):
        parts = [item for item in loads
                 if item.result is not None and item.result.table == table]
        if parts:
            frame = with_run_ids([(item.result.frame, item.report.run_id or 0)  # type: ignore[union-attr]
                                  for item in parts], how="vertical_relaxed")
            tagged[table] = (parts, frame)
    if "observations" in tagged:
        sources = set(tagged["observations"][1]["source"].unique().to_list())
    register_sources(con, [item.loader.spec for item in loads]
                     + [source_spec(s) for s in sorted(sources)])
    for table, (parts, frame) in tagged.items():
        withdrawn = _withdraw(con, frame) if table == "observations" else {}
        counts = (_replace_targets(con, frame) if table == "targets"
                  else upsert_versioned_runs(con, f"core.{table}", frame))
        months = _months(frame) if table == "observations" else {}
        changed = []
        for item in parts:
            run_id = item.report.run_id or 0
            item.report.rows_withdrawn = withdrawn.get(run_id, 0)
            if item.report.rows_withdrawn:
                item.report.message = "; ".join(filter(None, [item.report.message, (
                    f"{item.report.rows_withdrawn:,} figures of earlier loads withdrawn: "
                    "this file now supplies their area, period and measure whole")]))
            new, revised, unchanged = counts.get(run_id, (0, 0, 0))
            item.report.rows_loaded, item.report.rows_revised = new, revised
            item.report.rows_unchanged = unchanged
            if table == "observations":
                item.report.months = months.get(run_id, _NO_MONTHS)
                if new or revised or item.report.rows_withdrawn:
                    changed.append(run_id)
        if changed:
            mine = frame.filter(pl.col("run_id").is_in(changed)).select(
                "measure", "period_start", "period_end").unique()
            touched.update(mine["measure"].unique().to_list())
            periods.append(mine)
    mark_pending(con, sorted(touched),
                 pl.concat(periods, how="vertical_relaxed") if periods else None)


_NO_MONTHS = pl.DataFrame(schema={"area_code": pl.String, "measure": pl.String,
                                  "period_start": pl.Date})


def _months(frame: pl.DataFrame) -> dict[int, pl.DataFrame]:
    """The months (one-month periods) each run's observations bring, per area and measure."""
    months = frame.filter(pl.col("period_end") == pl.col("period_start").dt.month_end()).select(
        "run_id", "area_code", "measure", "period_start").unique()
    return {run_id: part for (run_id,), part in
            months.partition_by("run_id", as_dict=True, include_key=False).items()}


def _withdraw(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> dict[int, int]:
    """A revision replaces its slices whole (:func:`ingest.load.withdraw_outside_slices`)."""
    return withdraw_outside_slices(con, frame.select(*OBSERVATION_KEY, "run_id"))


def _replace_targets(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame
                     ) -> dict[int, tuple[int, int, int]]:
    """Local targets: a later file of the batch wins for the same target."""
    key = ["indicator", "area_code", "period_start", "period_end", "kind"]
    frame = frame.sort("run_id").unique(key, keep="last", maintain_order=True)
    return replace_local_targets(con, frame)


def _load_raw(con: duckdb.DuckDBPyConnection, loads: list[Pending]) -> None:
    """Record-level rows, by loader: all of a loader's files at once when it can."""
    by_loader: dict[str, list[Pending]] = {}
    for item in loads:
        by_loader.setdefault(item.loader.spec.name, []).append(item)
    for items in by_loader.values():
        loader = items[0].loader
        runs = [(item.result, item.report.run_id) for item in items
                if item.result is not None and item.report.run_id is not None]
        if loader.load_raw_runs is not None:
            loader.load_raw_runs(con, runs)
        elif loader.load_raw is not None:
            for result, run_id in runs:
                loader.load_raw(con, result, run_id)


def _insert_runs(con: duckdb.DuckDBPyConnection, items: list[Pending]) -> None:
    """One ``meta.ingest_runs`` row per file, with its counts."""
    finished = datetime.now()
    frame = pl.DataFrame(
        [(i.report.run_id, i.report.file_name, i.sha, i.loader.spec.name,
          i.result.source if i.result else None, i.result.vintage if i.result else None,
          i.started, finished, i.report.rows_in, i.report.rows_loaded, i.report.rows_unchanged,
          i.report.rows_revised, i.report.rows_rejected, i.report.status, i.report.message)
         for i in items],
        schema={"run_id": pl.Int64, "file_name": pl.String, "sha256": pl.String,
                "loader": pl.String, "source": pl.String, "vintage": pl.String,
                "started_at": pl.Datetime("us"), "finished_at": pl.Datetime("us"),
                "rows_in": pl.Int64, "rows_loaded": pl.Int64, "rows_unchanged": pl.Int64,
                "rows_revised": pl.Int64, "rows_rejected": pl.Int64, "status": pl.String,
                "message": pl.String},
        orient="row",
    )
    _insert_frame(con, "meta.ingest_runs", frame)


def _insert_rejects(con: duckdb.DuckDBPyConnection, items: list[Pending]) -> None:
    """Every rejected row of the batch, with its file; a refusal without rejected rows logs
    its reason as a whole-file reject."""
    rows = []
    for item in items:
        rejects = item.report.rejects
        if item.result is None and not rejects:
            rejects = [Reject(None, None, None, item.report.message)]
        rows += [(item.report.run_id, item.report.file_name, r.row, r.column, r.value, r.reason)
                 for r in rejects]
    if rows:
        frame = pl.DataFrame(
            rows, orient="row",
            schema={"run_id": pl.Int64, "file_name": pl.String, "row_number": pl.Int64,
                    "column_name": pl.String, "value": pl.String, "reason": pl.String},
        )
        _insert_frame(con, "meta.rejects", frame)


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Insert ``frame`` into ``table`` by column name (``table`` is one of our constants)."""
    con.register("_insert_frame", arrow_table(frame))
    try:
        columns = ", ".join(frame.columns)
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _insert_frame")  # noqa: S608
    finally:
        con.unregister("_insert_frame")
