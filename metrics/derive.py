"""Pure steps after the figures: targets and status, the year before, period labels."""

from __future__ import annotations

import numpy as np
import polars as pl

from cjsdash.core.periods import label_period
from metrics import statistics as st
from metrics.registry import Indicator

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "indicator": pl.String(), "area_code": pl.String(), "period_start": pl.Date(),
    "period_end": pl.Date(), "period_label": pl.String(), "breakdown": pl.String(),
    "numerator": pl.Float64(), "denominator": pl.Float64(), "value": pl.Float64(),
    "lower": pl.Float64(), "upper": pl.Float64(), "level": pl.Float64(), "method": pl.String(),
    "suppressed": pl.Boolean(), "note": pl.String(), "source": pl.String(),
    "vintage": pl.String(), "synthetic": pl.Boolean(), "target": pl.Float64(),
    "target_kind": pl.String(), "status": pl.String(), "previous_value": pl.Float64(),
    "change": pl.Float64(), "change_significant": pl.Boolean(), "built_from": pl.String(),
    "target_scope": pl.String(),
}
NATIONAL = "K04000001"
REGISTRY_SOURCE = "registry"
"""``core.targets.source`` of the registry's national targets (metrics.sync); any other source
is the analyst's own (``ingest.local_targets``) and is labelled local."""
STATUS_KINDS = ("trajectory", "target")
"""Kinds a figure's status is judged against; a stretch target is drawn, never judged."""


def attach_targets(result: pl.DataFrame, targets: pl.DataFrame,
                   indicators: dict[str, Indicator]) -> pl.DataFrame:
    """The target each headline figure is judged against, its kind and scope, and the status.

    Of the targets that cover the figure's period (open ends cover everything): a local one
    (loaded by the analyst) before a national one (the registry's); the area's own before
    England and Wales'; the narrowest period (a trajectory's quarter before a year's target);
    a target before a trajectory for the same period. ``target_scope`` is 'local' or
    'national'; ``target_kind`` 'target' or 'trajectory'.
    """
    none = [pl.lit(None, dtype=pl.Float64).alias("target"),
            pl.lit(None, dtype=pl.String).alias("target_kind"),
            pl.lit(None, dtype=pl.String).alias("target_scope")]
    if targets.height == 0 or result.height == 0:
        return _status(result.with_columns(none), indicators)
    t = targets.filter(pl.col("kind").is_in(STATUS_KINDS)).select(
        "indicator", pl.col("area_code").alias("target_area"), pl.col("value").alias("target"),
        pl.col("period_start").alias("t_start"), pl.col("period_end").alias("t_end"),
        pl.col("kind").alias("target_kind"),
        pl.when(pl.col("source") == REGISTRY_SOURCE).then(pl.lit("national"))
        .otherwise(pl.lit("local")).alias("target_scope"),
    )
    rows = result.with_row_index("_row")
    headline = rows.filter(pl.col("breakdown") == "").select(
        "_row", "indicator", "area_code", "period_start", "period_end")
    candidates = headline.join(t, on="indicator", how="inner").filter(
        ((pl.col("target_area") == pl.col("area_code")) | (pl.col("target_area") == NATIONAL))
        & (pl.col("t_start").is_null() | (pl.col("t_start") <= pl.col("period_start")))
        & (pl.col("t_end").is_null() | (pl.col("t_end") >= pl.col("period_end")))
    )
    span = (pl.col("t_end").fill_null(pl.date(9999, 12, 31)).cast(pl.Int64)
            - pl.col("t_start").fill_null(pl.date(1, 1, 1)).cast(pl.Int64))
    picked = candidates.with_columns(
        (pl.col("target_scope") == "local").alias("_local"),
        (pl.col("target_area") == pl.col("area_code")).alias("_own"),
        span.alias("_span"), (pl.col("target_kind") == "target").alias("_standing"),
    ).sort(["_row", "_local", "_own", "_span", "_standing", "target"],
           descending=[False, True, True, False, True, False]).unique(
        "_row", keep="first").select("_row", "target", "target_kind", "target_scope")
    out = rows.join(picked, on="_row", how="left", maintain_order="left").drop("_row")
    return _status(out, indicators)


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
    """The same period a year earlier, the change, and whether it is significant: tested only
    where the registry declares a sampling model (binomial: the two-proportion z-test;
    Poisson: the exact conditional test with the two years' exposures, or the equal-exposure
    test for counts); ``False`` and worded "not tested" elsewhere."""
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
    models = out["indicator"].replace_strict(
        {k: v.sampling_model for k, v in indicators.items()}, return_dtype=pl.String).to_numpy()
    x1 = out["numerator"].fill_null(np.nan).to_numpy().astype(float)
    n1 = out["denominator"].fill_null(np.nan).to_numpy().astype(float)
    x0 = out["_px"].fill_null(np.nan).to_numpy().astype(float)
    n0 = out["_pn"].fill_null(np.nan).to_numpy().astype(float)
    _, sig_p = st.two_proportion_test(x1, n1, x0, n0)
    _, sig_c = st.poisson_change_test(x1, x0)
    exposed = np.isfinite(n1) & np.isfinite(n0) & (n1 > 0) & (n0 > 0) & (models == "poisson")
    sig_r = np.zeros(out.height, dtype=bool)
    if exposed.any():  # events per population: the exact conditional test with exposures
        p_value = st.exact_poisson_ratio_test(x1[exposed], n1[exposed], x0[exposed], n0[exposed])
        sig_r[exposed] = np.nan_to_num(p_value, nan=1.0) < 0.05
    significant = np.where(models == "binomial", sig_p,
                           np.where(models == "poisson", np.where(exposed, sig_r, sig_c), False))
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
