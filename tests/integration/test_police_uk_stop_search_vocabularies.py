"""data.police.uk stop and search of 2018: the outcome words of before April 2018, blank flags
and Excel's re-saved forms. Every figure is recomputed here with the csv module."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import duckdb

from cjsdash.core.schema import BREAKDOWNS
from ingest.pipeline import ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "police_uk" / "stop_and_search"
CHESHIRE = [DATA / f"2018-0{m}-cheshire-stop-and-search.csv" for m in (2, 3, 4)]
MERSEYSIDE = DATA / "2018-02-merseyside-stop-and-search.csv"
CHESHIRE_CODE, MERSEYSIDE_CODE = "E23000006", "E23000004"
ARREST_WORDS = {"Arrest", "Suspect arrested"}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def value(con, measure: str, area: str, month: str, **breakdown: str) -> float | None:
    found = con.execute(
        "SELECT value FROM core.observations WHERE is_current AND measure = ? AND area_code = ? "
        "AND period_start = CAST(? AS DATE) AND ethnicity = ? AND sex = ? AND age_group = ? "
        "AND offence_group = ? AND court_type = ? AND outcome = ?",
        [measure, area, month, *(breakdown.get(b, "") for b in BREAKDOWNS)]).fetchall()
    return found[0][0] if found else None


def load(con: duckdb.DuckDBPyConnection, *paths: Path):
    reports = ingest_paths(con, list(paths))
    assert all(r.status == "loaded" for r in reports), [r.line() for r in reports]
    return reports


def test_arrests_count_in_every_month_whichever_words_the_month_used(con) -> None:
    reports = load(con, *CHESHIRE)
    assert [r.rows_rejected for r in reports] == [0, 0, 0]
    assert con.execute("SELECT name FROM core.areas WHERE code = ?",
                       [CHESHIRE_CODE]).fetchall() == [("Cheshire",)]
    for path in CHESHIRE:
        month = path.name[:7] + "-01"
        records = rows(path)
        arrests = sum(r["Outcome"] in ARREST_WORDS for r in records)
        assert arrests > 0
        assert value(con, "stop_search_arrests", CHESHIRE_CODE, month) == arrests
        assert value(con, "stop_searches", CHESHIRE_CODE, month, outcome="Arrest") == arrests
        assert value(con, "stop_searches", CHESHIRE_CODE, month) == len(records)
    feb = Counter(r["Outcome"] for r in rows(CHESHIRE[0]))
    month = "2018-02-01"
    assert value(con, "stop_searches", CHESHIRE_CODE, month,
                 outcome="Community resolution") == feb["Local resolution"]
    assert value(con, "stop_searches", CHESHIRE_CODE, month,
                 outcome="A no further action disposal") == feb["Nothing found - no further action"]
    assert value(con, "stop_searches", CHESHIRE_CODE, month,
                 outcome="Article found - outcome unavailable") == feb[
        "Article found - Detailed outcome unavailable"]
    assert value(con, "stop_searches", CHESHIRE_CODE, month, outcome="Not stated") == feb[""]
    old_words = {o for (o,) in con.execute(
        "SELECT DISTINCT outcome FROM raw.police_uk_stop_search").fetchall()}
    assert "Suspect arrested" not in old_words and "Arrest" in old_words
    # the indicator: arrests over searches in each month, from both vocabularies
    frame = compute_indicators(con, default_registry(), ["stop_search_arrest_rate"],
                               [CHESHIRE_CODE], grain="month")
    got = {r["period_start"].isoformat()[:7]: (r["numerator"], r["denominator"])
           for r in frame.iter_rows(named=True)}
    assert got == {p.name[:7]: (sum(r["Outcome"] in ARREST_WORDS for r in rows(p)), len(rows(p)))
                   for p in CHESHIRE}


def test_a_blank_policing_operation_is_not_recorded_not_false(con) -> None:
    load(con, MERSEYSIDE)
    records = rows(MERSEYSIDE)
    assert {r["Part of a policing operation"] for r in records} == {""}
    got = con.execute(
        "SELECT count(*), count(part_of_operation), count(*) FILTER (WHERE NOT part_of_operation),"
        " count(*) FILTER (WHERE outcome_linked_to_object IS NULL) "
        "FROM raw.police_uk_stop_search WHERE area_code = ?", [MERSEYSIDE_CODE]).fetchall()
    blank_linked = sum(r["Outcome linked to object of search"] == "" for r in records)
    assert got == [(len(records), 0, 0, blank_linked)]


def _excel_resave(path: Path, target: Path) -> Path:
    """What Excel writes back: TRUE/FALSE for True/False and "Oct-17" for the age range 10-17."""
    records = rows(path)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\r\n")
    writer.writeheader()
    for r in records:
        r = {k: {"True": "TRUE", "False": "FALSE"}.get(v, v) for k, v in r.items()}
        r["Age range"] = "Oct-17" if r["Age range"] == "10-17" else r["Age range"]
        writer.writerow(r)
    target.mkdir(exist_ok=True)
    (target / path.name).write_text(out.getvalue(), encoding="utf-8")
    return target / path.name


def _current(con) -> list[tuple]:
    return con.execute(
        "SELECT measure, area_code, period_start, ethnicity, sex, age_group, outcome, value "
        "FROM core.observations WHERE is_current ORDER BY ALL").fetchall()


def test_an_excel_resaved_file_loads_the_same_figures(tmp_path: Path) -> None:
    from cjsdash.bootstrap import prepare
    from cjsdash.core.gateway import Warehouse

    resaved = _excel_resave(CHESHIRE[0], tmp_path / "resaved")
    assert "Oct-17" in resaved.read_text(encoding="utf-8")
    figures, raws = [], []
    for path in (CHESHIRE[0], resaved):
        wh = Warehouse()
        with wh.writer() as con:
            prepare(con)
            [report] = load(con, path)
            assert report.rows_rejected == 0
            figures.append(_current(con))
            raws.append(con.execute(
                "SELECT age_range, part_of_operation, outcome_linked_to_object, "
                "removal_more_than_outer_clothing, count(*) FROM raw.police_uk_stop_search "
                "GROUP BY ALL ORDER BY ALL").fetchall())
        wh.close()
    assert figures[0] == figures[1]
    assert raws[0] == raws[1]
    tens = sum(r["Age range"] == "10-17" for r in rows(CHESHIRE[0]))
    assert sum(n for age, *_, n in raws[1] if age == "10-17") == tens > 0


def test_an_unknown_outcome_word_is_a_reject_naming_row_and_column(con, tmp_path: Path) -> None:
    lines = CHESHIRE[0].read_bytes().decode("utf-8").split("\r\n")
    line = next(i for i, t in enumerate(lines) if ",Suspect arrested," in t)
    lines[line] = lines[line].replace(",Suspect arrested,", ",Suspect arrested maybe,")
    bad = tmp_path / CHESHIRE[0].name
    bad.write_bytes("\r\n".join(lines).encode("utf-8"))
    [report] = load(con, bad)
    [reject] = report.rejects
    assert (reject.row, reject.column, reject.value) == (line + 1, "Outcome",
                                                         "Suspect arrested maybe")
    assert "unknown outcome" in reject.reason
