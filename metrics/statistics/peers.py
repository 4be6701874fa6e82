"""Most-similar-group (MSG) averages and computed peer groups (METHODS.md, "Comparing areas:
MSG average").

Two conventions for the MSG average, always labelled: the simple mean of the members' rates
including the area itself (HMIC comparator convention) or the denominator-weighted mean,
i.e. the pooled rate ``Σ value·denominator / Σ denominator`` (HMICFRS value-for-money
convention). Where no official MSG list is loaded, :func:`nearest_neighbours` computes a peer
group from published demographic variables; the caller labels it as computed
(:data:`COMPUTED_PEER_LABEL`). Pure numpy; missing data give NaN or ``-1``, never an error.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SIMPLE_LABEL = "MSG average: simple mean of rates including the area (HMIC comparator convention)"
WEIGHTED_LABEL = (
    "MSG average: weighted by denominator, including the area (HMICFRS value-for-money convention)"
)
COMPUTED_PEER_LABEL = (
    "computed peer group: nearest neighbours on published demographic variables, "
    "not an official most similar group"
)
DEFAULT_K = 7


def msg_average(
    values: npt.ArrayLike,
    denominators: npt.ArrayLike,
    members_mask: npt.ArrayLike,
    *,
    weighted: bool,
) -> tuple[FloatArray, str]:
    """MSG average of ``values`` (one rate per area) over the members in ``members_mask``.

    ``members_mask`` is either 1-D (the whole group for one area, which the caller includes
    itself) or 2-D ``areas × areas`` with row ``i`` the MSG list of area ``i`` — membership
    may be asymmetric — in which case area ``i`` itself is always added (the MSG average
    includes the area) and a row with no other member (City of London has no MSG) is NaN.
    ``weighted=False``: mean of the members' values; ``weighted=True``: ``Σ v·d / Σ d`` over
    members with a positive denominator. Members with a NaN value (or, when weighted, an
    invalid denominator) are skipped; no usable member gives NaN. Returns
    ``(value, label)``; ``value`` is 0-d for a 1-D mask and one per row for a 2-D mask.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    d = np.broadcast_to(np.asarray(denominators, dtype=np.float64), v.shape)
    mask = np.asarray(members_mask, dtype=np.bool_)
    if mask.ndim not in (1, 2) or mask.shape[-1] != v.size:
        raise ValueError(f"members_mask must be (areas,) or (rows, areas); got {mask.shape}")
    has_peers = mask.any(axis=-1)
    if mask.ndim == 2:
        if mask.shape[0] != v.size:
            raise ValueError(f"a 2-D members_mask must be square, got {mask.shape}")
        eye = np.eye(v.size, dtype=np.bool_)
        has_peers = (mask & ~eye).any(axis=-1)
        mask = mask | eye
    use = mask & np.isfinite(v)
    if weighted:
        use &= np.isfinite(d) & (d > 0)
        weights = np.where(use, d, 0.0)
        label = WEIGHTED_LABEL
    else:
        weights = use.astype(np.float64)
        label = SIMPLE_LABEL
    total = weights.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (weights * np.where(use, v, 0.0)).sum(axis=-1) / total
    value = np.where(has_peers & (total > 0), value, np.nan)
    return np.asarray(value), label


def nearest_neighbours(
    features: npt.ArrayLike, *, k: int = DEFAULT_K, standardise: bool = True
) -> IntArray:
    """The ``k`` nearest other areas to each area, nearest first (a computed peer group).

    Euclidean distance on the feature columns, z-scored first when ``standardise`` (column
    mean 0, standard deviation 1; a constant column carries no information and is dropped).
    A missing feature is skipped pairwise and the squared distance rescaled by
    ``columns / columns used`` (as scikit-learn's ``nan_euclidean_distances``); pairs with
    no feature in common are never neighbours. The area itself is excluded; equal distances
    are broken by row order. Returns an ``areas × k`` integer array, padded with ``-1`` where
    fewer than ``k`` neighbours exist. Raises ``ValueError`` unless ``features`` is 2-D and
    ``k >= 1``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive whole number, got {k!r}")
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-D areas × variables array, got shape {x.shape}")
    x = np.where(np.isfinite(x), x, np.nan)
    m = x.shape[0]
    if standardise and x.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
            mean, sd = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
        keep = np.isfinite(sd) & (sd > 0)
        x = (x[:, keep] - mean[keep]) / sd[keep]
    present = np.isfinite(x)
    z = np.where(present, x, 0.0)
    both = present[:, None, :] & present[None, :, :]
    sq = np.where(both, (z[:, None, :] - z[None, :, :]) ** 2, 0.0).sum(axis=-1)
    used = both.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.where(used > 0, sq * x.shape[1] / np.where(used > 0, used, 1), np.inf)
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, : min(k, m)]
    found = np.isfinite(np.take_along_axis(dist, order, axis=1))
    out = np.full((m, k), -1, dtype=np.int64)
    out[:, : order.shape[1]] = np.where(found, order, -1)
    return out
