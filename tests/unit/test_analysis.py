"""metrics.analysis and ingest.msg_reference on hand-built frames and a real in-memory warehouse.

Expected values are written out (hand-worked) wherever the arithmetic is short; where a frame
wraps a statistics function already tested against hand-worked cases, the test checks that the
frame carries exactly that function's answer on the same numbers.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cjsdash.core.areas import AreaIndex
from cjsdash.core.gateway import Warehouse
from ingest import msg_reference
from ingest.pipeline import ingest_bytes, ingest_paths, read_context
from metrics import analysis as an
from metrics import views
from metrics.compute import RESULT_COLUMNS
from metrics.registry import default_registry
from metrics.statistics import funnel, peers, ranks, spc_assurance
from tests.conftest import write_csv

REG = default_registry()
COUNT = REG.get("obtj")  # count, higher is better, no CI
PROP = REG.get("witness_attendance")  # counted proportion (Wilson), higher is better
LOWER = REG.get("ineffective_trial_rate_crown")  # counted proportion, lower is better
MONEY = REG.get("fine_payment_rate")  # proportion of money: no p-chart, no funnel

# The hand-worked XmR baseline of tests/unit/test_spc.py: mean 12, mean moving range 15/11.
BASE = [10, 12, 11, 13, 12, 14, 13, 12, 11, 13, 12, 11]
UCL, LCL = 12 + 2.66 * 15 / 11, 12 - 2.66 * 15 / 11  # 15.627..., 8.372...
U2 = 12 + 2 * 2.66 / 3 * 15 / 11  # two-sigma line 14.418...


def series(values: list[float | None], ind_id: str = "obtj", *,
           numerators: list[float | None] | None = None,
           denominators: list[float | None] | None = None,
           suppressed: list[bool] | None = None, target: float | None = None,
           area: str = "E23000002") -> pl.DataFrame:
    """A frame shaped like metrics.views.series: quarters from Apr 2015."""
    n = len(values)
    starts = [date(2015 + (3 + 3 * i) // 12, (3 + 3 * i) % 12 + 1, 1) for i in range(n)]
    ends = [date(s.year + (s.month + 2) // 13, (s.month + 2) % 12 or 12, 28) for s in starts]
    data = {c: [None] * n for c in RESULT_COLUMNS}
    data.update(
        indicator=[ind_id] * n, area_code=[area] * n, period_start=starts, period_end=ends,
        period_label=[f"P{i + 1}" for i in range(n)], breakdown=[""] * n,
        numerator=numerators or values, denominator=denominators or [None] * n,
        value=values, suppressed=suppressed or [False] * n, target=[target] * n,
        synthetic=[False] * n, source=["test"] * n, vintage=["v1"] * n,
    )
    schema = {"period_start": pl.Date, "period_end": pl.Date, "numerator": pl.Float64,
              "denominator": pl.Float64, "value": pl.Float64, "target": pl.Float64,
              "suppressed": pl.Boolean, "synthetic": pl.Boolean, "lower": pl.Float64,
              "upper": pl.Float64}
    return pl.DataFrame(data, schema_overrides=schema).select(RESULT_COLUMNS)


# --- SPC frames ---------------------------------------------------------------------------------

def test_xmr_frame_hand_worked_limits_rules_and_signals() -> None:
    frame = an.spc_frame(series([*BASE, 16.0, 12.0]), COUNT, fix_after=12)
    assert frame.columns == list(an.SPC_COLUMNS)
    assert frame["chart"].unique().to_list() == ["xmr"]
    assert frame["centre"].to_list() == pytest.approx([12.0] * 14)
    assert frame["upper_limit"].to_list() == pytest.approx([UCL] * 14)
    assert frame["lower_limit"].to_list() == pytest.approx([LCL] * 14)
    assert frame["upper_two_sigma"].to_list() == pytest.approx([U2] * 14)
    assert frame["baseline"].to_list() == [True] * 12 + [False] * 2
    assert not frame["trial"].any()
    # 16 > 15.627: outside the limits; higher is better (OBTJ), so an improvement.
    assert frame["rules"].to_list() == [""] * 12 + ["outside", ""]
    assert frame["signal"].to_list() == ["common"] * 12 + ["improvement", "common"]
    # The same point for a lower-is-better indicator is a concern.
    worse = an.spc_frame(series([*BASE, 16.0, 12.0], LOWER.id), LOWER, chart="xmr",
                         fix_after=12)
    assert worse["signal"][12] == "concern"


def test_xmr_frame_limits_from_the_whole_series_by_default() -> None:
    # MDC's default: all 14 points set the limits. Sum 172 → mean 12.2857; moving ranges
    # 2,1,2,1,2,1,1,1,2,1,1,5,4 → screened at 3.267 × 24/13 = 6.03 (none), mean 24/13.
    frame = an.spc_frame(series([*BASE, 16.0, 12.0]), COUNT)
    assert frame["centre"].to_list() == pytest.approx([172 / 14] * 14)
    assert frame["upper_limit"][0] == pytest.approx(172 / 14 + 2.66 * 24 / 13)
    assert frame["baseline"].all()
    assert frame["rules"].to_list() == [""] * 14  # 16 is inside 12.29 ± 4.91


def test_suppressed_and_missing_periods_take_no_part() -> None:
    values = [*BASE[:6], None, *BASE[6:], 16.0]
    flags = [False] * 6 + [True] + [False] * 7
    frame = an.spc_frame(series(values, suppressed=flags), COUNT, fix_after=13)
    assert frame["value"][6] is None and frame["signal"][6] == "" and frame["rules"][6] == ""
    assert frame["centre"][0] == pytest.approx(12.0)  # the twelve real points only
    # No moving range across the suppressed period: 14 → (gap) → 13 is not one; the ten
    # left sum 14 → limits 12 ± 2.66 × 1.4.
    assert frame["upper_limit"][0] == pytest.approx(12 + 2.66 * 1.4)
    assert frame["baseline"].to_list() == [True] * 6 + [False] + [True] * 6 + [False]
    assert frame["signal"][13] == "improvement"


def test_p_chart_for_counted_proportions_with_varying_denominators() -> None:
    # p̄ = Σx/Σn = 10%; n = 100 → ±3·√(0.09/100) = ±9 pts; n = 400 → ±4.5 pts.
    n = [100, 400] * 6
    x = [10, 40] * 6
    values = [100 * a / b for a, b in zip(x, n, strict=True)]
    frame = an.spc_frame(series(values, PROP.id, numerators=x, denominators=n), PROP)
    assert frame["chart"][0] == "p"
    assert frame["centre"].to_list() == pytest.approx([10.0] * 12)
    assert frame["upper_limit"].to_list() == pytest.approx([19.0, 14.5] * 6)
    assert frame["lower_limit"].to_list() == pytest.approx([1.0, 5.5] * 6)
    assert frame["upper_two_sigma"].to_list() == pytest.approx([16.0, 13.0] * 6)
    # Equal denominators: an XmR chart; money (no Wilson CI) and counts never get a p-chart.
    same = an.spc_frame(series(values, PROP.id, numerators=x, denominators=[100] * 12), PROP)
    assert same["chart"][0] == "xmr"
    assert an.chart_type(series(values, MONEY.id, numerators=x, denominators=n), MONEY) == "xmr"
    with pytest.raises(ValueError, match="p-chart"):
        an.chart_type(series(values), COUNT, "p")


def test_rebase_at_a_marked_date_starts_new_limits() -> None:
    values = BASE + [20.0, 22.0, 21.0, 23.0]
    frame = series(values)
    start = frame["period_start"][12]
    rebased = an.spc_frame(frame, COUNT, rebase_at=[start.isoformat()])
    assert rebased["segment"].to_list() == [0] * 12 + [1] * 4
    assert rebased["centre"][15] == pytest.approx(21.5)  # mean of 20, 22, 21, 23
    # Moving ranges 2, 1, 2 → mean 5/3; limits 21.5 ± 2.66·5/3, trial (4 < 12 points).
    assert rebased["upper_limit"][15] == pytest.approx(21.5 + 2.66 * 5 / 3)
    assert rebased["trial"].to_list() == [False] * 12 + [True] * 4
    assert rebased["baseline"].to_list() == [True] * 16
    # Without the rebase the four high points are outside the limits.
    assert all("outside" in r for r in an.spc_frame(frame, COUNT)["rules"][12:].to_list())


def test_rebase_indices() -> None:
    starts = [date(2020, m, 1) for m in (1, 4, 7, 10)]
    assert an.rebase_indices(starts, ["2020-04-01"]) == [1]
    assert an.rebase_indices(starts, [date(2020, 5, 15)]) == [2]  # next period on or after
    assert an.rebase_indices(starts, ["2019-01-01", "2021-01-01", 3, 0]) == [3]


def test_assurance_and_rag_readings() -> None:
    frame = an.spc_frame(series(BASE, PROP.id), PROP, chart="xmr")  # limits 8.37 to 15.63
    fails = an.assurance_for(frame, PROP, 20.0)  # higher is better, target above the UCL
    assert fails.code == spc_assurance.CONSISTENTLY_FAILS
    assert "process limits 8.4% to 15.6%" in fails.text
    assert an.assurance_for(frame, PROP, 5.0).code == spc_assurance.CONSISTENTLY_PASSES
    assert an.assurance_for(frame, PROP, 12.0).code == spc_assurance.INCONSISTENT
    assert an.assurance_for(frame, PROP).code == spc_assurance.NO_TARGET
    # RAG: 83% target, 10% tolerance → amber down to 74.7%.
    assert an.rag_for(85.0, 83.0, PROP, tolerance=0.1).code == "green"
    amber = an.rag_for(80.0, 83.0, PROP, tolerance=0.1)
    assert amber.code == "amber" and amber.text.startswith("Amber: 80.0% against 83.0%")
    assert an.rag_for(70.0, 83.0, PROP, tolerance=0.1).code == "red"
    assert an.rag_for(70.0, None, PROP).code == "none"
    assert an.RAG_LABEL == "RAG (board-pack rule)"


def test_latest_spc_reading_agrees_with_the_frame() -> None:
    n = [100, 400] * 7
    x = [10, 40] * 6 + [30, 90]  # the last two beyond the limits (19%, 14.5%) and 2 sigma
    values = [100 * a / b for a, b in zip(x, n, strict=True)]
    rows = series(values, PROP.id, numerators=x, denominators=n, target=25.0)
    frame = an.spc_frame(rows, PROP, fix_after=12)
    # Outside the limits is not "near" them (NHSRplotthedots): no 2 of 3 as well.
    assert an.latest_spc_reading(rows, PROP, fix_after=12) == (
        frame["signal"][-1], "outside the limits",
        an.assurance_for(frame, PROP).code)
    assert frame["signal"][-1] == "improvement"  # higher is better
    assert an.assurance_for(frame, PROP).code == spc_assurance.CONSISTENTLY_FAILS  # 25% > 14.5%
    assert an.latest_spc_reading(rows.clear(), PROP) == ("", "", "")


# --- positions, direction, quartiles -------------------------------------------------------------

def test_position_by_confidence_interval_overlap() -> None:
    above = an.position((20.0, 17.6, 22.6), (10.1, 9.8, 10.4), PROP, "England and Wales")
    assert (above.code, above.significant, above.better) == ("above", True, True)
    assert above.text == ("above England and Wales, better (95% confidence intervals do not "
                          "overlap)")
    below = an.position((20.0, 17.6, 22.6), (30.0, 29.0, 31.0), LOWER, "X")
    assert (below.code, below.better) == ("below", True)  # lower is better
    similar = an.position((10.0, 8.3, 12.0), (10.1, 9.8, 10.4), PROP, "X")
    assert (similar.code, similar.significant, similar.better) == ("similar", False, None)
    untested = an.position((12.0, math.nan, math.nan), (10.0, math.nan, math.nan), COUNT, "X")
    assert untested.text == "higher than X (no confidence interval, so not tested)"
    assert not untested.significant and untested.better is None
    assert an.short_position(above) == "above, better"
    assert an.short_position(untested) == "higher (not tested)"


def test_change_on_last_year_tested_only_with_a_declared_sampling_model() -> None:
    tested = an.change_on_last_year({"change": -1.94, "change_significant": True}, PROP)
    assert (tested.code, tested.significant, tested.better) == ("down", True, False)
    assert tested.short == "down 1.9 pts (significant)"
    assert tested.text == "down 1.9 pts on the same period last year (significant)"
    calm = an.change_on_last_year({"change": 0.4, "change_significant": False}, PROP)
    assert calm.short == "up 0.4 pts (not significant)" and calm.better is True
    # Money, a stock count, a complete administrative total: never tested, whatever the flag.
    for ind_id in ("fine_payment_rate", "fta_warrants_outstanding", "obtj", "asset_recovery"):
        ind = REG.get(ind_id)
        assert ind.sampling_model == "none"
        found = an.change_on_last_year({"change": 5.0, "change_significant": True}, ind)
        assert found.significant is None and "(not tested)" in found.short
        assert "not tested: " in found.text
    assert an.change_on_last_year(None, PROP).code == "no data"
    assert an.change_on_last_year({"change": None}, PROP).code == "no data"


def test_spc_signal_and_change_on_last_year_worded_together() -> None:
    down_sig = an.change_on_last_year({"change": -1.9, "change_significant": True}, PROP)
    # An SPC improvement (a shift above the whole series' mean) while significantly lower
    # than a year ago: the two readings differ, and the row says why.
    assert not an.readings_agree("improvement", down_sig)
    text = an.paired_text("improvement", "shift", down_sig)
    assert text.startswith("Down 1.9 pts on the same period last year (significant); SPC: "
                           "improvement (shift) against the whole series.")
    assert "not with the same period last year" in text
    down_ns = an.change_on_last_year({"change": -0.2, "change_significant": False}, PROP)
    assert an.readings_agree("improvement", down_ns)  # the other way, but within chance
    up = an.change_on_last_year({"change": 1.0, "change_significant": True}, PROP)
    assert an.readings_agree("improvement", up) and not an.readings_agree("concern", up)
    money = an.change_on_last_year({"change": -3.0}, REG.get("fine_payment_rate"))
    assert not an.readings_agree("improvement", money)  # untested and the other way
    assert not an.readings_agree("common", up)


def test_quartiles_by_polarity_with_shared_ties() -> None:
    values = np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=float)
    assert an.quartiles(values, PROP).tolist() == [4, 4, 3, 3, 2, 2, 1, 1]
    assert an.quartiles(values, LOWER).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    tied = np.array([5, 1, 1, 1, math.nan], dtype=float)  # 1,1,1 share average rank 3
    assert an.quartiles(tied, PROP).tolist() == [1, 3, 3, 3, 0]


# --- comparing areas on a real warehouse ---------------------------------------------------------

def _forces(con) -> list[str]:
    return an.area_codes(con, "force")


def _load_witnesses(con, tmp_path: Path, *, name: str = "w.csv",
                    period: str = "2024-25 Q1") -> list[str]:
    """Every force 100 of 1,000 witnesses attending, except the first (200) and second (50)."""
    forces = _forces(con)
    lines = ["area,period,measure,numerator,denominator,source,vintage"]
    for i, code in enumerate(forces):
        x = {0: 200, 1: 50}.get(i, 100)
        lines.append(f"{code},{period},witness_attendance,{x},1000,test,v1")
    [report] = ingest_paths(con, [write_csv(tmp_path / name, "\n".join(lines) + "\n")])
    assert report.status == "loaded", report.line()
    return forces


def test_compare_areas_funnel_and_rank_intervals(con, tmp_path: Path) -> None:
    forces = _load_witnesses(con, tmp_path)
    assert len(forces) == 43
    frame = an.compare_areas(con, REG, PROP.id, None, "quarter", seed=7, draws=500)
    assert frame["area_code"].to_list() == forces
    p0 = (41 * 100 + 200 + 50) / 43_000  # 0.10116...
    assert frame["national_value"][0] == pytest.approx(100 * p0)
    assert frame["period_label"][0] == "Apr–Jun 2024"
    by_code = {r["area_code"]: r for r in frame.iter_rows(named=True)}
    best, worst, typical = by_code[forces[0]], by_code[forces[1]], by_code[forces[2]]
    assert best["value"] == pytest.approx(20.0) and worst["value"] == pytest.approx(5.0)
    assert (best["funnel_position"], worst["funnel_position"], typical["funnel_position"]) == (
        "above 99.8%", "below 99.8%", "within")
    assert (best["rank"], best["rank_lower"], best["rank_upper"]) == (1.0, 1.0, 1.0)
    assert (worst["rank"], worst["rank_lower"], worst["rank_upper"]) == (43.0, 43.0, 43.0)
    assert (best["quartile"], worst["quartile"], typical["quartile"]) == (1, 4, 2)
    # Exactly the statistics functions' answers on the same numbers and seed.
    x, n = frame["numerator"].to_numpy(), frame["denominator"].to_numpy()
    median, lower, upper = ranks.bootstrap_rank_intervals(x, n, draws=500, seed=7)
    assert frame["rank"].to_list() == median.tolist()
    assert frame["rank_upper"].to_list() == upper.tolist()
    assert frame["funnel_position"].to_list() == funnel.funnel_position(x, n, p0).tolist()
    again = an.compare_areas(con, REG, PROP.id, None, "quarter", seed=7, draws=500)
    assert again["rank_lower"].to_list() == lower.tolist()  # seeded: the same every time
    # One area's series from the cached frame of its kind is the one views.series gives.
    own = an.area_series(con, REG, PROP.id, forces[0], "quarter")
    assert own.select("period_label", "value", "lower", "upper").rows() == views.series(
        con, REG, PROP.id, [forces[0]]).select("period_label", "value", "lower", "upper").rows()
    curve = an.funnel_curve(frame, PROP)
    limits = funnel.funnel_limits(p0, curve["denominator"].to_numpy())
    assert curve["upper_998"].to_list() == pytest.approx((limits[0.998][1] * 100).tolist())
    assert curve["national"][0] == pytest.approx(100 * p0)


def test_totals_and_money_get_no_funnel_or_rank(con, tmp_path: Path) -> None:
    forces = _forces(con)
    text = "area,period,measure,numerator,source,vintage\n" + "\n".join(
        f"{c},2024-25 Q1,obtj,{100 + i},test,v1" for i, c in enumerate(forces))
    ingest_paths(con, [write_csv(tmp_path / "c.csv", text + "\n")])
    frame = an.compare_areas(con, REG, COUNT.id, None, "quarter")
    assert frame["funnel_position"].unique().to_list() == ["not applicable"]
    assert frame["rank"].null_count() == frame.height
    assert an.funnel_kind(COUNT) is None and an.funnel_kind(MONEY) is None
    assert an.funnel_kind(PROP) == "proportion" and an.funnel_kind(REG.get(
        "stop_search_rate")) == "rate"


def test_msg_from_the_reference_file(con, tmp_path: Path) -> None:
    forces = _load_witnesses(con, tmp_path)
    area, members = forces[0], forces[1:4]  # 20%; 5%, 10%, 10%
    csv_text = "Force,Peer_1,Peer_2,Peer_3\n" + ",".join([area, *members]) + "\n"
    data = csv_text.encode()
    assert msg_reference.detect(Path("msg.csv"), data)
    result = msg_reference.read(Path("msg.csv"), data, read_context(con, "msg.csv v1"))
    msg_reference.load_raw(con, result, 1)
    group = an.peer_group(con, area)
    assert group.source == an.REFERENCE_PEERS and group.members == tuple(members)
    assert group.label == "most similar group from the reference file (msg.csv v1)"
    msg = an.msg_comparison(con, REG, PROP.id, area, None, "quarter")
    assert msg.simple == pytest.approx((20 + 5 + 10 + 10) / 4)  # 11.25, including the area
    assert msg.weighted == pytest.approx(100 * (200 + 50 + 100 + 100) / 4000)  # 11.25 too
    # Wilson on 450 / 4,000: centre (450 + z²/2)/(4000 + z²) = 0.112872, half-width
    # z·√(450·3550/4000 + z²/4)/(4000 + z²) = 0.0097946.
    lo, hi = msg.weighted_interval
    assert (lo, hi) == pytest.approx((10.3077, 12.2667), abs=1e-4)
    assert msg.vs_msg.code == "above" and msg.vs_msg.better is True
    assert msg.vs_national.code == "above"
    table = msg.table(PROP)
    assert table["role"].to_list() == ["area", "member", "member", "member", "average",
                                       "average", "national"]
    assert table["area_name"][4] == an.SIMPLE_LABEL and table["area_name"][5] == an.WEIGHTED_LABEL
    assert table["display_value"].to_list()[4:] == ["11.2%", "11.2%", "10.1%"]


def test_computed_peer_group_when_no_reference_file(con) -> None:
    census = Path(__file__).resolve().parents[2] / "data" / "reference" / \
        "census2011_force_ethnicity.csv"
    [report] = ingest_paths(con, [census])
    assert report.status == "loaded"
    group = an.peer_group(con, "E23000002")  # Cumbria
    assert group.source == an.COMPUTED_PEERS
    assert group.label == ("computed peer group (nearest neighbours on Census 2011 "
                           "demographics)")
    # The same group from the published file, worked independently of the warehouse.
    raw = pl.read_csv(census, infer_schema=False)
    index = AreaIndex.from_reference()
    codes = [index.resolve(n) for n in raw["PFA16NM"]]
    total = raw["Ethnic Group: All categories: Ethnic group; measures: Value"].cast(float)
    shares = [raw[f"Ethnic Group: {g}; measures: Value"].cast(float) / total
              for g in ("Asian", "Black", "Mixed", "Other", "White")]
    features = np.column_stack([np.log(total.to_numpy())] + [s.to_numpy() for s in shares])
    keep = [i for i, c in enumerate(codes) if c != an.CITY_OF_LONDON]
    nearest = peers.nearest_neighbours(features[keep], k=7)
    kept = [codes[i] for i in keep]
    expected = tuple(kept[j] for j in nearest[kept.index("E23000002")])
    assert group.members == expected
    assert "E23000001" not in group.members  # the Met is nothing like Cumbria
    assert an.peer_group(con, an.CITY_OF_LONDON).members == ()
    assert an.peer_group(con, an.CITY_OF_LONDON).label == "City of London has no most similar group"
    assert an.peer_group(con, an.NATIONAL).source == an.NO_PEERS


# --- the baseline --------------------------------------------------------------------------------

def test_baseline_and_its_summary_state_only_tested_differences(con, tmp_path: Path) -> None:
    forces = _load_witnesses(con, tmp_path)
    frame, group = an.baseline(con, REG, forces[0], "quarter")
    assert frame.height == len(REG.indicators)
    assert frame["theme"].unique(maintain_order=True).to_list() == [
        t.title for t, _ in REG.by_theme()]
    row = frame.filter(pl.col("indicator") == PROP.id).row(0, named=True)
    assert row["display_value"] == "20.0%" and row["display_national"] == "10.1%"
    assert row["vs_national_code"] == "above" and row["vs_national_better"] is True
    assert row["quartile"] == 1 and row["quartile_of"] == 43
    assert row["npcc_objective"] == PROP.npcc_objective
    summary = an.summarise_baseline(frame, "Avon and Somerset")
    assert summary[0] == ("Significantly better than England and Wales on 1 indicator (95% "
                          "confidence intervals do not overlap): Witness attendance at court.")
    assert not any("worse" in s for s in summary[:-1])
    worst, _ = an.baseline(con, REG, forces[1], "quarter")
    assert an.summarise_baseline(worst, "X")[0].startswith(
        "Significantly worse than England and Wales on 1 indicator")
    typical, _ = an.baseline(con, REG, forces[2], "quarter")
    assert an.summarise_baseline(typical, "X")[0].startswith("No indicator differs")


def test_summary_never_claims_significance_without_a_test() -> None:
    rows = [
        {"title": "Untested", "vs_national_code": "higher", "vs_national_better": None,
         "vs_msg_better": None, "spc_signal": "common", "assurance": "no target",
         "display_value": "12", "readings_agree": False},
        {"title": "Tested", "vs_national_code": "below", "vs_national_better": False,
         "vs_msg_better": None, "spc_signal": "concern", "assurance": "consistently fails",
         "display_value": "3.0%", "readings_agree": True},
        {"title": "Shifted", "vs_national_code": "similar", "vs_national_better": None,
         "vs_msg_better": None, "spc_signal": "improvement", "assurance": "no target",
         "display_value": "40.0%", "readings_agree": False},
    ]
    schema = {c: an.BASELINE_SCHEMA[c] for c in rows[0]}
    summary = an.summarise_baseline(pl.DataFrame(rows, schema=schema), "Kent")
    assert summary == [
        "Significantly worse than England and Wales on 1 indicator (95% confidence intervals "
        "do not overlap): Tested.",
        "Of concern on both readings (an SPC concern against the whole series, and no better "
        "than the same period last year) on 1 indicator: Tested.",
        "The two readings differ (an SPC signal against the whole series but a change the "
        "other way on the same period last year: read the row) on 1 indicator: Shifted.",
        "Will consistently fail the target unless the process changes (SPC assurance) on 1 "
        "indicator: Tested.",
        "Kent has figures for 3 of 3 indicators; 2 have confidence intervals that could be "
        "tested against England and Wales. Totals, means from totals and money are not "
        "called better or worse.",
    ]


# --- the reference-file loader and the cache ------------------------------------------------------

def test_msg_loader_reads_any_spelling_and_rejects_what_it_cannot(con) -> None:
    data = (b"force,peer\nCumbria,Durham\nCumbria,North Yorkshire Police\n"
            b"Devon & Cornwall Police,Nowhere\nKent,Kent\nCumbria,Durham\n")
    assert msg_reference.detect(Path("m.csv"), data)
    assert not msg_reference.detect(Path("m.csv"), b"area,period,measure,numerator\n")
    result = msg_reference.read(Path("m.csv"), data, read_context(con, "m.csv v1"))
    peers_frame = result.raw[msg_reference.RAW_TABLE]
    assert peers_frame.select("area_code", "peer_code").rows() == [
        ("E23000002", "E23000008"), ("E23000002", "E23000009")]
    assert [(r.row, r.value, r.reason) for r in result.rejects] == [
        (4, "Nowhere", "unknown police force"),
        (5, "Kent", "a force is not a member of its own group")]
    assert result.frame.height == 0 and result.table == "observations"
    # Loading replaces every earlier row.
    con.execute("INSERT INTO core.area_peers VALUES ('E23000010', 'E23000011', 'x', 'old')")
    assert msg_reference.load_raw(con, result, 1) == 2
    assert con.execute("SELECT count(*) FROM core.area_peers").fetchall() == [(2,)]


def test_msg_loader_through_the_pipeline(con) -> None:
    data = b"Force,Peer_1,Peer_2\nCumbria,Durham,Lincolnshire\n"
    report = ingest_bytes(con, "msg.csv", Path("msg.csv"), data)  # detected, not named
    assert report.status == "loaded" and report.loader == "msg_reference", report.line()
    assert con.execute("SELECT peer_code FROM core.area_peers ORDER BY rowid").fetchall() == [
        ("E23000008",), ("E23000020",)]
    again = ingest_bytes(con, "msg.csv", Path("msg.csv"), data)
    assert again.status == "unchanged"


def test_data_version_is_read_once_per_reader_but_always_on_the_writer(tmp_path: Path) -> None:
    from cjsdash.bootstrap import prepare

    warehouse = Warehouse(tmp_path / "w.duckdb")
    try:
        with warehouse.writer() as con:
            prepare(con)
            before = an.data_version(con)
            _load_witnesses(con, tmp_path)
            after = an.data_version(con)  # the writer's data changes: read every time
            assert before != after
        reader = warehouse.reader()
        seen = an.data_version(reader)
        assert seen == after
        with warehouse.writer() as con:
            _load_witnesses(con, tmp_path, name="w2.csv", period="2024-25 Q2")
        fresh = an.data_version(warehouse.reader())  # readers reopen after a write
        assert fresh != seen and fresh[1] > seen[1]
    finally:
        warehouse.close()


def test_a_pinned_writer_keeps_the_version_read_on_entering(tmp_path: Path) -> None:
    """The figure refresh pins its connection (decision 40): inside, the version is the one
    read on entering, whatever is written; after, it is read again."""
    from cjsdash.bootstrap import prepare
    from metrics import cache, mart

    warehouse = Warehouse(tmp_path / "w.duckdb")
    try:
        with warehouse.writer() as con:
            prepare(con)
            before = an.data_version(con)
            with cache.pinned(con):
                _load_witnesses(con, tmp_path)
                assert an.data_version(con) == before
            after = an.data_version(con)
            assert after != before
            seen: list[object] = []
            original = mart.mart_areas.changes

            def changes(*args: object, **kwargs: object) -> object:
                seen.append(cache._PINNED.get(con))
                return original(*args, **kwargs)

            mart.mart_areas.changes = changes
            try:
                mart.refresh(con, REG)
            finally:
                mart.mart_areas.changes = original
            assert seen == [after]  # the refresh ran pinned at the version it began with
            assert con not in cache._PINNED
    finally:
        warehouse.close()


def test_cache_follows_the_data_version(tmp_path: Path) -> None:
    from cjsdash.bootstrap import prepare

    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.writer() as con:
        prepare(con)
        _load_witnesses(con, tmp_path)
    try:
        con = warehouse.reader()
        assert an.data_version(con) is not None
        first = an.compare_areas(con, REG, PROP.id, None, "quarter", draws=50)
        assert first["period_label"][0] == "Apr–Jun 2024"
        with warehouse.writer() as wcon:
            _load_witnesses(wcon, tmp_path, name="w2.csv", period="2024-25 Q2")
        con = warehouse.reader()
        second = an.compare_areas(con, REG, PROP.id, None, "quarter", draws=50)
        assert second["period_label"][0] == "Jul–Sep 2024"  # not the cached frame
    finally:
        warehouse.close()
        an.clear_cache()


def test_laney_p_prime_chosen_for_overdispersed_proportions_and_said_why() -> None:
    n = [40000, 52000, 45000, 61000, 38000, 50000, 47000, 58000, 43000, 55000, 49000, 60000]
    p = [0.30, 0.31, 0.295, 0.305, 0.32, 0.30, 0.29, 0.31, 0.30, 0.315, 0.30, 0.305]
    x = [round(a * b) for a, b in zip(p, n, strict=True)]
    values = [100 * a / b for a, b in zip(x, n, strict=True)]
    frame = an.spc_frame(series(values, PROP.id, numerators=x, denominators=n), PROP)
    assert frame["chart"][0] == an.LANEY
    assert frame["sigma_z"][0] > 1
    assert frame["rules"].to_list() == [""] * 12  # ordinary variation, not special causes
    assert "σz" in an.chart_note(frame) and "overdispersion" in an.CHART_NAMES[an.LANEY]
    forced = an.spc_frame(series(values, PROP.id, numerators=x, denominators=n), PROP,
                          chart="p")
    assert forced["chart"][0] == "p" and forced["rules"].str.contains("outside").sum() >= 4
