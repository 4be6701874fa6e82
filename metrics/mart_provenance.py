"""The data page's tables, computed at load time for the figure mart: the sources, the files
loaded, the newest revisions and the page's opening counts (:mod:`metrics.provenance`).

Every load changes them (a run, its rows, its rejects), and they are small (one row per
source, per file, at most :data:`metrics.mart_analysis_reads.REVISIONS_HELD` revisions), so
each refresh computes them whole.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics import provenance
from metrics.mart_analysis_reads import REVISIONS_HELD


def compute(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """table name → rows (with ``position``, the order they are shown in)."""
    frames = {
        "provenance_sources": provenance.sources_frame(con, stored=False),
        "provenance_runs": provenance.runs_frame(con, stored=False),
        "provenance_revisions": provenance.revisions_frame(con, REVISIONS_HELD, stored=False),
    }
    counts = provenance.coverage_summary(con, stored=False)
    frames["provenance_summary"] = pl.DataFrame(
        {"key": list(counts), "value": list(counts.values())},
        schema={"key": pl.String, "value": pl.Int64})
    return {name: frame.with_row_index("position") for name, frame in frames.items()}
