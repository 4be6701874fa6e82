"""The analyst's own targets: the targets file, local before national, trajectories drawn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.local_targets import SPEC
from ingest.pipeline import detect_loader, ingest_paths
from layouts.charts import make_trend_figure
from layouts.spc_chart import make_spc_figure
from metrics import analysis
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from metrics.views import against_target, series, target_text
from tests.conftest import write_csv

REG = default_registry()
REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "data" / "templates" / "targets_template.csv"
CUMBRIA = "E23000002"
IND = "ineffective_trial_rate_crown"
# 2025-26 by quarter for Cumbria: 23.0%, 21.0%, 21.0%, 15.0%
FIGURES = ("area,period,measure,numerator,denominator\n"
           f"Cumbria,2025-26 Q1,{IND},23,100\nCumbria,2025-26 Q2,{IND},21,100\n"
           f"Cumbria,2025-26 Q3,{IND},21,100\nCumbria,2025-26 Q4,{IND},15,100\n"
           "Cumbria,2025-26 Q1,fine_payment_rate,79,100\n")


def load(con, path: Path, **kwargs):
    [report] = ingest_paths(con, [path], **kwargs)
    return report


def test_the_template_is_detected_and_loads_every_row(con, tmp_path: Path) -> None:
    assert detect_loader(TEMPLATE, TEMPLATE.read_bytes()).spec.name == "local_targets"
    extract = REPO / "data" / "templates" / "board_extract_template.csv"
    assert detect_loader(extract, extract.read_bytes()).spec.name == "board_extract"
    report = load(con, TEMPLATE)
    assert report.status == "loaded" and report.loader == "local_targets", report.line()
    assert (report.rows_loaded, report.rows_rejected) == (8, 0)
    assert "8 targets loaded" in report.line()
    rows = con.execute("SELECT kind, count(*) FROM core.targets WHERE source <> 'registry' "
                       "GROUP BY kind ORDER BY kind").fetchall()
    assert rows == [("stretch", 1), ("target", 3), ("trajectory", 4)]
    [again] = ingest_paths(con, [TEMPLATE])
    assert again.status == "unchanged"


def test_trajectory_per_quarter_and_target_for_the_year_judge_each_figure(con, tmp_path):
    load(con, write_csv(tmp_path / "figures.csv", FIGURES))
    load(con, TEMPLATE)
    quarters = compute_indicators(con, REG, [IND], [CUMBRIA], grain="fquarter")
    got = [(r["period_label"], r["value"], r["target"], r["target_kind"], r["target_scope"],
            r["status"]) for r in quarters.iter_rows(named=True)]
    # lower is better: 23 <= 24 met, 21 <= 22 met, 21 > 20 not met, 15 <= 18 met
    assert got == [
        ("2025-26 Q1", 23.0, 24.0, "trajectory", "local", "met"),
        ("2025-26 Q2", 21.0, 22.0, "trajectory", "local", "met"),
        ("2025-26 Q3", 21.0, 20.0, "trajectory", "local", "not met"),
        ("2025-26 Q4", 15.0, 18.0, "trajectory", "local", "met"),
    ]
    [year] = compute_indicators(con, REG, [IND], [CUMBRIA], grain="fy").iter_rows(named=True)
    assert (year["value"], year["target"], year["target_kind"], year["status"]) == (
        20.0, 18.0, "target", "not met")
    assert target_text(year, REG.get(IND)) == "Local target 18.0%"


def test_a_local_target_overrides_the_national_one_for_its_area_only(con, tmp_path):
    load(con, write_csv(tmp_path / "figures.csv", FIGURES + (
        "Kent,2025-26 Q1,fine_payment_rate,79,100\n")))
    before = compute_indicators(con, REG, ["fine_payment_rate"], [CUMBRIA], grain="fquarter")
    assert (before["target"][0], before["target_scope"][0], before["status"][0]) == (
        83.0, "national", "not met")
    load(con, TEMPLATE)
    after = compute_indicators(con, REG, ["fine_payment_rate"], [CUMBRIA, "E23000032"],
                               grain="fquarter")
    by_area = {r["area_code"]: r for r in after.iter_rows(named=True)}
    assert (by_area[CUMBRIA]["target"], by_area[CUMBRIA]["target_scope"],
            by_area[CUMBRIA]["status"]) == (80.0, "local", "not met")
    assert target_text(by_area[CUMBRIA], REG.get("fine_payment_rate")) == "Local target 80.0%"
    assert (by_area["E23000032"]["target"], by_area["E23000032"]["target_scope"]) == (
        83.0, "national")
    assert target_text(by_area["E23000032"], REG.get("fine_payment_rate")) == "Target 83.0%"
    # Cumbria LCJB (CJA03) has the force's footprint: the board's target is its target too.
    lcjb = compute_indicators(con, REG, ["fine_payment_rate"], ["CJA03"], grain="fquarter")
    assert (lcjb["target"][0], lcjb["target_scope"][0]) == (80.0, "local")


def test_bad_rows_are_quarantined_with_the_board_extract_messages(con, tmp_path) -> None:
    text = ("indicator,area,period,target,kind\n"
            f"{IND},Cumbria,2025-26,18,\n"
            "no_such_indicator,Cumbria,2025-26,18,\n"
            f"{IND},Narnia,2025-26,18,\n"
            f"{IND},Cumbria,2025-26 Q9,18,\n"
            f"{IND},Cumbria,2025-26 Q1,eighteen,\n"
            f"{IND},Cumbria,2025-26 Q2,180,\n"
            f"{IND},Cumbria,2025-26 Q3,18,goal\n"
            f"{IND},Cumbria,2025-26,19,\n")
    path = write_csv(tmp_path / "targets.csv", text)
    refused = load(con, path)
    assert refused.status == "refused" and "7 of 8 rows (88%) were rejected" in refused.message
    assert con.execute("SELECT count(*) FROM core.targets WHERE source <> 'registry'"
                       ).fetchone() == (0,)
    report = load(con, path, max_reject_share=1.0)
    found = {(r.row, r.column): r.reason for r in report.rejects}
    assert found[(3, "indicator")].startswith("unknown indicator")
    assert found[(4, "area")].startswith("unknown area")
    assert found[(5, "period")].startswith("unreadable period")
    assert found[(6, "target")] == "not a number"
    assert found[(7, "target")].startswith("a percentage target is at most 100")
    assert found[(8, "kind")].startswith("unknown kind")
    assert found[(9, "target")].startswith("conflict: a different target")
    assert report.rows_loaded == 1


def test_fractions_for_percentages_are_called_out(con, tmp_path) -> None:
    report = load(con, write_csv(tmp_path / "t.csv", "indicator,area,period,target\n"
                                 f"{IND},Cumbria,2025-26,0.18\n"))
    assert report.status == "loaded" and "7.5 for 7.5%" in report.message


def test_a_revised_trajectory_replaces_the_old_one_whole(con, tmp_path) -> None:
    load(con, TEMPLATE)
    revised = ("indicator,area,period,target,kind,source\n"
               f"{IND},Cumbria,2025-26 Q3,19,trajectory,Revised plan\n"
               f"{IND},Cumbria,2025-26 Q4,17,trajectory,Revised plan\n")
    report = load(con, write_csv(tmp_path / "revised.csv", revised))
    assert (report.rows_loaded, report.rows_revised) == (0, 2)
    kept = con.execute(
        "SELECT kind, period_start, value FROM core.targets WHERE indicator = ? AND "
        "source <> 'registry' ORDER BY kind, period_start", [IND]).fetchall()
    assert [(k, v) for k, _, v in kept] == [("stretch", 15.0), ("target", 18.0),
                                            ("trajectory", 19.0), ("trajectory", 17.0)]


def test_spreadsheet_targets_load_like_the_csv(con, tmp_path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "targets.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Data")
    for r, line in enumerate(TEMPLATE.read_text().splitlines()):
        for c, cell in enumerate(line.split(",")):
            try:
                sheet.write_number(r, c, float(cell)) if r and c == 3 else sheet.write(r, c, cell)
            except ValueError:
                sheet.write(r, c, cell)
    book.close()
    report = load(con, path)
    assert report.loader == "local_targets" and report.rows_loaded == 8, report.line()


def test_trajectories_draw_as_lines_on_the_trend_and_spc_charts(con, tmp_path) -> None:
    load(con, write_csv(tmp_path / "figures.csv", FIGURES))
    load(con, TEMPLATE)
    ind = REG.get(IND)
    rows = series(con, REG, IND, [CUMBRIA], grain="fquarter")
    trend = make_trend_figure(rows, None, ind, area_name="Cumbria")
    line = next(t for t in trend["data"] if t.get("name") == "Local trajectory")
    assert list(line["y"]) == [24.0, 22.0, 20.0, 18.0]
    spc_frame = analysis.trajectory_targets(con, ind, CUMBRIA, analysis.spc_frame(rows, ind))
    spc = make_spc_figure(spc_frame, ind, area_name="Cumbria", trajectory=spc_frame)
    names = {t.get("name") for t in spc["data"]}
    assert {"Trajectory", "Stretch target"} <= names
    trajectory = next(t for t in spc["data"] if t.get("name") == "Trajectory")
    assert list(trajectory["y"]) == [24.0, 22.0, 20.0, 18.0]


def test_status_against_the_local_target_on_the_baseline_and_query(con, warehouse, tmp_path,
                                                                   monkeypatch) -> None:
    load(con, write_csv(tmp_path / "figures.csv", FIGURES))
    load(con, TEMPLATE)
    found = dict(against_target(con, REG, CUMBRIA, grain="fquarter").iter_rows())
    assert found[IND] == "Local trajectory 18.0%: met"
    assert found["fine_payment_rate"] == "Local target 80.0%: not met"


def test_every_template_column_is_documented() -> None:
    doc = (REPO / "docs" / "targets-template.md").read_text(encoding="utf-8")
    header = TEMPLATE.read_text().splitlines()[0].split(",")
    for column in (*SPEC.required_columns, *SPEC.optional_columns):
        assert f"`{column}`" in doc and column in header, column
    for line in TEMPLATE.read_text().splitlines()[1:]:
        REG.get(line.split(",")[0])


def test_query_prints_the_target_columns(tmp_path, monkeypatch) -> None:
    from cjsdash.bootstrap import prepare
    from cjsdash.cli import app
    from cjsdash.core.gateway import Warehouse

    db = tmp_path / "w.duckdb"
    warehouse = Warehouse(db)
    with warehouse.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(tmp_path / "figures.csv", FIGURES), TEMPLATE])
    warehouse.close()
    result = CliRunner().invoke(app, ["query", IND, "--area", "Cumbria", "--grain", "fquarter",
                                      "--format", "json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["target"], r["target_kind"], r["target_scope"], r["status"]) for r in rows][2] == (
        20.0, "trajectory", "local", "not met")
    assert rows[0]["built_from"] == "1 quarter"


def test_overview_and_baseline_pages_show_the_local_target(tmp_path) -> None:
    import sys
    import types

    import dash

    import layouts.context as context
    from cjsdash.bootstrap import prepare
    from cjsdash.core.gateway import Warehouse
    from cjsdash.server import create_app

    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(tmp_path / "figures.csv", FIGURES), TEMPLATE])
    create_app(wh)
    pages = {p["module"].rsplit(".", 1)[-1]: sys.modules[p["module"]]
             for p in dash.page_registry.values()}
    saved = context._context
    try:
        context._context = types.SimpleNamespace(warehouse=wh, registry=REG, reader=wh.reader)
        overview = str(pages["overview"].render(CUMBRIA, "fquarter", None)[0])
        assert "Local trajectory 18.0%" in overview and "Local target 80.0%" in overview
        baseline = str(pages["baseline"].render(CUMBRIA, "fquarter"))
        assert "Against target" in baseline and "Local trajectory 18.0%: met" in baseline
    finally:
        context._context = saved
        wh.close()


def test_packs_carry_the_local_target_and_its_status(con, tmp_path) -> None:
    from cjsdash.exports.content import build_content
    from cjsdash.exports.packs import load_pack

    load(con, write_csv(tmp_path / "figures.csv", FIGURES))
    load(con, TEMPLATE)
    content = build_content(con, REG, load_pack("lcjb_default"), area="Cumbria",
                            grain="fquarter", with_msg=False)
    rows = content.figures.filter(content.figures["indicator"] == IND).to_dicts()
    latest = [r for r in rows if r["period_label"] == "2025-26 Q4" and not r["breakdown"]]
    assert [(r["target"], r["target_kind"], r["target_scope"], r["status"]) for r in latest] == [
        (18.0, "trajectory", "local", "met")]


def test_the_kept_targets_equal_the_query_for_every_indicator_and_area(con, tmp_path):
    """The indicator page's targets (read once per data version, :func:`targets_at`) are
    the rows :func:`metrics.sql.targets_sql` gives, for every indicator at every area, and a
    load's new targets are seen at once (a new data version)."""
    from cjsdash.core.gateway import fetch
    from metrics import sql
    from metrics.analysis.spc_readings import targets_at

    def both(ind: str, area: str) -> tuple[list, list]:
        queried = fetch(con, sql.targets_sql(), [[ind], [area]])
        return (sorted(map(tuple, queried.select(
                    "indicator", "area_code", "period_start", "period_end", "value", "kind",
                    "source").rows()), key=repr),
                sorted((tuple(vars(t).values()) for t in targets_at(con, ind, area)),
                       key=repr))

    areas = [code for (code,) in con.execute("SELECT code FROM core.areas").fetchall()]
    assert len(areas) > 90
    assert both(IND, CUMBRIA)[0] == []  # no target for it before the template
    load(con, TEMPLATE)
    with_targets = {i for (i,) in con.execute("SELECT DISTINCT indicator FROM core.targets"
                                                ).fetchall()}
    without = next(i.id for i in REG.indicators if i.id not in with_targets)
    assert IND in with_targets and len(with_targets) > 3
    seen = 0
    for ind in [i for i in REG.indicators if i.id in with_targets or i.id == without]:
        for area in areas:
            queried, kept = both(ind.id, area)
            assert kept == queried, (ind.id, area)
            seen += len(kept)
    local = both(IND, CUMBRIA)[1]
    assert {(t[1], t[5]) for t in local} >= {(CUMBRIA, "trajectory")}, local
    assert seen > len(areas), seen  # the national targets everywhere, the local ones too
