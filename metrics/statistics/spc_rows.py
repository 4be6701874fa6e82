"""SPC limits of many series at once, one series per row of a 2-D array (every row the same
number of periods), with Making Data Count's defaults: one segment, every point setting the
limits, moving ranges screened. Row r's limits are bit for bit those :mod:`.spc_limits`
gives for that row alone (``xmr_limits(y[r])``, ``p_chart_limits(x[r], n[r])``,
``laney_limits(x[r], n[r])``), so the rules (:mod:`.spc_rules`) and signals
(:mod:`.spc_signals`) read from them are the same too.

Why: the figure mart reads the latest SPC reading of every area's series of every indicator
at load time (thousands of series on the demo); the per-series functions spend most of their
time in numpy's per-call overhead on a few dozen points.

Why the sums agree: numpy sums a row of a C-contiguous 2-D array along its last axis exactly
as it sums that row on its own (pairwise), so a mean over all of a row's points is the 1-D
mean. A mean over some of a row's points (the 1-D functions drop the others first) is taken
over the rows keeping the same number of points, packed into one 2-D array
(:func:`masked_row_sums`). Pure; arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np

from metrics.statistics.spc_limits import (
    D2,
    MIN_POINTS,
    SCREEN_SCALE,
    XMR_SCALE,
    BoolArray,
    FloatArray,
    SpcLimits,
    build_limits,
)


def masked_row_sums(values: FloatArray, keep: BoolArray) -> tuple[FloatArray, np.ndarray]:
    """Per row, (the sum of ``values[r][keep[r]]`` as numpy sums that 1-D array, how many
    were kept); a row keeping none sums to 0."""
    counts = keep.sum(axis=1)
    sums = np.zeros(values.shape[0])
    for kept in np.unique(counts):
        if kept == 0:
            continue
        rows = np.flatnonzero(counts == kept)
        # boolean indexing reads row by row: rows keeping the same number reshape exactly
        packed = values[rows][keep[rows]].reshape(rows.size, int(kept))
        sums[rows] = packed.sum(axis=1)
    return sums, counts


def _means(sums: FloatArray, counts: np.ndarray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)


def mean_moving_ranges(y: FloatArray) -> FloatArray:
    """Per row, :func:`.spc_limits.mean_moving_range` (screened)."""
    with np.errstate(invalid="ignore"):
        mr = np.abs(np.diff(y, axis=1))
    finite = np.isfinite(mr)
    amr = _means(*masked_row_sums(mr, finite))
    with np.errstate(invalid="ignore"):
        kept = finite & (mr < SCREEN_SCALE * amr[:, None])
    return _means(*masked_row_sums(mr, kept))


def _spread(per_row: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    return np.ascontiguousarray(np.broadcast_to(per_row[:, None], shape))


def xmr_rows(values: FloatArray) -> SpcLimits:
    """Per row, :func:`.spc_limits.xmr_limits` (no rebase, no fixed limits)."""
    y = np.ascontiguousarray(values, dtype=np.float64)
    y = np.where(np.isfinite(y), y, np.nan)
    finite = np.isfinite(y)
    points = finite.sum(axis=1)
    # as np.nanmean does: every point summed, a missing one as 0, over the points present
    total = np.where(finite, y, 0.0).sum(axis=1)
    centre = _spread(_means(total, points), y.shape)
    sigma = _spread(XMR_SCALE / 3.0 * mean_moving_ranges(y), y.shape)
    trial = _spread(points < MIN_POINTS, y.shape)
    return build_limits(centre, sigma, trial, np.zeros(y.shape, dtype=np.int64), clip=False)


def _valid(x: FloatArray, n: FloatArray) -> BoolArray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0) & (x <= n)


def p_rows(x: FloatArray, n: FloatArray) -> SpcLimits:
    """Per row, :func:`.spc_limits.p_chart_limits` (no rebase, no fixed limits)."""
    xa = np.ascontiguousarray(x, dtype=np.float64)
    na = np.ascontiguousarray(n, dtype=np.float64)
    valid = _valid(xa, na)
    cases, points = masked_row_sums(xa, valid)
    trials, _ = masked_row_sums(na, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_bar = np.where(points > 0, cases / np.where(points > 0, trials, 1.0), np.nan)
    centre = _spread(p_bar, xa.shape)
    has_n = np.isfinite(na) & (na > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(has_n, np.sqrt(centre * (1.0 - centre) / np.where(has_n, na, 1)),
                         np.nan)
    return build_limits(centre, sigma, _spread(points < MIN_POINTS, xa.shape),
                  np.zeros(xa.shape, dtype=np.int64), clip=True, sigma_z=np.ones(xa.shape))


def laney_rows(x: FloatArray, n: FloatArray) -> SpcLimits:
    """Per row, :func:`.spc_limits.laney_limits` (no rebase, no fixed limits)."""
    xa = np.ascontiguousarray(x, dtype=np.float64)
    na = np.ascontiguousarray(n, dtype=np.float64)
    valid = _valid(xa, na)
    base = p_rows(xa, na)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(valid & (base.sigma > 0), (xa / np.where(valid, na, 1.0) - base.centre)
                     / np.where(base.sigma > 0, base.sigma, 1.0), np.nan)
    sigma_z = _spread(mean_moving_ranges(z) / D2, xa.shape)
    return build_limits(base.centre, base.sigma * sigma_z, base.trial, base.segment, clip=True,
                  sigma_z=sigma_z)


def pick_rows(chosen: BoolArray, first: SpcLimits, second: SpcLimits) -> SpcLimits:
    """``first``'s limits in the rows ``chosen``, ``second``'s in the others."""
    def pick(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        return None if a is None or b is None else np.where(chosen[:, None], a, b)

    return SpcLimits(*(pick(getattr(first, f), getattr(second, f)) for f in (
        "centre", "lower", "upper", "sigma", "lower_one_sigma", "upper_one_sigma",
        "lower_two_sigma", "upper_two_sigma", "trial", "segment", "sigma_z")))


def row_limits(limits: SpcLimits, row: int) -> SpcLimits:
    """One row's limits, as the 1-D functions give them."""
    return SpcLimits(*(None if a is None else a[row] for a in (
        limits.centre, limits.lower, limits.upper, limits.sigma, limits.lower_one_sigma,
        limits.upper_one_sigma, limits.lower_two_sigma, limits.upper_two_sigma,
        limits.trial, limits.segment, limits.sigma_z)))
