"""A data.police.uk custom download ZIP (Thames Valley, January 2022: street, outcomes and stop
and search in one ZIP), real rows, cut to 1,500 rows per large member (see the NOTICE).

Each figure is recomputed here from the ZIP's members with zipfile and the csv module.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter

from ingest.pipeline import ingest_paths
from tests.conftest import REPO

ZIP = REPO / "tests" / "data" / "police_uk" / "custom_download" / "Jan 22 (cut).zip"
THAMES_VALLEY = "E23000029"
MONTH = "2022-01-01"


def member(kind: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(ZIP) as archive:
        data = archive.read(f"2022-01/2022-01-thames-valley-{kind}.csv")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def values(con, measure: str, breakdown: str | None = None) -> dict[str, float]:
    """group → value for Thames Valley in January 2022 ('' for the total)."""
    others = [b for b in ("ethnicity", "sex", "age_group", "offence_group", "outcome")
              if b != breakdown]
    column = breakdown or "''"
    rows = con.execute(
        f"SELECT {column}, value FROM core.observations WHERE is_current AND measure = ? "  # noqa: S608
        f"AND area_code = ? AND period_start = CAST(? AS DATE) AND "
        + " AND ".join(f"{b} = ''" for b in others)
        + (f" AND {breakdown} <> ''" if breakdown else ""),
        [measure, THAMES_VALLEY, MONTH]).fetchall()
    return dict(rows)


def test_the_custom_download_zip_loads_its_three_members_in_one_go(con) -> None:
    assert con.execute("SELECT name FROM core.areas WHERE code = ?",
                       [THAMES_VALLEY]).fetchall() == [("Thames Valley",)]
    reports = ingest_paths(con, [ZIP])
    assert {r.file_name.split("!")[1]: (r.status, r.loader, r.rows_rejected) for r in reports} == {
        "2022-01/2022-01-thames-valley-outcomes.csv": ("loaded", "police_uk_outcomes", 0),
        "2022-01/2022-01-thames-valley-stop-and-search.csv": ("loaded", "police_uk_stop_search",
                                                              0),
        "2022-01/2022-01-thames-valley-street.csv": ("loaded", "police_uk_street", 0),
    }
    assert len({r.run_id for r in reports}) == 3

    outcomes = member("outcomes")
    assert len(outcomes) == 1500
    assert values(con, "police_uk_outcomes") == {"": len(outcomes)}
    assert values(con, "police_uk_outcomes", "outcome") == Counter(
        r["Outcome type"] for r in outcomes)

    street = member("street")
    crimes = [r for r in street if r["Crime type"] != "Anti-social behaviour"]
    assert values(con, "recorded_crimes") == {"": len(crimes)}
    assert values(con, "recorded_crimes", "offence_group") == Counter(
        r["Crime type"] for r in crimes)
    assert values(con, "asb_incidents") == {"": len(street) - len(crimes)}

    searches = member("stop-and-search")
    assert len(searches) == 84  # the whole member
    assert values(con, "stop_searches") == {"": len(searches)}
    officer = Counter(r["Officer-defined ethnicity"] or "Not stated" for r in searches)
    assert values(con, "stop_searches", "ethnicity") == officer
    self_asian = sum(r["Self-defined ethnicity"].startswith("Asian/Asian British")
                     for r in searches)
    assert values(con, "stop_searches_self_defined", "ethnicity")["Asian"] == self_asian
    assert values(con, "stop_searches", "sex") == Counter(r["Gender"] or "Not stated"
                                                         for r in searches)
    raw = con.execute("SELECT (SELECT count(*) FROM raw.police_uk_outcomes), "
                      "(SELECT count(*) FROM raw.police_uk_street), "
                      "(SELECT count(*) FROM raw.police_uk_stop_search)").fetchall()
    assert raw == [(len(outcomes), len(street), len(searches))]

    again = ingest_paths(con, [ZIP])
    assert [r.status for r in again] == ["unchanged"] * 3
