"""Native periods → the grain asked for: sums or period-end stocks, complete periods only.

Pure polars: a frame of native observations in, a frame of grain periods out. A period is
shown only when every month of it is covered (a quarter with two months of data is left out,
never shown as if complete).

Observations of one series (area, measure, breakdown) that overlap — months loaded, then a
revised quarter, perhaps from another source — are first reduced to *tiles* that do not
overlap (decision 0012): for each month, the most authoritative source's observation, then the
most recently loaded, then the finest; an observation is used whole or not at all. A grain is
built from the tiles of the observations that fit in it, so a quarter, its financial year and
the rolling years that contain it agree. ``built_from`` says which grains (and sources) made
each figure ("9 months + 1 quarter").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

GRAIN_MONTHS = {"month": 1, "quarter": 3, "fquarter": 3, "fy": 12, "year": 12, "r12": 12}
GROUP = ["area_code", "measure", "breakdown", "source"]


def _month_index(col: str) -> pl.Expr:
    return pl.col(col).dt.year().cast(pl.Int32) * 12 + pl.col(col).dt.month().cast(pl.Int32) - 1


def _bucket(grain: str) -> pl.Expr:
    start = pl.col("period_start")
    if grain == "month":
        return start.dt.truncate("1mo")
    if grain in ("quarter", "fquarter"):
        return start.dt.truncate("1q")
    if grain == "year":
        return start.dt.truncate("1y")
    if grain == "fy":
        year = start.dt.year() - (start.dt.month() < 4).cast(pl.Int32)
        return pl.date(year, 4, 1)
    raise ValueError(f"unknown grain '{grain}'")


def _with_months(native: pl.DataFrame) -> pl.DataFrame:
    return native.with_columns(
        (_month_index("period_end") - _month_index("period_start") + 1).alias("months"),
        _month_index("period_end").alias("end_index"),
    )


def choose_tiles(frame: pl.DataFrame, keys: list[str] | None = None) -> pl.DataFrame:
    """The observations each series' figures are built from: none overlapping (decision 0012).

    Per series (``keys``: one source's, by default; :data:`SERIES` for every source's),
    observations are taken in order of authority (``priority``, lowest first, when there is
    one), recency (``run_id``, latest first), then fineness (fewest months first), then time;
    one is kept when none of its months is already covered by a kept one. So a quarter loaded after its months replaces them (and every
    financial and rolling year built on them), a month loaded after its quarter replaces the
    quarter (the quarter's other months, loaded earlier, come back), and where one load gave
    both, the finer observations are kept. Only series with overlapping periods are examined
    one by one; the others pass through.
    """
    keys = keys or GROUP
    if frame.height == 0:
        return frame
    frame = frame.with_columns(
        (pl.col("end_index") - pl.col("months") + 1).alias("_start"),
        (pl.col("priority") if "priority" in frame.columns else pl.lit(0)).alias("_rank"),
        pl.col("run_id").fill_null(0).alias("_run") if "run_id" in frame.columns
        else pl.lit(0).alias("_run"),
    )
    reach = pl.col("end_index").cum_max().shift(1).over(keys, order_by="_start")
    clash = frame.filter((pl.col("_start") <= reach).fill_null(False)).select(keys).unique()
    if clash.height == 0:
        return frame.drop("_start", "_run", "_rank")
    overlapping = frame.join(clash, on=keys, how="semi", nulls_equal=True).sort(
        [*keys, "_rank", "_run", "months", "_start"],
        descending=[False] * len(keys) + [False, True, False, False])
    series = overlapping.select(pl.struct(keys).rank("dense").alias("_series"))["_series"]
    covered: dict[int, set[int]] = {}
    keep = []
    for one, start, end in zip(series.to_list(), overlapping["_start"].to_list(),
                               overlapping["end_index"].to_list(), strict=True):
        months = set(range(start, end + 1))
        mine = covered.setdefault(one, set())
        keep.append(not months & mine)
        if keep[-1]:
            mine |= months
    kept = [frame.join(clash, on=keys, how="anti", nulls_equal=True),
            overlapping.filter(pl.Series(keep, dtype=pl.Boolean))]
    return pl.concat(kept, how="vertical_relaxed").drop("_start", "_run", "_rank")


GRAIN_WORDS = ((1, "month", "months"), (3, "quarter", "quarters"), (12, "year", "years"))


def _tile_counts(months: pl.Expr) -> list[pl.Expr]:
    """Aggregations: how many tiles of each grain a figure has (``_n1``, ``_n3``, …)."""
    sizes = [s for s, _, _ in GRAIN_WORDS]
    return [(months == s).sum().alias(f"_n{s}") for s in sizes] + [
        (~months.is_in(sizes)).sum().alias("_nother")]


def _last_tile_counts(months: pl.Expr) -> list[pl.Expr]:
    """:func:`_tile_counts` of the last tile alone (a stock's figure is its period-end tile)."""
    sizes = [s for s, _, _ in GRAIN_WORDS]
    last = months.last()
    return [(last == s).cast(pl.UInt32).alias(f"_l{s}") for s in sizes] + [
        (~last.is_in(sizes)).cast(pl.UInt32).alias("_lother")]


def _built_from(is_last: pl.Expr) -> pl.Expr:
    """'12 months', '9 months + 1 quarter', '1 year': the grains of a figure's tiles."""
    def words(suffix: str, one: str, many: str) -> pl.Expr:
        n = pl.when(is_last).then(pl.col(f"_l{suffix}")).otherwise(pl.col(f"_n{suffix}"))
        return (pl.when(n == 1).then(pl.lit(f"1 {one}"))
                .when(n > 1).then(n.cast(pl.String) + pl.lit(f" {many}")))

    return pl.concat_str(
        [words(str(size), one, many) for size, one, many in GRAIN_WORDS]
        + [words("other", "other period", "other periods")],
        separator=" + ", ignore_nulls=True,
    )



SERIES = ["area_code", "measure", "breakdown"]
"""A series across sources: what the cross-source tiles are chosen within (decision 0012)."""
RANKED = ("priority", "synthetic")
"""Columns of ``native`` that switch on the cross-source tiles: each source's priority (lower
wins) and whether it is synthetic."""


def to_grain(native: pl.DataFrame, grain: str, aggregation: dict[str, str]) -> pl.DataFrame:
    """Aggregate native observations to ``grain``.

    ``native`` has columns area_code, measure, breakdown, source, period_start, period_end,
    value, vintage, value_note (and run_id: the load). ``aggregation`` maps measure → 'sum' |
    'last'. Returns the same columns with period_start/period_end of the grain periods and
    ``built_from``.

    With ``priority`` and ``synthetic`` columns (decision 0012), the tiles of each series are
    chosen across sources — for each month the most authoritative source's (lowest priority),
    then the most recently loaded, then the finest observation — and a period they cover is
    one figure whose ``source`` names every source it took ("board_extract + synthetic_demo"),
    ``priority`` the best of them and ``synthetic`` whether any was. A period those tiles
    cannot make (a coarser figure partly overlapped by a better finer one) falls back to each
    source's own figure, as without those columns.
    """
    if native.height == 0:
        return native
    return from_tiles(choose(native, GRAIN_MONTHS[grain], aggregation), grain)


@dataclass(frozen=True)
class Tiles:
    """The tiles :func:`to_grain` builds a grain's periods from (:func:`choose`). They
    depend on which observations fit in the grain's periods, not on the grain: a refresh
    chooses them once for every grain its observations all fit in (a year of monthly street
    crime: month, quarter, financial and calendar year, rolling year)."""

    one: pl.DataFrame | None
    """The tiles of every series with one source (without :data:`RANKED`: of every series);
    None when no observation fits."""
    mixed: pl.DataFrame | None = None
    """The cross-source tiles of the series with several sources."""
    own: pl.DataFrame | None = None
    """Each source's own tiles of the series whose cross-source tiles left one out."""
    empty: pl.DataFrame | None = None
    """When none fits: ``native``'s columns and ``built_from``, no rows (the periods)."""


def longest(native: pl.DataFrame) -> int:
    """The months of ``native``'s longest observation (0 when it has none): every grain
    whose periods are that long at least has the same :class:`Tiles`."""
    if native.height == 0:
        return 0
    return int(_with_months(native)["months"].max())  # type: ignore[arg-type]


def choose(native: pl.DataFrame, months: int, aggregation: dict[str, str]) -> Tiles:
    """The tiles of the observations ``months`` long at most (see :func:`to_grain`)."""
    frame = _with_months(native).filter(pl.col("months") <= months).with_columns(
        pl.col("measure").replace_strict(aggregation, default="sum").alias("aggregation"))
    if frame.height == 0:
        return Tiles(None, empty=native.head(0).with_columns(
            pl.lit(None, dtype=pl.String).alias("built_from")))
    if not set(RANKED) <= set(native.columns):
        return Tiles(choose_tiles(frame, GROUP))
    # Series with one source: its own tiles are the cross-source tiles.
    several = frame.group_by(SERIES).agg(pl.col("source").n_unique().alias("_n")).filter(
        pl.col("_n") > 1).select(SERIES)
    if several.height == 0:
        return Tiles(choose_tiles(frame, GROUP))
    one = choose_tiles(frame.join(several, on=SERIES, how="anti"), GROUP)
    shared = frame.join(several, on=SERIES, how="semi")
    tiles = choose_tiles(shared, SERIES)
    # Where the cross-source tiles left an observation out, a period they cannot make may
    # still be one source's own figure: those series are aggregated per source too.
    dropped = shared.group_by(SERIES).len().join(
        tiles.group_by(SERIES).len(), on=SERIES, how="left", suffix="_kept").filter(
        pl.col("len_kept").fill_null(0) < pl.col("len")).select(SERIES)
    own = (choose_tiles(shared.join(dropped, on=SERIES, how="semi"), GROUP)
           if dropped.height else None)
    return Tiles(one, tiles, own)


def from_tiles(tiles: Tiles, grain: str) -> pl.DataFrame:
    """The complete periods of ``grain`` the tiles make (see :func:`to_grain`)."""
    if tiles.one is None:
        assert tiles.empty is not None
        return tiles.empty
    one = _aggregate(tiles.one, grain, GROUP)
    if tiles.mixed is None:
        return one
    mixed = _aggregate(tiles.mixed, grain, SERIES)
    parts = [one, mixed.select(one.columns)]
    if tiles.own is not None:
        own = _aggregate(tiles.own, grain, GROUP)
        period = [*SERIES, "period_start", "period_end"]
        parts.append(own.join(mixed.select(period), on=period, how="anti").select(one.columns))
    return pl.concat(parts, how="vertical_relaxed")


def to_grains(native: pl.DataFrame, grains: Sequence[str], aggregation: dict[str, str]
              ) -> list[pl.DataFrame]:
    """:func:`to_grain` of ``native`` at each of ``grains``, sharing what they share: the
    tiles of a longer grain are those of a shorter one whenever no observation is longer
    than the shorter (a year of months: one choice of tiles for all five grains, not five;
    :class:`Tiles`)."""
    if native.height == 0:
        return [native for _ in grains]
    top = longest(native)
    chosen: dict[int, Tiles] = {}
    out = []
    for grain in grains:
        months = min(GRAIN_MONTHS[grain], top)
        if months not in chosen:
            chosen[months] = choose(native, months, aggregation)
        out.append(from_tiles(chosen[months], grain))
    return out


def _aggregate(frame: pl.DataFrame, grain: str, keys: list[str]) -> pl.DataFrame:
    """Tiles → complete grain periods (sums, or the period-end value of a stock)."""
    months = GRAIN_MONTHS[grain]
    ranked = set(RANKED) <= set(frame.columns)
    extra = [
        pl.col("source").unique().sort().str.join(" + ").alias("source"),
        pl.col("priority").min().alias("priority"), pl.col("synthetic").any().alias("synthetic"),
        pl.col("source").alias("tile_sources"), pl.col("months").alias("tiles"),
    ] if "source" not in keys else ([pl.col("priority").first(), pl.col("synthetic").first()]
                                    if ranked else [])
    if grain == "r12":
        out = _rolling(frame, keys, extra)
    else:
        out = _buckets(frame, grain, months, keys, extra)
    if "tile_sources" in out.columns:
        out = _name_sources(out).drop("tile_sources", "tiles")
    return out


def _notes(frame: pl.DataFrame) -> pl.Expr:
    """Aggregation: a figure's distinct value notes, joined ('' when it has none, read as no
    note). Where no row has a note — the whole-set plan reads none — '' outright: the
    per-group unique and join were a third of the plan's aggregation (decision 32's
    nulls)."""
    if frame["value_note"].null_count() == frame.height:
        return pl.lit("", dtype=pl.String).alias("value_note")
    return pl.col("value_note").drop_nulls().unique().str.join("; ").alias("value_note")


def _buckets(frame: pl.DataFrame, grain: str, months: int, keys: list[str],
             extra: list[pl.Expr]) -> pl.DataFrame:
    frame = frame.with_columns(_bucket(grain).alias("bucket"))
    out = (
        frame.sort("period_end")
        .group_by([*keys, "bucket", "aggregation"])
        .agg(
            pl.when(pl.col("value").null_count() > 0).then(None)
            .otherwise(pl.col("value").sum()).alias("sum_value"),
            pl.col("value").last().alias("last_value"),
            pl.col("months").sum().alias("covered"),
            pl.col("period_end").max().alias("last_end"),
            pl.col("vintage").max().alias("vintage"),
            _notes(frame),
            *_tile_counts(pl.col("months")), *_last_tile_counts(pl.col("months")),
            *extra,
        )
        .with_columns(
            pl.col("bucket").alias("period_start"),
            pl.col("bucket").dt.offset_by(f"{months}mo").dt.offset_by("-1d").alias("period_end"),
        )
    )
    is_last = pl.col("aggregation") == "last"
    complete = pl.when(is_last).then(
        pl.col("last_end") == pl.col("period_end")
    ).otherwise((pl.col("covered") == months) & (pl.col("last_end") <= pl.col("period_end")))
    return out.filter(complete).select(
        *GROUP, "period_start", "period_end",
        pl.when(is_last).then("last_value").otherwise("sum_value").alias("value"),
        "vintage", pl.col("value_note").replace("", None),
        _built_from(is_last).alias("built_from"),
        *[c for c in ("priority", "synthetic", "tiles", "tile_sources") if c in out.columns],
    )


def _name_sources(out: pl.DataFrame) -> pl.DataFrame:
    """Where a figure took tiles from several sources, ``built_from`` says which grains came
    from which: '3 quarters (synthetic_demo) + 1 quarter (board_extract)'."""
    several = pl.col("tile_sources").list.n_unique() > 1
    if not out.select(several.any()).item():
        return out
    out = out.with_row_index("_i")
    mixed = out.filter(several)
    described = [
        " + ".join(f"{_words([m for m, s in zip(tiles, srcs, strict=True) if s == src])}"
                   f" ({src})" for src in dict.fromkeys(srcs))
        for tiles, srcs in mixed.select("tiles", "tile_sources").iter_rows()
    ]
    named = mixed.select("_i", pl.Series("_named", described, dtype=pl.String))
    return out.join(named, on="_i", how="left").with_columns(
        pl.coalesce("_named", "built_from").alias("built_from")).drop("_i", "_named")


def _words(tiles: list[int]) -> str:
    """:func:`_built_from` for one figure's tiles of one source: '9 months + 1 quarter'."""
    parts = []
    for size, one, many in GRAIN_WORDS:
        n = tiles.count(size)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    other = sum(1 for m in tiles if m not in {s for s, _, _ in GRAIN_WORDS})
    if other:
        parts.append(f"{other} other period{'' if other == 1 else 's'}")
    return " + ".join(parts)


def _rolling(frame: pl.DataFrame, keys: list[str], extra: list[pl.Expr]) -> pl.DataFrame:
    """Rolling 12 months ending at each native period end that has 12 months behind it."""
    frame = frame.with_columns(
        (pl.col("end_index") - pl.col("months") + 1).alias("start_index"),
        pl.col("value").is_null().cast(pl.Int32).alias("withheld"),
    ).sort([*keys, "end_index"])
    rolled = frame.rolling(index_column="end_index", period="12i", group_by=keys).agg(
        pl.col("value").sum().alias("sum_value"),
        pl.col("value").last().alias("last_value"),
        pl.col("withheld").sum().alias("withheld"),
        pl.col("months").sum().alias("covered"),
        pl.col("start_index").min().alias("first_index"),
        pl.col("period_end").last().alias("period_end"),
        pl.col("aggregation").last().alias("aggregation"),
        pl.col("vintage").max().alias("vintage"),
        _notes(frame),
        *_tile_counts(pl.col("months")), *_last_tile_counts(pl.col("months")),
        *extra,
    )
    is_last = pl.col("aggregation") == "last"
    complete = is_last | (
        (pl.col("covered") == 12) & (pl.col("first_index") == pl.col("end_index") - 11)
    )
    value = pl.when(is_last).then("last_value").when(pl.col("withheld") > 0).then(None).otherwise(
        "sum_value"
    )
    return rolled.filter(complete).select(
        *GROUP,
        pl.col("period_end").dt.offset_by("-11mo").dt.month_start().alias("period_start"),
        "period_end", value.alias("value"), "vintage", pl.col("value_note").replace("", None),
        _built_from(is_last).alias("built_from"),
        *[c for c in ("priority", "synthetic", "tiles", "tile_sources") if c in rolled.columns],
    )
