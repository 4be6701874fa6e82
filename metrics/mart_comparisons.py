"""What every area shares, computed at load time for the figure mart: each indicator's
comparison of the areas of a kind (funnel positions and the funnel's adjustment, rank
intervals, quartiles) at its latest period, and England and Wales's row there (the MSG
comparison's other comparator).

:func:`compute` gives, for every grain and both kinds, what :func:`metrics.analysis.
compare_areas` computes with the indicator page's bootstrap (:data:`metrics.
mart_analysis_reads.COMPARE_SEED`, :data:`~metrics.mart_analysis_reads.COMPARE_DRAWS`), from
the figures the refresh has just written: each grain's headline figures are read once and
each indicator's comparison is made by the same pure function the computing path uses
(:func:`metrics.analysis.area_comparison.compare_frame`). A comparison depends on its
indicator's figures alone, so a load recomputes the indicators it changed; and of those, only
the comparisons whose inputs changed: each (indicator, grain, kind) is stored with a
fingerprint of everything :func:`compare_frame` reads (:func:`inputs_key`: the headline rows it
is given, the kind's areas and their names, the indicator's definition, the bootstrap's seed
and draws), and a comparison whose fingerprint is the stored one keeps its stored rows (a
revision of an earlier period than the latest, or of areas of another kind, changes none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from cjsdash.core.periods import GRAINS
from metrics import mart, mart_figures
from metrics.analysis.area_comparison import COMPARE_SCHEMA, compare_frame
from metrics.analysis.areas import COMPARABLE_KINDS, NATIONAL, area_codes, area_names, headline_rows
from metrics.compute import RESULT_COLUMNS
from metrics.derive import RESULT_SCHEMA
from metrics.mart_analysis_reads import COMPARE_DRAWS, COMPARE_SEED
from metrics.registry import Indicator, Registry

TAGS = {"grain": pl.String, "kind": pl.String, "role": pl.String, "position": pl.Int64}
NATIONAL_SCHEMA = {c: RESULT_SCHEMA[c] for c in RESULT_COLUMNS}
INPUTS_SCHEMA = {"indicator": pl.String, "grain": pl.String, "kind": pl.String,
                 "inputs": pl.String}
"""``mart.comparison_inputs``: each stored comparison's :func:`inputs_key`."""
METHOD = "1"
"""Part of every :func:`inputs_key`: change it when :func:`compare_frame` computes differently,
so that no comparison made the old way is kept."""

Key = tuple[str, str, str]
"""(indicator, grain, kind)"""


def inputs_key(rows: pl.DataFrame, ind: Indicator, codes: Sequence[str],
               names: dict[str, str]) -> str:
    """A fingerprint of what ``compare_frame(rows, ind, None, codes, names, seed=COMPARE_SEED,
    draws=COMPARE_DRAWS)`` reads: every column of ``rows`` in their order (polars writes floats
    so that they read back the same), the areas compared in order with their names, the
    indicator's whole definition, the bootstrap's settings and :data:`METHOD`."""
    text = json.dumps([METHOD, COMPARE_SEED, COMPARE_DRAWS,
                       ind.model_dump(mode="json"), [(c, names.get(c)) for c in codes]],
                      sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode())
    digest.update(rows.write_csv().encode())
    return digest.hexdigest()[:32]


def stored_inputs(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[Key, str]:
    """The fingerprints held in ``mart.comparison_inputs`` for the indicators ``ids``."""
    return {(i, g, k): f for i, g, k, f in con.execute(
        "SELECT indicator, grain, kind, inputs FROM mart.comparison_inputs "
        "WHERE list_contains(?, indicator)", [list(ids)]).fetchall()}


@dataclass
class Comparisons:
    """What :func:`compute` made: the rows of the comparisons it recomputed, the fingerprint
    of every comparison of the indicators asked for, and those whose stored rows stand."""

    rows: pl.DataFrame
    inputs: pl.DataFrame
    kept: set[Key] = field(default_factory=set)


def _tagged(frame: pl.DataFrame, grain: str, kind: str, role: str) -> pl.DataFrame:
    return frame.with_columns(pl.lit(grain).alias("grain"), pl.lit(kind).alias("kind"),
                              pl.lit(role).alias("role"),
                              pl.int_range(pl.len(), dtype=pl.Int64).alias("position"))


_ORDER = ("area_code", "period_start", "source")


def _same_figures(rows: pl.DataFrame, other: pl.DataFrame) -> bool:
    """Whether two grains' rows differ only in their periods' names (financial quarters are
    the calendar quarters: :data:`metrics.mart_figures.SAME_PERIODS`)."""
    return rows.height == other.height and rows.drop("period_label").sort(_ORDER).equals(
        other.drop("period_label").sort(_ORDER))


def _relabelled(found: pl.DataFrame, national: dict | None, rows: pl.DataFrame
                ) -> tuple[pl.DataFrame, dict | None]:
    """The comparison of the same figures under ``rows``' names for their periods: every
    compared row is at one period, whose name is the only difference."""
    if found.height == 0:
        return found, national
    label = rows.filter(pl.col("period_end") == found["period_end"][0])["period_label"][0]
    found = found.with_columns(pl.lit(label, dtype=pl.String).alias("period_label"))
    return found, None if national is None else {**national, "period_label": label}


def compute(con: duckdb.DuckDBPyConnection, registry: Registry, only: set[str],
            held: dict[Key, str] | None = None) -> Comparisons:
    """``mart.comparisons``'s rows for the indicators ``only``: every grain and kind, but for
    the comparisons whose fingerprint (:func:`inputs_key`) is the one ``held`` for them, whose
    stored rows stand (:attr:`Comparisons.kept`)."""
    held = held or {}
    ids = [i.id for i in registry.indicators if i.id in only]
    names = area_names(con)
    codes = {kind: area_codes(con, kind) for kind in COMPARABLE_KINDS}
    out: list[pl.DataFrame] = []
    keys: list[tuple[str, str, str, str]] = []
    kept: set[Key] = set()
    made: dict[Key, tuple[pl.DataFrame, pl.DataFrame, dict | None]] = {}
    for grain in GRAINS:
        # compare_frame compares at England and Wales's latest period, else the kind's
        frame = headline_rows(mart.headline_at_latest(
            con, grain, ids, {"national": [NATIONAL], **codes}))
        by_indicator = frame.partition_by("indicator", as_dict=True) if frame.height else {}
        for kind, kind_codes in codes.items():
            wanted = [*kind_codes, NATIONAL]
            for indicator_id in ids:
                rows = by_indicator.get((indicator_id,))
                if rows is None:
                    continue
                rows = rows.filter(pl.col("area_code").is_in(wanted))
                ind = registry.get(indicator_id)
                key = inputs_key(rows, ind, kind_codes, names)
                keys.append((indicator_id, grain, kind, key))
                if held.get((indicator_id, grain, kind)) == key:
                    kept.add((indicator_id, grain, kind))
                    continue  # the stored rows are what this would make
                same = made.get((indicator_id, mart_figures.SAME_PERIODS.get(grain, ""), kind))
                if same is not None and _same_figures(rows, same[0]):
                    found, national = _relabelled(same[1], same[2], rows)
                else:
                    found, national = compare_frame(
                        rows, ind, None, kind_codes, names, seed=COMPARE_SEED,
                        draws=COMPARE_DRAWS)
                made[(indicator_id, grain, kind)] = (rows, found, national)
                if found.height == 0:
                    continue  # no area has a figure: read back as none
                out.append(_tagged(found.cast(COMPARE_SCHEMA), grain, kind, "area"))  # type: ignore[arg-type]
                if national is not None:
                    out.append(_tagged(pl.DataFrame([national], schema=NATIONAL_SCHEMA), grain, kind, "national"))
    rows_out = (pl.concat(out, how="diagonal") if out
                else pl.DataFrame(schema={**COMPARE_SCHEMA, **TAGS}))
    inputs = pl.DataFrame(keys, schema=INPUTS_SCHEMA, orient="row")
    return Comparisons(rows_out, inputs, kept)
