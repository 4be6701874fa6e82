"""Census 2021 ethnic group from the ONS "create a custom dataset" service, by local authority.

ons.gov.uk/datasets/create (and the TS021 "filter outputs" of ons.gov.uk/datasets) download a
long CSV, one row per geography and category, a code column beside each label::

    "Lower tier local authorities Code","Lower tier local authorities",
    "Ethnic group (20 categories) Code","Ethnic group (20 categories)","Observation"

possibly with more classifications as code/label pairs (``"Sex (2 categories) Code","Sex (2
categories)"``, an age band …), which are summed out. "Ethnic group (20 categories)" is the 19
TS021 groups (codes 1-19) plus code -8 "Does not apply", which is 0 for usual residents and is
not loaded. The 19 groups are summed into the 5 broad groups and everyone (''), and districts
are rolled up to police force areas with :func:`ingest.census_populations.roll_up_to_forces`
(a force loads only with all its districts). Tables cross-classified by sex or age publish
"Cornwall and Isles of Scilly" and "City of London and Westminster" together; the names say so,
and the rollup reads them as such.

The layout was built from the column names that public analysis code reads from these
downloads (no real download was available to copy; see tests/data/ons/NOTICE.md), so the test
file is constructed from that schema. Rows go to ``core.populations`` with year 2021 and
source "Census 2021".
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
    header_fields,
    normalise_label,
    parse_counts,
    read_checked_csv,
    row_rejects,
)
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.census_populations import (
    CATEGORIES,
    GROUPS,
    merged_districts,
    per_geography,
    populations,
    roll_up_to_forces,
)

GEOGRAPHY = "Lower tier local authorities"
ETHNIC = "Ethnic group (20 categories)"
OBSERVATION = "Observation"
DOES_NOT_APPLY = "-8"
CLASSIFICATION = re.compile(r".+ \(\d+ categories\)")
SPEC = SourceSpec(
    name="census2021_ons_custom_ethnicity",
    title="Census 2021: ethnic group (ONS custom dataset CSV), rolled up to police force areas",
    publisher="Office for National Statistics",
    licence="Open Government Licence v3.0",
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=(f"{GEOGRAPHY} Code", GEOGRAPHY, f"{ETHNIC} Code", ETHNIC, OBSERVATION),
)
POPULATION_SOURCE = "Census 2021"
VINTAGE = ("Census 2021 ethnic group (ONS custom dataset), local authorities rolled up with the "
           "ONS LAD-CSP-PFA lookup")


def _columns(header: tuple[str, ...]) -> dict[str, str] | None:
    """Canonical name → the file's spelling (case differs between downloads), or None."""
    by_label = {normalise_label(h): h for h in header}
    if len(by_label) != len(header):
        return None
    found = {c: by_label.get(normalise_label(c)) for c in SPEC.required_columns}
    if None in found.values():
        return None
    return found  # type: ignore[return-value]


def _extra(header: tuple[str, ...], found: dict[str, str]) -> list[str]:
    return [h for h in header if h not in found.values()]


def _header_problem(header: tuple[str, ...]) -> str | None:
    found = _columns(header)
    if found is None:
        missing = [c for c in SPEC.required_columns
                   if normalise_label(c) not in {normalise_label(h) for h in header}]
        return ("not an ONS Census 2021 custom-dataset CSV of ethnic group by lower tier local "
                f"authority: missing {', '.join(missing) or 'nothing, but a column is repeated'}")
    odd = [h for h in _extra(header, found)
           if not CLASSIFICATION.fullmatch(h.removesuffix(" Code"))]
    if odd:
        return (f"unexpected column(s) {', '.join(odd)}: only classifications such as "
                "'Sex (2 categories)' and their codes can be summed out")
    return None


def detect(path: Path, data: bytes) -> bool:
    return _header_problem(header_fields(data)) is None


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    raw, encoding = read_checked_csv(path.name, data, _header_problem)
    if raw.height == 0:
        raise FileRefused(path.name, "the file has a header but no data rows")
    found = _columns(tuple(raw.columns))
    assert found is not None  # the header was checked
    others = _extra(tuple(raw.columns), found)
    frame = raw.rename({v: k for k, v in found.items()}).with_row_index("row", offset=2
                                                                         ).with_columns(
        pl.col(pl.String).str.strip_chars())
    notes = [f"read as {encoding}"] if encoding != "UTF-8" else []
    rejects: list[Reject] = []
    frame, bad = parse_counts(frame, [OBSERVATION], ())
    rejects += bad
    missing = pl.col(f"{OBSERVATION}__v").is_null()
    rejects += row_rejects(frame, missing, OBSERVATION, "the count is missing")
    frame = frame.filter(~missing)
    not_applicable = pl.col(f"{ETHNIC} Code") == DOES_NOT_APPLY
    if (n := frame.filter(not_applicable & (pl.col(f"{OBSERVATION}__v") != 0)).height):
        notes.append(f"{n:,} 'Does not apply' rows with people in them not loaded")
    frame = frame.filter(~not_applicable).with_columns(
        pl.col(ETHNIC).replace_strict(CATEGORIES, default=None).alias("group"))
    unknown = pl.col("group").is_null()
    rejects += row_rejects(frame, unknown, ETHNIC,
                           "unknown ethnic group category (not one of the 19 TS021 groups)")
    frame = frame.filter(~unknown)
    code = f"{GEOGRAPHY} Code"
    if others:
        labels = [c for c in others if not c.endswith(" Code")]
        notes.append(f"summed over {', '.join(labels)}: populations are for all people")
    merged = merged_districts(frame, code, GEOGRAPHY)
    detail, bad = _one_row_per_category(frame, code, others)
    rejects += bad
    wide, bad = per_geography(detail, code, ETHNIC, "value")
    rejects += bad
    out, bad, more = roll_up_to_forces(wide, code, {g: f"pop_{g or 'all'}" for g in GROUPS},
                                       context, merged)
    rejects += bad
    notes += more
    return ReadResult(
        table="populations", frame=populations(out, 2021, POPULATION_SOURCE, VINTAGE),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=raw.height, source=SPEC.name, vintage=VINTAGE, notes=notes,
    )


def _one_row_per_category(frame: pl.DataFrame, code: str, others: list[str]
                          ) -> tuple[pl.DataFrame, list[Reject]]:
    """Sum out the other classifications; the same cell twice rejects the repeat."""
    key = [code, ETHNIC, *others]
    frame = frame.with_columns(pl.col("row").min().over(key).alias("_first"))
    repeat = pl.col("row") != pl.col("_first")
    rejects = row_rejects(frame, repeat, ETHNIC,
                          pl.lit("duplicate: the same area and categories as row ")
                          + pl.col("_first").cast(pl.String))
    summed = frame.filter(~repeat).group_by(code, ETHNIC, "group").agg(
        pl.col("row").min(), pl.col(f"{OBSERVATION}__v").sum().alias("value"))
    return summed, rejects


LOADER = Loader(spec=SPEC, detect=detect, read=read)
