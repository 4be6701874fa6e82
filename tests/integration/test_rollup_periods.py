"""A load sums up again only the periods it touched (``cjsdash.core.rollup``), and the areas'
figures are the same as summing up every period: a month into ten years of street crime
refreshes one period of the rollup, not all of them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from cjsdash.core.rollup import mark_pending, refresh_pending, refresh_rollup
from ingest.pipeline import ingest_batch, ingest_paths
from tests.conftest import write_csv

HEADER = "area,period,measure,numerator\n"
KENT_FORCE = "E23000032"


def _rolled_up(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT * FROM core.area_observations ORDER BY ALL").fetchall()


def _kent(con: duckdb.DuckDBPyConnection, measure: str) -> dict[date, float]:
    return dict(con.execute(
        "SELECT period_start, value FROM core.area_observations WHERE area_code = ? "
        "AND measure = ?", [KENT_FORCE, measure]).fetchall())


def test_a_revision_refreshes_its_period_only_and_equals_a_whole_refresh(con, tmp_path) -> None:
    rows = "".join(f"{force},2024-{m:02d},recorded_crime,{100 * i + m}\n"
                   for i, force in enumerate(("Cumbria", "Kent"), 1) for m in (1, 2, 3))
    [first] = ingest_paths(con, [write_csv(tmp_path / "q.csv", HEADER + rows)])
    assert first.status == "loaded"
    [measure] = [m for (m,) in con.execute(
        "SELECT DISTINCT measure FROM core.observations").fetchall()]
    assert _kent(con, measure)[date(2024, 2, 1)] == 202
    other = [r for r in _rolled_up(con) if date(2024, 2, 1) not in r]

    # A revision of Kent's February, committed without the rollup (as a crash leaves it).
    text = HEADER + "Kent,2024-02,recorded_crime,999\n"
    [revised] = ingest_batch(con, iter([("feb.csv", Path("feb.csv"), text.encode())]))
    assert revised.status == "loaded"
    assert con.execute("SELECT * FROM meta.rollup_pending_periods").fetchall() == [
        (measure, date(2024, 2, 1), date(2024, 2, 29))]
    assert _kent(con, measure)[date(2024, 2, 1)] == 202  # not yet summed up

    assert refresh_pending(con) > 0
    assert _kent(con, measure) == {date(2024, 1, 1): 201, date(2024, 2, 1): 999,
                                   date(2024, 3, 1): 203}
    after = _rolled_up(con)
    assert [r for r in after if date(2024, 2, 1) not in r] == other  # the rest untouched
    con.execute("BEGIN TRANSACTION")
    refresh_rollup(con, [measure])  # every period, from scratch
    whole = _rolled_up(con)
    con.execute("ROLLBACK")
    assert after == whole
    assert con.execute("SELECT count(*) FROM meta.rollup_pending_periods").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM meta.rollup_pending").fetchone() == (0,)


def test_a_measure_pending_whole_stays_whole(con) -> None:
    import polars as pl

    periods = pl.DataFrame({"measure": ["m"], "period_start": [date(2024, 1, 1)],
                            "period_end": [date(2024, 1, 31)]})
    mark_pending(con, ["m"])  # e.g. a migration: every period
    mark_pending(con, ["m", "n"], periods.with_columns(pl.lit("n").alias("measure")).vstack(
        periods))
    assert con.execute("SELECT measure FROM meta.rollup_pending_periods").fetchall() == [("n",)]
    assert sorted(con.execute("SELECT measure FROM meta.rollup_pending").fetchall()) == [
        ("m",), ("n",)]
