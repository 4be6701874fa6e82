"""The disclosure audit over the demo warehouse and over exported packs (decision 8).

Restricted to keep the run modest: three indicators (a proportion by offence group, a count
by court type, a count without breakdowns) over every area and every published grain and
breakdown; and CSV board packs of the three North East forces and their region, read back
from the files; and the two indicators that leaked through combinations of 400–1,500
unknowns before the exact test covered every block (``oocr_rate``,
``victim_withdrawal_rate``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cjsdash.core.gateway import Warehouse
from cjsdash.core.schema import BREAKDOWNS
from cjsdash.exports.cli import export_app
from metrics.compute import compute_indicators
from metrics.disclosure import area_sources
from metrics.disclosure_audit import audit
from metrics.options import Options
from metrics.registry import default_registry

GRAINS = ("month", "quarter", "fy", "year", "r12")
NORTH_EAST = ("E12000001", "E23000007", "E23000008", "E23000013")


@pytest.fixture(autouse=True, scope="module")
def _default_disclosure() -> Iterator[None]:
    """The default settings (no CJSDASH_DISCLOSURE), for the pages, the query and the packs
    alike: the default is whole-set control (decision 26), so these tests attack what a
    board gets out of the box, and would fail were the default the within-breakdown rule
    (which the audit shows leaking below)."""
    from cjsdash.core.config import get_settings

    before = os.environ.pop("CJSDASH_DISCLOSURE", None)
    get_settings.cache_clear()
    assert Options().disclosure == "whole_set"
    yield
    if before is not None:
        os.environ["CJSDASH_DISCLOSURE"] = before
    get_settings.cache_clear()


def _published(con, indicators: list[str], options: Options | None = None
               ) -> list[pl.DataFrame]:
    registry = default_registry()
    areas = [c for (c,) in con.execute("SELECT code FROM core.areas").fetchall()]
    dims = sorted({d for i in indicators for d in registry.get(i).breakdowns})
    frames = []
    for grain in GRAINS:
        for by in (None, *dims):
            ids = [i for i in indicators if by is None or by in registry.get(i).breakdowns]
            frame = compute_indicators(con, registry, ids, areas, grain=grain, by=by,
                                       options=options)
            frames.append(frame.with_columns(
                pl.when(pl.col("breakdown") == "").then(pl.lit("")).otherwise(pl.lit(by or ""))
                .alias("bdim")))
    return frames


@pytest.fixture(scope="module")
def reader(demo_db: Path):
    wh = Warehouse(demo_db)
    yield wh.reader()
    wh.close()


def test_nothing_suppressed_can_be_recovered_from_the_figures(reader) -> None:
    frames = _published(reader, ["charge_rate", "witness_absence_ineffective",
                                 "confiscation_orders"])
    result = audit(frames, default_registry(), area_sources(reader), threshold=5)
    assert result.suppressed > 100, "the demo extract should suppress figures here"
    assert result.disclosures.height == 0, result.disclosures
    hidden = pl.concat(frames, how="diagonal_relaxed").filter("suppressed")
    for column in ("numerator", "denominator", "value", "lower", "upper", "change"):
        assert hidden[column].null_count() == hidden.height, column
    assert set(hidden["status"].unique()) == {"suppressed"}
    assert not hidden["change_significant"].any()


def test_the_within_breakdown_rule_leaks_and_the_audit_finds_it(reader) -> None:
    """Why the whole-set rule exists: the default rule protects a breakdown within its total
    only, and the same audit recovers suppressed counts from the areas and periods beside."""
    frames = _published(reader, ["charge_rate", "witness_absence_ineffective",
                                 "confiscation_orders"], Options(disclosure="breakdown"))
    result = audit(frames, default_registry(), area_sources(reader), threshold=5)
    assert result.disclosures.height > 0


def test_no_combination_of_any_size_recovers_a_crime_outcome(reader) -> None:
    result = audit(_published(reader, ["oocr_rate", "victim_withdrawal_rate"]),
                   default_registry(), area_sources(reader), threshold=5)
    assert result.suppressed > 100
    assert result.largest_block > 400  # the blocks the earlier check left unchecked
    assert result.disclosures.height == 0, result.disclosures


def _csv_frame(path: Path, dims: dict[str, str]) -> pl.DataFrame:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def number(text: str) -> float | None:
        return None if text in ("", "[c]") else float(text)

    return pl.DataFrame({
        "indicator": [r["indicator"] for r in rows],
        "area_code": [r["area_code"] for r in rows],
        "period_start": [date.fromisoformat(r["period_start"]) for r in rows],
        "period_end": [date.fromisoformat(r["period_end"]) for r in rows],
        "breakdown": [r["breakdown"] for r in rows],
        "bdim": [dims.get(r["breakdown"], "") if r["breakdown"] else "" for r in rows],
        "numerator": [number(r["numerator"]) for r in rows],
        "denominator": [number(r["denominator"]) for r in rows],
        "suppressed": [r["suppressed"] == "true" for r in rows],
    }, schema_overrides={"numerator": pl.Float64, "denominator": pl.Float64})


def test_nothing_suppressed_can_be_recovered_from_csv_packs(demo_db: Path, reader,
                                                            tmp_path: Path) -> None:
    dims = {}
    for dim in BREAKDOWNS:  # which breakdown a group belongs to (the CSV names the group)
        for (value,) in reader.execute(
                f"SELECT DISTINCT {dim} FROM core.area_observations WHERE {dim} <> ''"  # noqa: S608
        ).fetchall():
            dims.setdefault(value, dim)
    frames = []
    for pack in ("lcjb_default", "disproportionality"):
        for area in NORTH_EAST:
            out = tmp_path / f"{pack}-{area}.csv"
            result = CliRunner().invoke(export_app, [
                "pack", "--area", area, "--period", "2024-25 Q1", "--pack", pack,
                "--format", "csv", "--out", str(out), "--db", str(demo_db)])
            assert result.exit_code == 0, result.output
            frames.append(_csv_frame(out, dims))
    found = audit(frames, default_registry(), area_sources(reader), threshold=5)
    assert found.cells > 0 and found.suppressed > 0
    assert found.disclosures.height == 0, found.disclosures


def test_the_stage_matrix_withholds_every_count_the_plan_withholds(reader) -> None:
    """The race disproportionality matrix shows stage counts by ethnic group for every area
    and grain: the whole-set plan covers the stages' measures, and the matrix hides every
    cell it withholds (hiding more than a leak-free plan cannot make a count recoverable)."""
    from metrics import disproportionality as dq
    from metrics.disclosure import hidden_cells

    planned = hidden_cells(reader, default_registry(), Options()).filter(
        (pl.col("measure") == "stop_searches") & (pl.col("bdim") == "ethnicity")).select(
        "area_code", "period_start", "period_end", pl.col("breakdown").alias("group"))
    key = ["area_code", "period_start", "period_end", "group"]
    checked = 0
    for grain in ("month", "fy"):
        matrix = dq.stage_frame(reader, list(NORTH_EAST), grain=grain).filter(
            pl.col("stage") == "stop_and_search")
        withheld = matrix.join(planned, on=key, how="semi")
        checked += withheld.height
        assert withheld["suppressed"].all(), withheld.filter(~pl.col("suppressed"))
        assert withheld["count"].null_count() == withheld.height
    assert checked > 50, "the demo's monthly stop and search counts should withhold cells here"


def test_the_withheld_cells_of_a_few_areas_are_the_plans_for_them(
        reader, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disproportionality page reads only its areas' withheld stage cells from the
    stored plan (a first view costs what any other does); they are the whole plan's, and
    so is the fallback's when the stored plan is not the current one."""
    from metrics import disclosure
    from metrics.stages import default_stages

    registry, options = default_registry(), Options()
    measures = sorted({m for s in default_stages().stages
                       for m in (s.measure_for("self"), s.measure_for("officer"))
                       if m})
    areas = ["E23000002", "CJA03", "K04000001"]
    whole = disclosure.hidden_cells(reader, registry, options).filter(
        pl.col("measure").is_in(measures) & (pl.col("bdim") == disclosure.STAGE_BREAKDOWN)
        & pl.col("area_code").is_in(areas))
    assert whole.height > 0  # the demo withholds some of these areas' stage counts

    def rows(frame: pl.DataFrame) -> list[tuple]:
        return sorted(frame.select(sorted(frame.columns)).iter_rows())

    assert rows(disclosure.withheld_in(reader, registry, options, measures,
                                       disclosure.STAGE_BREAKDOWN, areas)) == rows(whole)
    # were the stored plan not the current one: the same, picked out of the whole plan
    monkeypatch.setattr(disclosure, "stored_plan_current", lambda con, spec: False)
    assert rows(disclosure.withheld_in(reader, registry, options, measures,
                                       disclosure.STAGE_BREAKDOWN, areas)) == rows(whole)
