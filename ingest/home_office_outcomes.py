"""Home Office crime outcomes open data tables: outcomes by force, quarter and offence.

The Home Office publishes "Police recorded crime and outcomes open data tables" (ODS, one row
per force × financial quarter × offence code × outcome type). Three layouts are read, matched
on the exact set of column names (case and punctuation aside):

* **published**: ``Financial Year, Financial Quarter, Force Name, Offence Description,
  Offence Group, Offence Subgroup, Offence Code, Outcome Description, Outcome Group,
  Outcome Type, Force outcomes for offences recorded in quarter, Force outcomes recorded in
  quarter`` (the ODS sheet saved as CSV);
* **snake_case copy**: ``financial_year, financial_quarter, force_name, …, offence_code_expired,
  …, offences, force_outcomes_recorded_in_quarter`` — a third party's ``janitor::clean_names``
  copy of the 2017/18 sheet in which "Force outcomes for offences recorded in quarter" became
  ``offences``; R's ``NA`` marks empty cells.

* **published with subcodes**: the published columns plus ``Subcode Description, Offence
  Subcode`` (the drugs-subcode outcomes table: each offence code split by subcode, so its rows
  sum to the offence's). **Built from the schema only**: no real file of this layout was
  available (SCHEMA_EVIDENCE.md, 8); the test file ``prc-outcomes-subcodes_FIXTURE.csv`` is
  made from the published columns.

A CSV may be gzip-compressed (``.csv.gz``; recognised by its magic bytes, decompressed in
memory); the ODS (or XLSX) as published is read too: its data sheet is the sheet whose first
row is one of these headers (``Outcomes_open_data__2017-18`` in the March 2018 tables).

**Which count.** Figures are the column *Force outcomes recorded in quarter*
(``force_outcomes_recorded_in_quarter``): every outcome the force assigned during the quarter,
whatever quarter the crime was recorded in. The registry defines the charge rate and its
siblings as outcomes *assigned in the period* over all outcomes *assigned in the period*, and
this column is exactly that, final once the quarter is published. The other column, *Force
outcomes for offences recorded in quarter*, follows the cohort of crimes recorded in the
quarter: it includes type 0 "not yet assigned an outcome" and changes with every later
refresh, so it is not used. Outcome type 0 has no figure in this column (blank or ``NA``).

Measures, per force and financial quarter, in total (``offence_group`` '') and by offence
group (the published "Offence Group"):

==================================  ===============================================
measure                             outcome types
==================================  ===============================================
crime_outcomes_assigned             1-22 (every outcome; 0 "not yet assigned" is not one)
crime_outcomes_charged              1
crime_outcomes_victim_withdrawal    14, 16
crime_outcomes_no_suspect           18
crime_outcomes_oocr                 2, 3, 6, 7, 8, 22
==================================  ===============================================

A few published counts are negative (outcomes re-classified after an earlier return); they
are summed as published and counted in the read notes. British Transport Police loads as
area ``BTP``, outside the England and Wales totals.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cjsdash.core.periods import label_period
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.home_office_files import (
    read_table,
    table_key,
)
from ingest.home_office_tables import (
    observations,
    parse_counts,
    resolve_areas,
    resolve_periods,
    row_rejects,
    sort_rejects,
    sum_counts,
)
from ingest.textio import normalise_header

SPEC = SourceSpec(
    name="home_office_crime_outcomes",
    title="Home Office police recorded crime and outcomes open data tables (crime outcomes)",
    publisher="Home Office",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=(
        "Financial Year", "Financial Quarter", "Force Name", "Offence Group", "Outcome Type",
        "Force outcomes recorded in quarter",
    ),
    optional_columns=(
        "Offence Description", "Offence Subgroup", "Offence Code", "Outcome Description",
        "Outcome Group", "Force outcomes for offences recorded in quarter",
    ),
    file_types=(".csv", ".gz", ".ods", ".xlsx"),
)

PUBLISHED_COLUMNS = (
    "Financial Year", "Financial Quarter", "Force Name", "Offence Description", "Offence Group",
    "Offence Subgroup", "Offence Code", "Outcome Description", "Outcome Group", "Outcome Type",
    "Force outcomes for offences recorded in quarter", "Force outcomes recorded in quarter",
)
SNAKE_COLUMNS = (
    "financial_year", "financial_quarter", "force_name", "offence_description", "offence_group",
    "offence_subgroup", "offence_code", "offence_code_expired", "outcome_description",
    "outcome_group", "outcome_type", "offences", "force_outcomes_recorded_in_quarter",
)
SUBCODE_COLUMNS = (*PUBLISHED_COLUMNS, "Subcode Description", "Offence Subcode")
LAYOUTS: dict[frozenset[str], str] = {
    frozenset(normalise_header(c) for c in PUBLISHED_COLUMNS): "published",
    frozenset(normalise_header(c) for c in SNAKE_COLUMNS): "snake_case copy",
    frozenset(normalise_header(c) for c in SUBCODE_COLUMNS): "published with subcodes",
}
COUNT = "force_outcomes_recorded_in_quarter"

MEASURE_TYPES: dict[str, tuple[int, ...]] = {
    "crime_outcomes_assigned": tuple(range(1, 23)),
    "crime_outcomes_charged": (1,),
    "crime_outcomes_victim_withdrawal": (14, 16),
    "crime_outcomes_no_suspect": (18,),
    "crime_outcomes_oocr": (2, 3, 6, 7, 8, 22),
}
NOT_YET_ASSIGNED = 0
NA_VALUES = ("", "NA")
"""Empty cells: blank in the published sheet, ``NA`` in the R-written copy."""

# --- this loader ------------------------------------------------------------------------------

def detect(path: Path, data: bytes) -> bool:
    """Exactly one layout's column names (CSV, gzip or plain, or a sheet of a workbook)."""
    return table_key(path, data, _known) is not None


def _known(key: frozenset[str]) -> bool:
    return key in LAYOUTS


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    """Validate every row; sum outcome types into the five measures per force and quarter."""
    frame, rejects, sheet = read_table(path, data, _known)
    layout = LAYOUTS.get(frozenset(frame.columns) - {"row"})
    if layout is None:
        raise FileRefused(
            path.name,
            "not a Home Office crime outcomes open data table: expected the columns "
            f"{', '.join(PUBLISHED_COLUMNS)}; found {', '.join(frame.columns[1:]) or 'none'}",
        )
    rows_in = frame.height + len(rejects)
    frame = frame.with_columns(pl.all().exclude("row").str.strip_chars())
    empty = pl.all_horizontal(pl.all().exclude("row").is_in(NA_VALUES))
    rejects += row_rejects(frame, empty, None, "an empty row (every field is blank or NA)")
    frame = frame.filter(~empty)

    frame, bad = resolve_areas(frame, "force_name", context)
    rejects += bad
    label = pl.col("financial_year") + pl.lit(" Q") + pl.col("financial_quarter")
    frame, bad = resolve_periods(frame, label, "financial_quarter", "fquarter")
    rejects += bad
    frame, bad = _outcome_types(frame)
    rejects += bad
    frame, bad = _counts(frame)
    rejects += bad

    out, negative = _measures(frame)
    notes = [f"read the {layout} layout" + (f" (sheet '{sheet}')" if sheet else "")]
    if negative:
        rows = "1 row has" if negative == 1 else f"{negative:,} rows have"
        notes.append(f"{rows} a negative count (outcomes re-classified after an earlier "
                     "return); summed as published")
    vintage = _vintage(frame, layout)
    return ReadResult(
        table="observations", frame=observations(out, SPEC.name, vintage),
        rejects=sort_rejects(rejects), rows_in=rows_in, source=SPEC.name, vintage=vintage,
        notes=notes,
    )


def _outcome_types(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    frame = frame.with_columns(pl.col("outcome_type").cast(pl.Int64, strict=False).alias("type"))
    bad = ~pl.col("type").is_between(0, 22).fill_null(False)
    rejects = row_rejects(frame, bad, "outcome_type", "not an outcome type 0-22")
    frame = frame.filter(~bad)
    missing_group = pl.col("offence_group").is_in(NA_VALUES) & (pl.col("type") != NOT_YET_ASSIGNED)
    rejects += row_rejects(frame, missing_group, "offence_group", "the offence group is empty")
    return frame.filter(~missing_group), rejects


def _counts(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """Type 0 has no count in this column by design and is dropped; types 1-22 need one."""
    frame = frame.filter(pl.col("type") != NOT_YET_ASSIGNED).with_columns(
        pl.when(pl.col(COUNT) == "NA").then(pl.lit("")).otherwise(pl.col(COUNT)).alias(COUNT)
    )
    frame, rejects = parse_counts(frame, COUNT, allow_negative=True)
    missing = pl.col("value").is_null() & pl.col("note").is_null()
    rejects += row_rejects(frame, missing, COUNT, "missing count for an assigned outcome")
    return frame.filter(~missing), rejects


def _measures(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    keys = ["measure", "area_code", "period_start", "period_end"]
    parts = [
        frame.filter(pl.col("type").is_in(types)).with_columns(pl.lit(m).alias("measure"))
        for m, types in MEASURE_TYPES.items()
    ]
    long = pl.concat(parts).select(*keys, "offence_group", "value", "note")
    by_group = sum_counts(long, [*keys, "offence_group"])
    total = sum_counts(long, keys).with_columns(pl.lit("").alias("offence_group"))
    out = pl.concat([total, by_group.select(total.columns)])
    negative = frame.filter((pl.col("value") < 0).fill_null(False)).height
    return out, negative


def _vintage(frame: pl.DataFrame, layout: str) -> str:
    if frame.height == 0:
        return "Home Office crime outcomes open data tables"
    last = frame.select(pl.col("period_start").max(), pl.col("period_end").max()).row(0)
    text = f"Home Office crime outcomes open data tables, data to {label_period(*last, 'fquarter')}"
    return text + (" (third-party snake_case copy)" if layout != "published" else "")


LOADER = Loader(spec=SPEC, detect=detect, read=read)
