"""CPS case outcomes by principal offence category: monthly, one row per CPS Area.

The Crown Prosecution Service published, month by month (2006 to 2018, on cps.gov.uk and
data.gov.uk), the outcome of every defendant's prosecution completed in the month, by CPS
Area, as convictions and unsuccessful outcomes per principal offence category. The layout
(identical in every file seen, 45 months from January 2014 to March 2018):

* a header whose first cell is empty (the area column has no name), then for each of 12
  principal offence categories ``Number of <group> Convictions``, ``Percentage of <group>
  Convictions``, ``Number of <group> Unsuccessful``, ``Percentage of <group> Unsuccessful``,
  then ``Number of Admin Finalised Unsuccessful`` and its percentage (published under the
  wrong name "Percentage of L Motoring Offences Unsuccessful"; the right name is accepted
  too);
* a row "National" and one per CPS Area: 42 areas aligned with the police force areas, with
  the Metropolitan Police and City of London together as "Metropolitan and City" — the London
  LCJB's footprint. Spellings such as "GreaterManchester" and "Dyfed Powys" are aliases in
  ``cjsdash/core/reference/area_aliases.csv``. Every area loads as its LCJB (a CPS Area and
  its LCJB cover the same forces, so the force shows the figure too);
* counts with thousands separators ("9,087"), percentages with a sign ("82.3%"), and "-" (or
  "0") for the percentage of a category with no outcomes;
* **the period only in the file name**, in two schemes: ``principal_offence_category_
  january_2014.csv`` (month and year), and ``principal_offence_category_Aug.csv`` (the
  month only, as CPS named its 2017-18 files) whose year is read from the folder the file is
  in (``2017/principal_offence_category_Aug.csv``, also inside a ZIP). A file that names no
  year anywhere is refused, saying how to rename it.

Measures, per LCJB and month, in total (``offence_group`` '') and by principal offence
category (``offence_group``: the 12 categories and "Admin finalised"):

=========================  ===================================================================
measure                    what
=========================  ===================================================================
cps_convictions            guilty pleas, convictions after trial, proofs in absence
cps_unsuccessful           every other outcome: discontinuances and withdrawals, discharged
                           committals, dismissals, acquittals **and administrative
                           finalisations** (the "Admin finalised" category)
cps_prosecutions_completed convictions plus unsuccessful outcomes: the conviction rate's
                           denominator
=========================  ===================================================================

**Administrative finalisations count as unsuccessful**, as in CPS's own published conviction
rate: CPS defines unsuccessful outcomes as "all outcomes other than a conviction, comprising
discontinuances and withdrawals, discharged committals, dismissals and acquittals, and
administrative finalisations", and every file gives the admin-finalised category 100%
unsuccessful. CPS records no principal offence for them, so they are their own category.

**Checks.** Each row's published percentages must agree with its counts (to the published
0.1 point): a row where they do not (a shifted or mistyped cell) is rejected whole. The
"National" row is not loaded — England and Wales is the rollup of the 42 LCJBs, as for every
other source — but the loader checks it equals the sum of the areas and says so in the notes.
"""

from __future__ import annotations

import calendar
import csv
import re
from datetime import date
from pathlib import Path

import polars as pl

from cjsdash.core.schema import BREAKDOWNS
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.textio import first_line, read_csv_strings
from ingest.values import parse_numbers

GROUPS: tuple[tuple[str, str], ...] = (
    ("Homicide", "Homicide"),
    ("Offences Against The Person", "Offences against the person"),
    ("Sexual Offences", "Sexual offences"),
    ("Burglary", "Burglary"),
    ("Robbery", "Robbery"),
    ("Theft And Handling", "Theft and handling"),
    ("Fraud And Forgery", "Fraud and forgery"),
    ("Criminal Damage", "Criminal damage"),
    ("Drugs Offences", "Drugs offences"),
    ("Public Order Offences", "Public order offences"),
    ("All Other Offences (excluding Motoring)", "All other offences (excluding motoring)"),
    ("Motoring Offences", "Motoring offences"),
)
"""(name in the header, offence_group label) for the 12 principal offence categories."""
ADMIN_FINALISED = "Admin finalised"
ADMIN_COUNT = "Number of Admin Finalised Unsuccessful"
ADMIN_PERCENT = ("Percentage of L Motoring Offences Unsuccessful",
                 "Percentage of Admin Finalised Unsuccessful")
"""The admin-finalised percentage as published (mislabelled) and as it should be named."""
NATIONAL = "National"
OUTCOMES = ("Convictions", "Unsuccessful")


def _expected_columns() -> tuple[str, ...]:
    columns = []
    for header, _ in GROUPS:
        for outcome in OUTCOMES:
            columns += [f"Number of {header} {outcome}", f"Percentage of {header} {outcome}"]
    return (*columns, ADMIN_COUNT)


EXPECTED = _expected_columns()

SPEC = SourceSpec(
    name="cps_case_outcomes",
    title="CPS case outcomes by principal offence category (monthly, by CPS Area)",
    publisher="Crown Prosecution Service",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=("", *EXPECTED, ADMIN_PERCENT[0]),
    suppression_markers=("-",),
)

MEASURES = ("cps_convictions", "cps_unsuccessful", "cps_prosecutions_completed")
_MONTHS = {name.casefold(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.casefold(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_NAME = re.compile(r"principal_offence_category_(?P<month>[a-z]+)(?:_(?P<year>\d{4}))?$",
                   re.IGNORECASE)
_YEAR_FOLDER = re.compile(r"^(19|20)\d{2}$")
_PERCENT_TOLERANCE = 0.051
"""Published percentages are rounded to 0.1: a true difference exceeds half of that."""


def _header(cells: list[str]) -> bool:
    return (len(cells) == len(EXPECTED) + 2 and cells[0].strip() == ""
            and tuple(c.strip() for c in cells[1:-1]) == EXPECTED
            and cells[-1].strip() in ADMIN_PERCENT)


def detect(path: Path, data: bytes) -> bool:
    """The header as CPS publishes it: an empty first cell, then the 50 outcome columns."""
    try:
        cells = next(csv.reader([first_line(data)]))
    except (csv.Error, StopIteration):
        return False
    return _header(cells)


def period_of(path: Path) -> tuple[date, date]:
    """The month a file covers, from its name (and, for month-only names, its folder)."""
    match = _NAME.fullmatch(path.stem.strip())
    month = _MONTHS.get(match["month"].casefold()) if match else None
    if match is None or month is None:
        raise FileRefused(
            path.name, "the period is only in the file name, and this name gives none: name "
            "it as CPS does, e.g. principal_offence_category_january_2014.csv")
    year_text = match["year"] or next(
        (part for part in reversed(path.parts[:-1]) if _YEAR_FOLDER.match(part)), None)
    if year_text is None:
        raise FileRefused(
            path.name, f"the file name gives the month ({match['month']}) but no year, and "
            "no folder it is in is a year: CPS's 2017-18 files are named by month only; "
            f"rename it principal_offence_category_{calendar.month_name[month].lower()}_"
            "<year>.csv or put it in a folder named for the year")
    year = int(year_text)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    start, end = period_of(path)
    frame, _ = read_csv_strings(path.name, data)
    if not _header(frame.columns):
        raise FileRefused(path.name, "not the CPS case outcomes layout: expected an unnamed "
                          f"area column then {', '.join(EXPECTED[:2])}, …; found "
                          f"{', '.join(frame.columns[:3])}, …")
    frame = frame.rename({frame.columns[0]: "area", frame.columns[-1]: "Percentage of "
                          "Admin Finalised Unsuccessful"})
    frame = frame.with_row_index("row", offset=2).with_columns(
        pl.col("row").cast(pl.Int64), pl.col("area").fill_null("").str.strip_chars())
    rows_in = frame.height
    long, rejects = _long(frame)
    long, bad = _check_percentages(long)
    rejects += bad
    national = long.filter(pl.col("area") == NATIONAL)
    areas, bad = _resolve(long.filter(pl.col("area") != NATIONAL), context)
    rejects += bad
    measures = _measures(areas)
    month = f"{calendar.month_name[start.month]} {start.year}"
    vintage = f"CPS case outcomes by principal offence category, {month} ({path.name})"
    frame_out = measures.with_columns(
        pl.lit(start).alias("period_start"), pl.lit(end).alias("period_end"),
        *(pl.lit("").alias(b) for b in BREAKDOWNS if b != "offence_group"),
        pl.lit(SPEC.name).alias("source"), pl.lit(vintage).alias("vintage"),
    ).select("measure", "area_code", "period_start", "period_end", *BREAKDOWNS, "value",
             "value_note", "source", "vintage")
    notes = [f"{month} (from the file name); {areas['area_code'].n_unique()} CPS Areas "
             "loaded as their LCJBs", _national_check(national, areas)]
    return ReadResult(table="observations", frame=frame_out,
                      rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
                      rows_in=rows_in, source=SPEC.name, vintage=vintage, notes=notes)


def _long(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """One row per (file row, offence group, outcome) with the count and its percentage."""
    parts = []
    for header, group in (*GROUPS, ("Admin Finalised", ADMIN_FINALISED)):
        for outcome in OUTCOMES:
            count = f"Number of {header} {outcome}"
            if count not in frame.columns:  # admin finalised: no convictions column
                continue
            parts.append(frame.select(
                "row", "area", pl.lit(group).alias("offence_group"),
                pl.lit(outcome).alias("outcome"), pl.lit(count).alias("column"),
                pl.col(count).alias("count_text"),
                pl.col(f"Percentage of {header} {outcome}").alias("percent_text"),
            ))
    long = pl.concat(parts)
    values, notes, errors = parse_numbers(long["count_text"], markers=SPEC.suppression_markers)
    long = long.with_columns(values.alias("value"), notes.alias("value_note"),
                             errors.alias("_error"))
    empty = pl.col("count_text").fill_null("").str.strip_chars() == ""
    whole = (pl.col("value") == pl.col("value").round()).fill_null(True)
    bad = (pl.col("_error") | empty | (pl.col("value") < 0).fill_null(False) | ~whole)
    rejects = [
        Reject(r["row"], r["column"], r["count_text"],
               "not a count (a whole number such as 9,087)" if (r["count_text"] or "").strip()
               else "the count is empty")
        for r in long.filter(bad).iter_rows(named=True)
    ]
    bad_rows = set(long.filter(bad)["row"].to_list())
    return long.filter(~pl.col("row").is_in(bad_rows)).drop("_error"), rejects


def _check_percentages(long: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """The published percentage of each count must match the counts (0/0 shows "-" or 0)."""
    total = pl.col("value").sum().over("row", "offence_group")
    long = long.with_columns(total.alias("_total"))
    text = pl.col("percent_text").fill_null("").str.strip_chars()
    published = text.str.replace_all(r"[%,\s]", "").cast(pl.Float64, strict=False)
    computed = 100 * pl.col("value") / pl.col("_total")
    ok = (pl.when(pl.col("_total") == 0).then(text.is_in(["-", "0", "0%", "0.0%", ""]))
          .otherwise((published - computed).abs() <= _PERCENT_TOLERANCE))
    long = long.with_columns(ok.fill_null(True).alias("_ok"))  # a withheld count: no check
    bad = long.filter(~pl.col("_ok")).unique("row", keep="first", maintain_order=True)
    rejects = [
        Reject(r["row"], r["column"].replace("Number of", "Percentage of"), r["percent_text"],
               f"the published percentage does not match the counts ({r['value']:,.0f} of "
               f"{r['_total']:,.0f} is {100 * r['value'] / r['_total']:.1f}%); the row is "
               "not loaded")
        for r in bad.iter_rows(named=True) if r["_total"]
    ]
    rejects += [Reject(r["row"], r["column"].replace("Number of", "Percentage of"),
                       r["percent_text"], "a percentage where the category has no outcomes")
                for r in bad.iter_rows(named=True) if not r["_total"]]
    bad_rows = set(bad["row"].to_list())
    return long.filter(~pl.col("row").is_in(bad_rows)).drop("_total", "_ok"), rejects


def _resolve(long: pl.DataFrame, context: ReadContext) -> tuple[pl.DataFrame, list[Reject]]:
    """CPS Area name → its LCJB ("Cumbria" → CJA03); the same LCJB twice is a reject."""
    codes = {name: (context.resolve_area(f"{name} LCJB") if name else None)
             for name in long["area"].unique().to_list()}
    long = long.with_columns(
        pl.col("area").replace_strict(codes, default=None, return_dtype=pl.String)
        .alias("area_code"))
    rows = long.select("row", "area", "area_code").unique().sort("row")
    rejects, seen = [], {}
    for r in rows.iter_rows(named=True):
        if r["area_code"] is None:
            why = "the area name is empty" if not r["area"] else (
                "unknown CPS Area: not a police force area or LCJB name cjsdash knows")
            rejects.append(Reject(r["row"], "(area, unnamed first column)", r["area"], why))
        elif r["area_code"] in seen:
            rejects.append(Reject(r["row"], "(area, unnamed first column)", r["area"],
                                  f"the same area as row {seen[r['area_code']]}"))
        else:
            seen[r["area_code"]] = r["row"]
    keep = set(seen.values())
    return long.filter(pl.col("row").is_in(keep)), rejects


def _measures(areas: pl.DataFrame) -> pl.DataFrame:
    """The three measures per area, by offence group and in total ('')."""
    keys = ["area_code", "offence_group"]
    frames = []
    for measure, outcomes in (("cps_convictions", ["Convictions"]),
                              ("cps_unsuccessful", ["Unsuccessful"]),
                              ("cps_prosecutions_completed", list(OUTCOMES))):
        chosen = areas.filter(pl.col("outcome").is_in(outcomes))
        by_group = _sum(chosen, keys)
        if measure == "cps_convictions":  # admin finalised: no conviction is possible
            admin = areas.filter(pl.col("offence_group") == ADMIN_FINALISED).select(
                "area_code", "offence_group").unique().with_columns(
                pl.lit(0.0).alias("value"), pl.lit(None, pl.String).alias("value_note"))
            by_group = pl.concat([by_group, admin])
        total = _sum(chosen, ["area_code"]).with_columns(pl.lit("").alias("offence_group"))
        frames += [by_group.with_columns(pl.lit(measure).alias("measure")),
                   total.select(by_group.columns).with_columns(pl.lit(measure).alias("measure"))]
    return pl.concat(frames)


def _sum(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sum counts; a withheld ("-") count withholds the sum, keeping the publisher's note."""
    return frame.group_by(keys, maintain_order=True).agg(
        pl.when(pl.col("value").is_null().any()).then(None).otherwise(pl.col("value").sum())
        .alias("value"),
        pl.col("value_note").drop_nulls().unique().sort().str.join("; ").alias("value_note"),
    ).with_columns(pl.col("value_note").replace("", None))


def _national_check(national: pl.DataFrame, areas: pl.DataFrame) -> str:
    """Compare CPS's National row with the sum of the areas loaded (it is not loaded)."""
    if national.height == 0:
        return "no National row to check the areas against"
    key = ["offence_group", "outcome"]
    published = national.group_by(key).agg(pl.col("value").sum().alias("national"))
    summed = areas.group_by(key).agg(pl.col("value").sum().alias("areas"))
    joined = published.join(summed, on=key, how="full", coalesce=True).fill_null(0)
    differ = joined.filter(pl.col("national") != pl.col("areas")).sort(key)
    if differ.height == 0:
        return ("the National row equals the sum of the areas in every category (not loaded: "
                "England and Wales is the rollup of the LCJBs)")
    first = differ.row(0, named=True)
    return (f"the National row differs from the sum of the areas loaded in {differ.height} "
            f"categories (first: {first['offence_group']} {first['outcome'].lower()}, National "
            f"{first['national']:,.0f}, areas {first['areas']:,.0f}); England and Wales is the "
            "rollup of the LCJBs loaded")


LOADER = Loader(spec=SPEC, detect=detect, read=read)
