"""Write the registry's measure catalogue and default targets into the warehouse.

This is where ``metrics`` meets ``ingest``: the board extract reader checks measure names
against ``meta.measures`` and expands indicator rows with ``meta.indicator_measures``.
"""

from __future__ import annotations

import duckdb

from metrics.registry import Registry

NATIONAL = "K04000001"
REGISTRY_TARGET_SOURCE = "registry"


def sync_registry(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Replace the measure catalogue and the registry's national targets (one transaction)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM meta.measures")
        con.executemany(
            "INSERT INTO meta.measures VALUES (?, ?, ?, ?)",
            [[m, title, agg, ",".join(users)]
             for m, (title, agg, users) in registry.measures().items()],
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
