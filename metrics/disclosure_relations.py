"""The identities tying published figures together, found from the cells' keys alone.

A *cell* is one figure of one series (a measure, or an indicator's numerator): an area, a
period and a breakdown value. Pure polars: a frame of cells in, :class:`Relations` out.
Three families of identity, each used by suppression (:mod:`metrics.disclosure`) and by the
audit (:mod:`metrics.disclosure_audit`) alike:

- **breakdown**: the total (breakdown '') equals the sum of the categories of each breakdown;
- **area**: an area equals its twin (a force and its LCJB), and the sum of its forces and of
  its LCJBs (``core.area_sources``: regions, countries, England and Wales, London);
- **time**: a quarter equals the sum of its months; a year, financial year or rolling 12
  months the sum of its months and of its quarters. Stocks (aggregation ``last``) are not
  sums: a longer period equals its last month and its last quarter.

An identity is used only where every part is present among the cells (a relation with a
missing member is not one an analyst could difference).
"""

from __future__ import annotations

import polars as pl

from metrics.statistics.disclosure import Relations
from metrics.statistics.disclosure_windows import WindowPieces

CELL_KEY = ("series", "area_code", "s_idx", "months", "bdim", "bval")
"""What names a cell: series, area, first month (year·12 + month − 1), length in months,
breakdown dimension ('' for the total) and value ('' for the total)."""

_PARENT_CHILD_MONTHS = ((3, 1), (12, 1), (12, 3))
FINANCIAL_YEAR_START = 3
"""Month index (mod 12) of April: financial years start then."""


def month_index(column: str) -> pl.Expr:
    return pl.col(column).dt.year().cast(pl.Int64) * 12 + pl.col(column).dt.month().cast(
        pl.Int64) - 1


def with_cell_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``s_idx`` and ``months`` from ``period_start``/``period_end``."""
    return frame.with_columns(
        month_index("period_start").alias("s_idx"),
        (month_index("period_end") - month_index("period_start") + 1).alias("months"),
    )


def is_nested_window(s_idx: pl.Expr, months: pl.Expr) -> pl.Expr:
    """Months, quarters and financial years nest (a month in one quarter, a quarter in one
    financial year); a calendar year or any other rolling 12 months overlaps two of them."""
    return (months < 12) | (s_idx % 12 == FINANCIAL_YEAR_START)


def relations_for(cells: pl.DataFrame, area_sources: pl.DataFrame) -> Relations:
    """Every identity among ``cells`` (columns CELL_KEY, ``aggregation`` and ``cell``, the
    cell's index). ``area_sources`` has area_code, strategy, source_area_code, set_size."""
    keyed = cells.select(*CELL_KEY, "aggregation", pl.col("cell").cast(pl.Int64))
    families = [_breakdown(keyed), _areas(keyed, area_sources), _time(keyed)]
    parts: list[pl.DataFrame] = []
    offset = 0
    for fam in families:
        if fam.height == 0:
            continue
        parts.append(fam.with_columns(pl.col("relation") + offset))
        offset += int(fam["relation"].max()) + 1
    if not parts:
        return Relations.build([], [], [])
    members = pl.concat(parts)
    return Relations.build(members["relation"].to_numpy(), members["cell"].to_numpy(),
                           members["coef"].to_numpy())


def _members(parents: pl.DataFrame, children: pl.DataFrame) -> pl.DataFrame:
    """Stack ``relation, cell, coef`` from a parent per relation (+1) and its children (−1)."""
    return pl.concat([
        parents.select(pl.col("relation").cast(pl.Int64), pl.col("cell"), pl.lit(1.0).alias("coef")),
        children.select(pl.col("relation").cast(pl.Int64), pl.col("cell"),
                        pl.lit(-1.0).alias("coef")),
    ])


def _number(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """A dense relation number for each distinct ``by``."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(0, dtype=pl.Int64).alias("relation"))
    key = pl.col(by[0]) if len(by) == 1 else pl.struct(by)  # the same ranks, sooner
    return frame.with_columns(key.rank("dense").cast(pl.Int64).sub(1).alias("relation"))


def _breakdown(cells: pl.DataFrame) -> pl.DataFrame:
    totals = cells.filter(pl.col("bdim") == "").select(
        "series", "area_code", "s_idx", "months", pl.col("cell").alias("total"))
    parts = cells.filter(pl.col("bdim") != "").join(
        totals, on=["series", "area_code", "s_idx", "months"], how="inner")
    parts = _number(parts, ["total", "bdim"])
    parents = parts.unique("relation").select("relation", pl.col("total").alias("cell"))
    return _members(parents, parts)


def _areas(cells: pl.DataFrame, area_sources: pl.DataFrame) -> pl.DataFrame:
    """Twins and sums of areas. Joined on integer codes (a line of series, breakdown and
    value; an area), not on the key's strings: each of England and Wales's cells meets
    every area it is summed from, and the strings were most of the plan's memory (decision
    32)."""
    sources = area_sources.filter(
        (pl.col("strategy") > 0) & (pl.col("area_code") != pl.col("source_area_code"))
    ).select("area_code", "strategy", "source_area_code", "set_size")
    if sources.height == 0 or cells.height == 0:
        return pl.DataFrame(schema={"relation": pl.Int64, "cell": pl.Int64, "coef": pl.Float64})
    names = cells["area_code"].unique().sort().to_list()
    code = dict(zip(names, range(len(names)), strict=True))

    def coded(column: str) -> pl.Expr:
        return pl.col(column).replace_strict(code, default=None, return_dtype=pl.Int32)

    keyed = cells.select(pl.struct("series", "bdim", "bval").rank("dense").cast(pl.Int32)
                         .alias("line"), "s_idx", "months", coded("area_code").alias("area"),
                         "cell")
    sources = sources.select(coded("area_code").alias("area"), "strategy",
                             coded("source_area_code").alias("source"), "set_size"
                             ).drop_nulls("area")
    other = ["line", "s_idx", "months"]
    parents = keyed.select(*other, "area", pl.col("cell").alias("parent")).join(
        sources, on="area", how="inner")
    children = parents.join(
        keyed.select(*other, pl.col("area").alias("source"), "cell"),
        on=[*other, "source"], how="inner",
    )
    # Twins (strategy 1) are one identity each; a sum needs every one of its areas present.
    children = children.filter(
        pl.len().over("parent", "strategy") == pl.col("set_size").cast(pl.UInt32)
    )
    children = children.with_columns(
        pl.when(pl.col("strategy") == 1).then(pl.col("source")).otherwise(pl.lit(-1))
        .alias("twin"))
    children = _number(children, ["parent", "strategy", "twin"])
    parents_rows = children.unique("relation").select("relation", pl.col("parent").alias("cell"))
    return _members(parents_rows, children)


def _lines() -> pl.Expr:
    """An integer per series, area and breakdown value (a *line* of periods): the time
    families join on it rather than on the four strings (decision 32)."""
    return pl.struct("series", "area_code", "bdim", "bval").rank("dense").cast(pl.Int32)


def _time(cells: pl.DataFrame) -> pl.DataFrame:
    other = ["line"]
    cells = cells.select(_lines().alias("line"), "aggregation", "s_idx", "months", "cell")
    frames: list[pl.DataFrame] = []
    offset = 0
    for parent_len, child_len in _PARENT_CHILD_MONTHS:
        parents = cells.filter(pl.col("months") == parent_len).select(
            *other, "aggregation", "s_idx", pl.col("cell").alias("parent"))
        children = cells.filter(pl.col("months") == child_len).select(
            *other, pl.col("s_idx").alias("c_idx"), "cell")
        if parents.height == 0 or children.height == 0:
            continue
        # Every child the parent could hold: aligned with its start, inside it (a parent
        # has a few such places; a month sits in twelve 12-month windows).
        places = parents.with_columns(pl.int_ranges(
            pl.col("s_idx"), pl.col("s_idx") + parent_len - child_len + 1, child_len,
        ).alias("c_idx")).explode("c_idx")
        joined = places.join(children, on=[*other, "c_idx"], how="inner")
        is_sum = pl.col("aggregation") != "last"
        sums = joined.filter(is_sum).filter(
            pl.len().over("parent") == parent_len // child_len)
        stocks = joined.filter(~is_sum & (pl.col("c_idx") + child_len
                                          == pl.col("s_idx") + parent_len))
        kept = _number(pl.concat([sums, stocks]), ["parent"])
        if kept.height == 0:
            continue
        kept = kept.with_columns(pl.col("relation") + offset)
        offset = int(kept["relation"].max()) + 1
        frames.append(_members(kept.unique("relation").select(
            "relation", pl.col("parent").alias("cell")), kept))
    if not frames:
        return pl.DataFrame(schema={"relation": pl.Int64, "cell": pl.Int64, "coef": pl.Float64})
    return pl.concat(frames)


def overlapping_windows(cells: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """(window cell, cell inside it) for each 12-month window that is not a financial year
    and each shorter cell of the same series, area and breakdown within it: such a window is
    withheld whenever anything inside it is (so a visible one is a sum of visible figures
    and adds nothing an analyst could difference with)."""
    other = ["series", "area_code", "bdim", "bval"]
    windows = cells.filter(~is_nested_window(pl.col("s_idx"), pl.col("months"))).select(
        *other, pl.col("s_idx").alias("w_idx"), pl.col("cell").alias("window"))
    inner = cells.filter(pl.col("months") < 12).select(
        *other, pl.col("s_idx").alias("c_idx"), "months", "cell")
    candidates = inner.with_columns(
        pl.int_ranges(pl.col("c_idx") + pl.col("months") - 12, pl.col("c_idx") + 1)
        .alias("w_idx")).explode("w_idx")
    pairs = candidates.join(windows, on=[*other, "w_idx"], how="inner")
    return pairs["window"].cast(pl.Int64), pairs["cell"].cast(pl.Int64)


def window_pieces(cells: pl.DataFrame) -> WindowPieces:
    """What each overlapping window of ``cells`` (CELL_KEY, ``aggregation``, ``cell`` =
    row index) is made of (:class:`WindowPieces`): its months, each with the calendar
    quarter holding it where that quarter lies wholly inside the window, and its whole
    quarters, each with its months. A stock's window (aggregation ``last``) is its last
    month: only that month and its quarter are pieces."""
    other = ["line"]
    keyed = cells.select(_lines().alias("line"), "aggregation", "s_idx", "months",
                         pl.col("cell").cast(pl.Int64))
    windows = keyed.filter(~is_nested_window(pl.col("s_idx"), pl.col("months"))
                           & (pl.col("months") == 12)).select(
        *other, "aggregation", pl.col("s_idx").alias("w_idx"), pl.col("cell").alias("window"))
    stock = pl.col("aggregation") == "last"

    def inside(length: int) -> pl.DataFrame:
        inner = keyed.filter(pl.col("months") == length).select(
            *other, pl.col("s_idx").alias("c_idx"), "cell")
        places = windows.with_columns(pl.int_ranges(
            pl.col("w_idx"), pl.col("w_idx") + 12 - length + 1).alias("c_idx")).explode("c_idx")
        pairs = places.join(inner, on=[*other, "c_idx"])
        return pairs.filter(~stock | (pl.col("c_idx") + length == pl.col("w_idx") + 12))

    def cells_at(length: int, name: str) -> pl.DataFrame:
        return keyed.filter(pl.col("months") == length).select(
            *other, pl.col("s_idx").alias("at"), pl.col("cell").alias(name))

    months = inside(1).with_columns((pl.col("c_idx") - pl.col("c_idx") % 3).alias("at"))
    months = months.join(cells_at(3, "quarter"), on=[*other, "at"], how="left")
    whole = (pl.col("at") >= pl.col("w_idx")) & (pl.col("at") + 3 <= pl.col("w_idx") + 12)
    months = months.with_columns(pl.when(whole).then(pl.col("quarter")).otherwise(None)
                                 .fill_null(-1).alias("quarter"))
    quarters = inside(3).with_columns(
        pl.int_ranges(pl.col("c_idx"), pl.col("c_idx") + 3).alias("at")).explode("at").filter(
        ~stock | (pl.col("at") == pl.col("c_idx") + 2))  # a stock's quarter is its last month
    quarters = quarters.join(cells_at(1, "month"), on=[*other, "at"], how="left").with_columns(
        pl.col("month").fill_null(-1))
    return WindowPieces.build(
        cells.height, windows["window"].to_numpy(),
        (months["window"].to_numpy(), months["cell"].to_numpy(), months["quarter"].to_numpy()),
        (quarters["window"].to_numpy(), quarters["cell"].to_numpy(),
         quarters["month"].to_numpy()))
