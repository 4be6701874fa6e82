"""Frame → warehouse, inside the caller's transaction: new rows, revisions, no-ops."""

from __future__ import annotations

import duckdb
import polars as pl

from cjsdash.core.schema import BREAKDOWNS, OBSERVATION_KEY
from ingest.base import SourceSpec

POPULATION_KEY = ("area_code", "year", "ethnicity", "sex", "age_group", "source")
_COLUMNS = {
    "core.observations": (OBSERVATION_KEY, ("value", "value_note", "vintage")),
    "core.populations": (POPULATION_KEY, ("population", "vintage")),
}


def _stage(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    con.register("_stage_frame", frame.to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE _stage AS SELECT * FROM _stage_frame")
    con.unregister("_stage_frame")


def upsert_versioned(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, run_id: int
) -> tuple[int, int, int]:
    """Load ``frame`` into ``table`` keeping history: returns (new, revised, unchanged).

    A key already current with the same value is unchanged. A key whose value differs is a
    revision: the old row stays, no longer current, and the new row becomes current.
    """
    key, payload = _COLUMNS[table]
    value_col = payload[0]
    _stage(con, frame)
    match = " AND ".join(f"o.{k} = s.{k}" for k in key)
    differs = f"(o.{value_col} IS DISTINCT FROM s.{value_col})"
    if table == "core.observations":
        differs = f"({differs} OR o.value_note IS DISTINCT FROM s.value_note)"
    revised = con.execute(
        f"UPDATE {table} AS o SET is_current = FALSE FROM _stage AS s "  # noqa: S608
        f"WHERE o.is_current AND {match} AND {differs}"
    ).fetchone()[0]
    columns = ", ".join((*key, *payload))
    inserted = con.execute(
        f"INSERT INTO {table} ({columns}, run_id, is_current) "  # noqa: S608
        f"SELECT {', '.join('s.' + c for c in (*key, *payload))}, ?, TRUE FROM _stage AS s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS o WHERE o.is_current AND {match})",
        [run_id],
    ).fetchone()[0]
    con.execute("DROP TABLE _stage")
    return inserted - revised, revised, frame.height - inserted


def register_sources(con: duckdb.DuckDBPyConnection, specs: list[SourceSpec]) -> None:
    """Register the sources not yet in ``meta.sources`` (one SELECT; inserts only for new
    ones, which keeps a batch of forty files from paying for forty conflicting inserts)."""
    known = {name for (name,) in con.execute("SELECT source FROM meta.sources").fetchall()}
    for spec in {s.name: s for s in specs if s.name not in known}.values():
        con.execute(
            "INSERT INTO meta.sources VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [spec.name, spec.title, spec.publisher, spec.licence, spec.kind, spec.priority,
             spec.kind == "synthetic"],
        )


def observation_columns() -> tuple[str, ...]:
    return ("measure", "area_code", "period_start", "period_end", *BREAKDOWNS,
            "value", "value_note", "source", "vintage")
