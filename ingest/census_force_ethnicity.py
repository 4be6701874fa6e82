"""Census 2011 population by police force area and ethnic group (ONS QS201EW, 5 groups).

Reads the force-level join of the Nomis local-authority table (``PFA16NM`` plus
``Ethnic Group: …; measures: Value`` columns) into ``core.populations`` as denominators.
The rollup from local authorities with the ONS lookup is the published-sources loader's job;
this reads the derived force-level file shipped in ``data/reference``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.textio import first_line, read_csv_strings
from ingest.values import parse_numbers

SPEC = SourceSpec(
    name="census2011_force_ethnicity",
    title="Census 2011: ethnic group by police force area (QS201EW)",
    publisher="Office for National Statistics",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=("PFA16NM", "Ethnic Group: All categories: Ethnic group; measures: Value"),
)
GROUPS = {
    "": "Ethnic Group: All categories: Ethnic group; measures: Value",
    "White": "Ethnic Group: White; measures: Value",
    "Mixed": "Ethnic Group: Mixed; measures: Value",
    "Asian": "Ethnic Group: Asian; measures: Value",
    "Black": "Ethnic Group: Black; measures: Value",
    "Other": "Ethnic Group: Other; measures: Value",
}


def detect(path: Path, data: bytes) -> bool:
    header = first_line(data)
    return header.startswith("PFA16NM,") and "Ethnic Group:" in header


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    frame, _ = read_csv_strings(path.name, data)
    missing = [c for c in ("PFA16NM", *GROUPS.values()) if c not in frame.columns]
    if missing:
        raise FileRefused(path.name, f"missing column(s): {', '.join(missing)}")
    frame = frame.with_row_index("row", offset=2)
    rejects: list[Reject] = []
    codes = [context.resolve_area(n) for n in frame["PFA16NM"]]
    frame = frame.with_columns(pl.Series("area_code", codes, dtype=pl.String))
    for row, name in frame.filter(pl.col("area_code").is_null()).select("row", "PFA16NM").rows():
        rejects.append(Reject(row, "PFA16NM", name, "unknown police force area"))
    frame = frame.filter(pl.col("area_code").is_not_null())
    parts = []
    for group, column in GROUPS.items():
        values, _, errors = parse_numbers(frame[column])
        for row, value in frame.filter(errors | values.is_null()).select("row", column).rows():
            rejects.append(Reject(row, column, value, "not a count"))
        parts.append(
            frame.select("area_code").with_columns(
                pl.lit(group).alias("ethnicity"), values.alias("population")
            ).filter(values.is_not_null())
        )
    out = pl.concat(parts).with_columns(
        pl.lit(2011, dtype=pl.Int32).alias("year"), pl.lit("").alias("sex"),
        pl.lit("").alias("age_group"), pl.lit("Census 2011").alias("source"),
        pl.lit("Census 2011 (released 2012-12-11)").alias("vintage"),
    )
    return ReadResult(
        table="populations", frame=out, rejects=rejects, rows_in=frame.height + len(rejects),
        source=SPEC.name, vintage="Census 2011 (released 2012-12-11)",
    )


LOADER = Loader(spec=SPEC, detect=detect, read=read)
