"""Pure steps from aggregated measures to figures: pair, choose a source, derive, compare.

Each function takes and returns polars frames; the statistics come from
:mod:`metrics.statistics`. Suppressed figures have their numbers removed here, so no view or
export downstream can show them by mistake.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cjsdash.core.periods import label_period
from metrics import statistics as st
from metrics.options import Options
from metrics.registry import Indicator

KEY = ["area_code", "period_start", "period_end", "breakdown"]
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "indicator": pl.String(), "area_code": pl.String(), "period_start": pl.Date(),
    "period_end": pl.Date(), "period_label": pl.String(), "breakdown": pl.String(),
    "numerator": pl.Float64(), "denominator": pl.Float64(), "value": pl.Float64(),
    "lower": pl.Float64(), "upper": pl.Float64(), "level": pl.Float64(), "method": pl.String(),
    "suppressed": pl.Boolean(), "note": pl.String(), "source": pl.String(),
    "vintage": pl.String(), "synthetic": pl.Boolean(), "target": pl.Float64(),
    "target_kind": pl.String(), "status": pl.String(), "previous_value": pl.Float64(),
    "change": pl.Float64(), "change_significant": pl.Boolean(),
}
_PAIR_SCHEMA = {
    "area_code": pl.String, "period_start": pl.Date, "period_end": pl.Date,
    "breakdown": pl.String, "source": pl.String, "vintage": pl.String,
    "numerator": pl.Float64, "denominator": pl.Float64, "value_note": pl.String,
    "denominator_source": pl.String,
}


def pair_measures(
    periods: pl.DataFrame, ind: Indicator, pops: pl.DataFrame, population_source: str | None
) -> pl.DataFrame:
    """Numerator and denominator side by side, from the same source and period."""
    if periods.height == 0:
        return pl.DataFrame(schema=_PAIR_SCHEMA)
    cols = [*KEY, "source"]
    num = periods.filter(pl.col("measure") == ind.numerator.measure).select(
        *cols, "vintage", pl.col("value").alias("numerator"), "value_note"
    )
    if ind.denominator is not None:
        den = periods.filter(pl.col("measure") == ind.denominator.measure).select(
            *cols, pl.col("vintage").alias("den_vintage"), pl.col("value").alias("denominator"),
            pl.col("value_note").alias("den_note"),
        )
        out = num.join(den, on=cols, how="inner").with_columns(
            pl.max_horizontal("vintage", "den_vintage").alias("vintage"),
            pl.concat_str([pl.col("value_note"), pl.col("den_note")], separator="; ",
                          ignore_nulls=True).replace("", None).alias("value_note"),
            pl.lit(None, dtype=pl.String).alias("denominator_source"),
        ).drop("den_vintage", "den_note")
    elif ind.population_denominator:
        out = _join_population(num, pops, population_source)
    else:
        out = num.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("denominator"),
            pl.lit(None, dtype=pl.String).alias("denominator_source"),
        )
    return out.select(list(_PAIR_SCHEMA))


def _join_population(num: pl.DataFrame, pops: pl.DataFrame, source: str | None) -> pl.DataFrame:
    if pops.height == 0:
        return num.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("denominator"),
            pl.lit(None, dtype=pl.String).alias("denominator_source"),
        ).head(0)
    if source:
        pops = pops.filter(pl.col("source") == source)
    joined = num.with_columns(pl.col("period_start").dt.year().alias("_year")).join(
        pops.select("area_code", "breakdown", "year", pl.col("source").alias("denominator_source"),
                    pl.col("population").alias("denominator")),
        on=["area_code", "breakdown"], how="inner",
    )
    distance = pl.when(pl.col("year") <= pl.col("_year")).then(pl.col("_year") - pl.col("year"))
    distance = distance.otherwise(1000 + pl.col("year") - pl.col("_year"))
    return (
        joined.with_columns(distance.alias("_distance"))
        .filter(pl.col("_distance") == pl.col("_distance").min().over([*KEY, "source"]))
        .unique([*KEY, "source"], keep="first")
        .drop("_year", "_distance", "year")
    )


def choose_source(pairs: pl.DataFrame, sources: pl.DataFrame) -> pl.DataFrame:
    """Where two sources carry the same figure, keep the one with the lowest priority number."""
    pairs = pairs.join(
        sources.select("source", "priority", pl.col("is_synthetic").alias("synthetic")),
        on="source", how="left",
    ).with_columns(pl.col("priority").fill_null(50), pl.col("synthetic").fill_null(False))
    return pairs.filter(pl.col("priority") == pl.col("priority").min().over(KEY)).unique(
        KEY, keep="first"
    )


def figures(pairs: pl.DataFrame, ind: Indicator, options: Options) -> pl.DataFrame:
    """Value, CI, method and suppression for one indicator's pairs."""
    x = pairs["numerator"].to_numpy().astype(float)
    n = pairs["denominator"].to_numpy().astype(float) if pairs.height else np.array([])
    z = st.z_for(options.level)
    lower = upper = np.full(x.shape, np.nan)
    method = np.full(x.shape, ind.ci_method, dtype=object)
    if ind.type == "proportion":
        with np.errstate(divide="ignore", invalid="ignore"):
            value = x / n * ind.multiplier
        lo, hi = st.wilson_interval(x, n, z=z)
        lower, upper = lo * ind.multiplier, hi * ind.multiplier
    elif ind.type == "rate":
        value, lower, upper, method = st.rate_interval(
            x, n, multiplier=ind.multiplier, level=options.level
        )
    elif ind.type == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            value = x / n
    else:  # count, amount
        value = x.copy()
        if ind.ci_method == "poisson":
            lower, upper, method = st.poisson_count_interval(x, level=options.level)
    out = pairs.with_columns(
        pl.Series("value", value, dtype=pl.Float64),
        pl.Series("lower", lower, dtype=pl.Float64),
        pl.Series("upper", upper, dtype=pl.Float64),
        pl.Series("method", method.astype(str), dtype=pl.String),
        pl.lit(options.level).alias("level"),
    )
    return suppress(out, ind, options)


def _suppression_mask(frame: pl.DataFrame, ind: Indicator, threshold: int) -> np.ndarray:
    if ind.type in ("amount",) or frame.height == 0:
        return np.zeros(frame.height, dtype=bool)
    mask = st.primary_suppression(frame["numerator"].to_numpy().astype(float),
                                  threshold=threshold)
    if ind.type in ("proportion", "mean"):
        mask |= st.primary_suppression(frame["denominator"].to_numpy().astype(float),
                                       threshold=threshold)
    return mask


def suppress(frame: pl.DataFrame, ind: Indicator, options: Options) -> pl.DataFrame:
    """Primary suppression of small counts, secondary across a breakdown; blank the numbers."""
    threshold = ind.suppression_threshold or options.suppression_threshold
    primary = _suppression_mask(frame, ind, threshold)
    mask = primary
    if frame.height and (frame["breakdown"] != "").any():
        groups = frame.select(
            pl.concat_str(["area_code", "period_start", "source"], separator="|")
        ).to_series().to_numpy()
        mask = st.secondary_suppression(
            frame["numerator"].fill_null(np.nan).to_numpy().astype(float), primary, groups
        )
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=threshold)
    note = np.where(primary, f"suppressed: {rule}",
                    np.where(mask, f"suppressed: {st.SECONDARY_RULE}", ""))
    hidden = pl.Series("suppressed", mask, dtype=pl.Boolean)
    blank = [c for c in ("numerator", "denominator", "value", "lower", "upper")]
    out = frame.with_columns(hidden).with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in blank]
    )
    base_note = pl.coalesce(pl.col("value_note"), pl.lit(""))
    denominator_note = pl.when(pl.col("denominator_source").is_not_null()).then(
        pl.lit("denominator: ") + pl.col("denominator_source")
    ).otherwise(pl.lit(""))
    out = out.with_columns(
        pl.concat_str([pl.Series("n", note), base_note, denominator_note], separator="; ")
        .str.replace_all(r"^(; )+|(; )+$", "").str.replace_all(r"(; ){2,}", "; ").alias("note")
    )
    if options.rounding:
        out = out.with_columns(
            pl.Series("numerator", st.round_to_base(out["numerator"].to_numpy(), options.rounding))
        )
    return out


def ratio_figures(pairs: pl.DataFrame, ind: Indicator, options: Options, *, all_groups: bool
                  ) -> pl.DataFrame:
    """Rate ratio of each group (or the declared one) to the reference group, Katz CI."""
    comparison = ind.comparison
    assert comparison is not None
    keys = ["area_code", "period_start", "period_end"]
    ref = pairs.filter(pl.col("breakdown") == comparison.reference).select(
        *keys, pl.col("numerator").alias("ref_x"), pl.col("denominator").alias("ref_n"),
        pl.col("source").alias("ref_source"),
    )
    groups = pairs.filter(pl.col("breakdown") != comparison.reference)
    if not all_groups:
        groups = groups.filter(pl.col("breakdown") == comparison.group)
    groups = groups.filter(~pl.col("breakdown").is_in(["Not stated", "Unknown"]))
    joined = groups.join(ref, on=keys, how="inner")
    ratio, lower, upper, _sig, _est = st.rate_ratio(
        joined["numerator"].to_numpy().astype(float), joined["denominator"].to_numpy().astype(float),
        joined["ref_x"].to_numpy().astype(float), joined["ref_n"].to_numpy().astype(float),
        z=st.z_for(options.level),
    )
    out = joined.with_columns(
        pl.Series("value", ratio, dtype=pl.Float64), pl.Series("lower", lower, dtype=pl.Float64),
        pl.Series("upper", upper, dtype=pl.Float64), pl.lit("katz").alias("method"),
        pl.lit(options.level).alias("level"),
        pl.col("ref_x").alias("denominator"),
        (pl.lit(f"{comparison.reference} events as denominator; population rates: ")
         + pl.lit("") ).alias("value_note"),
    )
    threshold = ind.suppression_threshold or options.suppression_threshold
    small = st.primary_suppression(out["numerator"].to_numpy().astype(float), threshold=threshold)
    small |= st.primary_suppression(out["ref_x"].to_numpy().astype(float), threshold=threshold)
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=threshold)
    out = out.with_columns(
        pl.Series("suppressed", small, dtype=pl.Boolean),
        pl.concat_str([
            pl.lit(f"{comparison.group if not all_groups else 'group'} vs "
                   f"{comparison.reference} rate ratio; denominator: "),
            pl.coalesce("denominator_source", pl.lit("population")),
        ]).alias("note"),
    )
    out = out.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
         for c in ("numerator", "denominator", "value", "lower", "upper")]
    ).with_columns(
        pl.when(pl.col("suppressed")).then(pl.lit(f"suppressed: {rule}")).otherwise("note")
        .alias("note")
    )
    if not all_groups:  # the headline figure: one comparison, shown as the indicator's total
        out = out.with_columns(pl.lit("").alias("breakdown"))
    return out.drop("ref_x", "ref_n", "ref_source")


def attach_targets(result: pl.DataFrame, targets: pl.DataFrame,
                   indicators: dict[str, Indicator]) -> pl.DataFrame:
    """The target that applies to each figure (local before national) and its status."""
    if targets.height == 0 or result.height == 0:
        status = _status(result.with_columns(pl.lit(None, dtype=pl.Float64).alias("target")),
                         indicators)
        return status.with_columns(pl.lit(None, dtype=pl.String).alias("target_kind"))
    t = targets.rename({"area_code": "target_area", "value": "target",
                        "period_start": "t_start", "period_end": "t_end", "kind": "target_kind"})
    joined = result.with_row_index("_row").join(t, on="indicator", how="left")
    applies = (
        (pl.col("target_area") == pl.col("area_code")) | (pl.col("target_area") == "K04000001")
    ) & (pl.col("t_start").is_null() | (pl.col("t_start") <= pl.col("period_start"))) & (
        pl.col("t_end").is_null() | (pl.col("t_end") >= pl.col("period_end"))
    ) & (pl.col("breakdown") == "") & (pl.col("target_kind") == "target")
    joined = joined.with_columns(
        pl.when(applies).then(pl.col("target")).otherwise(None).alias("target"),
        pl.when(applies).then(pl.col("target_kind")).otherwise(None).alias("target_kind"),
        (pl.col("target_area") != "K04000001").alias("_local"),
    ).sort(["_row", "_local", "target"], descending=[False, True, False], nulls_last=True)
    picked = joined.unique("_row", keep="first", maintain_order=True).drop(
        "_row", "_local", "target_area", "t_start", "t_end", "source_right", strict=False)
    return _status(picked, indicators)


def _status(frame: pl.DataFrame, indicators: dict[str, Indicator]) -> pl.DataFrame:
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("status"))
    polarity = frame["indicator"].replace_strict(
        {k: v.polarity for k, v in indicators.items()}, return_dtype=pl.String
    ).to_numpy()
    status = st.target_status(
        frame["value"].fill_null(np.nan).to_numpy().astype(float),
        frame["target"].fill_null(np.nan).to_numpy().astype(float), polarity,
    )
    status = np.where(frame["suppressed"].to_numpy(), "suppressed", status)
    return frame.with_columns(pl.Series("status", status.astype(str), dtype=pl.String))


def attach_previous_year(result: pl.DataFrame, indicators: dict[str, Indicator]) -> pl.DataFrame:
    """The same period a year earlier, the change, and whether it is significant."""
    prev = result.select(
        "indicator", "area_code", "breakdown",
        pl.col("period_start").dt.offset_by("12mo").alias("period_start"),
        pl.col("period_end").dt.offset_by("12mo").dt.month_end().alias("period_end"),
        pl.col("value").alias("previous_value"), pl.col("numerator").alias("_px"),
        pl.col("denominator").alias("_pn"),
    )
    out = result.join(prev, on=["indicator", "area_code", "breakdown", "period_start",
                                "period_end"], how="left", maintain_order="left")
    out = out.with_columns((pl.col("value") - pl.col("previous_value")).alias("change"))
    kinds = out["indicator"].replace_strict({k: v.type for k, v in indicators.items()},
                                            return_dtype=pl.String).to_numpy()
    x1 = out["numerator"].fill_null(np.nan).to_numpy().astype(float)
    n1 = out["denominator"].fill_null(np.nan).to_numpy().astype(float)
    x0 = out["_px"].fill_null(np.nan).to_numpy().astype(float)
    n0 = out["_pn"].fill_null(np.nan).to_numpy().astype(float)
    _, sig_p = st.two_proportion_test(x1, n1, x0, n0)
    _, sig_c = st.poisson_change_test(x1, x0)
    significant = np.where(kinds == "proportion", sig_p,
                           np.where(np.isin(kinds, ["count", "rate"]), sig_c, False))
    significant = np.where(np.isnan(x1) | np.isnan(x0), False, significant)
    return out.with_columns(
        pl.Series("change_significant", significant.astype(bool), dtype=pl.Boolean)
    ).drop("_px", "_pn")


def label_periods(result: pl.DataFrame, grain: str) -> pl.DataFrame:
    pairs = result.select("period_start", "period_end").unique()
    labels = {
        (s, e): label_period(s, e, grain) for s, e in pairs.iter_rows()
    }
    lookup = pl.DataFrame(
        {"period_start": [k[0] for k in labels], "period_end": [k[1] for k in labels],
         "period_label": list(labels.values())},
        schema={"period_start": pl.Date, "period_end": pl.Date, "period_label": pl.String},
    )
    return result.join(lookup, on=["period_start", "period_end"], how="left",
                       maintain_order="left")
