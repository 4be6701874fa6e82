"""MoJ criminal court statistics: trial effectiveness in the long transparency layout.

The criminal court statistics quarterly (CCSQ) transparency ZIP holds ``trial_<yyyy>Q<q>.csv``:
one count per row, its labels numbered as MoJ numbers them::

    year,offence_group,trial_effectiveness,reason,value
    2019,02: Sexual offences,3: Ineffective trials,04. Ineffective reason: Prosecution witness absent - police,12

``trial_effectiveness`` is the outcome ("1: Effective trials", "2: Cracked trials", "3:
Ineffective trials", "4. Vacated trial"); ``reason`` the numbered reason ("01. Cracked Reason:
…", "12. Ineffective reason: Defendant absent - …"), blank or NA where an outcome has none;
``value`` the count (NA for none). The reasons partition their outcome, so an outcome's trials
are the sum of its rows. Optional columns place a row more finely: ``quarter`` (1-4 or Q1-Q4;
without it a row is the calendar year), ``lcjb_area`` (without it, or "-", the figures are
England and Wales) and ``region`` (ignored: regions are built by rollup). The file counts Crown
Court trials (the CCSQ trial tables are the Crown Court's); a ``court_type`` column may say
otherwise per row.

Emitted, for all offences ('' offence group) and for each offence group (its number dropped,
"02: Sexual offences" → "Sexual offences"; "Unknown"/"Not known" only in the total):
``trials_listed_<court>`` = effective + cracked + ineffective (vacated trials never reached the
day), ``trials_ineffective_<court>``, ``trials_cracked_<court>``, each reason as the same
measure with the reason in the ``outcome`` breakdown, and ``trials_ineffective_witness_absent``
(the "Prosecution witness absent" reasons summed).

Only the published schema was available (SCHEMA_EVIDENCE.md item 1: the columns and labels that
public analysis code reads from ``trial_2020Q4.csv``); the test file was built from that schema
and its figures are invented (tests/data/moj/NOTICE.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
    columns_problem,
    header_fields,
    normalise_label,
    observations,
    parse_counts,
    period_table,
    read_rows,
    row_rejects,
    sum_or_null,
)
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.lcjb_areas import COURT_TYPES, resolve_lcjb

REQUIRED: tuple[str, ...] = ("year", "offence_group", "trial_effectiveness", "reason", "value")
OPTIONAL: tuple[str, ...] = ("quarter", "region", "lcjb_area", "court_type")
SPEC = SourceSpec(
    name="moj_trial_effectiveness_long",
    title="MoJ criminal court statistics: trial effectiveness (long transparency CSV)",
    publisher="Ministry of Justice",
    licence="Open Government Licence v3.0",
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=REQUIRED,
    optional_columns=OPTIONAL,
    suppression_markers=("NA", "..", "[c]", "[x]", "[z]", "*", "-"),
)
OUTCOME = re.compile(r"\s*\d+\s*[:.]\s*(effective|cracked|ineffective|vacated)\b.*", re.I)
REASON = re.compile(r"\s*\d+\s*[:.]\s*(ineffective|cracked) reason\s*:\s*(.+)", re.I)
NUMBERED = re.compile(r"\s*\d+\s*[:.]\s*(.+)")
NO_REASON = ("", "na", "n/a", "not applicable", "-")
UNKNOWN_OFFENCE = ("unknown", "not known")
WITNESS_ABSENT = re.compile(r"prosecution witness absent", re.I)
SUFFIX = {"Crown Court": "crown", "Magistrates' courts": "mags"}
NATIONAL = "England and Wales"


def _header_problem(columns: tuple[str, ...]) -> str | None:
    return columns_problem(columns, REQUIRED, OPTIONAL, (
        "the MoJ trial effectiveness transparency CSV (columns "
        f"{','.join(REQUIRED)} and optionally {','.join(OPTIONAL)})"))


def detect(path: Path, data: bytes) -> bool:
    return _header_problem(header_fields(data)) is None


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    frame, notes = read_rows(path.name, data, _header_problem)
    rows_in, given = frame.height, set(frame.columns)
    rejects: list[Reject] = []
    for column in OPTIONAL:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    if "court_type" not in given:
        notes.append("no court type given: counted as Crown Court trials (the CCSQ trial "
                     "tables are the Crown Court's)")
    if "lcjb_area" not in given:
        notes.append("no LCJB area column: the figures are England and Wales")
    for step in (_outcomes, _courts, _periods, _offence_groups):
        frame, bad = step(frame)
        rejects += bad
    frame, bad = _areas(frame, context)
    rejects += bad
    frame, bad = parse_counts(frame, ["value"], SPEC.suppression_markers)
    rejects += bad
    frame = frame.with_columns(pl.col("value__v").fill_null(0.0))  # NA: no trials
    out = _measures(frame)
    unknown = sorted(set(out["measure"].unique().to_list()) - context.measures)
    if unknown:
        notes.append(f"not in the registry, not loaded: {', '.join(unknown)}")
        out = out.filter(~pl.col("measure").is_in(unknown))
    if out.height == 0:
        raise FileRefused(path.name, "no row could be loaded", rejects)
    latest = frame.sort("period_end")["period_label"].to_list()
    vintage = ("MoJ criminal court statistics, trial effectiveness (transparency CSV), data to "
               f"{latest[-1] if latest else 'no period'}")
    return ReadResult(
        table="observations", frame=observations(out, SPEC.name, vintage),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=rows_in, source=SPEC.name, vintage=vintage, notes=notes,
    )


def _outcomes(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """``outcome`` (effective … vacated) and ``kind``/``reason_label`` from the numbered
    labels; a reason of another outcome's kind is rejected."""
    outcomes = {t: (m.group(1).casefold() if (m := OUTCOME.fullmatch(t or "")) else None)
                for t in frame["trial_effectiveness"].unique().to_list()}
    reasons = {}
    for text in frame["reason"].unique().to_list():
        if normalise_label(text or "") in NO_REASON:
            reasons[text] = ("", "")
        elif m := REASON.fullmatch(text):
            reasons[text] = (m.group(1).casefold(), " ".join(m.group(2).split()))
        else:
            reasons[text] = None
    frame = frame.with_columns(
        pl.col("trial_effectiveness").replace_strict(outcomes, default=None,
                                                     return_dtype=pl.String).alias("outcome_kind"),
        pl.col("reason").replace_strict({k: v[0] if v else None for k, v in reasons.items()},
                                        default=None, return_dtype=pl.String).alias("reason_kind"),
        pl.col("reason").replace_strict({k: v[1] if v else None for k, v in reasons.items()},
                                        default=None, return_dtype=pl.String).alias("reason_label"),
    )
    bad = pl.col("outcome_kind").is_null()
    rejects = row_rejects(frame, bad, "trial_effectiveness",
                          "unknown trial outcome (expected a numbered Effective, Cracked, "
                          "Ineffective or Vacated label)")
    frame = frame.filter(~bad)
    bad = pl.col("reason_kind").is_null()
    rejects += row_rejects(frame, bad, "reason", "unreadable reason (expected a numbered "
                           "'Ineffective reason: …' or 'Cracked reason: …', or blank)")
    frame = frame.filter(~bad)
    clash = (pl.col("reason_kind") != "") & (pl.col("reason_kind") != pl.col("outcome_kind"))
    rejects += row_rejects(frame, clash, "reason",
                           pl.lit("a ") + pl.col("reason_kind") + pl.lit(" reason on a row of ")
                           + pl.col("outcome_kind") + pl.lit(" trials"))
    return frame.filter(~clash), rejects


def _courts(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    labels = {t: (COURT_TYPES.get(normalise_label(t)) if t else "Crown Court")
              for t in frame["court_type"].unique().to_list()}
    frame = frame.with_columns(pl.col("court_type").replace_strict(
        labels, default=None, return_dtype=pl.String).alias("court"))
    bad = ~pl.col("court").is_in(list(SUFFIX))
    rejects = row_rejects(frame, bad, "court_type",
                          "unknown court type (expected Crown Court or Magistrates' courts)")
    return frame.filter(~bad), rejects


def _periods(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    quarter = pl.col("quarter").str.to_uppercase().str.strip_prefix("Q")
    frame = frame.with_columns(
        pl.when(pl.col("quarter").is_null() | (pl.col("quarter") == ""))
        .then(pl.col("year"))
        .when(quarter.is_in(["1", "2", "3", "4"]))
        .then(pl.col("year") + pl.lit(" Q") + quarter)
        .otherwise(pl.col("year") + pl.lit(" ") + pl.col("quarter")).alias("period_label"))
    table = period_table(frame["period_label"].drop_nulls().unique().to_list()).rename(
        {"label": "period_label"})
    frame = frame.join(table, on="period_label", how="left", maintain_order="left")
    bad = pl.col("period_start").is_null() | ~pl.col("year").str.contains(r"^\d{4}$").fill_null(
        False)
    rejects = row_rejects(frame, bad, "year", pl.lit("unreadable year or quarter: ")
                          + pl.coalesce("period_error", pl.lit("the year is not a year")))
    return frame.filter(~bad).drop("period_error"), rejects


def _offence_groups(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    names = {}
    for text in frame["offence_group"].unique().to_list():
        m = NUMBERED.fullmatch(text or "")
        names[text] = " ".join(m.group(1).split()) if m else (text or None)
    frame = frame.with_columns(pl.col("offence_group").replace_strict(
        names, default=None, return_dtype=pl.String).alias("offence"))
    bad = pl.col("offence").is_null()
    rejects = row_rejects(frame, bad, "offence_group", "the offence group is blank")
    return frame.filter(~bad), rejects


def _areas(frame: pl.DataFrame, context: ReadContext) -> tuple[pl.DataFrame, list[Reject]]:
    national = context.resolve_area(NATIONAL)
    codes = {n: (national if normalise_label(n or "") in ("", "-", "england and wales")
                 else resolve_lcjb(n, context))
             for n in frame["lcjb_area"].unique().to_list()}
    frame = frame.with_columns(pl.col("lcjb_area").replace_strict(
        codes, default=None, return_dtype=pl.String).alias("area_code"))
    bad = pl.col("area_code").is_null()
    rejects = row_rejects(frame, bad, "lcjb_area",
                          "unknown LCJB area: not a local criminal justice board cjsdash knows")
    return frame.filter(~bad), rejects


def _measures(frame: pl.DataFrame) -> pl.DataFrame:
    """Counts per measure, area, period, court, offence group ('' = all) and reason; the
    witness-absent measure per court and, where the file has both courts, for both ('')."""
    suffix = pl.col("court").replace_strict(SUFFIX)
    base = frame.with_columns(
        pl.when(pl.col("outcome_kind").is_in(["effective", "cracked", "ineffective"]))
        .then(pl.lit("trials_listed_") + suffix).alias("listed"),
        pl.when(pl.col("outcome_kind").is_in(["cracked", "ineffective"]))
        .then(pl.lit("trials_") + pl.col("outcome_kind") + pl.lit("_") + suffix)
        .alias("outcome_measure"),
        pl.when((pl.col("reason_kind") == "ineffective")
                & pl.col("reason_label").str.contains("(?i)" + WITNESS_ABSENT.pattern))
        .then(pl.lit("trials_ineffective_witness_absent")).alias("witness"),
        pl.col("value__v").alias("value"), pl.col("value__n").alias("value_note"),
    )
    parts = [
        base.filter(pl.col("listed").is_not_null()).select(
            pl.col("listed").alias("measure"), pl.lit("").alias("outcome"), "*"),
        base.filter(pl.col("outcome_measure").is_not_null()).select(
            pl.col("outcome_measure").alias("measure"), pl.lit("").alias("outcome"), "*"),
        base.filter(pl.col("outcome_measure").is_not_null() & (pl.col("reason_label") != ""))
        .select(pl.col("outcome_measure").alias("measure"),
                pl.col("reason_label").alias("outcome"), "*"),
        base.filter(pl.col("witness").is_not_null()).select(
            pl.col("witness").alias("measure"), pl.lit("").alias("outcome"), "*"),
    ]
    cols = ["measure", "outcome", "area_code", "period_start", "period_end", "court", "offence",
            "value", "value_note"]
    long = pl.concat([p.select(cols) for p in parts])
    key = ["measure", "area_code", "period_start", "period_end", "court", "outcome"]
    total = long.group_by(key, maintain_order=True).agg(sum_or_null()).with_columns(
        pl.lit("").alias("offence_group"))
    known = long.filter(~pl.col("offence").str.to_lowercase().is_in(UNKNOWN_OFFENCE))
    by_group = known.group_by([*key, "offence"], maintain_order=True).agg(sum_or_null()
                                                                          ).rename(
        {"offence": "offence_group"})
    out = pl.concat([total, by_group], how="diagonal_relaxed")
    witness = out.filter(pl.col("measure") == "trials_ineffective_witness_absent")
    both = (witness.group_by(["measure", "area_code", "period_start", "period_end", "outcome",
                              "offence_group"], maintain_order=True)
            .agg(pl.col("court").n_unique().alias("_courts"), *sum_or_null())
            .filter(pl.col("_courts") == len(SUFFIX)).drop("_courts")
            .with_columns(pl.lit("").alias("court")))
    out = pl.concat([out, both], how="diagonal_relaxed")
    # the court is in the measure name (…_crown, …_mags) except for the witness measure
    return out.with_columns(
        pl.when(pl.col("measure") == "trials_ineffective_witness_absent")
        .then(pl.col("court")).otherwise(pl.lit("")).alias("court_type")).drop("court")


LOADER = Loader(spec=SPEC, detect=detect, read=read)
