"""Census 2011 ethnic group by local authority (Nomis), rolled up to police force areas.

The Nomis download (QS201EW-style: 18 groups and the 5 broad groups, one row per local
authority district, ``Ethnic Group: <group>; measures: Value`` columns) becomes
``core.populations`` rows for the 43 police force areas: all people ('') and White, Mixed,
Asian, Black and Other, year 2011, source "Census 2011 (LA rollup)".

Districts are rolled up with the ONS "LAD → CSP → PFA (December 2016)" lookup shipped in
``ingest/reference/lad16_csp16_pfa16.csv``. Codes not in it (2011-era codes retired before 2016,
and the districts created since) are read through ``ingest/reference/lad_code_changes.csv``,
which lists the 2016 districts each replaces. A force is loaded only when its districts are all
present exactly once; a force with a missing, rejected or doubly counted district is rejected
with the reason, never loaded short. Regions, countries and England and Wales are not loaded
(their populations are the sums of their forces, built at query time).

The rollup is :func:`ingest.census_populations.roll_up_to_forces`, shared with the 2021 loaders.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.aggregate_tables import header_fields, parse_counts, read_exact_csv, row_rejects
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.census_populations import populations, roll_up_to_forces

_GROUP_NAMES = (
    "All categories: Ethnic group", "White", "White: English/Welsh/Scottish/Northern Irish/British",
    "White: Irish", "White: Gypsy or Irish Traveller", "White: Other White", "Mixed",
    "Mixed/multiple ethnic group: White and Black Caribbean",
    "Mixed/multiple ethnic group: White and Black African",
    "Mixed/multiple ethnic group: White and Asian", "Mixed/multiple ethnic group: Other Mixed",
    "Asian", "Asian/Asian British: Indian", "Asian/Asian British: Pakistani",
    "Asian/Asian British: Bangladeshi", "Asian/Asian British: Chinese",
    "Asian/Asian British: Other Asian", "Black",
    "Black/African/Caribbean/Black British: African",
    "Black/African/Caribbean/Black British: Caribbean",
    "Black/African/Caribbean/Black British: Other Black", "Other", "Other ethnic group: Arab",
    "Other ethnic group: Any other ethnic group",
)
HEADER: tuple[str, ...] = (
    "date", "geography", "geography code", "Rural Urban",
    *(f"Ethnic Group: {g}; measures: Value" for g in _GROUP_NAMES),
)
GROUPS: dict[str, str] = {
    "": "Ethnic Group: All categories: Ethnic group; measures: Value",
    "White": "Ethnic Group: White; measures: Value",
    "Mixed": "Ethnic Group: Mixed; measures: Value",
    "Asian": "Ethnic Group: Asian; measures: Value",
    "Black": "Ethnic Group: Black; measures: Value",
    "Other": "Ethnic Group: Other; measures: Value",
}
"""ethnicity ('' = everyone) → the Nomis column that counts it."""

SPEC = SourceSpec(
    name="census2011_la_ethnicity",
    title="Census 2011: ethnic group by local authority (Nomis), rolled up to police force areas",
    publisher="Office for National Statistics",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=HEADER,
)
POPULATION_SOURCE = "Census 2011 (LA rollup)"
VINTAGE = ("Census 2011 ethnic group (released 2012-12-11), local authorities rolled up with the "
           "ONS LAD-CSP-PFA lookup (December 2016)")
def detect(path: Path, data: bytes) -> bool:
    return header_fields(data) == HEADER


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    raw, encoding = read_exact_csv(path.name, data, HEADER,
                                   "Nomis Census 2011 ethnic group by local authority")
    if raw.height == 0:
        raise FileRefused(path.name, "the file has a header but no data rows")
    frame = raw.with_row_index("row", offset=2).with_columns(pl.col(pl.String).str.strip_chars())
    notes = [f"read as {encoding}"] if encoding != "UTF-8" else []
    rejects: list[Reject] = []
    part = pl.col("Rural Urban").str.to_lowercase() != "total"
    if (skipped := frame.filter(part).height):
        notes.append(f"{skipped:,} urban/rural part rows not loaded (the 'Total' rows are)")
    frame = frame.filter(~part)
    wrong_date = pl.col("date") != "2011"
    rejects += row_rejects(frame, wrong_date, "date", "not a Census 2011 row (date is not 2011)")
    frame = frame.filter(~wrong_date)
    columns = list(GROUPS.values())
    frame, bad = parse_counts(frame, columns, ())
    rejects += bad
    missing = pl.any_horizontal([pl.col(f"{c}__v").is_null() for c in columns])
    rejects += row_rejects(frame, missing, "geography code",
                           "a count is missing: the district cannot be rolled up")
    frame = frame.filter(~missing)
    groups = sum(pl.col(f"{GROUPS[g]}__v") for g in ("White", "Mixed", "Asian", "Black", "Other"))
    total = pl.col(f"{GROUPS['']}__v")
    off = groups != total
    rejects += row_rejects(frame, off, GROUPS[""],
                           "the five ethnic groups do not add up to All categories")
    frame = frame.filter(~off)
    wide = frame.select("row", "geography code",
                        *[pl.col(f"{c}__v").alias(c) for c in columns])
    out, bad, more = roll_up_to_forces(wide, "geography code", GROUPS, context)
    rejects += bad
    notes += more
    return ReadResult(
        table="populations", frame=populations(out, 2011, POPULATION_SOURCE, VINTAGE),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=raw.height, source=SPEC.name, vintage=VINTAGE, notes=notes,
    )


LOADER = Loader(spec=SPEC, detect=detect, read=read)
