"""Census 2021 ethnic group (TS021) from the Nomis API CSV, rolled up to police force areas.

Nomis (dataset NM_2041_1) answers ``…/NM_2041_1.data.csv?…`` with one row per geography and
category, in its standard columns (``GEOGRAPHY_CODE``, ``C2021_ETH_20``, ``C2021_ETH_20_NAME``,
``C2021_ETH_20_CODE``, ``MEASURES_NAME``, ``OBS_VALUE`` … or the subset chosen with
``select=``). The 19 detailed groups are summed into the 5 broad groups cjsdash uses (White,
Mixed, Asian, Black, Other; the mapping of BlackThrive/searchlight's ``nomis-ethnicity.csv``)
and everyone (''); the aggregate categories Nomis can add (the total and the five headline
groups) are checked against those sums, not loaded twice.

Local authority districts (2021 or 2023 codes) are rolled up to police force areas exactly as
for Census 2011 (:func:`ingest.census_populations.roll_up_to_forces`), so a force is
loaded only when all its districts are present. Rows go to ``core.populations`` with year 2021
and source "Census 2021".
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
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
    per_geography,
    populations,
    roll_up_to_forces,
)

NOMIS_COLUMNS: tuple[str, ...] = (
    "DATE", "DATE_NAME", "DATE_CODE", "DATE_TYPE", "DATE_TYPECODE", "DATE_SORTORDER",
    "GEOGRAPHY", "GEOGRAPHY_NAME", "GEOGRAPHY_CODE", "GEOGRAPHY_TYPE", "GEOGRAPHY_TYPECODE",
    "GEOGRAPHY_SORTORDER", "C2021_ETH_20", "C2021_ETH_20_NAME", "C2021_ETH_20_CODE",
    "C2021_ETH_20_TYPE", "C2021_ETH_20_TYPECODE", "C2021_ETH_20_SORTORDER", "MEASURES",
    "MEASURES_NAME", "OBS_VALUE", "OBS_STATUS", "OBS_STATUS_NAME", "OBS_CONF", "OBS_CONF_NAME",
    "URN", "RECORD_OFFSET", "RECORD_COUNT",
)
"""Every column Nomis writes for NM_2041_1 (the default output, in order)."""
REQUIRED = ("GEOGRAPHY_CODE", "C2021_ETH_20_NAME", "OBS_VALUE")
SPEC = SourceSpec(
    name="census2021_nomis_ethnicity",
    title="Census 2021: ethnic group (TS021) from the Nomis API, rolled up to police force areas",
    publisher="Office for National Statistics (Nomis)",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=REQUIRED,
    optional_columns=tuple(c for c in NOMIS_COLUMNS if c not in REQUIRED),
)
POPULATION_SOURCE = "Census 2021"
VINTAGE = "Census 2021 TS021 ethnic group (released 2022-11-29), via Nomis NM_2041_1"



def _header_ok(columns: tuple[str, ...]) -> bool:
    return set(REQUIRED) <= set(columns) and all(c in NOMIS_COLUMNS for c in columns)


def _header_problem(columns: tuple[str, ...]) -> str | None:
    if _header_ok(columns):
        return None
    missing = [c for c in REQUIRED if c not in columns]
    extra = [c for c in columns if c not in NOMIS_COLUMNS]
    return "not a Nomis Census 2021 TS021 (NM_2041_1) CSV: " + "; ".join(
        ([f"missing {', '.join(missing)}"] if missing else [])
        + ([f"unexpected {', '.join(extra)}"] if extra else []))


def detect(path: Path, data: bytes) -> bool:
    return _header_ok(header_fields(data))


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    frame, notes = read_rows(path.name, data, _header_problem)
    rows_in = frame.height
    rejects: list[Reject] = []
    if "MEASURES_NAME" in frame.columns:
        other = pl.col("MEASURES_NAME") != "Value"
        if (n := frame.filter(other).height):
            notes.append(f"{n:,} rows of other measures (percentages) not loaded")
        frame = frame.filter(~other)
    if "DATE_NAME" in frame.columns:
        wrong = pl.col("DATE_NAME") != "2021"
        rejects += row_rejects(frame, wrong, "DATE_NAME", "not a Census 2021 row")
        frame = frame.filter(~wrong)
    frame = frame.with_columns(
        pl.col("C2021_ETH_20_NAME").replace_strict(CATEGORIES, default=None).alias("group"),
        pl.col("C2021_ETH_20_NAME").replace_strict(AGGREGATES, default=None).alias("aggregate"),
    )
    unknown = pl.col("group").is_null() & pl.col("aggregate").is_null()
    rejects += row_rejects(frame, unknown, "C2021_ETH_20_NAME",
                           "unknown ethnic group category (not one of the 19 TS021 groups)")
    frame = frame.filter(~unknown)
    frame, bad = parse_counts(frame, ["OBS_VALUE"], ())
    rejects += bad
    missing = pl.col("OBS_VALUE__v").is_null()
    rejects += row_rejects(frame, missing, "OBS_VALUE", "the count is missing")
    frame = frame.filter(~missing)

    detail = frame.filter(pl.col("group").is_not_null())
    wide, bad = per_geography(detail, "GEOGRAPHY_CODE", "C2021_ETH_20_NAME", "OBS_VALUE__v")
    rejects += bad
    wide, bad = check_aggregates(wide, frame.filter(pl.col("aggregate").is_not_null()),
                                 "GEOGRAPHY_CODE", "OBS_VALUE", "OBS_VALUE__v")
    rejects += bad
    columns_of = {g: f"pop_{g or 'all'}" for g in GROUPS}
    out, bad, more = roll_up_to_forces(wide, "GEOGRAPHY_CODE", columns_of, context)
    rejects += bad
    notes += more
    return ReadResult(
        table="populations", frame=populations(out, 2021, POPULATION_SOURCE, VINTAGE),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=rows_in, source=SPEC.name, vintage=VINTAGE, notes=notes,
    )


LOADER = Loader(spec=SPEC, detect=detect, read=read)
