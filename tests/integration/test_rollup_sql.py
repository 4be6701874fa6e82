"""The area rollup's SQL (keys numbered once, a slot's row chosen once) against the plain one.

``PLAIN_SQL`` is the rollup as first written: every (area, strategy, slot) joined to every
candidate's rows on the wide key, the preferred candidate per slot, a strategy counting only
when every slot is present, the first strategy that does. It is the specification; the SQL
in :mod:`cjsdash.core.rollup` must give the same rows (value notes: the distinct notes, sorted)
on a real prepared warehouse with every kind of area, twins, gaps, withheld values and notes.
"""

from __future__ import annotations

import random
from datetime import date

import duckdb

from cjsdash.core.rollup import ROLLUP_SELECT_SQL, refresh_rollup
from cjsdash.core.schema import BREAKDOWNS

_B = ", ".join(f"o.{b}" for b in BREAKDOWNS)
_BB = ", ".join(BREAKDOWNS)

PLAIN_SQL = f"""
WITH src AS (
    SELECT s.area_code, s.strategy, s.source_area_code AS slot, s.set_size,
           t.candidate_code, t.preference
    FROM core.area_sources AS s JOIN core.area_twins AS t ON t.area_code = s.source_area_code
    WHERE s.strategy <> 1
), obs AS (
    SELECT s.area_code, o.measure, o.period_start, o.period_end, {_B}, o.source, o.vintage,
           s.strategy, s.set_size, s.slot, o.value, o.value_note, o.run_id
    FROM core.observations AS o JOIN src AS s ON o.area_code = s.candidate_code
    WHERE o.is_current AND list_contains($1, o.measure)
    QUALIFY row_number() OVER (
        PARTITION BY s.area_code, s.strategy, s.slot, o.measure, o.period_start, o.period_end,
                     {_B}, o.source
        ORDER BY s.preference, s.candidate_code) = 1
), per_strategy AS (
    SELECT area_code, measure, period_start, period_end, {_BB}, source, strategy,
           CASE WHEN count(value) < count(*) THEN NULL ELSE sum(value) END AS value,
           max(vintage) AS vintage,
           string_agg(DISTINCT value_note, '; ' ORDER BY value_note) AS value_note,
           max(run_id) AS run_id
    FROM obs
    GROUP BY area_code, measure, period_start, period_end, {_BB}, source, strategy
    HAVING count(DISTINCT slot) = max(set_size)
)
SELECT area_code, measure, period_start, period_end, {_BB}, source, vintage, value,
       value_note, strategy, run_id
FROM per_strategy
QUALIFY row_number() OVER (
    PARTITION BY area_code, measure, period_start, period_end, {_BB}, source
    ORDER BY strategy) = 1
"""  # noqa: S608 - identifiers from the schema contracts only

MEASURES = ["m_one", "m_two"]
CITY, GREATER_MANCHESTER, LONDON_LCJB = "E23000034", "E23000005", "CJA01"


def _fill(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """Rows for a random share of every area (forces, LCJBs, regions, nations), two measures,
    three months, two ethnicities and two sources; some withheld, some noted, some superseded."""
    rng = random.Random(seed)
    areas = con.execute("SELECT code, kind FROM core.areas ORDER BY code").fetchall()
    rows = []
    for area, kind in areas:
        # Every force but the City of London and Greater Manchester (half): England and Wales
        # is then the sum of its LCJBs, each LCJB's own rows where it has them, else its twin's.
        share = {"force": 1.0, "lcjb": 0.5, "national": 0.0}.get(
            kind, rng.choice([0.0, 0.5, 1.0]))
        share = {CITY: 0.0, GREATER_MANCHESTER: 0.5, LONDON_LCJB: 1.0}.get(area, share)
        for measure in MEASURES:
            for month in (1, 2, 3):
                for ethnicity in ("", "Black"):
                    for source in ("s_a", "s_b"):
                        if rng.random() >= share:
                            continue
                        withheld = rng.random() < 0.05
                        note = rng.choice([None, None, None, "estimated", "provisional"])
                        key = (measure, area, date(2024, month, 1), date(2024, month, 28),
                               ethnicity)
                        rows.append((*key, None if withheld else float(rng.randint(0, 500)),
                                     "publisher suppression" if withheld else note, source,
                                     f"v{rng.randint(1, 3)}", rng.randint(2, 9), True))
                        if rng.random() < 0.1:  # a superseded vintage of the same figure
                            rows.append((*key, 1.0, None, source, "v0", 1, False))
    con.executemany(
        "INSERT INTO core.observations (measure, area_code, period_start, period_end, ethnicity, "
        "value, value_note, source, vintage, run_id, is_current) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, measures: list[str]) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM ({sql})", [measures]).fetchall(),  # noqa: S608
                  key=repr)


def test_the_rollup_gives_the_plain_rollups_rows(con: duckdb.DuckDBPyConnection) -> None:
    _fill(con, seed=14)
    plain = _rows(con, PLAIN_SQL, MEASURES)
    assert len(plain) > 1000
    assert {r[-2] for r in plain} == {0, 2, 3}  # own rows, sums of forces, sums of LCJBs
    assert any(r[-3] and "; " in r[-3] for r in plain)  # two notes summed into one figure
    assert _rows(con, ROLLUP_SELECT_SQL, MEASURES) == plain
    assert _rows(con, ROLLUP_SELECT_SQL, MEASURES[:1]) == _rows(con, PLAIN_SQL, MEASURES[:1])


def test_refresh_rollup_replaces_only_the_measures_asked(con: duckdb.DuckDBPyConnection) -> None:
    _fill(con, seed=3)
    refresh_rollup(con, MEASURES)
    before = con.execute("SELECT count(*) FROM core.area_observations WHERE measure = 'm_two'"
                         ).fetchone()[0]
    con.execute("UPDATE core.observations SET value = value + 1 WHERE measure = 'm_one'")
    refresh_rollup(con, ["m_one"])
    stored = sorted(con.execute("SELECT * FROM core.area_observations WHERE measure = 'm_one'"
                                ).fetchall(), key=repr)
    assert stored == _rows(con, PLAIN_SQL, ["m_one"])
    assert con.execute("SELECT count(*) FROM core.area_observations WHERE measure = 'm_two'"
                       ).fetchone()[0] == before
