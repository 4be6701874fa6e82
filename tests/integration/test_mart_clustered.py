"""The figure mart's large tables are stored in the order the pages read them (decision 0039):
``mart.figures``, ``mart.stage_counts`` and ``mart.coverage`` hold the same rows as without
the clustering, in their cluster order after a full refresh — written once, sorted, when their
rows fit in a batch; written as computed and then clustered when they do not — as two ordered
runs at most after an area's refresh, and a reader during a refresh sees all of the old tables
or all of the new.

The small warehouse of :mod:`tests.integration.test_mart_stages` (real files through the real
ingest path) for the rows and their order; the demo warehouse for its row groups (its tables
span several: DuckDB's are 122,880 rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from metrics import cache, mart, mart_figures, mart_stages, mart_staging
from metrics.registry import default_registry
from tests.integration.test_mart_stages import ARRESTS, CENSUS, FIRST, LATER, _load

ORDERS = {"figures": mart_figures.CLUSTER, **mart_stages.CLUSTER}
"""table → the order its rows are written in."""


def _build(path: Path, *, clustered: bool = True, batch: int | None = None) -> Path:
    """``batch``: the staged rows committed together (:data:`metrics.mart_staging.COMMIT_ROWS`;
    1: every table's rows written as computed, then clustered), and the figures computed as a
    large warehouse's are (:data:`metrics.mart_figures.PART_ROWS`: in parts, each task
    reading its own inputs)."""
    with pytest.MonkeyPatch.context() as mp:
        if batch is not None:
            mp.setattr(mart_staging, "COMMIT_ROWS", batch)
            mp.setattr(mart_figures, "PART_ROWS", 1)
        if not clustered:  # the staged rows left as computed
            mp.setattr(mart_staging, "cluster", lambda *_args: None)
        with Warehouse(path).writer() as con:
            prepare(con)
            _load(con, [CENSUS, ARRESTS, *FIRST])
            mart.refresh(con, default_registry(), full=True)
    cache.clear_cache()
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The small warehouse refreshed as it is (each table's rows in one batch: written
    sorted; the figures computed whole, their inputs shared), with every row its own batch
    (written as computed, then clustered; the figures in parts), and the same without the
    clustering."""
    folder = tmp_path_factory.mktemp("mart-clustered")
    return (_build(folder / "clustered.duckdb"),
            _build(folder / "batched.duckdb", batch=1),
            _build(folder / "unclustered.duckdb", clustered=False, batch=1))


@pytest.fixture
def copy(built: tuple[Path, Path], tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writer's connection to a copy of the clustered warehouse."""
    path = tmp_path / "copy.duckdb"
    path.write_bytes(built[0].read_bytes())
    con = duckdb.connect(str(path))
    yield con
    con.close()
    cache.clear_cache()


def _only_in(con: duckdb.DuckDBPyConnection, one: str, other: str) -> int:
    return con.execute(f"SELECT count(*) FROM (SELECT * FROM {one} "  # noqa: S608
                       f"EXCEPT ALL SELECT * FROM {other})").fetchall()[0][0]


def _descents(con: duckdb.DuckDBPyConnection, table: str, schema: str = "mart") -> int:
    """Rows (in storage order, rowid) whose cluster key sorts before the previous row's: 0 for
    a table stored in its order, 1 for two ordered runs one after the other."""
    return con.execute(f"""
        SELECT count(*) FROM (
            SELECT rank < lag(rank) OVER (ORDER BY rowid) AS back FROM (
                SELECT rowid, dense_rank() OVER (ORDER BY {ORDERS[table]}) AS rank
                FROM {schema}.{table}))
        WHERE back""").fetchall()[0][0]  # noqa: S608 - names from this module


def test_the_clustered_tables_hold_the_same_rows_in_their_order(
        built: tuple[Path, Path, Path]) -> None:
    clustered, batched, unclustered = built
    with duckdb.connect(str(clustered), read_only=True) as con:
        con.execute(f"ATTACH '{batched}' AS batched (READ_ONLY)")
        con.execute(f"ATTACH '{unclustered}' AS plain (READ_ONLY)")
        for table in ORDERS:
            assert _contents(con)[table][0] > 100, table
            for other in ("batched", "plain"):
                assert _only_in(con, f"mart.{table}", f"{other}.mart.{table}") == 0, table
                assert _only_in(con, f"{other}.mart.{table}", f"mart.{table}") == 0, table
            assert _descents(con, table) == 0, table
            assert _descents(con, table, "batched.mart") == 0, table
        # the order is the clustering's, not the order the rows were computed in
        assert any(_descents(con, t, "plain.mart") for t in ORDERS)


def test_an_area_refresh_appends_its_rows_clustered(copy: duckdb.DuckDBPyConnection) -> None:
    before = _contents(copy)
    _load(copy, [LATER])  # April 2018 for Cheshire: its stop and search, in its areas
    report = mart.refresh(copy, default_registry())
    assert report.indicators and report.everywhere == []
    for table in ORDERS:  # the rows kept, in their order; the rows recomputed, in theirs
        assert _descents(copy, table) <= 1, table
    after = _contents(copy)
    assert after["stage_counts"] != before["stage_counts"]
    assert after["coverage"] != before["coverage"]


def _contents(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[object, ...]]:
    """table → its rows' count and the sum of their hashes (the same rows in any order, NaN
    and all, give the same)."""
    return {t: con.execute(f"SELECT count(*), sum(hash(r)) FROM mart.{t} AS r"  # noqa: S608
                           ).fetchall()[0] for t in ORDERS}


@pytest.mark.parametrize(("batch", "steps"), [
    (None, ["staged", "staged", "swap"]),
    (1, ["mart.figures", "staged", "mart.stage_counts", "mart.coverage", "staged", "swap"])])
def test_a_reader_during_a_refresh_sees_all_old_or_all_new(copy: duckdb.DuckDBPyConnection,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           batch: int | None, steps: list[str]
                                                           ) -> None:
    """Once the staged rows are written (outside the refresh's transaction), while they are
    clustered (``batch`` 1: each row its own batch) and after the swap (inside it, not yet
    committed), another connection reads every old table; a reader whose transaction began
    before the commit keeps reading them; after it, the new ones."""
    if batch is not None:
        monkeypatch.setattr(mart_staging, "COMMIT_ROWS", batch)
    old = _contents(copy)
    reader, early = copy.cursor(), copy.cursor()  # connections to the same database
    seen: list[str] = []
    cluster, finish = mart_staging.cluster, mart_staging.finish
    refresh_stages = mart_stages.refresh_stages

    def clustering(con: duckdb.DuckDBPyConnection, table: str, *args: object) -> None:
        cluster(con, table, *args)  # type: ignore[arg-type]
        assert _contents(reader) == old
        seen.append(table)

    def finishing(*args: object) -> None:
        finish(*args)  # type: ignore[arg-type]
        assert _contents(reader) == old
        seen.append("staged")

    def swapping(con: duckdb.DuckDBPyConnection, report: mart_stages.StageReport
                 ) -> mart_stages.StageReport:
        out = refresh_stages(con, report)  # every table swapped, the transaction still open
        early.execute("BEGIN TRANSACTION")
        assert _contents(reader) == old and _contents(early) == old
        seen.append("swap")
        return out

    monkeypatch.setattr(mart_staging, "cluster", clustering)
    monkeypatch.setattr(mart_staging, "finish", finishing)
    monkeypatch.setattr(mart_stages, "refresh_stages", swapping)
    _load(copy, [LATER])
    mart.refresh(copy, default_registry())
    assert seen == steps
    new = _contents(copy)
    assert new["stage_counts"] != old["stage_counts"] and new["coverage"] != old["coverage"]
    assert _contents(early) == old  # its transaction began before the commit
    early.execute("COMMIT")
    assert _contents(early) == new and _contents(reader) == new


def _ranges(con: duckdb.DuckDBPyConnection, table: str, column: str
            ) -> dict[int, tuple[str, str]]:
    """Row group → the (min, max) of ``column`` DuckDB keeps for it."""
    out: dict[int, tuple[str, str]] = {}
    for group, stats in con.execute(
            f"SELECT row_group_id, stats FROM pragma_storage_info('mart.{table}') "  # noqa: S608
            "WHERE column_name = ? AND segment_type <> 'VALIDITY'", [column]).fetchall():
        low, high = out.get(group, (stats["min"], stats["max"]))
        out[group] = (min(low, stats["min"]), max(high, stats["max"]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("table", list(ORDERS))
def test_one_area_of_one_grain_is_in_a_few_row_groups(demo_db: Path, table: str) -> None:
    """In the demo warehouse, built by a refresh of everything, an area's rows of one grain
    (fewer than a row group's) lie in at most four of the table's row groups: the one or two
    of its own, and the two where the grain's rows begin and end, which hold other grains'
    rows of every area. Stored as computed (before), up to seven of ten row groups of the
    coverage and eight of thirteen of the stage counts."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        grains, areas = _ranges(con, table, "grain"), _ranges(con, table, "area_code")
        assert len(grains) >= 8  # a table of many row groups
        pairs = con.execute(f"SELECT DISTINCT grain, area_code FROM mart.{table} "  # noqa: S608
                            "WHERE area_code IS NOT NULL").fetchall()
        held = {(g, a): sum(grains[r][0] <= g <= grains[r][1] and areas[r][0] <= a <= areas[r][1]
                            for r in grains) for g, a in pairs}
    assert len(held) > 400
    assert max(held.values()) <= 4, max(held.items(), key=lambda kv: kv[1])
