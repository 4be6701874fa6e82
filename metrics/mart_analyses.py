"""Refreshing the figure mart's analyses after a load: baselines, peer groups, comparisons and
the data page's tables (the tables of :mod:`metrics.mart_analysis_reads`; decision 0029).

:func:`refresh` runs right after :func:`metrics.mart.refresh` has committed the new figures,
in a transaction of its own (decision 32: inside the figures' transaction, DuckDB held two
million uncommitted figure rows in memory while these were computed). Its tables answer only
when their own version stamp (``mart.analysis_state``) is the warehouse's, so between the two
commits the pages compute baselines and comparisons from the new figures rather than show
the old ones beside them; a refresh that fails here leaves the new figures and the old,
unanswering analyses, which the next refresh brings up to date. It computes on the writer's
connection from the committed figures. What it recomputes, from the fingerprints the figure
refresh took (stored again here with the peer groups'):

- the baselines of the indicators whose figures may have changed
  (:func:`metrics.mart.affected`), for every area and grain; every baseline when a most
  similar group changed, or the areas, the sources, the registry or the options;
- the comparisons of those indicators, for every grain and kind, but those whose inputs are
  as when they were stored (:func:`metrics.mart_comparisons.inputs_key`, held in
  ``mart.comparison_inputs``), which stand;
- the peer groups when what they are made from changed (a reference file of groups, the
  populations, the areas);
- the disproportionality page's stored stage matrices (:mod:`metrics.mart_matrices`) when
  the stage counts, populations or plans they are made from changed;
- the data page's tables whole (they are small, and every load changes the files loaded).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from cjsdash.core import allocators
from cjsdash.core.snapshots import STAMP_SQL
from metrics import cache
from metrics import mart_analysis_reads as reads
from metrics.options import Options
from metrics.registry import Registry

if TYPE_CHECKING:
    from metrics.mart_comparisons import Comparisons

log = logging.getLogger(__name__)

KEPT = ("populations", "areas", "sources", "registry", "options")
"""The figure refresh's fingerprints kept beside each measure's, target's and plan's."""
SCOPED = ("baselines", "comparisons")
"""Tables refreshed for the indicators a load changed (the others are rewritten whole)."""


@dataclass
class AnalysesReport:
    baselines: list[str] = field(default_factory=list)
    """The indicators whose baselines and comparisons were recomputed."""
    every_baseline: bool = False
    rows: int = 0
    comparisons: int = 0
    """The comparisons (indicator, grain, kind) of those indicators …"""
    comparisons_kept: int = 0
    """… and how many of them stood, their inputs unchanged."""
    matrices: int | None = None
    """The stage matrix rows written (:mod:`metrics.mart_matrices`); None: they stood."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Seconds of CPU time per part (this process's threads)."""

    def line(self) -> str:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items())
        return (f"analyses refreshed: {len(self.baselines)} indicators' baselines and "
                f"comparisons{' (every baseline)' if self.every_baseline else ''} "
                f"({self.comparisons_kept} of {self.comparisons} comparisons unchanged), "
                f"{self.rows:,} rows, stage matrices "
                f"{'unchanged' if self.matrices is None else f'{self.matrices:,} rows'}; "
                f"CPU s: {parts}")


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM mart.analysis_state").fetchall())


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'mart'").fetchall()}


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
           ids: list[str] | None) -> None:
    """``frame`` as ``mart.<table>`` (a fixed name): whole, or (``ids``) in place of those
    indicators' rows."""
    con.register("_mart_analysis_rows", frame.to_arrow())
    try:
        if ids is None:
            con.execute(f"CREATE OR REPLACE TABLE mart.{table} AS "  # noqa: S608
                        "SELECT * FROM _mart_analysis_rows")
            return
        con.execute(f"DELETE FROM mart.{table} WHERE list_contains(?, indicator)",  # noqa: S608
                    [ids])
        con.execute(f"INSERT INTO mart.{table} BY NAME "  # noqa: S608
                    "SELECT * FROM _mart_analysis_rows")
    finally:
        con.unregister("_mart_analysis_rows")


def _write_comparisons(con: duckdb.DuckDBPyConnection, made: Comparisons,
                       ids: list[str] | None, held: set[str]) -> None:
    """``mart.comparisons`` and ``mart.comparison_inputs``: whole (``ids`` None), or in place
    of the comparisons of the indicators ``ids`` but those :attr:`~metrics.mart_comparisons.
    Comparisons.kept`, whose rows stand (``made.rows`` holds the others')."""
    if ids is None or not made.kept:
        _write(con, "comparisons", made.rows, ids)
    else:
        kept = [_SEP.join(k) for k in sorted(made.kept)]
        con.execute("DELETE FROM mart.comparisons WHERE list_contains(?, indicator) AND NOT "
                    "list_contains(?, concat_ws(?, indicator, grain, kind))", [ids, kept, _SEP])
        _write(con, "comparisons", made.rows, [])
    # a warehouse from before the fingerprints holds none for the indicators not recomputed
    _write(con, "comparison_inputs", made.inputs,
           ids if "comparison_inputs" in held else None)


_SEP = "\x1f"


def _lap(report: AnalysesReport, part: str, since: float) -> float:
    allocators.release()  # the part's freed working memory given back (decision 38)
    now = time.process_time()
    report.seconds[part] = now - since
    return now


def refresh(con: duckdb.DuckDBPyConnection, registry: Registry, now: dict[str, str], *,
            full: bool = False, scoped: dict[str, frozenset[str] | None] | None = None,
            since: str | None = None, pool: ThreadPoolExecutor | None = None
            ) -> AnalysesReport:
    """Bring the analyses up to date (see the module's docstring). ``now``: the fingerprints
    :func:`metrics.mart.fingerprints` took for this refresh; ``scoped``: indicator → the
    areas whose figures the refresh recomputed (``None``: every area) since the figures
    answered for the warehouse version ``since``; if the analyses answered for that version
    too, the baselines' SPC readings stand outside those areas. Called on the writer's
    connection in a transaction of its own, after the new figures were committed. With a
    ``pool``, the comparisons are computed on a cursor of their own (from the same committed
    figures) while the baselines are."""
    # here, not above: these read metrics.analysis, which imports metrics.mart, which imports this
    from metrics import mart, mart_baselines, mart_comparisons, mart_matrices, mart_provenance

    clock = time.process_time()
    reads.ensure_state(con)
    held = _tables(con)
    before = {} if full or not {*SCOPED, "peer_groups"} <= held else _stored(con)
    report = AnalysesReport()
    peers = mart_baselines.peers_key(con, now)
    if before and before.get("peers") == peers:  # made from the same: as they are held
        groups = mart_baselines.stored_groups(con)
    else:
        areas = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code"
                                           ).fetchall()]
        groups = mart_baselines.peer_groups(con, areas)
    clock = _lap(report, "peer groups", clock)
    # first, while the least is held: its queries over every run and source peak at 60-90 MB
    for table, rows in mart_provenance.compute(con).items():
        _write(con, table, rows, None)
    clock = _lap(report, "data page", clock)
    state = {k: v for k, v in now.items()
             if k in KEPT or k.startswith(("measure:", "targets:", "withheld:"))}
    state |= {"registry": mart.registry_key(registry), "peers": peers,
              "peer_groups": mart_baselines.groups_key(groups)}
    changed = mart.affected(registry, before, state, Options())
    ids = sorted(i.id for i in changed)
    every = len(changed) == len(registry.indicators)
    whole_baselines = every or before.get("peer_groups") != state["peer_groups"]
    report.baselines, report.every_baseline = ids, whole_baselines
    comparing: Future[Comparisons] | None = None
    if ids:
        # the stored comparisons' fingerprints, when they and the rows stand for the indicators
        # not recomputed (not after a change that recomputes every indicator)
        held_inputs = mart_comparisons.stored_inputs(con, ids) \
            if before and not every and "comparison_inputs" in held else {}
        if pool is not None:
            comparing = pool.submit(cache.on_own_cursor, con, mart_comparisons.compute, registry,
                                    set(ids), held_inputs)
    if ids or whole_baselines:
        baseline_ids = {i.id for i in registry.indicators} if whole_baselines else set(ids)
        # an indicator the refresh did not recompute kept its figures in every area
        in_step = scoped is not None and since is not None and before.get("version") == since
        kept = mart_baselines.kept_readings(con, {i: scoped.get(i, frozenset())
                                                  for i in baseline_ids}) \
            if in_step and not full and "baselines" in held else {}
        frame = mart_baselines.compute(con, registry, groups, baseline_ids, kept)
        _write(con, "baselines", frame, None if whole_baselines else ids)
        report.rows += frame.height
        clock = _lap(report, "baselines", clock)
    if ids:
        made = (comparing.result() if comparing is not None
                else mart_comparisons.compute(con, registry, set(ids), held_inputs))
        _write_comparisons(con, made, None if every else ids, held)
        report.rows += made.rows.height
        report.comparisons, report.comparisons_kept = made.inputs.height, len(made.kept)
        clock = _lap(report, "comparisons", clock)
    if before.get("peer_groups") != state["peer_groups"]:
        _write(con, "peer_groups", mart_baselines.groups_frame(groups), None)
    key, matrices = mart_matrices.refresh(con, now, before, held)
    if key is not None:
        state[mart_matrices.STATE_KEY] = key
    if matrices is not None:
        _write(con, "stage_matrices", matrices, None)
        report.matrices = matrices.height
    clock = _lap(report, "stage matrices", clock)
    version = str(con.execute(STAMP_SQL).fetchall()[0][0])
    con.execute("DELETE FROM mart.analysis_state")
    con.executemany("INSERT INTO mart.analysis_state VALUES (?, ?)",
                    [[k, v] for k, v in {**state, "version": version}.items()])
    log.info(report.line())
    return report
