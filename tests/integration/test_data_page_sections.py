"""The data page split by concern (layouts/data_*.py): its callbacks, ids and sections.

The page is built over a small real warehouse (two board extracts, the second revising a
figure and with a bad row); what it shows is compared with :mod:`metrics.provenance` and
with the files, not with the page's own helpers.
"""

from __future__ import annotations

import ast
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from ingest.pipeline import ingest_paths
from layouts.inputs import BadCallbackInput
from metrics.registry import default_registry
from tests.conftest import write_csv

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "layouts" / "pages" / "data.py"
V1 = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100
Cumbria,2024-25 Q2,ineffective_trial_rate_crown,15,110
"""
V2 = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,14,100
Cumbria,2024-25 Q3,ineffective_trial_rate_crown,9,120
Cumbria,2022-23 Q1,ineffective_trial_rate_crown,11,101
Cumbria,2022-23 Q2,ineffective_trial_rate_crown,12,102
Cumbria,2022-23 Q3,ineffective_trial_rate_crown,13,103
Narnia,2024-25 Q1,ineffective_trial_rate_crown,5,50
Cumbria,2022-23 Q4,ineffective_trial_rate_crown,14,104
Cumbria,2023-24 Q1,ineffective_trial_rate_crown,11,101
Cumbria,2023-24 Q2,ineffective_trial_rate_crown,12,102
Cumbria,2023-24 Q3,ineffective_trial_rate_crown,13,103
Cumbria,2023-24 Q4,ineffective_trial_rate_crown,14,104
"""
# v2.csv: Cumbria 2024-25 Q1 revised from 12 to 14; one bad row (row 7) of 11 (under 10%).


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[types.ModuleType]:
    """The data page module, reading a small warehouse through an injected context."""
    import layouts.context as context
    from cjsdash.server import create_app

    tmp = tmp_path_factory.mktemp("datapage")
    wh = Warehouse(tmp / "w.duckdb")
    with wh.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(tmp / "v1.csv", V1)])
        ingest_paths(con, [write_csv(tmp / "v2.csv", V2)])
    app = create_app(wh)
    found = next(p for p in dash.page_registry.values() if p["path"] == "/data")
    saved = context._context
    context._context = types.SimpleNamespace(warehouse=wh, registry=default_registry(),
                                             reader=wh.reader)
    try:
        module = sys.modules[found["module"]]
        module.test_client = app.server.test_client  # for the stylesheet order below
        yield module
    finally:
        context._context = saved
        wh.close()


def _ids(component: Any) -> set[str]:
    """Every component id in a layout tree."""
    found: set[str] = set()
    stack = [component]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
            continue
        if not hasattr(item, "to_plotly_json"):
            continue
        if getattr(item, "id", None):
            found.add(item.id)
        for name in ("children", "contents"):
            child = getattr(item, name, None)
            if child is not None and not isinstance(child, str):
                stack.append(child)
    return found


def _page_callbacks() -> list[ast.FunctionDef]:
    tree = ast.parse(PAGE.read_text(encoding="utf-8"))
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)
            and any(isinstance(d, ast.Call) and getattr(d.func, "id", "") == "callback"
                    for d in node.decorator_list)]


def _decorator_names(node: ast.FunctionDef) -> list[str]:
    names = []
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        names.append(getattr(target, "id", ""))
    return names


def test_every_callback_of_the_page_is_checked(page: types.ModuleType) -> None:
    callbacks = _page_callbacks()
    assert len(callbacks) == 13  # refresh, quality, coverage, rejects, url, upload, accept,
    # and 6 downloads
    for node in callbacks:
        assert _decorator_names(node)[-1] == "checked", f"{node.name} is not @checked"
        arguments = [{"not": "a value"}] * len(node.args.args)
        with pytest.raises(BadCallbackInput, match=node.name):
            getattr(page, node.name)(*arguments)


def test_every_id_a_callback_names_is_in_the_layout(page: types.ModuleType) -> None:
    in_layout = _ids(page.layout())
    named: set[str] = set()
    # create_app has let Dash set up: the pages' callbacks are in the app's own map
    for output, cb in dash.get_app().callback_map.items():
        outputs = output.strip(".").split("...")  # "..a.x...b.y@hash.." or "a.x"
        ids = {o.split("@")[0].rsplit(".", 1)[0] for o in outputs if o}
        ids |= {i["id"] for i in cb["inputs"] + cb["state"]}
        if any(i.startswith("data-") for i in ids):
            named |= ids
    assert {"data-version", "data-upload", "data-coverage", "data-run", "data-url"} <= named
    assert named <= in_layout, named - in_layout


def test_the_sections_show_the_warehouse(page: types.ModuleType) -> None:
    text = str(page.layout())
    for heading in ("Sources", "Add a file", "Files loaded", "Coverage", "Rejected rows",
                    "Revisions", "Data-quality checks"):
        assert f"'{heading}'" in text, heading
    head, sources, files, revisions, options, run, _footer = page.refresh(1, "all")
    # 11 Cumbria quarters (2 in v1.csv, 9 more in v2.csv) × numerator and denominator; the
    # one older value is v1.csv's numerator of 2024-25 Q1 (its denominator did not change).
    assert ("2 files loaded (0 refused); 22 current figures from 1 source; 1 older value kept "
            "as revisions; 1 rejected row.") in str(head)
    assert "<caption>Revised figures: 1</caption>" in str(revisions)
    assert ('<td class="cjs-num">12</td>' in str(revisions)
            and '<td class="cjs-num">14</td>' in str(revisions))
    assert "<caption>Files loaded: 2, newest first</caption>" in str(files)
    assert "Sources: 1" in str(sources)
    assert options == [{"label": "Every file", "value": "all"},
                       {"label": "Run 2: v2.csv (1 rejected)", "value": "2"}]
    assert run is dash.no_update  # the run shown is still offered
    rejects = str(page.rejects("2"))
    assert ('<td class="cjs-num">7</td><td class="">area</td><td class="cjs-wrap">Narnia</td>'
            in rejects)


def test_no_module_of_the_page_is_over_400_lines() -> None:
    modules = [PAGE, *sorted((REPO / "layouts").glob("data_*.py"))]
    assert len(modules) >= 7
    sizes = {m.name: len(m.read_text(encoding="utf-8").splitlines()) for m in modules}
    assert max(sizes.values()) <= 400, sizes


def test_the_page_carries_no_inline_styles(page: types.ModuleType) -> None:
    for module in [PAGE, *(REPO / "layouts").glob("data_*.py")]:
        text = module.read_text(encoding="utf-8")
        assert "style={\"" not in text, module.name
    css = (REPO / "layouts" / "assets" / "style_data.css").read_text(encoding="utf-8")
    assert ".cjs-upload-hint" in css and ".cjs-cov-key" in css
    # The page's rules override general ones of the same specificity: linked after them.
    html_text = page.test_client().get("/data").get_data(as_text=True)
    linked = re.findall(r"assets/([\w.]+\.css)", html_text)
    assert linked == ["style.css", "style_data.css"], linked


SCHEMA_ONLY_SOURCES = {
    "moj_timeliness_tool", "moj_trial_effectiveness", "moj_trial_effectiveness_long",
    "cjs_delivery_dashboard",
    "census2021_nomis_bulk_ethnicity", "census2021_ons_custom_ethnicity",
    "home_office_stop_search", "home_office_arrests",
}
"""Loaders whose docstrings (and tests/data NOTICE files) say no real file was seen."""


def test_schema_only_is_declared_once_per_loader() -> None:
    from ingest.catalogue import LOADERS

    declared = {name for name, loader in LOADERS.items() if loader.spec.schema_only}
    assert declared == SCHEMA_ONLY_SOURCES
    for name in declared:  # the mark is no longer pasted into the title
        assert "schema" not in LOADERS[name].spec.title.lower(), name


def test_the_page_says_which_sources_no_real_file_has_confirmed(tmp_path: Path) -> None:
    from layouts.data_sources import SCHEMA_ONLY_TEXT, runs_table, sources_table
    from metrics import provenance

    wh = Warehouse(tmp_path / "w.duckdb")
    try:
        with wh.writer() as con:
            prepare(con)
            ingest_paths(con, [write_csv(tmp_path / "v1.csv", V1),
                               REPO / "tests/data/moj/timeliness-tool-crown-court-sample.csv"])
            catalogue = dict(con.execute(
                "SELECT source, schema_only FROM meta.sources").fetchall())
        assert catalogue["moj_timeliness_tool"] is True
        assert catalogue["board_extract"] is False
        sources = provenance.sources_frame(wh.reader())
        rows = re.findall(r"<tr>.*?</tr>", str(sources_table(sources).children.children))
        said = {source: SCHEMA_ONLY_TEXT in row
                for row in rows for source in ("moj_timeliness_tool", "board_extract")
                if f"{source} (" in row}
        assert said == {"moj_timeliness_tool": True, "board_extract": False}
        files_html = str(runs_table(provenance.runs_frame(wh.reader())).children.children)
        files = re.findall(r"<tr>.*?</tr>", files_html.split("<tbody>", 1)[1])
        assert [SCHEMA_ONLY_TEXT in row for row in files] == [True, False]  # newest first
    finally:
        wh.close()


def test_a_warehouse_registered_before_the_mark_gains_it(tmp_path: Path) -> None:
    """Older warehouses had the words in the title and no column: the next load sets both."""
    from ingest.catalogue import LOADERS

    wh = Warehouse(tmp_path / "w.duckdb")
    try:
        with wh.writer() as con:
            prepare(con)
            con.execute("INSERT INTO meta.sources (source, title, publisher, licence, kind, "
                        "priority, is_synthetic) VALUES ('moj_timeliness_tool', 'Old title "
                        "[layout built from the published schema; no real file seen yet]', "
                        "'Ministry of Justice', 'OGL', 'published', 30, false)")
            con.execute("UPDATE meta.sources SET schema_only = NULL")
            ingest_paths(con, [REPO / "tests/data/moj/timeliness-tool-crown-court-sample.csv"])
            row = con.execute("SELECT title, schema_only FROM meta.sources "
                              "WHERE source = 'moj_timeliness_tool'").fetchone()
        assert row == (LOADERS["moj_timeliness_tool"].spec.title, True)
    finally:
        wh.close()


def test_every_area_view_shares_the_period_matrix(page: types.ModuleType,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix of every area at one period is the same whichever area the page shows: it
    is made once per data version and group (decision 0045), the same as made afresh."""
    import layouts.data_coverage as data_coverage
    from metrics import cache

    cache.clear_cache()
    made: list[tuple[str, str]] = []
    real = data_coverage.group_parts

    def counted(*args: Any) -> tuple[str, str, str, str]:
        made.append((args[3], args[4]))
        return real(*args)

    monkeypatch.setattr(data_coverage, "group_parts", counted)
    cumbria, _, _ = page.coverage("CJA03", "quarter", "lcjb", None)
    national, _, _ = page.coverage("K04000001", "quarter", "lcjb", None)
    assert len(made) == 1 and made[0][0] == "lcjb"
    assert str(cumbria[2:]) == str(national[2:])  # heading and matrix
    assert "coverage-group" in str(cumbria[3])
    page.coverage("CJA03", "quarter", "force", None)
    assert [group for group, _ in made] == ["lcjb", "force"]
    cache.clear_cache()
    monkeypatch.setattr(data_coverage, "group_parts", real)
    fresh, _, _ = page.coverage("K04000001", "quarter", "lcjb", None)
    assert str(fresh[2:]) == str(national[2:])
