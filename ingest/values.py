"""Vectorised cleaning of published numbers: thousands separators, suppression markers."""

from __future__ import annotations

import polars as pl

DEFAULT_MARKERS: tuple[str, ...] = ("..", "[c]", "[x]", "[z]", "[low]", "*", "-", "–", ":")


def parse_numbers(
    column: pl.Series, markers: tuple[str, ...] = DEFAULT_MARKERS
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Strings → (values as Float64, note for publisher markers, error mask for garbage).

    Empty cells are null with no note. A marker such as ``..`` or ``[c]`` becomes null with
    the note "publisher marker '..'". Anything else that is not a number is an error.
    """
    text = column.cast(pl.String).str.strip_chars()
    cleaned = text.str.replace_all(r"[,\s£%]", "")
    values = cleaned.cast(pl.Float64, strict=False)
    values = pl.select(pl.when(values.is_finite()).then(values).alias("v")).to_series() if len(
        values) else values  # 'nan', 'inf', '1e999': not figures (an error below, not a value)
    is_marker = text.is_in(list(markers))
    note = pl.when(is_marker).then(pl.lit("publisher marker '") + text + pl.lit("'"))
    notes = pl.select(note.otherwise(None).alias("n")).to_series() if len(text) else pl.Series(
        "n", [], dtype=pl.String
    )
    empty = text.is_null() | (text == "")
    errors = values.is_null() & ~is_marker & ~empty
    return values.alias(column.name), notes.alias(f"{column.name}_note"), errors


def number_error_reason(column: str) -> pl.Expr:
    """Why a cell flagged by :func:`parse_numbers` is not a number, for a reject."""
    text = pl.col(column).cast(pl.String).str.strip_chars().str.replace_all(r"[,\s£%]", "")
    finite = text.cast(pl.Float64, strict=False).is_finite()
    return pl.when(finite.is_not_null() & ~finite).then(
        pl.lit("not a finite number (NaN or infinity cannot be a figure)")
    ).otherwise(pl.lit("not a number"))
