"""The stage matrix's rows, column by column: every cell (area and period) sharing one chain of
stages at once, with its figures (:mod:`.ratios`), disclosed and labelled, in numpy; the frame
is made once at the end (:func:`matrix_frame`).

Disclosure control, as METHODS.md gives it: primary suppression of small counts, secondary
across each stage's groups together with the Not stated count (together they add up to the
published total), the cells the whole-set plan withholds, and the stages not published at
the grain (withheld whole); then what a hidden count hides is blanked, and what the previous
stage's hidden count hides (the stage rate and RRI)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from metrics import statistics as st
from metrics.disproportionality.ratios import _cell_figures
from metrics.disproportionality.schema import (
    _BLANK_IF_PREVIOUS_SUPPRESSED,
    _BLANK_IF_SUPPRESSED,
    _FLOAT_COLUMNS,
    GROUPS,
    MATRIX_COLUMNS,
    MATRIX_SCHEMA,
    NOT_STATED,
    STATUS_BASE,
    UNPUBLISHED_NOTE,
)
from metrics.stages import POPULATION, Stage

Cell = tuple[tuple[str, date, date], dict[str, dict[str, float]], dict[str, float], str]
"""((area, period_start, period_end), stage → group → count, group → population, the
population's label)."""
PREVIOUS_HIDDEN_NOTE = "previous stage's count suppressed: stage rate hidden"
_STRINGS = [c for c, t in MATRIX_SCHEMA.items() if t == pl.String()]


@dataclass(frozen=True)
class Labels:
    """What labels every row alike, and the disclosure settings."""

    reference: str
    ethnicity_words: str
    level: float
    min_count: float
    threshold: float
    titles: dict[str, str]
    period_labels: dict[tuple[date, date], str]
    provenance: dict[tuple[str, str, date, date], tuple[str | None, str | None, bool]]
    """(area, stage, period_start, period_end) → (source, latest vintage, any synthetic)."""
    withheld: frozenset[tuple[str, str, date, date, str]]
    """(area, stage, period_start, period_end, group) the whole-set plan withholds."""
    unpublished: frozenset[str]


def _repeat(values: Sequence[object], times: int) -> list:
    return [v for v in values for _ in range(times)]


def _disclosed(x: np.ndarray, unknown: np.ndarray, planned: np.ndarray, whole: np.ndarray,
               threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(suppressed, note, previous stage's count suppressed), each (cells, stages, groups),
    from the counts ``x`` (cells, stages, groups), the Not stated counts ``unknown`` (cells,
    stages; NaN where none is loaded: no cell, as a missing count is never suppressed nor
    suppressed for another), the cells the plan withholds and the stages withheld whole."""
    cells, stages, groups = x.shape
    values = np.concatenate([x, unknown[..., None]], axis=2).ravel()
    primary = st.primary_suppression(values, threshold=threshold)
    labels = np.repeat(np.arange(cells * stages), groups + 1)
    mask = st.secondary_suppression(values, primary, labels).reshape(cells, stages, groups + 1)
    primary = primary.reshape(cells, stages, groups + 1)[..., :groups]
    whole_cells = np.broadcast_to(whole[None, :, None], x.shape)
    hidden = mask[..., :groups] | planned | whole_cells
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=threshold)
    note = np.where(whole_cells, UNPUBLISHED_NOTE, np.where(
        primary, f"suppressed: {rule}", np.where(hidden, f"suppressed: {st.SECONDARY_RULE}",
                                                  ""))).astype(object)
    previous = np.zeros_like(hidden)
    previous[:, 1:, :] = hidden[:, :-1, :]
    note = np.where(hidden, note, np.where(previous, PREVIOUS_HIDDEN_NOTE, None))
    note[note == ""] = None
    return hidden, note, previous


def _population_rows(cells: list[Cell], pops: np.ndarray, share: np.ndarray
                     ) -> dict[str, object]:
    n_groups, size = len(GROUPS), pops.size
    keys = [c[0] for c in cells]
    return {
        "area_code": _repeat([k[0] for k in keys], n_groups),
        "period_start": _repeat([k[1] for k in keys], n_groups),
        "period_end": _repeat([k[2] for k in keys], n_groups),
        "stage": [POPULATION] * size, "stage_order": np.zeros(size, dtype=np.int64),
        "group": list(GROUPS) * len(cells), "count": pops.ravel(),
        "population": pops.ravel(), "population_share": share.ravel(),
        "status": [STATUS_BASE] * size, "significant": np.zeros(size, dtype=np.bool_),
        "ratio_significant": np.zeros(size, dtype=np.bool_),
        "suppressed": np.zeros(size, dtype=np.bool_),
        "population_source": _repeat([c[3] for c in cells], n_groups),
    }


def _stage_rows(chain: list[Stage], cells: list[Cell], pops: np.ndarray, share: np.ndarray,
                labels: Labels) -> dict[str, object]:
    later, n_groups = chain[1:], len(GROUPS)
    keys = [c[0] for c in cells]
    counts = np.stack([pops, *[
        np.array([[by_stage[s.id].get(g, 0.0) for g in GROUPS] for _, by_stage, _, _ in cells],
                 dtype=np.float64)
        for s in later]], axis=1)
    figures = _cell_figures(counts, pops, GROUPS.index(labels.reference), labels.min_count,
                            labels.level)
    shape = (len(cells), len(later), n_groups)
    unknown = np.array([[by_stage[s.id].get(NOT_STATED, math.nan) for s in later]
                        for _, by_stage, _, _ in cells], dtype=np.float64).reshape(shape[:2])
    planned = np.array([[[(k[0], s.id, k[1], k[2], g) in labels.withheld for g in GROUPS]
                         for s in later] for k in keys], dtype=np.bool_).reshape(shape)
    whole = np.array([s.id in labels.unpublished for s in later], dtype=np.bool_)
    hidden, note, previous = _disclosed(figures["count"], unknown, planned, whole,
                                        labels.threshold)
    out: dict[str, object] = {name: np.asarray(values) for name, values in figures.items()}
    for name in _BLANK_IF_SUPPRESSED:
        out[name] = np.where(hidden, np.nan, out[name])  # type: ignore[call-overload]
    for name in _BLANK_IF_PREVIOUS_SUPPRESSED:
        out[name] = np.where(previous, np.nan, out[name])  # type: ignore[call-overload]
    out["significant"] = np.asarray(out["significant"], dtype=np.bool_) & ~(hidden | previous)
    out["ratio_significant"] = np.asarray(out["ratio_significant"], dtype=np.bool_) & ~hidden
    per = len(later) * n_groups
    out = {name: np.broadcast_to(values, shape).ravel()  # type: ignore[arg-type]
           for name, values in out.items()}
    out.update({
        "area_code": _repeat([k[0] for k in keys], per),
        "period_start": _repeat([k[1] for k in keys], per),
        "period_end": _repeat([k[2] for k in keys], per),
        "stage": [s.id for s in later for _ in GROUPS] * len(cells),
        "stage_order": np.array([i + 1 for i in range(len(later)) for _ in GROUPS]
                                * len(cells), dtype=np.int64),
        "previous_stage": [chain[i].id for i in range(len(later)) for _ in GROUPS]
        * len(cells),
        "group": list(GROUPS) * (len(later) * len(cells)),
        "population": np.broadcast_to(pops[:, None, :], shape).ravel(),
        "population_share": np.broadcast_to(share[:, None, :], shape).ravel(),
        "population_source": _repeat([c[3] for c in cells], per),
        "suppressed": hidden.ravel(), "note": note.ravel().tolist(),
    })
    return out


def chain_rows(chain: list[Stage], cells: list[Cell], labels: Labels) -> list[dict[str, object]]:
    """The rows of every cell sharing one chain of stages: the population rows (status
    ``base``), then each later stage × group with its figures, disclosed."""
    pops = np.array([[c[2].get(g, math.nan) for g in GROUPS] for c in cells],
                    dtype=np.float64)
    total = np.nansum(np.where(pops > 0, pops, 0.0), axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, pops / total, math.nan)
    parts = [_population_rows(cells, pops, share)]
    if len(chain) > 1:
        parts.append(_stage_rows(chain, cells, pops, share, labels))
    return parts


def _column(name: str, parts: list[dict[str, object]], sizes: list[int]) -> pl.Series:
    dtype = MATRIX_SCHEMA[name]
    if name in _FLOAT_COLUMNS or name in ("stage_order", "significant", "ratio_significant",
                                          "suppressed"):
        fill = np.nan if name in _FLOAT_COLUMNS else False
        values = np.concatenate([np.asarray(p[name]) if name in p else np.full(n, fill)
                                 for p, n in zip(parts, sizes, strict=True)])
        return pl.Series(name, values, dtype=dtype, nan_to_null=True, strict=False)
    listed: list = []
    for p, n in zip(parts, sizes, strict=True):
        value = p.get(name)
        listed.extend(value.tolist() if isinstance(value, np.ndarray)  # type: ignore[union-attr]
                      else value if value is not None else [None] * n)
    return pl.Series(name, listed, dtype=dtype, strict=False)


def matrix_frame(parts: list[dict[str, object]], labels: Labels) -> pl.DataFrame:
    """:data:`MATRIX_COLUMNS` of every part's rows, labelled (the period, the stage's title,
    the reference, the definition, the level, the counts' source, vintage and synthetic
    flag), in the matrix's order: area, period, stage, group."""
    sizes = [len(p["group"]) for p in parts]  # type: ignore[arg-type]
    columns = {name: _column(name, parts, sizes) for name in MATRIX_COLUMNS
               if name not in ("period_label", "stage_title", "reference", "ethnicity_source",
                               "level", "source", "vintage", "synthetic")}
    areas, stages = columns["area_code"].to_list(), columns["stage"].to_list()
    starts, ends = columns["period_start"].to_list(), columns["period_end"].to_list()
    nothing = (None, None, False)
    found = [labels.provenance.get(k, nothing) for k in zip(areas, stages, starts, ends,
                                                            strict=True)]
    rows = len(areas)
    columns.update({
        "period_label": pl.Series("period_label", [labels.period_labels[(s, e)] for s, e in
                                                   zip(starts, ends, strict=True)],
                                  dtype=pl.String),
        "stage_title": pl.Series("stage_title", [labels.titles[s] for s in stages],
                                 dtype=pl.String),
        "reference": pl.Series("reference", [labels.reference] * rows, dtype=pl.String),
        "ethnicity_source": pl.Series("ethnicity_source", [labels.ethnicity_words] * rows,
                                      dtype=pl.String),
        "level": pl.Series("level", [labels.level] * rows, dtype=pl.Float64),
        "source": pl.Series("source", [f[0] for f in found], dtype=pl.String),
        "vintage": pl.Series("vintage", [f[1] for f in found], dtype=pl.String),
        "synthetic": pl.Series("synthetic", [f[2] for f in found], dtype=pl.Boolean),
    })
    frame = pl.DataFrame([columns[c] for c in MATRIX_COLUMNS])
    if len(labels.period_labels) == 1 and columns["area_code"].n_unique() == 1:
        return frame  # one area and period: made in the matrix's order already
    return frame.sort(
        "area_code", "period_start", "stage_order",
        pl.col("group").replace_strict({g: i for i, g in enumerate(GROUPS)},
                                       return_dtype=pl.Int64))
