"""Values, confidence intervals, methods and disclosure control, for many indicators at once.

Pure: pairs in (see :mod:`metrics.pairing`), figures out. Suppressed figures lose their
numbers here, so no view or export downstream can show them by mistake.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from metrics import statistics as st
from metrics.options import Options
from metrics.registry import Indicator

_BLANKED = ("numerator", "denominator", "value", "lower", "upper")


class _Rows:
    """Each row's indicator, to read an indicator's attributes once per indicator rather
    than once per row (a refresh computes a few indicators over thousands of rows)."""

    def __init__(self, frame: pl.DataFrame, indicators: dict[str, Indicator]) -> None:
        self.indicators = list(indicators.values())
        self.codes = frame["indicator"].replace_strict(
            {k: n for n, k in enumerate(indicators)}, return_dtype=pl.UInt32).to_numpy()

    def each(self, value_of: Callable[[Indicator], object], dtype: type | str) -> np.ndarray:
        """``value_of(indicator)`` for each row's indicator."""
        return np.array([value_of(i) for i in self.indicators], dtype=dtype)[self.codes]

    def strings(self, value_of: Callable[[Indicator], str]) -> pl.Series:
        """``value_of(indicator)`` for each row's indicator, as a polars string column."""
        return pl.Series(self.codes).replace_strict(
            {n: value_of(i) for n, i in enumerate(self.indicators)}, return_dtype=pl.String)

    def threshold(self, default: int) -> np.ndarray:
        return self.each(lambda i: i.suppression_threshold or default, np.int64)


def figures(pairs: pl.DataFrame, indicators: dict[str, Indicator], options: Options
            ) -> pl.DataFrame:
    """Value, 95% CI and method for every pair, by each indicator's type and CI method."""
    x = pairs["numerator"].fill_null(np.nan).to_numpy().astype(float)
    n = pairs["denominator"].fill_null(np.nan).to_numpy().astype(float)
    rows = _Rows(pairs, indicators)
    mult = rows.each(lambda i: float(i.multiplier), np.float64)
    z = st.z_for(options.level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = x / n
    value = np.where(rows.each(lambda i: i.type in ("proportion", "rate", "mean"), bool),
                     ratio * mult, x)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    method = rows.strings(lambda i: i.ci_method)
    is_prop = rows.each(lambda i: i.type == "proportion" and i.ci_method == "wilson", bool)
    if is_prop.any():
        lo, hi = st.wilson_interval(x[is_prop], n[is_prop], z=z)
        lower[is_prop], upper[is_prop] = lo * mult[is_prop], hi * mult[is_prop]
    is_rate = rows.each(lambda i: i.type == "rate", bool)
    if is_rate.any():
        _, lo, hi, how = st.rate_interval(x[is_rate], n[is_rate], multiplier=1.0,
                                          level=options.level)
        lower[is_rate], upper[is_rate] = lo * mult[is_rate], hi * mult[is_rate]
        method = method.scatter(np.flatnonzero(is_rate), pl.Series(how.astype(str)))
    is_count = rows.each(lambda i: i.ci_method == "poisson" and i.type == "count", bool)
    if is_count.any():
        lo, hi, how = st.poisson_count_interval(x[is_count], level=options.level)
        lower[is_count], upper[is_count] = lo, hi
        method = method.scatter(np.flatnonzero(is_count), pl.Series(how.astype(str)))
    out = pairs.with_columns(
        pl.Series("value", value, dtype=pl.Float64),
        pl.Series("lower", lower, dtype=pl.Float64),
        pl.Series("upper", upper, dtype=pl.Float64),
        method.alias("method"),
        pl.lit(options.level).alias("level"),
    )
    return suppress(out, indicators, options)


def _primary(frame: pl.DataFrame, rows: _Rows, thresholds: np.ndarray) -> np.ndarray:
    """Small counts: numerators (and, for proportions and means, denominators) below the
    threshold. Amounts (£) are not counts of people or events and are never suppressed."""
    with_denominator = rows.each(lambda i: i.type in ("proportion", "mean"), bool)
    x = frame["numerator"].fill_null(np.nan).to_numpy().astype(float)
    n = frame["denominator"].fill_null(np.nan).to_numpy().astype(float)
    mask = np.zeros(frame.height, dtype=bool)
    for threshold in np.unique(thresholds):
        chosen = thresholds == threshold
        small = st.primary_suppression(x, threshold=threshold)
        small_den = st.primary_suppression(n, threshold=threshold)
        mask |= chosen & (small | (with_denominator & small_den))
    return mask & rows.each(lambda i: i.type != "amount", bool)


def suppress(frame: pl.DataFrame, indicators: dict[str, Indicator], options: Options
             ) -> pl.DataFrame:
    """Primary suppression of small counts, and every figure built on a count withheld over
    the whole published set (``withheld``, from :func:`metrics.disclosure.flag_hidden`:
    breakdowns, areas and periods at once); blank the numbers."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(False).alias("suppressed"), pl.lit("").alias("note"))
    rows = _Rows(frame, indicators)
    thresholds = rows.threshold(options.suppression_threshold)
    primary = _primary(frame, rows, thresholds)
    mask = primary.copy()
    if "withheld" in frame.columns:  # whole-set disclosure control (metrics.disclosure)
        mask |= frame["withheld"].fill_null(False).to_numpy()
    elif (frame["breakdown"] != "").any():  # within each breakdown only (the default)
        groups = frame.select(
            pl.concat_str(["indicator", "area_code", "period_start", "source"], separator="|")
        ).to_series().to_numpy()
        x = frame["numerator"].fill_null(np.nan).to_numpy().astype(float)
        # ties go to the first cell: order the cells by group and breakdown first, so the
        # choice never depends on which other areas were computed alongside
        order = np.lexsort((frame["breakdown"].to_numpy().astype(str), groups.astype(str)))
        mask = np.empty_like(primary)
        mask[order] = st.secondary_suppression(x[order], primary[order], groups[order])
    rule = st.WHOLE_SET_RULE if "withheld" in frame.columns else st.SECONDARY_RULE
    primary_note = pl.Series(thresholds).replace_strict(
        {int(t): "suppressed: " + st.PRIMARY_RULE_TEMPLATE.format(threshold=t)
         for t in np.unique(thresholds)}, return_dtype=pl.String)
    note = pl.when(pl.Series(primary)).then(primary_note).when(pl.Series(mask)).then(
        pl.lit(f"suppressed: {rule}"))
    out = frame.drop("withheld", strict=False).with_columns(
        pl.Series("suppressed", mask, dtype=pl.Boolean)).with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
         for c in _BLANKED]
    )
    denominator_note = pl.when(pl.col("denominator_source").is_not_null()).then(
        pl.lit("denominator: ") + pl.col("denominator_source")
    )
    out = out.with_columns(
        pl.concat_str([note, pl.col("value_note"), denominator_note], separator="; ",
                      ignore_nulls=True).alias("note")
    )
    if not options.rounding:
        return out
    return round_counts(out, rows.each(lambda i: i.type, object), options)


def round_counts(frame: pl.DataFrame, kinds: np.ndarray, options: Options) -> pl.DataFrame:
    """With ``options.rounding`` (a base such as 5), every count shown is rounded to it.

    Numerators and denominators are counts for every type but money (``amount``); a
    ``count`` indicator's value and CI are counts too. Rates, proportions and ratios keep the
    values computed from the unrounded counts, as METHODS.md says and the exports state.
    """
    if not options.rounding or frame.height == 0:
        return frame
    counts = kinds != "amount"
    count_values = kinds == "count"

    def rounded(column: str, where: np.ndarray) -> pl.Series:
        raw = frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        return pl.Series(column, np.where(where, st.round_to_base(raw, options.rounding), raw)
                         ).fill_nan(None)

    return frame.with_columns(
        rounded("numerator", counts), rounded("denominator", counts),
        *[rounded(c, count_values) for c in ("value", "lower", "upper")],
    )


def ratio_figures(pairs: pl.DataFrame, ind: Indicator, options: Options, *, all_groups: bool
                  ) -> pl.DataFrame:
    """Rate ratio of each group (or the declared one) to the reference group, Katz CI."""
    comparison = ind.comparison
    assert comparison is not None
    keys = ["area_code", "period_start", "period_end"]
    ref = pairs.filter(pl.col("breakdown") == comparison.reference).select(
        *keys, pl.col("numerator").alias("ref_x"), pl.col("denominator").alias("ref_n"),
    )
    groups = pairs.filter(pl.col("breakdown") != comparison.reference)
    if not all_groups:
        groups = groups.filter(pl.col("breakdown") == comparison.group)
    groups = groups.filter(~pl.col("breakdown").is_in(["Not stated", "Unknown"]))
    if "withheld" in pairs.columns:  # the reference group's count withheld withholds the ratio
        ref = ref.join(pairs.filter(pl.col("breakdown") == comparison.reference)
                       .select(*keys, pl.col("withheld").alias("ref_withheld")), on=keys,
                       how="left")
    joined = groups.join(ref, on=keys, how="inner")
    ratio, lower, upper, _sig, _est = st.rate_ratio(
        joined["numerator"].to_numpy().astype(float),
        joined["denominator"].to_numpy().astype(float),
        joined["ref_x"].to_numpy().astype(float), joined["ref_n"].to_numpy().astype(float),
        z=st.z_for(options.level),
    )
    threshold = ind.suppression_threshold or options.suppression_threshold
    small = st.primary_suppression(joined["numerator"].to_numpy().astype(float),
                                   threshold=threshold)
    small |= st.primary_suppression(joined["ref_x"].to_numpy().astype(float),
                                    threshold=threshold)
    primary = small.copy()
    for column in ("withheld", "ref_withheld"):
        if column in joined.columns:
            small |= joined[column].fill_null(False).to_numpy()
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=threshold)
    describe = pl.concat_str([
        pl.col("breakdown"), pl.lit(f" vs {comparison.reference}: rate ratio; denominator: "),
        pl.coalesce("denominator_source", pl.lit("population")),
        pl.lit(f"; 'denominator' holds the {comparison.reference} count"),
    ])
    out = joined.with_columns(
        pl.Series("value", ratio, dtype=pl.Float64), pl.Series("lower", lower, dtype=pl.Float64),
        pl.Series("upper", upper, dtype=pl.Float64), pl.lit("katz").alias("method"),
        pl.lit(options.level).alias("level"), pl.col("ref_x").alias("denominator"),
        pl.Series("suppressed", small, dtype=pl.Boolean),
    ).with_columns(
        pl.when(pl.Series(primary)).then(pl.lit(f"suppressed: {rule}"))
        .when(pl.col("suppressed")).then(pl.lit(
            f"suppressed: {st.WHOLE_SET_RULE if 'withheld' in pairs.columns else st.SECONDARY_RULE}"))
        .otherwise(describe).alias("note"),
        *[pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
          for c in _BLANKED],
    )
    if not all_groups:  # the headline figure: one comparison, shown as the indicator's total
        out = out.with_columns(pl.lit("").alias("breakdown"))
    out = out.drop("ref_x", "ref_n", "withheld", "ref_withheld", strict=False)
    return round_counts(out, np.full(out.height, "ratio"), options)
