"""Small frames picked apart column by column.

A page view's frames are a few dozen rows (one area, one period); each polars query on them
(a filter, a select) costs a tenth of a millisecond or more in the query engine, where the
same work on the columns (``Series``) costs a few microseconds. These give the same rows
and types as the queries they stand for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl


def where(frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    """``frame.filter(mask)``, column by column."""
    return pl.DataFrame([column.filter(mask) for column in frame.get_columns()])


def equal(frame: pl.DataFrame, column: str, value: Any) -> pl.DataFrame:
    """``frame.filter(pl.col(column) == value)``, column by column."""
    return where(frame, frame.get_column(column) == value)


def tuples(frame: pl.DataFrame, *columns: str) -> Iterator[tuple]:
    """``frame.select(*columns).iter_rows()``, column by column."""
    return zip(*(frame.get_column(c).to_list() for c in columns), strict=True)
