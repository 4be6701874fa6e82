"""MoJ criminal court statistics: the Crown Court timeliness tool (T4, end to end), by LJA.

Since the 2024 restatement MoJ publishes timeliness as ``timeliness_tool_Crown_Court.xlsx``,
whose data are a flat table (exported from the tool as CSV): six dimensions, then a count of
defendants and Mean/Median pairs for each stage of the journey::

    Annual or quarterly,Year,Quarter,Geographic area,Receipt type,Offence group,
    Number of defendants,Number of valid defendants,Mean offence to charge (days),
    Median offence to charge (days),…

- ``Annual or quarterly`` switches the period: "Annual" rows have Quarter "All" and are the
  calendar year, "Quarterly" rows Q1-Q4. Both are loaded (each at its own grain).
- ``Geographic area`` is England and Wales, England, Wales, a region or a local justice area
  (LJA); there is no LCJB column. The tool's finest areas are spelled "<LCJB> LCJB", London in
  its nine LJAs ("Central London LCJB", …). Only LJAs are loaded: each is placed in its LCJB by
  ``ingest/reference/lja_lcjb.csv`` (an LJA named like its LCJB, "Cumbria" or "Cumbria LCJB",
  needs no row; a trailing " LCJB" is ignored in matching); an LCJB made of several LJAs is
  built only when every LJA of one set is present for the period, and not at all when two
  sets of it are (the LJAs before and after a merger: adding both would count it twice). See
  that file's notice. Everything larger is built by cjsdash's rollup.
- Only the all-receipts, all-offences rows are loaded ("All …" or "01: All cases closed"
  receipt type, "00: All offences"); the breakdown rows are counted in the notes.
- As in the 2018 CSV, each mean becomes a total (mean × the defendants it is a mean of: the
  valid defendants when the file gives them), medians are not loaded, and court type is "Crown
  Court". Stages with no registry measure (sending to main hearing, …) are not loaded.

Only the published schema was available (SCHEMA_EVIDENCE.md item 2: the tool's dimension names
and "paired Mean/Median measures" per stage, read from the tool's pivot cache by public
analysis code). That code's notebooks (``YusufIsmailayo/moj-crown-court-statistics-pipeline``,
notebooks/02_silver.ipynb, 2025 Q4 release) also show the cache's own spellings, which load
too: "Number of (valid) defendants whose cases have completed", "<Stage> (Mean)" / "(Median)",
receipt type "All cases closed", areas "<LCJB> LCJB" and "Unknown region". The test files are
constructed with invented figures (tests/data/moj/NOTICE.md, tests/integration/
test_lja_lookup.py).
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
    header_fields,
    normalise_label,
    observations,
    parse_counts,
    period_table,
    read_checked_csv,
    row_rejects,
    sum_or_null,
)
from ingest.base import (
    FileRefused,
    Loader,
    ReadContext,
    ReadResult,
    Reject,
    SourceSpec,
    deliberate,
)
from ingest.lcjb_areas import resolve_lcjb

DIMENSIONS: tuple[str, ...] = ("Annual or quarterly", "Year", "Quarter", "Geographic area",
                               "Receipt type", "Offence group")
DEFENDANTS = re.compile(r"number of defendants.*", re.I)
VALID = re.compile(r"number of valid defendants.*", re.I)
STAGE = re.compile(r"(mean|median) (.+?)(?: \(days\))?", re.I)
STAGE_AFTER = re.compile(r"(.+?) \((mean|median)\)", re.I)
"""The spelling of the tool's pivot cache: "Offence to charge (Mean)" (see the docstring)."""
STAGES: dict[str, str] = {
    "offence to charge": "days_offence_to_charge",
    "charge to first listing": "days_charge_to_first_listing",
    "offence to completion": "days_offence_to_completion",
}
"""Stage (normalised) → registry measure of its total days."""
SPEC = SourceSpec(
    name="moj_timeliness_tool",
    title="MoJ criminal court statistics: Crown Court timeliness tool (by local justice area)",
    publisher="Ministry of Justice",
    licence="Open Government Licence v3.0",
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=(*DIMENSIONS, "Number of defendants"),
    optional_columns=("Number of valid defendants", "Mean <stage> (days)", "<Stage> (Mean)",
                      "Median <stage> (days)"),
)
LOOKUP_FILE = Path(__file__).with_name("reference") / "lja_lcjb.csv"
REGIONS = ("england and wales", "england", "wales", "north east", "north west",
           "yorkshire and the humber", "yorkshire and humber", "east midlands", "west midlands",
           "east of england", "east", "london", "south east", "south west", "midlands", "north",
           "south", "unknown", "unknown region", "not known")
ALL_OFFENCES = re.compile(r"(?:0+\s*[:.]\s*)?all offences", re.I)
ALL_RECEIPTS = re.compile(r"(?:\d+\s*[:.]\s*)?all(?: receipt types| receipts| cases closed)?",
                          re.I)


def _header_problem(columns: tuple[str, ...]) -> str | None:
    missing = [c for c in DIMENSIONS if c not in columns]
    if not any(DEFENDANTS.fullmatch(c) for c in columns):
        missing.append("Number of defendants")
    extra = [c for c in columns if c not in DIMENSIONS and not DEFENDANTS.fullmatch(c)
             and not VALID.fullmatch(c) and _stage(c) is None]
    if not missing and not extra and len(set(columns)) == len(columns):
        return None
    return ("not the MoJ Crown Court timeliness tool layout (" + ",".join(DIMENSIONS)
            + ", Number of defendants, then Mean/Median <stage> columns): " + "; ".join(
                ([f"missing {', '.join(missing)}"] if missing else [])
                + ([f"unexpected {', '.join(extra)}"] if extra else [])
                + ([] if missing or extra else ["a column is repeated"])))


def _stage(column: str) -> tuple[str, str] | None:
    """("mean" or "median", the stage normalised) of a measure column in either spelling."""
    if m := STAGE.fullmatch(column):
        return m.group(1).casefold(), normalise_label(m.group(2))
    if m := STAGE_AFTER.fullmatch(column):
        return m.group(2).casefold(), normalise_label(m.group(1))
    return None


def detect(path: Path, data: bytes) -> bool:
    return _header_problem(header_fields(data)) is None


def lja_key(name: str) -> str:
    """An LJA as the lookup keys it: normalised, without the " LCJB" MoJ may append."""
    return re.sub(r"\s+lcjb$", "", normalise_label(name))


@lru_cache(maxsize=1)
def lja_lookup() -> dict[str, tuple[str, str]]:
    """LJA (keyed by ``lja_key``) → (LCJB name, set id or '')."""
    with open(LOOKUP_FILE, encoding="utf-8-sig", newline="") as f:
        return {lja_key(r["lja"]): (r["lcjb"], r["lja_set"]) for r in csv.DictReader(f)}


@lru_cache(maxsize=1)
def set_members() -> dict[str, dict[str, str]]:
    """set id → {LJA (keyed by ``lja_key``): LJA as the lookup spells it}."""
    members: dict[str, dict[str, str]] = {}
    with open(LOOKUP_FILE, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r["lja_set"]:
                members.setdefault(r["lja_set"], {})[lja_key(r["lja"])] = r["lja"]
    return members


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    raw, encoding = read_checked_csv(path.name, data, _header_problem)
    if raw.height == 0:
        raise FileRefused(path.name, "the file has a header but no data rows")
    columns = tuple(raw.columns)
    defendants = next(c for c in columns if DEFENDANTS.fullmatch(c))
    valid = next((c for c in columns if VALID.fullmatch(c)), None)
    means = {c: STAGES[stage] for c in columns
             if (found := _stage(c)) and found[0] == "mean" and (stage := found[1]) in STAGES}
    frame = raw.with_row_index("row", offset=2).with_columns(pl.col(pl.String).str.strip_chars())
    notes = [f"read as {encoding}"] if encoding != "UTF-8" else []
    rejects: list[Reject] = []
    total = (pl.col("Offence group").str.contains(f"^(?i){ALL_OFFENCES.pattern}$")
             & pl.col("Receipt type").str.contains(f"^(?i){ALL_RECEIPTS.pattern}$"))
    if (n := frame.filter(~total).height):
        notes.append(f"{n:,} rows for one receipt type or offence group not loaded (the "
                     "all-receipts, all-offences rows are)")
    frame = frame.filter(total)
    larger = pl.col("Geographic area").str.to_lowercase().is_in(REGIONS)
    if (n := frame.filter(larger).height):
        notes.append(f"{n:,} national, regional or unknown-area rows not loaded: cjsdash "
                     "builds them by rollup")
    frame = frame.filter(~larger)
    frame, bad = _periods(frame)
    rejects += bad
    frame, bad = _lcjbs(frame, context)
    rejects += bad
    counts = [defendants, *([valid] if valid else []), *means]
    frame, bad = parse_counts(frame, counts, SPEC.suppression_markers)
    rejects += bad
    frame, bad = _duplicates(frame)
    rejects += bad
    frame, bad = _incomplete_sets(frame)
    rejects += bad
    frame, bad = _two_structures(frame)
    rejects += bad
    out = _long(frame, valid or defendants, means)
    measures = set(out["measure"].unique().to_list())
    if unknown := sorted(measures - context.measures):
        notes.append(f"not in the registry, not loaded: {', '.join(unknown)}")
        out = out.filter(~pl.col("measure").is_in(unknown))
    if out.height == 0:
        raise FileRefused(path.name, "no local justice area row could be loaded", rejects)
    notes.append("days totals are the published mean × "
                 + ("the valid defendants" if valid else "the defendants")
                 + "; medians are not loaded; figures are Crown Court cases")
    latest = frame.sort("period_end")["period_label"].to_list()
    vintage = f"MoJ Crown Court timeliness tool, data to {latest[-1] if latest else 'no period'}"
    return ReadResult(
        table="observations", frame=observations(out, SPEC.name, vintage),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=raw.height, source=SPEC.name, vintage=vintage, notes=notes,
    )


def _periods(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    kind = pl.col("Annual or quarterly").str.to_lowercase()
    quarter = pl.col("Quarter").str.to_uppercase().str.strip_prefix("Q")
    frame = frame.with_columns(
        pl.when((kind == "annual") & (pl.col("Quarter").str.to_lowercase() == "all"))
        .then(pl.col("Year"))
        .when((kind == "quarterly") & quarter.is_in(["1", "2", "3", "4"]))
        .then(pl.col("Year") + pl.lit(" Q") + quarter).alias("period_label"))
    bad = pl.col("period_label").is_null()
    rejects = row_rejects(frame, bad, "Quarter",
                          "the period switch and quarter disagree (Annual rows have Quarter "
                          "All; Quarterly rows Q1-Q4)")
    frame = frame.filter(~bad)
    table = period_table(frame["period_label"].unique().to_list()).rename(
        {"label": "period_label"})
    frame = frame.join(table, on="period_label", how="left", maintain_order="left")
    bad = pl.col("period_start").is_null() | ~pl.col("Year").str.contains(r"^\d{4}$").fill_null(
        False)
    rejects += row_rejects(frame, bad, "Year", pl.lit("unreadable year: ")
                           + pl.coalesce("period_error", pl.col("Year")))
    return frame.filter(~bad).drop("period_error"), rejects


def _lcjbs(frame: pl.DataFrame, context: ReadContext) -> tuple[pl.DataFrame, list[Reject]]:
    """``area_code`` and ``lja_set`` for each LJA; LJAs of unknown or unlisted LCJBs rejected."""
    lookup = lja_lookup()
    codes, sets, why = {}, {}, {}
    for name in frame["Geographic area"].unique().to_list():
        key = lja_key(name)
        if key in lookup:
            lcjb, group = lookup[key]
            if group:
                codes[name], sets[name] = resolve_lcjb(lcjb, context), group
            else:
                why[name] = (f"the local justice area is one of several in {lcjb} LCJB whose "
                             "full list is not in ingest/reference/lja_lcjb.csv: the LCJB's "
                             "total cannot be built from it alone")
        elif (code := resolve_lcjb(name, context)) is not None:
            codes[name], sets[name] = code, f"own:{key}"
        else:
            why[name] = ("unknown local justice area: not in ingest/reference/lja_lcjb.csv "
                         "and not the name of an LCJB (add a row there, with its source)")
    frame = frame.with_columns(
        pl.col("Geographic area").replace_strict(codes, default=None, return_dtype=pl.String)
        .alias("area_code"),
        pl.col("Geographic area").replace_strict(sets, default=None, return_dtype=pl.String)
        .alias("lja_set"),
        pl.col("Geographic area").map_elements(lja_key, return_dtype=pl.String).alias("_lja"))
    bad = pl.col("area_code").is_null()
    rejects = row_rejects(frame, bad, "Geographic area",
                          pl.col("Geographic area").replace_strict(why, default="unknown area"))
    # An LJA of an LCJB whose full list cjsdash lacks is a gap in the lookup, not a fault of
    # the file: listed, but it does not count towards refusing the file as mostly bad.
    return frame.filter(~bad), [replace(r, deliberate=True) if "whose full list" in r.reason
                                else r for r in rejects]


def _duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """One row per LJA and period ("Cheshire" and "Cheshire LCJB" are one LJA)."""
    key = ["_lja", "period_label"]
    frame = frame.with_columns(pl.col("row").min().over(key).alias("_first"))
    repeat = pl.col("row") != pl.col("_first")
    rejects = row_rejects(frame, repeat, "Geographic area",
                          pl.lit("duplicate: the same area and period as row ")
                          + pl.col("_first").cast(pl.String))
    return frame.filter(~repeat).drop("_first"), rejects


def _incomplete_sets(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """An LCJB is built from its LJAs only when every LJA of its set is there for the period."""
    members = set_members()
    groups = frame.group_by("lja_set", "period_label").agg(pl.col("_lja").unique())
    short = {}
    for group, period, found in groups.iter_rows():
        names = members.get(group, {})
        if missing := sorted(names[k] for k in set(names) - set(found)):
            short[(group, period)] = ", ".join(missing)
    if not short:
        return frame, []
    keys = pl.DataFrame([(g, p, m) for (g, p), m in short.items()],
                        schema=["lja_set", "period_label", "_missing"], orient="row")
    marked = frame.join(keys, on=["lja_set", "period_label"], how="left")
    bad = pl.col("_missing").is_not_null()
    rejects = deliberate(row_rejects(  # the file's choice of areas, not a fault in it
        marked, bad, "Geographic area",
        pl.lit("the LCJB's total cannot be built: this period lacks its local justice area(s) ")
        + pl.col("_missing")))
    return marked.filter(~bad).drop("_missing"), rejects


def _two_structures(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """An LCJB built twice for one period, from two LJA structures (the LJAs before and after
    a merger, or an LJA named like the LCJB beside a listed set), is not loaded: summing both
    would count it twice, and neither can be preferred from the file alone."""
    key = ["area_code", "period_label"]
    groups = frame.group_by(key).agg(
        pl.col("lja_set").n_unique().alias("_n"),
        pl.col("lja_set").unique().sort().str.join(", ").alias("_sets"))
    marked = frame.join(groups, on=key, how="left", maintain_order="left")
    bad = pl.col("_n") > 1
    rejects = row_rejects(
        marked, bad, "Geographic area",
        pl.lit("the LCJB's local justice areas come from two structures in this period (sets ")
        + pl.col("_sets") + pl.lit("): adding both would count it twice"))
    return marked.filter(~bad).drop("_n", "_sets"), rejects


def _long(frame: pl.DataFrame, weight: str, means: dict[str, str]) -> pl.DataFrame:
    base = ["area_code", "period_start", "period_end"]
    n = pl.col(f"{weight}__v")
    parts = [frame.select(*base, pl.lit("defendants_timeliness").alias("measure"),
                          n.alias("value"), pl.col(f"{weight}__n").alias("value_note"))]
    for column, measure in means.items():
        parts.append(frame.select(
            *base, pl.lit(measure).alias("measure"),
            pl.when(n == 0).then(0.0).otherwise(pl.col(f"{column}__v") * n).alias("value"),
            pl.when(n == 0).then(None).otherwise(
                pl.coalesce(f"{weight}__n", f"{column}__n")).alias("value_note")))
    long = pl.concat(parts).with_columns(pl.lit("Crown Court").alias("court_type"))
    key = ["measure", "area_code", "period_start", "period_end", "court_type"]
    return long.group_by(key, maintain_order=True).agg(sum_or_null())


LOADER = Loader(spec=SPEC, detect=detect, read=read)
