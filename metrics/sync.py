"""Write the registry's measure catalogue and default targets into the warehouse.

This is where ``metrics`` meets ``ingest``: the board extract reader checks measure names
against ``meta.measures`` and expands indicator rows with ``meta.indicator_measures``. The
measures of the justice-process stages (:mod:`metrics.stages`) are catalogued too, used by
``disproportionality``, so their counts can be loaded before any indicator uses them.
"""

from __future__ import annotations

import duckdb

from metrics.registry import Registry
from metrics.stages import Stages, default_stages

NATIONAL = "K04000001"
REGISTRY_TARGET_SOURCE = "registry"
STAGES_USER = "disproportionality"


def measure_catalogue(registry: Registry, stages: Stages | None = None
                      ) -> list[tuple[str, str, str, str]]:
    """(measure, title, aggregation, used_by) for the registry's measures and the stages'."""
    catalogue = {m: (title, agg, list(users))
                 for m, (title, agg, users) in registry.measures().items()}
    for measure, (title, _stage) in (stages or default_stages()).measures().items():
        title_, agg, users = catalogue.get(measure, (title, "sum", []))
        catalogue[measure] = (title_, agg, [*users, STAGES_USER])
    return [(m, title, agg, ",".join(users)) for m, (title, agg, users) in catalogue.items()]


def sync_registry(con: duckdb.DuckDBPyConnection, registry: Registry,
                  stages: Stages | None = None) -> None:
    """Replace the measure catalogue (the registry's and the stages' measures) and the
    registry's national targets (one transaction)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM meta.measures")
        con.executemany(
            "INSERT INTO meta.measures VALUES (?, ?, ?, ?)",
            [list(row) for row in measure_catalogue(registry, stages)],
        )
        con.execute("DELETE FROM meta.indicator_measures")
        con.executemany(
            "INSERT INTO meta.indicator_measures VALUES (?, ?, ?, ?)",
            [[i.id, i.type, i.numerator.measure,
              i.denominator.measure if i.denominator else None] for i in registry.indicators],
        )
        con.execute("DELETE FROM core.targets WHERE source = ?", [REGISTRY_TARGET_SOURCE])
        rows = [
            [i.id, NATIONAL, t.valid_from, t.valid_to, t.value, t.kind, REGISTRY_TARGET_SOURCE]
            for i in registry.indicators for t in i.targets
        ]
        if rows:
            con.executemany(
                "INSERT INTO core.targets (indicator, area_code, period_start, period_end, value, "
                "kind, source) VALUES (?, ?, ?, ?, ?, ?, ?)", rows,
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
