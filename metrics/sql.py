"""SQL built by small functions; values always bound, identifiers only from the contracts.

Every area's figures come from ``core.area_observations`` (see :mod:`cjsdash.core.rollup`):
its own rows or a twin's, else the sum of its forces, else of its LCJBs. Populations are
rolled up the same way at query time (the table is small).
"""

from __future__ import annotations

from cjsdash.core.schema import BREAKDOWNS


def _breakdown_filter(by: str | None) -> str:
    if by is not None and by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown '{by}' (one of {', '.join(BREAKDOWNS)})")
    parts = [f"o.{b} = ''" for b in BREAKDOWNS if b != by]
    if by:
        parts.append(f"o.{by} <> ''")
    return " AND ".join(parts)


def observations_sql(by: str | None = None) -> str:
    """Figures for areas ``$1`` (list) and measures ``$2`` (list) from the area rollup
    (:mod:`cjsdash.core.rollup`); ``breakdown`` is the ``by`` column (or '')."""
    by_expr = f"o.{by}" if by else "''"
    return f"""
SELECT o.area_code, o.measure, o.period_start, o.period_end, {by_expr} AS breakdown, o.source,
       o.vintage, o.value, o.value_note, o.run_id
FROM core.area_observations AS o
WHERE list_contains($1, o.area_code) AND list_contains($2, o.measure)
  AND {_breakdown_filter(by)}
"""  # noqa: S608 - identifiers from the schema contracts only


def observations_by_breakdown_sql() -> str:
    """:func:`observations_sql` for the total and every breakdown at once, for areas ``$1``
    and measures ``$2``: each row that is a total or has one breakdown column set, with
    ``dim`` (0: the total; i + 1: ``BREAKDOWNS[i]``) and ``breakdown`` its value ('' for
    the total). One scan, where one query per breakdown scanned the table each time."""
    dim = " ".join(f"WHEN o.{b} <> '' THEN {i + 1}" for i, b in enumerate(BREAKDOWNS))
    value = ", ".join(f"nullif(o.{b}, '')" for b in BREAKDOWNS)
    count = " + ".join(f"(o.{b} <> '')::INTEGER" for b in BREAKDOWNS)
    return f"""
SELECT o.area_code, o.measure, o.period_start, o.period_end, o.source, o.value, o.run_id,
       CASE {dim} ELSE 0 END AS dim, coalesce({value}, '') AS breakdown
FROM core.area_observations AS o
WHERE list_contains($1, o.area_code) AND list_contains($2, o.measure) AND {count} <= 1
"""  # noqa: S608 - identifiers from the schema contracts only


def populations_sql(by: str | None = None) -> str:
    """Populations for areas ``$1`` (list), by ``by`` (ethnicity) or in total, per year and
    source, summed up to each area by its first complete strategy."""
    if by not in (None, "ethnicity", "sex", "age_group"):
        return "SELECT NULL::VARCHAR AS area_code WHERE FALSE"
    by_expr = f"p.{by}" if by else "''"
    others = [c for c in ("ethnicity", "sex", "age_group") if c != by]
    where = " AND ".join([f"p.{c} = ''" for c in others] + ([f"p.{by} <> ''"] if by else []))
    return f"""
WITH src AS (
    SELECT s.area_code, s.strategy, s.source_area_code AS slot, s.set_size,
           t.candidate_code, t.preference
    FROM core.area_sources AS s JOIN core.area_twins AS t ON t.area_code = s.source_area_code
    WHERE list_contains($1, s.area_code) AND s.strategy <> 1
), pop AS (
    SELECT s.area_code, s.strategy, s.slot, s.set_size, p.year, {by_expr} AS breakdown,
           p.source, p.population
    FROM core.populations AS p JOIN src AS s ON p.area_code = s.candidate_code
    WHERE p.is_current AND {where}
    QUALIFY row_number() OVER (
        PARTITION BY s.area_code, s.strategy, s.slot, p.year, breakdown, p.source
        ORDER BY s.preference) = 1
), per_strategy AS (
    SELECT area_code, year, breakdown, source, strategy, sum(population) AS population
    FROM pop
    GROUP BY area_code, year, breakdown, source, strategy
    HAVING count(DISTINCT slot) = max(set_size)
)
SELECT area_code, year, breakdown, source, population FROM per_strategy
QUALIFY row_number() OVER (PARTITION BY area_code, year, breakdown, source ORDER BY strategy) = 1
"""  # noqa: S608


def targets_sql() -> str:
    """Targets for indicators ``$1`` at areas ``$2`` or nationally. A target set for an area
    holds for its twins (a force and its LCJB have one footprint): it is returned under the
    area asked for."""
    return """
SELECT t.indicator, coalesce(tw.area_code, t.area_code) AS area_code, t.period_start,
       t.period_end, t.value, t.kind, t.source
FROM core.targets AS t
LEFT JOIN core.area_twins AS tw
       ON tw.candidate_code = t.area_code AND list_contains($2, tw.area_code)
WHERE list_contains($1, t.indicator) AND (tw.area_code IS NOT NULL OR t.area_code = 'K04000001')
"""


def sources_sql() -> str:
    return "SELECT source, title, kind, priority, is_synthetic FROM meta.sources"
