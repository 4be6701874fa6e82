"""Census 2021 ethnic group (TS021) from the Nomis bulk download, by local authority.

Nomis's bulk file for TS021 (``census2021-ts021.zip``, member ``census2021-ts021-ltla.csv`` and
its siblings for other geographies) is wide: one row per geography, a column per category, the
total and the five headline groups beside the 19 groups::

    date,geography,geography code,Ethnic group: Total: All usual residents,
    "Ethnic group: Asian, Asian British or Asian Welsh",
    "Ethnic group: Asian, Asian British or Asian Welsh: Bangladeshi",…

The 19 groups are summed into the 5 broad groups and everyone (''); the published total and
headline groups are checked against those sums (a geography whose published total differs is
rejected, not loaded twice). Districts are rolled up to police force areas with
:func:`ingest.census_populations.roll_up_to_forces` (a force loads only when all its districts
are present); MSOA, LSOA or output-area members of the same ZIP are refused by that rollup's
codes. Rows go to ``core.populations`` with year 2021 and source "Census 2021".

The column names are those that public analysis code reads from these bulk files (no real file
was available to copy; see tests/data/ons/NOTICE.md), so the test file is built from that
schema with real Census 2021 counts.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
    columns_problem,
    header_fields,
    parse_counts,
    read_rows,
    row_rejects,
)
from ingest.base import Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.census_populations import (
    AGGREGATES,
    CATEGORIES,
    GROUPS,
    check_aggregates,
    merged_districts,
    per_geography,
    populations,
    roll_up_to_forces,
)

PREFIX = "Ethnic group: "
KEYS: tuple[str, ...] = ("date", "geography", "geography code")
DETAIL = {f"{PREFIX}{c}": c for c in CATEGORIES}
TOTALS = {f"{PREFIX}{c}": g for c, g in AGGREGATES.items()}
SPEC = SourceSpec(
    name="census2021_nomis_bulk_ethnicity",
    title="Census 2021: ethnic group (TS021) Nomis bulk file, rolled up to police force areas",
    publisher="Office for National Statistics (Nomis)",
    licence="Open Government Licence v3.0",
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=(*KEYS, *DETAIL),
    optional_columns=tuple(TOTALS),
)
POPULATION_SOURCE = "Census 2021"
VINTAGE = "Census 2021 TS021 ethnic group (released 2022-11-29), Nomis bulk download"


def _header_problem(columns: tuple[str, ...]) -> str | None:
    return columns_problem(columns, (*KEYS, *DETAIL), TOTALS,
                           "a Nomis Census 2021 TS021 bulk file")


def detect(path: Path, data: bytes) -> bool:
    return _header_problem(header_fields(data)) is None


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    frame, notes = read_rows(path.name, data, _header_problem)
    rows_in = frame.height
    rejects: list[Reject] = []
    wrong = pl.col("date") != "2021"
    rejects += row_rejects(frame, wrong, "date", "not a Census 2021 row (date is not 2021)")
    frame = frame.filter(~wrong)
    totals = [c for c in TOTALS if c in frame.columns]
    columns = [*DETAIL, *totals]
    frame, bad = parse_counts(frame, columns, ())
    rejects += bad
    missing = pl.any_horizontal([pl.col(f"{c}__v").is_null() for c in columns])
    rejects += row_rejects(frame, missing, "geography code",
                           "a count is missing: the geography cannot be added up")
    frame = frame.filter(~missing)
    repeat = pl.col("row") != pl.col("row").min().over("geography code")
    rejects += row_rejects(frame, repeat, "geography code",
                           "duplicate: this geography code is in the file more than once")
    frame = frame.filter(~repeat)
    code = "geography code"
    detail = frame.unpivot(index=["row", code], on=[f"{c}__v" for c in DETAIL],
                           variable_name="column", value_name="value").with_columns(
        pl.col("column").str.strip_suffix("__v").replace_strict(DETAIL).alias("category")
    ).with_columns(pl.col("category").replace_strict(CATEGORIES).alias("group"))
    wide, bad = per_geography(detail, code, "category", "value")
    rejects += bad
    if totals:
        published = frame.unpivot(index=["row", code], on=[f"{c}__v" for c in totals],
                                  variable_name="column", value_name="value").with_columns(
            pl.col("column").str.strip_suffix("__v").alias("published total")
        ).with_columns(pl.col("published total").replace_strict(TOTALS).alias("aggregate"))
        wide, bad = check_aggregates(wide, published, code, "published total", "value")
        rejects += bad
    out, bad, more = roll_up_to_forces(wide, code, {g: f"pop_{g or 'all'}" for g in GROUPS},
                                       context, merged_districts(frame, code, "geography"))
    rejects += bad
    notes += more
    return ReadResult(
        table="populations", frame=populations(out, 2021, POPULATION_SOURCE, VINTAGE),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=rows_in, source=SPEC.name, vintage=VINTAGE, notes=notes,
    )


LOADER = Loader(spec=SPEC, detect=detect, read=read)
