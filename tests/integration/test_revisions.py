"""A load never replaces good figures with worse ones (issue 11 §2, decision 0012): a mostly
rejected file is refused whole, a revision replaces its slice whole, and a month that departs
wildly from the area's own history is flagged."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import duckdb

from cjsdash.core import quality
from ingest.pipeline import ingest_paths
from metrics import provenance
from tests.conftest import write_csv

DATA = Path(__file__).resolve().parents[1] / "data" / "police_uk" / "revisions"
PRISTINE = DATA / "2018-02-merseyside-stop-and-search.csv"
RESAVED = DATA / "excel_resaved" / "2018-02-merseyside-stop-and-search.csv"
THAMES_VALLEY_JAN_2022 = DATA / "2022-01-thames-valley-stop-and-search.csv"
MERSEYSIDE, THAMES_VALLEY = "E23000004", "E23000029"


def current(con: duckdb.DuckDBPyConnection, area: str, measure: str = "stop_searches"
            ) -> dict[str, float]:
    """The current figures of a force's month: '' the total, else the ethnicity groups."""
    return dict(con.execute(
        "SELECT ethnicity, value FROM core.observations WHERE is_current AND measure = ? "
        "AND area_code = ? AND sex = '' AND age_group = '' AND outcome = '' ORDER BY 1",
        [measure, area]).fetchall())


def test_the_excel_resaved_copy_never_replaces_the_good_figures(con) -> None:
    # Independently: the pristine file has 1,015 searches; 897 of them White.
    with PRISTINE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    officer = Counter(r["Officer-defined ethnicity"] for r in rows)
    [good] = ingest_paths(con, [PRISTINE])
    assert good.status == "loaded"
    before = current(con, MERSEYSIDE)
    assert before[""] == len(rows) == 1015 and before["White"] == officer["White"] == 897
    [resaved] = ingest_paths(con, [RESAVED])
    after = current(con, MERSEYSIDE)
    # Whatever the loader makes of Excel's TRUE/FALSE and "Oct-17", the month is never
    # left with a total of 6 beside the old breakdown: refused whole, or loaded whole.
    assert after[""] == 1015 and after == before, resaved.line()
    assert sum(v for k, v in after.items() if k) == after[""]
    if resaved.status == "refused":
        assert "of 1,015 rows" in resaved.message and "were rejected" in resaved.message
        assert "--max-reject-share" in resaved.message
        logged = con.execute("SELECT status FROM meta.ingest_runs WHERE run_id = ?",
                             [resaved.run_id]).fetchone()
        assert logged == ("refused",)


def test_a_file_over_the_reject_share_is_refused_and_the_share_is_configurable(con, tmp_path):
    good = "".join(f"Kent,2024-{m:02d},recorded_crime,{100 + m}\n" for m in range(1, 10))
    bad = "Kent,2024-10,recorded_crime,lots\n"
    text = "area,period,measure,numerator\n" + good + bad  # 1 of 10 rows bad: 10%, allowed
    [ok] = ingest_paths(con, [write_csv(tmp_path / "ten.csv", text)])
    assert ok.status == "loaded" and ok.rows_rejected == 1
    worse = text + "Kent,2024-11,recorded_crime,many\n"  # 2 of 11: 18%
    path = write_csv(tmp_path / "eleven.csv", worse.replace("101", "999"))
    [refused] = ingest_paths(con, [path])
    assert refused.status == "refused"
    assert refused.message.startswith("2 of 11 rows (18%) were rejected, more than the 10%")
    assert "row 11, column 'numerator': not a number ('lots')" in refused.message
    assert con.execute("SELECT value FROM core.observations WHERE is_current AND "
                       "period_start = DATE '2024-01-01'").fetchone() == (101.0,)
    [allowed] = ingest_paths(con, [path], max_reject_share=0.2)
    assert allowed.status == "loaded" and allowed.rows_revised == 1


def test_a_revision_replaces_the_whole_slice_so_parts_never_exceed_the_whole(con, tmp_path):
    first = ("area,period,measure,numerator,ethnicity\n"
             "Merseyside,2018-02,stop_searches,1015,\n"
             "Merseyside,2018-02,stop_searches,897,White\n"
             "Merseyside,2018-02,stop_searches,39,Black\n"
             "Merseyside,2018-02,stop_searches,9,Asian\n"
             "Merseyside,2018-02,stop_searches,70,Not stated\n"
             "Merseyside,2018-03,stop_searches,1035,\n")
    ingest_paths(con, [write_csv(tmp_path / "first.csv", first)])
    revision = ("area,period,measure,numerator,ethnicity\n"
                "Merseyside,2018-02,stop_searches,6,\n"
                "Merseyside,2018-02,stop_searches,6,White\n")
    path = write_csv(tmp_path / "revision.csv", revision)
    # 1,015 searches cut to 6: refused as a cut-short file unless the drop is accepted
    [refused] = ingest_paths(con, [path])
    assert refused.status == "refused" and "1,015 now, 6 in this file" in refused.message
    [report] = ingest_paths(con, [path], shrink_floor=0.0)
    assert report.status == "loaded"
    assert (report.rows_revised, report.rows_unchanged, report.rows_withdrawn) == (2, 0, 3)
    assert "3 figures of earlier loads withdrawn" in report.message
    feb = dict(con.execute(
        "SELECT ethnicity, value FROM core.observations WHERE is_current AND measure = "
        "'stop_searches' AND period_start = DATE '2018-02-01'").fetchall())
    assert feb == {"": 6.0, "White": 6.0}
    assert con.execute("SELECT value FROM core.observations WHERE is_current AND "
                       "period_start = DATE '2018-03-01'").fetchone() == (1035.0,)
    kept = con.execute("SELECT count(*) FROM core.observations WHERE NOT is_current"
                       ).fetchone()
    assert kept == (5,)  # history kept: two revised, three withdrawn
    rolled = dict(con.execute(
        "SELECT ethnicity, value FROM core.area_observations WHERE area_code = ? AND "
        "measure = 'stop_searches' AND period_start = DATE '2018-02-01'",
        [MERSEYSIDE]).fetchall())
    assert rolled == {"": 6.0, "White": 6.0}


# Thames Valley's months before January 2022 are not among the real files; this history
# stands in for them: about 1,000 searches a month, 70% White, 13% Asian, 9% Black (the
# shares data.police.uk shows for the force in 2021, rounded).
HISTORY_GROUPS = {"White": 0.70, "Asian": 0.13, "Black": 0.09, "Other": 0.03, "Mixed": 0.02,
                  "Not stated": 0.03}


def thames_valley_history() -> str:
    out = io.StringIO()
    out.write("area,period,measure,numerator,ethnicity\n")
    for i in range(24):  # Jan 2020 .. Dec 2021
        year, month = 2020 + i // 12, i % 12 + 1
        total = 950 + (i * 37) % 120
        parts = {g: round(total * s) for g, s in HISTORY_GROUPS.items()}
        parts["White"] += total - sum(parts.values())
        out.write(f"Thames Valley,{year}-{month:02d},stop_searches,{total},\n")
        for group, n in parts.items():
            out.write(f"Thames Valley,{year}-{month:02d},stop_searches,{n},{group}\n")
    return out.getvalue()


def test_thames_valley_january_2022_is_flagged_against_its_own_history(con, tmp_path) -> None:
    with THAMES_VALLEY_JAN_2022.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    officer = Counter(r["Officer-defined ethnicity"] for r in rows)
    assert (len(rows), officer["Asian"]) == (84, 81)
    [history] = ingest_paths(con, [write_csv(tmp_path / "history.csv", thames_valley_history())])
    assert history.status == "loaded" and history.flags == []
    [report] = ingest_paths(con, [THAMES_VALLEY_JAN_2022])
    assert report.status == "loaded"
    text = "\n".join(report.flags)
    assert ("Thames Valley stop_searches, Jan 2022: total 84 against a median of "
            in text), text
    assert ("Thames Valley stop_searches, Jan 2022, by ethnicity: Asian: 81 of 84 (96%) "
            "against a median share of 13% in the 24 months before") in text
    assert "data quality: " in report.message
    stored = con.execute(
        "SELECT run_id, breakdown, \"group\", round(value, 3) FROM meta.quality_flags WHERE "
        "area_code = ? AND measure = 'stop_searches' ORDER BY breakdown, \"group\"",
        [THAMES_VALLEY]).fetchall()
    assert (report.run_id, "", "", 84.0) in stored
    assert (report.run_id, "ethnicity", "Asian", round(81 / 84, 3)) in stored
    [(logged,)] = con.execute("SELECT message FROM meta.ingest_runs WHERE run_id = ?",
                              [report.run_id]).fetchall()
    assert "depart wildly" in logged
    shown = provenance.quality_flags_frame(con)
    asian = shown.filter(shown["group"] == "Asian").row(0, named=True)
    assert (asian["area_name"], asian["file_name"], asian["breakdown"]) == (
        "Thames Valley", THAMES_VALLEY_JAN_2022.name, "ethnicity")
    # An ordinary month is not flagged: December 2021 judged against the 23 before it.
    stats = quality.history_stats(con, areas=[THAMES_VALLEY], measures=["stop_searches"])
    december = quality.departures(stats).filter(
        quality.pl.col("period_start") < quality.date(2022, 1, 1))
    assert december.height == 0


def test_the_data_page_lists_the_flagged_months(tmp_path) -> None:
    import sys
    import types

    import dash

    import layouts.context as context
    from cjsdash.bootstrap import prepare
    from cjsdash.core.gateway import Warehouse
    from cjsdash.server import create_app
    from metrics.registry import default_registry

    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(tmp_path / "history.csv", thames_valley_history())])
        ingest_paths(con, [THAMES_VALLEY_JAN_2022])
    create_app(wh)
    page = next(p for p in dash.page_registry.values() if p["path"] == "/data")
    module = sys.modules[page["module"]]
    saved = context._context
    try:
        context._context = types.SimpleNamespace(warehouse=wh, registry=default_registry(),
                                                 reader=wh.reader)
        text = str(module.layout())
        assert "Data-quality checks" in text
        assert "Asian: 81 of 84 (96%) against a median share of 13%" in text
        assert "Asian: 81 of 84" in str(module.refresh_quality(1))
    finally:
        context._context = saved
        wh.close()
