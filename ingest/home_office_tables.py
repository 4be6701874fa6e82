"""Helpers the Home Office open data loaders share once a table is read (not a loader: nothing
here is detected): rejects by row, area and period resolution, counts with publisher markers,
ethnic, sex and age groups, and the observation frame. Reading the file itself is
``ingest.home_office_files``. Used by ``ingest.home_office_outcomes`` and
``ingest.home_office_stop_search``; no loader imports another.
"""

from __future__ import annotations

import polars as pl

from cjsdash.core.periods import PeriodError, grain_of, parse_period
from cjsdash.core.schema import BREAKDOWNS
from ingest.base import ReadContext, Reject
from ingest.values import parse_numbers

NOT_STATED = "Not stated"
VEHICLE_SEARCH = "N/A - vehicle search"
"""A search of a vehicle alone: no person, so no ethnicity to record. Its own group (the
snake_case tables publish it so), not Not stated and not a reject; it counts in the total but
not in the searches whose ethnicity was recorded."""
ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Other", NOT_STATED, VEHICLE_SEARCH)
SEXES = ("Male", "Female", "Other", NOT_STATED)
OBSERVATION_COLUMNS = (
    "measure", "area_code", "period_start", "period_end", *BREAKDOWNS,
    "value", "value_note", "source", "vintage",
)


def row_rejects(frame: pl.DataFrame, mask: pl.Expr, column: str | None,
                reason: str | pl.Expr, value_col: str | None = None) -> list[Reject]:
    """A Reject per row of ``frame`` where ``mask`` holds (rows are few: a loop is fine)."""
    bad = frame.filter(mask)
    if bad.height == 0:
        return []
    why = (bad.select(reason).to_series().to_list() if isinstance(reason, pl.Expr)
           else [reason] * bad.height)
    values = bad[value_col or column] if (value_col or column) in bad.columns else None
    return [
        Reject(int(r), column, None if values is None else values[i], why[i])
        for i, r in enumerate(bad["row"].to_list())
    ]


def resolve_areas(frame: pl.DataFrame, name_col: str, context: ReadContext,
                  code_col: str | None = None) -> tuple[pl.DataFrame, list[Reject]]:
    """Add ``area_code`` from a force name (and an ONS code column where the file has one).

    Where both the code and the name resolve they must agree; an unknown area is a reject.
    """
    def lookup(col: str) -> pl.Expr:
        names = frame[col].unique().to_list()
        codes = {n: context.resolve_area(n) for n in names}
        return pl.col(col).replace_strict(codes, default=None, return_dtype=pl.String)

    by_name = lookup(name_col)
    if code_col is None:
        frame = frame.with_columns(by_name.alias("area_code"))
        conflict = pl.lit(False)
    else:
        frame = frame.with_columns(by_name.alias("_by_name"), lookup(code_col).alias("_by_code"))
        conflict = (pl.col("_by_name") != pl.col("_by_code")).fill_null(False)
        frame = frame.with_columns(pl.coalesce("_by_code", "_by_name").alias("area_code"))
    rejects = row_rejects(
        frame, conflict, code_col, pl.lit("the code names a different area from the force name '")
        + pl.col(name_col) + pl.lit("'"),
    )
    frame = frame.filter(~conflict)
    missing = pl.col("area_code").is_null()
    rejects += row_rejects(
        frame, missing, name_col,
        pl.when(pl.col(name_col) == "").then(pl.lit("the force name is empty")).otherwise(
            pl.lit("unknown area: not a police force name or ONS code cjsdash knows")),
    )
    frame = frame.filter(~missing)
    if code_col is not None:
        frame = frame.drop("_by_name", "_by_code")
    return frame, rejects


def resolve_periods(frame: pl.DataFrame, label: pl.Expr, column: str,
                    grain: str) -> tuple[pl.DataFrame, list[Reject]]:
    """Add ``period_start``/``period_end`` from a period label; only ``grain`` periods pass."""
    frame = frame.with_columns(label.alias("_period"))
    parsed: dict[str, tuple[object, object, str]] = {}
    for text in frame["_period"].unique().to_list():
        try:
            p = parse_period(text)
        except PeriodError as exc:
            parsed[text] = (None, None, f"unreadable period: {exc}")
            continue
        ok = grain_of(p.start, p.end) == ("quarter" if grain == "fquarter" else grain)
        parsed[text] = (p.start, p.end, "") if ok else (
            None, None, f"'{text}' is not a financial {'quarter' if grain == 'fquarter' else 'year'}")
    labels = list(parsed)
    lookup = pl.DataFrame(
        {"_period": labels, "period_start": [parsed[k][0] for k in labels],
         "period_end": [parsed[k][1] for k in labels],
         "_period_error": [parsed[k][2] for k in labels]},
        schema={"_period": pl.String, "period_start": pl.Date, "period_end": pl.Date,
                "_period_error": pl.String},
    )
    frame = frame.join(lookup, on="_period", how="left", maintain_order="left")
    bad = pl.col("period_start").is_null()
    rejects = row_rejects(frame, bad, column, pl.col("_period_error"), value_col="_period")
    return frame.filter(~bad).drop("_period", "_period_error"), rejects


def parse_counts(frame: pl.DataFrame, column: str,
                 allow_negative: bool = False) -> tuple[pl.DataFrame, list[Reject]]:
    """Add ``value`` (Float64) and ``note`` from a count column; markers are null with a note."""
    values, notes, errors = parse_numbers(frame[column])
    frame = frame.with_columns(values.alias("value"), notes.alias("note"), errors.alias("_err"))
    rejects = row_rejects(frame, pl.col("_err"), column, "not a number")
    frame = frame.filter(~pl.col("_err")).drop("_err")
    if not allow_negative:
        negative = (pl.col("value") < 0).fill_null(False)
        rejects += row_rejects(frame, negative, column, "negative: a count cannot be below 0")
        frame = frame.filter(~negative)
    return frame, rejects


def sum_counts(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sum ``value`` by ``keys``; a group with a withheld (null) figure is withheld, with the
    publisher's notes."""
    return frame.group_by(keys).agg(
        pl.when(pl.col("value").is_null().any()).then(None)
        .otherwise(pl.col("value").sum()).alias("value"),
        pl.col("note").drop_nulls().unique().sort().str.join("; ").alias("value_note"),
    ).with_columns(pl.col("value_note").replace("", None))


def observations(frame: pl.DataFrame, source: str, vintage: str | pl.Expr) -> pl.DataFrame:
    """Fill the breakdown columns a frame lacks with '' and select the observation columns."""
    fill = [pl.lit("").alias(b) for b in BREAKDOWNS if b not in frame.columns]
    vintage_expr = vintage if isinstance(vintage, pl.Expr) else pl.lit(vintage)
    return frame.with_columns(
        *fill, pl.lit(source).alias("source"), vintage_expr.alias("vintage"),
    ).select(OBSERVATION_COLUMNS).with_columns(
        pl.col("value").cast(pl.Float64), pl.col("value_note").cast(pl.String),
    )


def sort_rejects(rejects: list[Reject]) -> list[Reject]:
    return sorted(rejects, key=lambda r: (r.row or 0, r.column or ""))


# --- conforming the published groups ---------------------------------------------------------

_UNKNOWN = r"^(n/?a|null|)$|not stated|not recorded|not known|unknown"


def ethnic_group(label: pl.Expr) -> pl.Expr:
    """A published ethnicity label → one of ETHNIC_GROUPS, or null when it fits none.

    Order matters: "Mixed - White and Black Caribbean" is Mixed, "Asian - Chinese" is
    Asian (2011 onwards), "Chinese or other" (older tables) is Other, "Gypsy or Irish
    Traveller" and "Roma" are White (as in the census), and "Other ethnic group - Not stated"
    is Not stated.
    """
    text = label.str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.str.contains("vehicle search")).then(pl.lit(VEHICLE_SEARCH))
        .when(text.str.contains(_UNKNOWN)).then(pl.lit(NOT_STATED))
        .when(text.str.contains("mixed")).then(pl.lit("Mixed"))
        .when(text.str.contains("asian")).then(pl.lit("Asian"))
        .when(text.str.contains("black")).then(pl.lit("Black"))
        .when(text.str.contains(r"white|gypsy|traveller|\broma\b|\birish\b")).then(pl.lit("White"))
        .when(text.str.contains(r"other|chinese|arab")).then(pl.lit("Other"))
        .otherwise(None)
    )


def sex_group(label: pl.Expr) -> pl.Expr:
    text = label.str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.str.contains("vehicle search")).then(pl.lit(VEHICLE_SEARCH))
        .when(text.str.contains(_UNKNOWN)).then(pl.lit(NOT_STATED))
        .when(text.is_in(["male", "m", "men"])).then(pl.lit("Male"))
        .when(text.is_in(["female", "f", "women"])).then(pl.lit("Female"))
        .when(text == "other").then(pl.lit("Other"))
        .otherwise(None)
    )


def age_group(label: pl.Expr) -> pl.Expr:
    """"10 - 17 years" → "10-17"; "Under 10 years" → "Under 10"; unknown → Not stated."""
    text = label.str.strip_chars()
    tidy = (
        text.str.replace(r"(?i)\s*(years?|yrs)(\s+old)?$", "")
        .str.replace_all(r"\s*[-–]\s*", "-").str.replace_all(r"\s+", " ")
    )
    tidy = pl.when(tidy.str.slice(0, 1).str.contains(r"[a-z]")).then(
        tidy.str.slice(0, 1).str.to_uppercase() + tidy.str.slice(1)
    ).otherwise(tidy)
    lower = text.str.to_lowercase()
    return (pl.when(lower.str.contains("vehicle search")).then(pl.lit(VEHICLE_SEARCH))
            .when(lower.str.contains(_UNKNOWN)).then(pl.lit(NOT_STATED)).otherwise(tidy))
