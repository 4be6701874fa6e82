"""Census 2021 ethnic group by sex, the ONS wide table (one column per group), by local authority.

The layout of ONS's "Ethnic group by sex" Census 2021 tables as analysts save them: a row per
geography and sex, the 19 TS021 groups as columns, counts rounded to the nearest 5 and blank
where ONS suppressed a small cell, often with a byte-order mark::

    Geography Code,Geography Name,Sex,"Asian, Asian British or Asian Welsh: Bangladeshi",…,
    Other ethnic group: Any other ethnic group

Both sexes of a district are summed (a district needs exactly one Female and one Male row), the
19 groups are summed into the 5 broad groups and everyone (''), and districts are rolled up to
police force areas with :func:`ingest.census_populations.roll_up_to_forces`: a force loads only
when all its districts are present. Regions (E12), countries (E92, W92) and England and Wales
(K04) are not loaded (their populations are the sums of their forces).

A blank cell is read as 0 and counted in the notes: it stands for a suppressed small count, so
a force's population may be short by a few people per blank cell. Rounding to 5 moves each cell
by at most 2, which the notes also say. Rows go to ``core.populations`` with year 2021 and
source "Census 2021", as the Nomis loader's do, so either file gives the same denominators.
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
    CATEGORIES,
    GROUPS,
    merged_districts,
    per_geography,
    populations,
    roll_up_to_forces,
)

KEYS: tuple[str, ...] = ("Geography Code", "Geography Name", "Sex")
SEXES = ("Female", "Male")
SPEC = SourceSpec(
    name="census2021_ons_ethnicity_by_sex",
    title="Census 2021: ethnic group by sex (ONS wide table), rolled up to police force areas",
    publisher="Office for National Statistics",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=(*KEYS, *CATEGORIES),
)
POPULATION_SOURCE = "Census 2021"
VINTAGE = ("Census 2021 ethnic group by sex (ONS), counts rounded to 5 with small cells "
           "suppressed; local authorities rolled up with the ONS LAD-CSP-PFA lookup")


def _header_problem(columns: tuple[str, ...]) -> str | None:
    return columns_problem(columns, (*KEYS, *CATEGORIES), (),
                           "the ONS Census 2021 ethnic group by sex table")


def detect(path: Path, data: bytes) -> bool:
    return _header_problem(header_fields(data)) is None


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    frame, notes = read_rows(path.name, data, _header_problem)
    rows_in = frame.height
    rejects: list[Reject] = []
    wrong_sex = ~pl.col("Sex").is_in(SEXES)
    rejects += row_rejects(frame, wrong_sex, "Sex", "unknown sex (expected Female or Male)")
    frame = frame.filter(~wrong_sex)
    columns = list(CATEGORIES)
    frame, bad = parse_counts(frame, columns, ())
    rejects += bad
    blanks = frame.select(pl.sum_horizontal(pl.col(f"{c}__v").is_null() for c in columns)
                          ).to_series().sum()
    if blanks:
        notes.append(f"{blanks:,} blank (suppressed) cells read as 0: a force's population may "
                     "be short by a few people per blank cell")
    notes.append("counts are rounded to 5 by ONS (each cell within 2 of the true count)")
    frame, bad = _both_sexes(frame)
    rejects += bad
    merged = merged_districts(frame, "Geography Code", "Geography Name")
    summed = frame.group_by("Geography Code").agg(
        pl.col("row").min(), *[pl.col(f"{c}__v").fill_null(0).sum().alias(c) for c in columns])
    detail = summed.unpivot(index=["row", "Geography Code"], on=columns,
                            variable_name="category", value_name="value").with_columns(
        pl.col("category").replace_strict(CATEGORIES).alias("group"))
    wide, bad = per_geography(detail, "Geography Code", "category", "value")
    rejects += bad
    out, bad, more = roll_up_to_forces(wide, "Geography Code",
                                       {g: f"pop_{g or 'all'}" for g in GROUPS}, context,
                                       merged)
    rejects += bad
    notes += more
    notes.append("Female and Male summed: populations are for all people")
    return ReadResult(
        table="populations", frame=populations(out, 2021, POPULATION_SOURCE, VINTAGE),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=rows_in, source=SPEC.name, vintage=VINTAGE, notes=notes,
    )


def _both_sexes(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """A geography is loaded only with exactly one Female and one Male row."""
    counted = frame.with_columns(
        pl.len().over("Geography Code").alias("_n"),
        pl.col("Sex").n_unique().over("Geography Code").alias("_sexes"))
    bad = (pl.col("_n") != len(SEXES)) | (pl.col("_sexes") != len(SEXES))
    rejects = row_rejects(
        counted, bad, "Sex",
        pl.lit("this geography needs exactly one Female and one Male row (it has ")
        + pl.col("_n").cast(pl.String) + pl.lit("): its total cannot be built"))
    return counted.filter(~bad).drop("_n", "_sexes"), rejects


LOADER = Loader(spec=SPEC, detect=detect, read=read)
