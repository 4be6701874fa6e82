"""SQL built by small functions; values always bound, identifiers only from the contracts.

Every area's figures come through ``core.area_sources``: an area's own rows first, then a
twin with the same footprint (a force and its LCJB), then the sum of its forces, then the sum
of its LCJBs — a strategy counts only when every area it needs is present.
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
    """Native observations for areas ``$1`` (list) and measures ``$2`` (list), summed up to
    each area by its first complete strategy. ``breakdown`` is the ``by`` column (or '')."""
    by_expr = f"o.{by}" if by else "''"
    return f"""
WITH src AS (
    SELECT area_code, strategy, source_area_code, set_size
    FROM core.area_sources WHERE list_contains($1, area_code)
), obs AS (
    SELECT s.area_code, o.measure, o.period_start, o.period_end, {by_expr} AS breakdown,
           o.source, o.vintage, s.strategy, s.set_size, o.area_code AS from_area,
           o.value, o.value_note
    FROM core.observations AS o JOIN src AS s ON o.area_code = s.source_area_code
    WHERE o.is_current AND list_contains($2, o.measure) AND {_breakdown_filter(by)}
), per_strategy AS (
    SELECT area_code, measure, period_start, period_end, breakdown, source, strategy,
           CASE WHEN count(value) < count(*) THEN NULL ELSE sum(value) END AS value,
           max(vintage) AS vintage,
           string_agg(DISTINCT value_note, '; ') AS value_note
    FROM obs
    GROUP BY area_code, measure, period_start, period_end, breakdown, source, strategy
    HAVING count(DISTINCT from_area) = max(set_size)
)
SELECT area_code, measure, period_start, period_end, breakdown, source, vintage, value,
       value_note
FROM per_strategy
QUALIFY row_number() OVER (
    PARTITION BY area_code, measure, period_start, period_end, breakdown, source
    ORDER BY strategy) = 1
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
    SELECT area_code, strategy, source_area_code, set_size
    FROM core.area_sources WHERE list_contains($1, area_code)
), per_strategy AS (
    SELECT s.area_code, p.year, {by_expr} AS breakdown, p.source, s.strategy,
           sum(p.population) AS population, count(DISTINCT p.area_code) AS n,
           max(s.set_size) AS set_size
    FROM core.populations AS p JOIN src AS s ON p.area_code = s.source_area_code
    WHERE p.is_current AND {where}
    GROUP BY ALL
    HAVING count(DISTINCT p.area_code) = max(s.set_size)
)
SELECT area_code, year, breakdown, source, population FROM per_strategy
QUALIFY row_number() OVER (PARTITION BY area_code, year, breakdown, source ORDER BY strategy) = 1
"""  # noqa: S608


def targets_sql() -> str:
    """Targets for indicators ``$1`` at areas ``$2`` or nationally."""
    return """
SELECT indicator, area_code, period_start, period_end, value, kind, source
FROM core.targets
WHERE list_contains($1, indicator) AND (list_contains($2, area_code) OR area_code = 'K04000001')
"""


def sources_sql() -> str:
    return "SELECT source, title, kind, priority, is_synthetic FROM meta.sources"
