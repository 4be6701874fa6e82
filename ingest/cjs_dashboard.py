"""The Criminal Justice System delivery data dashboard, as its long CSV download.

One figure per row::

    offence_type,geographic_area_name,stage,metric_name,date_granularity,time_period,value

cjsdash keeps counts, not rates, so only the metrics that are counts of a registry measure are
loaded; :data:`METRICS` is the mapping, by (stage, metric name). Every other row is rejected
with the reason it cannot be loaded (a rate or percentage, whose counts cjsdash needs instead; a
median, which cannot be summed; or a metric no measure stands for). The file is refused only
when no row maps.

``date_granularity`` is Monthly, Quarterly, Annual or "Rolling annual" (the download's 12-month
figures, ``time_period`` "Jul 2014 - Jun 2015" or "Apr - Jun 2015"-style spans): a rolling
year ending in March is loaded as its financial year and one ending in December as its calendar
year; rolling years ending in other months overlap those and are rejected with that reason
(cjsdash builds rolling years from the quarters).

``offence_type`` becomes the ``offence_group`` breakdown ("All crime" is all, ''). The
layout was built from the published column list and the values public analysis code reads
(SCHEMA_EVIDENCE.md item 4: "Quarterly", "Rolling annual", "Apr - Jun 2015", "All crime",
"National"); no copy of a real download was available (see tests/data/moj/NOTICE.md), so the
test file is built from that schema and the metric names in :data:`METRICS` are those of the
fixture and must be checked against a real download before use.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
    header_fields,
    normalise_label,
    observations,
    parse_counts,
    period_table,
    read_exact_csv,
    row_rejects,
)
from ingest.base import (
    FileRefused,
    Loader,
    ReadContext,
    ReadResult,
    Reject,
    SourceSpec,
    deliberate,
)

HEADER: tuple[str, ...] = (
    "offence_type", "geographic_area_name", "stage", "metric_name", "date_granularity",
    "time_period", "value",
)
SPEC = SourceSpec(
    name="cjs_delivery_dashboard",
    title="Criminal Justice System delivery data dashboard (CSV download)",
    publisher="Ministry of Justice",
    licence="Open Government Licence v3.0",
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=HEADER,
)

METRICS: dict[tuple[str, str], str] = {
    ("police", "number of crimes recorded"): "recorded_crimes",
    ("police", "number of crime outcomes assigned"): "crime_outcomes_assigned",
    ("police", "number of charge/summons outcomes"): "crime_outcomes_charged",
    ("police", "number of outcomes where the victim does not support action"):
        "crime_outcomes_victim_withdrawal",
    ("police", "number of investigations completed with no suspect identified"):
        "crime_outcomes_no_suspect",
    ("courts", "crown court outstanding cases"): "crown_outstanding_cases",
    ("courts", "number of crown court trials listed"): "trials_listed_crown",
    ("courts", "number of ineffective crown court trials"): "trials_ineffective_crown",
    ("courts", "number of cracked crown court trials"): "trials_cracked_crown",
}
"""(stage, metric_name), case-insensitive → registry measure. Counts only."""

GRANULARITY_MONTHS: dict[str, int] = {
    "month": 1, "monthly": 1, "quarter": 3, "quarterly": 3, "year": 12, "annual": 12,
    "calendar year": 12, "financial year": 12,
}
ROLLING = ("rolling annual", "rolling 12 months", "rolling year", "rolling 12 month",
           "12 months rolling")
YEAR_ENDS = (3, 12)
"""Rolling annual figures are loaded for the years ending March (financial years) and December
(calendar years); the others overlap those and are built by cjsdash from the quarters."""
SPAN = re.compile(r"([A-Za-z]{3,9})\.? (\d{4}) ?- ?([A-Za-z]{3,9})\.? (\d{4})")
ALL_OFFENCES = ("all crime", "all offences", "all", "total")


def detect(path: Path, data: bytes) -> bool:
    return header_fields(data) == HEADER


def _unmapped_reason(metric: str) -> str:
    text = metric.casefold()
    if "median" in text:
        return ("a median cannot be summed across areas or periods, and the registry has no "
                "measure for it")
    if "rate" in text or "%" in text or "proportion" in text or "percentage" in text:
        return ("a rate or percentage: cjsdash loads the counts it is made of (numerator and "
                "denominator), not the rate")
    if "average" in text or "mean" in text:
        return "an average: cjsdash needs its total and its count to load it"
    return "no registry measure stands for this metric (see METRICS in ingest/cjs_dashboard.py)"


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    raw, encoding = read_exact_csv(path.name, data, HEADER, "CJS delivery data dashboard")
    if raw.height == 0:
        raise FileRefused(path.name, "the file has a header but no data rows")
    frame = raw.with_row_index("row", offset=2).with_columns(pl.col(pl.String).str.strip_chars())
    notes = [f"read as {encoding}"] if encoding != "UTF-8" else []
    rejects: list[Reject] = []

    pairs = frame.select("stage", "metric_name").unique()
    mapping = {(s, m): METRICS.get((normalise_label(s), normalise_label(m)))
               for s, m in pairs.iter_rows()}
    lookup = pl.DataFrame(
        [(s, m, v) for (s, m), v in mapping.items()],
        schema={"stage": pl.String, "metric_name": pl.String, "measure": pl.String},
        orient="row",
    )
    frame = frame.join(lookup, on=["stage", "metric_name"], how="left", maintain_order="left")
    reasons = {m: _unmapped_reason(m) for (_, m), v in mapping.items() if v is None}
    unmapped = pl.col("measure").is_null()
    rejects += deliberate(row_rejects(frame, unmapped, "metric_name",
                                      pl.col("metric_name").replace_strict(reasons, default="")))
    frame = frame.filter(~unmapped)
    absent = ~pl.col("measure").is_in(list(context.measures))
    rejects += row_rejects(frame, absent, "metric_name",
                           pl.lit("maps to ") + pl.col("measure")
                           + pl.lit(", which is not in the registry"))
    frame = frame.filter(~absent)
    if frame.height == 0:
        raise FileRefused(
            path.name,
            "no metric in this file maps to a cjsdash measure (metrics found: "
            f"{', '.join(sorted({m for _, m in mapping}))})",
            sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        )

    frame, bad = _periods(frame)
    rejects += bad
    frame, bad = _areas(frame, context)
    rejects += bad
    frame, bad = parse_counts(frame, ["value"], SPEC.suppression_markers)
    rejects += bad
    groups = {t: "" if normalise_label(t) in ALL_OFFENCES else t
              for t in frame["offence_type"].unique().to_list()}
    frame = frame.with_columns(
        pl.col("offence_type").replace_strict(groups, return_dtype=pl.String)
        .alias("offence_group")
    )
    frame, bad = _duplicates(frame)
    rejects += bad

    used = frame.group_by("metric_name", "measure").len().sort("measure")
    notes.append("mapped: " + "; ".join(
        f"'{m}' → {v} ({n:,} row{'' if n == 1 else 's'})" for m, v, n in used.iter_rows()))
    if reasons:
        notes.append(f"not loaded ({len(reasons)} metric(s)): {', '.join(sorted(reasons))}")
    out = frame.select(
        "measure", "area_code", "period_start", "period_end", "offence_group",
        pl.col("value__v").alias("value"), pl.col("value__n").alias("value_note"),
    )
    latest = frame.sort("period_end")["time_period"].to_list()
    vintage = f"CJS delivery data dashboard, data to {latest[-1] if latest else 'no period'}"
    return ReadResult(
        table="observations", frame=observations(out, SPEC.name, vintage),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=raw.height, source=SPEC.name, vintage=vintage, notes=notes,
    )


def period_label(text: str) -> str:
    """"Jul 2014 - Jun 2015" (the dashboard's rolling annual label) → "year ending Jun 2015";
    anything else as it is (parse_period reads "Apr - Jun 2015", "2023 Q1", …)."""
    if not text:
        return text
    m = SPAN.fullmatch(" ".join(text.split()))
    return f"year ending {m.group(3)} {m.group(4)}" if m else text


def _periods(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    grains = {g: normalise_label(g) for g in frame["date_granularity"].unique().to_list()}
    months = {g: 12 if n in ROLLING else GRANULARITY_MONTHS.get(n, 0) for g, n in grains.items()}
    frame = frame.with_columns(
        pl.col("date_granularity").replace_strict(months, return_dtype=pl.Int32).alias("_months"),
        pl.col("date_granularity").replace_strict({g: n in ROLLING for g, n in grains.items()},
                                                  return_dtype=pl.Boolean).alias("_rolling"),
        pl.col("time_period").replace_strict(
            {t: period_label(t) for t in frame["time_period"].unique().to_list()},
            return_dtype=pl.String).alias("_label"),
    )
    unknown = pl.col("_months") == 0
    rejects = row_rejects(frame, unknown, "date_granularity",
                          "unknown date granularity (expected Monthly, Quarterly, Annual or "
                          "Rolling annual)")
    frame = frame.filter(~unknown)
    table = period_table(frame["_label"].unique().to_list()).rename({"label": "_label"})
    frame = frame.join(table, on="_label", how="left", maintain_order="left")
    unread = pl.col("period_start").is_null()
    rejects += row_rejects(frame, unread, "time_period",
                           pl.lit("unreadable period: ") + pl.col("period_error"))
    frame = frame.filter(~unread)
    span = ((pl.col("period_end").dt.year() - pl.col("period_start").dt.year()) * 12
            + pl.col("period_end").dt.month() - pl.col("period_start").dt.month() + 1)
    mismatch = span != pl.col("_months")
    rejects += row_rejects(frame, mismatch, "time_period",
                           pl.lit("the period does not match its date granularity ")
                           + pl.col("date_granularity"))
    frame = frame.filter(~mismatch)
    overlapping = pl.col("_rolling") & ~pl.col("period_end").dt.month().is_in(YEAR_ENDS)
    rejects += deliberate(row_rejects(
        frame, overlapping, "time_period",
        "a rolling year ending in a month other than March or December overlaps the "
        "financial and calendar years: cjsdash builds rolling years itself from the quarters"))
    return frame.filter(~overlapping).drop("period_error", "_months", "_rolling", "_label"), rejects


def _areas(frame: pl.DataFrame, context: ReadContext) -> tuple[pl.DataFrame, list[Reject]]:
    names = frame["geographic_area_name"].unique().to_list()
    codes = {n: context.resolve_area(n) for n in names}
    frame = frame.with_columns(
        pl.col("geographic_area_name").replace_strict(codes, default=None, return_dtype=pl.String)
        .alias("area_code")
    )
    bad = pl.col("area_code").is_null()
    rejects = row_rejects(frame, bad, "geographic_area_name",
                          "unknown area: not an area name, alias or ONS code cjsdash knows")
    return frame.filter(~bad), rejects


def _duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    key = ["measure", "area_code", "period_start", "period_end", "offence_group"]
    frame = frame.with_columns(pl.col("row").min().over(key).alias("_first"))
    repeat = pl.col("row") != pl.col("_first")
    rejects = row_rejects(
        frame, repeat, "metric_name",
        pl.lit("duplicate: the same metric, area, period and offence type as row ")
        + pl.col("_first").cast(pl.String),
    )
    return frame.filter(~repeat).drop("_first"), rejects


LOADER = Loader(spec=SPEC, detect=detect, read=read)
