"""Frame → warehouse, inside the caller's transaction: new rows, revisions, no-ops."""

from __future__ import annotations

import duckdb
import polars as pl

from cjsdash.core.frames import arrow_table
from cjsdash.core.schema import BREAKDOWNS, OBSERVATION_KEY
from ingest.base import SourceSpec

POPULATION_KEY = ("area_code", "year", "ethnicity", "sex", "age_group", "source")
_COLUMNS = {
    "core.observations": (OBSERVATION_KEY, ("value", "value_note", "vintage")),
    "core.populations": (POPULATION_KEY, ("population", "vintage")),
}


def upsert_versioned(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, run_id: int
) -> tuple[int, int, int]:
    """Load ``frame`` into ``table`` keeping history: returns (new, revised, unchanged).

    A key already current with the same value is unchanged. A key whose value differs is a
    revision: the old row stays, no longer current, and the new row becomes current.
    """
    counts = upsert_versioned_runs(con, table, frame.with_columns(pl.lit(run_id).alias("run_id")))
    return counts.get(run_id, (0, 0, 0))


def upsert_versioned_runs(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame
) -> dict[int, tuple[int, int, int]]:
    """:func:`upsert_versioned` for a frame whose ``run_id`` column names each row's load
    (the members of one ZIP in one statement): run_id → (new, revised, unchanged).

    When a key appears in two runs, the runs are upserted one after the other (in run order)
    so that the later revises the earlier exactly as separate loads would.
    """
    key = _COLUMNS[table][0]
    # A key in two runs: one query over the frame (a ZIP's forty files: forty small queries
    # before, which waited for the reader thread's polars work, 0.06-0.1 s a batch).
    if frame.select(*key, "run_id").unique().select(key).is_duplicated().any():
        runs = frame.partition_by("run_id", maintain_order=True, as_dict=False)
        return {k: v for run in sorted(runs, key=lambda r: r["run_id"][0])
                for k, v in _upsert_runs(con, table, run).items()}
    return _upsert_runs(con, table, frame)


def _upsert_runs(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame
) -> dict[int, tuple[int, int, int]]:
    """One statement per step for runs whose keys do not overlap."""
    key, payload = _COLUMNS[table]
    value_col = payload[0]
    match = " AND ".join(f"o.{k} = s.{k}" for k in key)
    differs = f"(o.{value_col} IS DISTINCT FROM s.{value_col})"
    if table == "core.observations":
        differs = f"({differs} OR o.value_note IS DISTINCT FROM s.value_note)"
    columns = (*key, *payload)
    con.register("_stage_frame", arrow_table(frame, (*columns, "run_id")))
    try:
        # Each row classified once against the current rows: the counts per run, the
        # revisions to retire and the rows to insert all follow from it.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _stage AS SELECT s.*, "  # noqa: S608
            f"CASE WHEN o.is_current IS NULL THEN 'new' WHEN {differs} THEN 'revised' "
            f"ELSE 'unchanged' END AS _status FROM _stage_frame AS s "
            f"LEFT JOIN {table} AS o ON o.is_current AND {match}"
        )
    finally:
        con.unregister("_stage_frame")
    counts = {run: [0, 0, 0] for run in frame["run_id"].unique().to_list()}
    slot = {"new": 0, "revised": 1, "unchanged": 2}
    for run, status, n in con.execute(
            "SELECT run_id, _status, count(*) FROM _stage GROUP BY ALL").fetchall():
        counts[run][slot[status]] = n
    con.execute(
        f"UPDATE {table} AS o SET is_current = FALSE FROM _stage AS s "  # noqa: S608
        f"WHERE s._status = 'revised' AND o.is_current AND {match}"
    )
    con.execute(
        f"INSERT INTO {table} ({', '.join(columns)}, run_id, is_current) "  # noqa: S608
        f"SELECT {', '.join('s.' + c for c in columns)}, s.run_id, TRUE FROM _stage AS s "
        "WHERE s._status <> 'unchanged'"
    )
    con.execute("DROP TABLE _stage")
    return {run: (new, revised, unchanged) for run, (new, revised, unchanged) in counts.items()}


SLICE = ("measure", "area_code", "period_start", "period_end", "source")
"""A figure's slice: its total and every breakdown of it, which one run alone supplies."""


def withdraw_outside_slices(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame
                            ) -> dict[int, int]:
    """Retire the current observations of earlier loads that share a slice (area × period ×
    measure × source) with ``frame`` but whose key ``frame`` does not carry: run_id → rows.

    A revision is all of a slice or none of it, so a total and its breakdowns always come
    from one run and parts never add up to more than the whole. Rows of ``frame``'s own runs
    (the members of one ZIP) are never withdrawn by each other. Call before the upsert,
    inside the caller's transaction.
    """
    runs = frame["run_id"].unique().to_list()
    con.register("_slice_frame", arrow_table(frame, (*OBSERVATION_KEY, "run_id")))
    try:
        on_slice = " AND ".join(f"o.{c} = s.{c}" for c in SLICE)
        on_key = " AND ".join(f"o.{c} = k.{c}" for c in OBSERVATION_KEY)
        slice_columns = ", ".join(SLICE)
        sql = (  # identifiers from the schema contracts only
            "CREATE OR REPLACE TEMP TABLE _withdrawn AS "  # noqa: S608
            f"WITH s AS (SELECT {slice_columns}, max(run_id) AS by_run "
            "FROM _slice_frame GROUP BY ALL) "
            f"SELECT o.rowid AS row_id, s.by_run FROM core.observations AS o JOIN s ON {on_slice} "
            "WHERE o.is_current AND NOT list_contains($1, o.run_id) "
            f"AND NOT EXISTS (SELECT 1 FROM _slice_frame AS k WHERE {on_key})"
        )
        con.execute(sql, [runs])
    finally:
        con.unregister("_slice_frame")
    counts = dict(con.execute(
        "SELECT by_run, count(*) FROM _withdrawn GROUP BY by_run").fetchall())
    if counts:
        con.execute("UPDATE core.observations SET is_current = FALSE "
                    "WHERE rowid IN (SELECT row_id FROM _withdrawn)")
    con.execute("DROP TABLE _withdrawn")
    return counts


TARGET_SLICE = ("indicator", "area_code", "kind")
REGISTRY_TARGET_SOURCE = "registry"
"""``core.targets`` rows the registry writes (metrics.sync); every other row is local."""


def replace_local_targets(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame
                          ) -> dict[int, tuple[int, int, int]]:
    """Load local targets (``frame`` has a ``run_id`` column): for each indicator, area and
    kind the frame names, the local targets loaded before are replaced whole (a revised
    trajectory replaces the old one; periods it no longer lists go). The registry's national
    targets are never touched. run_id → (new, revised, unchanged), inside the caller's
    transaction."""
    columns = ("indicator", "area_code", "period_start", "period_end", "value", "kind",
               "source")
    con.register("_targets_frame", arrow_table(frame, (*columns, "run_id")))
    try:
        match = " AND ".join(f"o.{c} IS NOT DISTINCT FROM s.{c}" for c in
                             ("indicator", "area_code", "period_start", "period_end", "kind"))
        counts: dict[int, list[int]] = {r: [0, 0, 0] for r in frame["run_id"].unique()}
        for run, status, n in con.execute(
                "SELECT s.run_id, CASE WHEN o.value IS NULL THEN 0 WHEN o.value = s.value "  # noqa: S608
                f"AND o.source = s.source THEN 2 ELSE 1 END, count(*) FROM _targets_frame AS s "
                f"LEFT JOIN core.targets AS o ON o.source <> ? AND {match} GROUP BY ALL",
                [REGISTRY_TARGET_SOURCE]).fetchall():
            counts[run][status] += n
        on_slice = " AND ".join(f"o.{c} = s.{c}" for c in TARGET_SLICE)
        con.execute(
            f"DELETE FROM core.targets AS o WHERE o.source <> ? AND EXISTS "  # noqa: S608
            f"(SELECT 1 FROM _targets_frame AS s WHERE {on_slice})", [REGISTRY_TARGET_SOURCE])
        con.execute(f"INSERT INTO core.targets ({', '.join(columns)}, run_id) "  # noqa: S608
                    f"SELECT {', '.join(columns)}, run_id FROM _targets_frame")
    finally:
        con.unregister("_targets_frame")
    return {run: (new, revised, unchanged) for run, (new, revised, unchanged) in counts.items()}


def register_sources(con: duckdb.DuckDBPyConnection, specs: list[SourceSpec]) -> None:
    """Register the sources not yet in ``meta.sources`` (one SELECT; inserts only for new
    ones, which keeps a batch of forty files from paying for forty conflicting inserts).

    A registered source whose title or schema-only mark the code now declares otherwise
    (a warehouse made before ``schema_only`` existed) is brought in line."""
    known = {name: (title, schema_only) for name, title, schema_only in con.execute(
        "SELECT source, title, coalesce(schema_only, false) FROM meta.sources").fetchall()}
    for spec in {s.name: s for s in specs}.values():
        if spec.name not in known:
            con.execute(
                "INSERT INTO meta.sources (source, title, publisher, licence, kind, priority, "
                "is_synthetic, schema_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [spec.name, spec.title, spec.publisher, spec.licence, spec.kind, spec.priority,
                 spec.kind == "synthetic", spec.schema_only],
            )
        elif known[spec.name] != (spec.title, spec.schema_only):
            con.execute("UPDATE meta.sources SET title = ?, schema_only = ? WHERE source = ?",
                        [spec.title, spec.schema_only, spec.name])


def observation_columns() -> tuple[str, ...]:
    return ("measure", "area_code", "period_start", "period_end", *BREAKDOWNS,
            "value", "value_note", "source", "vintage")
