"""The analyst's own targets and trajectories: the local targets template.

One row per target (see docs/targets-template.md):

==========  =========  ==============================================================
column      required   meaning
==========  =========  ==============================================================
indicator   yes        an indicator id (``cjsdash indicators`` lists them)
area        yes        area name or ONS code, any known spelling
period      yes*       the period it applies to: "2025-26", "2025-26 Q3", "2025-06", …
target      yes        in the units the indicator is shown in: 7.5 for 7.5%
kind        no         target (default), trajectory or stretch
source      no         where it comes from, e.g. "Cumbria LCJB delivery plan 2025-26"
==========  =========  ==============================================================

\\* an empty period means every period (a standing target). A trajectory is one row per period
(a quarter, a month) between now and the goal. Targets go to ``core.targets``; a local target
overrides the registry's national one for its area. A file replaces, for each indicator, area
and kind it names, the local targets loaded before (a revised trajectory replaces the old one
whole; :func:`ingest.load.replace_local_targets`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cjsdash.core.periods import PeriodError, parse_period
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.textio import first_line, normalise_header, read_table_strings
from ingest.values import parse_numbers

SPEC = SourceSpec(
    name="local_targets",
    title="Local targets and trajectories",
    publisher="Local Criminal Justice Board",
    licence="Local data: the board's own plan",
    kind="local",
    priority=10,
    required_columns=("indicator", "area", "period", "target"),
    optional_columns=("kind", "source"),
    file_types=(".csv", ".xlsx", ".xlsm", ".ods"),
)
KINDS = ("target", "trajectory", "stretch")
TARGET_COLUMNS = ("indicator", "area_code", "period_start", "period_end", "value", "kind",
                  "source")


def detect(path: Path, data: bytes) -> bool:
    """A targets file has indicator, area, period and target columns (CSV or spreadsheet)."""
    if path.suffix.casefold() == ".csv":
        headers = {normalise_header(c) for c in first_line(data).split(",")}
    else:
        try:
            frame, _ = read_table_strings(path, data)
        except FileRefused:
            return False
        headers = {normalise_header(c) for c in frame.columns}
    return set(SPEC.required_columns) <= headers


def _columns(file_name: str, raw: pl.DataFrame) -> pl.DataFrame:
    names = [normalise_header(c) for c in raw.columns]
    missing = [c for c in SPEC.required_columns if c not in names]
    if missing:
        raise FileRefused(file_name, f"missing column(s) {', '.join(missing)}; found "
                          f"{', '.join(raw.columns) or 'none'}. The template's columns are "
                          "indicator, area, period, target, kind, source.")
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise FileRefused(file_name, f"column(s) {', '.join(dupes)} appear more than once")
    frame = raw.rename(dict(zip(raw.columns, names, strict=True)))
    known = (*SPEC.required_columns, *SPEC.optional_columns)
    frame = frame.select([c for c in names if c in known]).with_columns(
        [pl.lit("").alias(c) for c in SPEC.optional_columns if c not in names])
    return frame.with_columns(pl.col(pl.String).fill_null("").str.strip_chars())


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    """Validate every row; good rows become targets, bad rows rejects."""
    raw, encoding = read_table_strings(path, data)
    frame = _columns(path.name, raw)
    if frame.height == 0:
        raise FileRefused(path.name, "the file has a header but no data rows")
    rows = frame.with_row_index("row", offset=2).to_dicts()  # the header is row 1
    good: list[dict[str, object]] = []
    rejects: list[Reject] = []
    seen: dict[tuple[object, ...], tuple[int, float | None]] = {}
    values, _notes, errors = parse_numbers(frame["target"], ())
    for row, value, error in zip(rows, values.to_list(), errors.to_list(), strict=True):
        reject = _check(row, value, error, context)
        if reject is None:
            target = _target(row, value, path.name, context)
            key = (target["indicator"], target["area_code"], target["period_start"],
                   target["period_end"], target["kind"])
            if key in seen:
                first, first_value = seen[key]
                reason = ("duplicate: the same indicator, area, period and kind as row "
                          if first_value == value else "conflict: a different target for the "
                          "same indicator, area, period and kind in row ") + str(first)
                reject = Reject(row["row"], "target", row["target"], reason)
            else:
                seen[key] = (row["row"], value)
                good.append(target)
        if reject is not None:
            rejects.append(reject)
    notes = [f"read as {encoding}"] if encoding not in ("UTF-8", "spreadsheet") else []
    notes += _unit_notes(good, context)
    out = pl.DataFrame(good, schema={
        "indicator": pl.String, "area_code": pl.String, "period_start": pl.Date,
        "period_end": pl.Date, "value": pl.Float64, "kind": pl.String, "source": pl.String,
    }, orient="row")
    return ReadResult(table="targets", frame=out, rejects=rejects, rows_in=frame.height,
                      source=SPEC.name, vintage=context.default_vintage, notes=notes)


def _check(row: dict[str, object], value: float | None, error: bool, context: ReadContext
           ) -> Reject | None:
    """The first problem of a row, with the messages the board extract uses."""
    number = row["row"]
    indicator = str(row["indicator"])
    if indicator not in context.indicator_measures:
        return Reject(number, "indicator", indicator, "unknown indicator: not an indicator id "
                      "in the registry (cjsdash indicators lists them)")
    area = str(row["area"])
    if area == "":
        return Reject(number, "area", None, "the area is empty")
    if context.resolve_area(area) is None:
        return Reject(number, "area", area,
                      "unknown area: not an area name, alias or ONS code cjsdash knows")
    period = str(row["period"])
    if period:
        try:
            parse_period(period)
        except PeriodError as exc:
            return Reject(number, "period", period, f"unreadable period: {exc}")
    if error:
        return Reject(number, "target", str(row["target"]), "not a number")
    if value is None:
        return Reject(number, "target", None, "missing target")
    if value < 0:
        return Reject(number, "target", str(row["target"]),
                      "negative: targets cannot be below 0")
    if context.indicator_measures[indicator][0] == "proportion" and value > 100:
        return Reject(number, "target", str(row["target"]), "a percentage target is at most "
                      "100 (write 7.5 for 7.5%)")
    kind = str(row["kind"]).casefold() or "target"
    if kind not in KINDS:
        return Reject(number, "kind", str(row["kind"]),
                      f"unknown kind: one of {', '.join(KINDS)} (or empty for target)")
    return None


def _target(row: dict[str, object], value: float | None, file_name: str,
            context: ReadContext) -> dict[str, object]:
    period = parse_period(str(row["period"])) if row["period"] else None
    return {
        "indicator": row["indicator"], "area_code": context.resolve_area(str(row["area"])),
        "period_start": period.start if period else None,
        "period_end": period.end if period else None, "value": value,
        "kind": str(row["kind"]).casefold() or "target",
        "source": str(row["source"]) or f"local targets ({file_name})",
    }


def _unit_notes(good: list[dict[str, object]], context: ReadContext) -> list[str]:
    """Percentages written as fractions (0.075 for 7.5%) are the likeliest mistake."""
    shares = [float(t["value"]) for t in good  # type: ignore[arg-type]
              if context.indicator_measures[str(t["indicator"])][0] == "proportion"]
    if shares and max(shares) <= 1 and any(v > 0 for v in shares):
        return ["every percentage target is 1 or below: targets are in the units shown, "
                "7.5 for 7.5% (not 0.075); check the file"]
    return []


LOADER = Loader(spec=SPEC, detect=detect, read=read)
