"""MoJ criminal court statistics: trial effectiveness by LCJB area (Crown Court and magistrates').

The quarterly criminal court statistics publish the outcome of every trial listing: effective
(went ahead), cracked (ended on the day without a trial, no re-listing), ineffective (did not go
ahead and was re-listed) and vacated (removed before the day). cjsdash reads them in this layout
(one row per quarter, court type and LCJB area; the MoJ transparency tables group courts by LCJB
area, London's magistrates' courts in nine sub-areas and its Crown Court centres as "London
Crown Courts")::

    Year,Quarter,Court type,Region,LCJB area,Effective,Cracked,Ineffective,Vacated,Total[,reasons]

followed by any number of reason columns named ``Ineffective reason: <reason>`` or
``Cracked reason: <reason>`` (the MoJ reason labels, e.g. ``Ineffective reason: Prosecution
witness absent - police``). ``-`` in "LCJB area" marks a national or regional total, which is not
loaded (cjsdash builds those by rollup). The layout was built from the published schema; no
copy of the real file was available (see tests/data/moj/NOTICE.md).

Emitted (registry measures): ``trials_listed_crown``/``_mags`` = effective + cracked +
ineffective (vacated trials were never listed on the day, so they are excluded),
``trials_ineffective_*`` and ``trials_cracked_*``; each reason column as the same measure with
the reason in the ``outcome`` breakdown; ``trials_ineffective_witness_absent`` (the "Prosecution
witness absent …" reasons summed) per court type, and for both courts together ('' court type)
where the file has both.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
    NOT_APPLICABLE,
    header_fields,
    normalise_label,
    observations,
    parse_counts,
    period_table,
    read_checked_csv,
    row_rejects,
    sum_or_null,
)
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.lcjb_areas import COURT_TYPES, incomplete_london, lcjb_areas

BASE: tuple[str, ...] = (
    "Year", "Quarter", "Court type", "Region", "LCJB area",
    "Effective", "Cracked", "Ineffective", "Vacated", "Total",
)
OUTCOMES = ("Effective", "Cracked", "Ineffective", "Vacated")
REASON = re.compile(r"(Ineffective|Cracked) reason: (.+)", re.IGNORECASE)
WITNESS_ABSENT = re.compile(r"prosecution witness absent", re.IGNORECASE)
SPEC = SourceSpec(
    name="moj_trial_effectiveness",
    title="MoJ criminal court statistics: trial effectiveness by LCJB area",
    publisher="Ministry of Justice",
    licence="Open Government Licence v3.0",
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=BASE,
    optional_columns=("Ineffective reason: <reason>", "Cracked reason: <reason>"),
)
SUFFIX = {"Crown Court": "crown", "Magistrates' courts": "mags"}


def _header_ok(columns: tuple[str, ...]) -> bool:
    return columns[: len(BASE)] == BASE and all(REASON.fullmatch(c) for c in columns[len(BASE):])


def _header_problem(columns: tuple[str, ...]) -> str | None:
    if _header_ok(columns):
        return None
    missing = [c for c in BASE if c not in columns]
    extra = [c for c in columns if c not in BASE and not REASON.fullmatch(c)]
    detail = ([f"missing {', '.join(missing)}"] if missing else []) + (
        [f"unexpected {', '.join(extra)}"] if extra else [])
    return (f"not the MoJ trial effectiveness header ({'; '.join(detail) or 'columns out of order'}"
            f"): the first columns must be exactly {','.join(BASE)}, then reason columns named "
            "'Ineffective reason: …' or 'Cracked reason: …'")


def detect(path: Path, data: bytes) -> bool:
    return _header_ok(header_fields(data))


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    raw, encoding = read_checked_csv(path.name, data, _header_problem)
    columns = tuple(raw.columns)
    if raw.height == 0:
        raise FileRefused(path.name, "the file has a header but no data rows")
    reasons = list(columns[len(BASE):])
    frame = raw.with_row_index("row", offset=2).with_columns(pl.col(pl.String).str.strip_chars())
    notes = [f"read as {encoding}"] if encoding != "UTF-8" else []
    rejects: list[Reject] = []

    summary = pl.col("LCJB area").is_in(NOT_APPLICABLE)
    skipped = frame.filter(summary).height
    frame = frame.filter(~summary)
    if skipped:
        notes.append(f"{skipped:,} national/regional total rows not loaded: cjsdash builds "
                     "them by rollup")
    frame, bad = _court_types(frame)
    rejects += bad
    frame, bad = _periods(frame)
    rejects += bad
    frame, bad = lcjb_areas(frame, context)
    rejects += bad
    frame, bad = parse_counts(frame, [*OUTCOMES, "Total", *reasons], SPEC.suppression_markers)
    rejects += bad
    frame, bad = _check_totals(frame)
    rejects += bad
    frame, bad = _duplicates(frame)
    rejects += bad
    bad = incomplete_london(frame, "LCJB area", ["period_label", "court_type"])
    rejects += bad
    frame = frame.filter(~pl.col("row").is_in([r.row for r in bad]))

    long = _long(frame, reasons)
    key = ["measure", "area_code", "period_start", "period_end", "court_type", "outcome"]
    out = long.group_by(key, maintain_order=True).agg(sum_or_null())
    out = pl.concat([out, _both_courts_witness(out)], how="diagonal_relaxed").with_columns(
        # the court is in the measure name (…_crown, …_mags): the breakdown stays "all"
        pl.when(pl.col("measure") == "trials_ineffective_witness_absent")
        .then(pl.col("court_type")).otherwise(pl.lit("")).alias("court_type")
    )
    unknown = sorted(set(out["measure"].unique().to_list()) - context.measures)
    if unknown:
        notes.append(f"not in the registry, not loaded: {', '.join(unknown)}")
        out = out.filter(~pl.col("measure").is_in(unknown))
    if _reasons_short(frame, reasons):
        notes.append("the ineffective reasons do not add up to the ineffective trials in some "
                     "rows (reasons may be partial); totals come from the Ineffective column")
    latest = frame.sort("period_start")["period_label"].to_list()
    vintage = ("MoJ criminal court statistics, trial effectiveness, data to "
               f"{latest[-1] if latest else 'no period'}")
    return ReadResult(
        table="observations", frame=observations(out, SPEC.name, vintage),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=raw.height, source=SPEC.name, vintage=vintage, notes=notes,
    )


def _court_types(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    labels = {t: COURT_TYPES.get(normalise_label(t)) for t in frame["Court type"].unique()}
    frame = frame.with_columns(
        pl.col("Court type").replace_strict(labels, default=None, return_dtype=pl.String)
        .alias("court_type")
    )
    bad = pl.col("court_type").is_null() | (pl.col("court_type") == "")
    reason = pl.when(pl.col("court_type") == "").then(
        pl.lit("trial figures are loaded per court type (Crown Court or Magistrates' courts), "
               "not for all courts together")
    ).otherwise(pl.lit("unknown court type (expected Crown Court or Magistrates' courts)"))
    return frame.filter(~bad), row_rejects(frame, bad, "Court type", reason)


def _periods(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    frame = frame.with_columns(
        pl.when(pl.col("Quarter").str.contains(r"(?i)^q[1-4]$"))
        .then(pl.col("Year") + pl.lit(" ") + pl.col("Quarter").str.to_uppercase())
        .otherwise(pl.col("Quarter")).alias("period_label")
    )
    table = period_table(frame["period_label"].unique().to_list()).rename({"label": "period_label"})
    frame = frame.join(table, on="period_label", how="left", maintain_order="left")
    unread = pl.col("period_start").is_null()
    rejects = row_rejects(frame, unread, "Quarter",
                          pl.lit("unreadable quarter: ") + pl.col("period_error"))
    frame = frame.filter(~unread)
    not_quarter = (pl.col("period_end").dt.month() - pl.col("period_start").dt.month() != 2) | (
        pl.col("period_start").dt.year() != pl.col("period_end").dt.year())
    rejects += row_rejects(frame, not_quarter, "Quarter", "not a calendar quarter")
    frame = frame.filter(~not_quarter)
    wrong_year = pl.col("period_start").dt.year().cast(pl.String) != pl.col("Year")
    rejects += row_rejects(frame, wrong_year, "Year",
                           pl.lit("the Year does not match the quarter ") + pl.col("Quarter"))
    return frame.filter(~wrong_year).drop("period_error"), rejects


def _check_totals(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    parts = pl.sum_horizontal(*[pl.col(f"{c}__v") for c in OUTCOMES])
    known = pl.all_horizontal(*[pl.col(f"{c}__v").is_not_null() for c in (*OUTCOMES, "Total")])
    bad = known & (parts != pl.col("Total__v"))
    rejects = row_rejects(
        frame.with_columns(parts.alias("_parts")), bad, "Total",
        pl.lit("Total is not Effective + Cracked + Ineffective + Vacated (")
        + pl.col("_parts").cast(pl.Int64).cast(pl.String) + pl.lit(")"),
    )
    return frame.filter(~bad.fill_null(False)), rejects


def _duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    key = ["LCJB area", "period_label", "court_type"]
    frame = frame.with_columns(pl.col("row").min().over(key).alias("_first"))
    repeat = pl.col("row") != pl.col("_first")
    rejects = row_rejects(
        frame, repeat, "LCJB area",
        pl.lit("duplicate: the same LCJB area, quarter and court type as row ")
        + pl.col("_first").cast(pl.String),
    )
    return frame.filter(~repeat).drop("_first"), rejects


def _measure(stem: str) -> pl.Expr:
    return pl.lit(f"trials_{stem}_") + pl.col("court_type").replace_strict(SUFFIX)


def _long(frame: pl.DataFrame, reasons: list[str]) -> pl.DataFrame:
    base = ["area_code", "period_start", "period_end", "court_type"]
    listed = [f"{c}__v" for c in ("Effective", "Cracked", "Ineffective")]
    parts = [
        frame.select(
            *base, _measure("listed").alias("measure"), pl.lit("").alias("outcome"),
            pl.when(pl.any_horizontal([pl.col(c).is_null() for c in listed])).then(None)
            .otherwise(pl.sum_horizontal(listed)).alias("value"),
            pl.coalesce([f"{c}__n" for c in ("Effective", "Cracked", "Ineffective")])
            .alias("value_note"),
        ),
    ]
    for column, stem in (("Ineffective", "ineffective"), ("Cracked", "cracked")):
        parts.append(frame.select(
            *base, _measure(stem).alias("measure"), pl.lit("").alias("outcome"),
            pl.col(f"{column}__v").alias("value"), pl.col(f"{column}__n").alias("value_note"),
        ))
    witness = []
    for column in reasons:
        kind, label = REASON.fullmatch(column).groups()  # type: ignore[union-attr]
        parts.append(frame.select(
            *base, _measure(kind.casefold()).alias("measure"), pl.lit(label).alias("outcome"),
            pl.col(f"{column}__v").alias("value"), pl.col(f"{column}__n").alias("value_note"),
        ))
        if kind.casefold() == "ineffective" and WITNESS_ABSENT.match(label):
            witness.append(column)
    if witness:
        values = [pl.col(f"{c}__v") for c in witness]
        parts.append(frame.select(
            *base, pl.lit("trials_ineffective_witness_absent").alias("measure"),
            pl.lit("").alias("outcome"),
            pl.when(pl.any_horizontal([v.is_null() for v in values])).then(None)
            .otherwise(pl.sum_horizontal(values)).alias("value"),
            pl.coalesce([f"{c}__n" for c in witness]).alias("value_note"),
        ))
    return pl.concat(parts, how="vertical_relaxed")


def _both_courts_witness(out: pl.DataFrame) -> pl.DataFrame:
    """Witness-absent ineffective trials for both courts together, where both are present."""
    witness = out.filter(pl.col("measure") == "trials_ineffective_witness_absent")
    key = ["measure", "area_code", "period_start", "period_end", "outcome"]
    return (
        witness.group_by(key, maintain_order=True)
        .agg(pl.col("court_type").n_unique().alias("_courts"), *sum_or_null())
        .filter(pl.col("_courts") == len(SUFFIX))
        .drop("_courts")
        .with_columns(pl.lit("").alias("court_type"))
    )


def _reasons_short(frame: pl.DataFrame, reasons: list[str]) -> bool:
    ineffective = [pl.col(f"{c}__v") for c in reasons if c.casefold().startswith("ineffective")]
    if not ineffective or frame.height == 0:
        return False
    differs = pl.sum_horizontal(ineffective) != pl.col("Ineffective__v")
    return bool(frame.select(differs.fill_null(False).any()).item())


LOADER = Loader(spec=SPEC, detect=detect, read=read)
