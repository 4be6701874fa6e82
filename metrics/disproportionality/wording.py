"""Where the loaded data stops, in words."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from metrics.stages import POPULATION, Stage, Stages, default_stages


def missing_stages(matrix: pl.DataFrame, stages: Stages | None = None) -> list[Stage]:
    """The declared stages with no data in ``matrix`` (for "no data loaded" notes)."""
    present = set(matrix["stage"].unique().to_list()) if matrix.height else set()
    return [s for s in (stages or default_stages()).counted() if s.id not in present]


def data_reach_note(matrix: pl.DataFrame, area_name: str,
                    stages: Sequence[str] | None = None) -> str:
    """Where the loaded data stops, in words (empty when every chosen stage is there)."""
    present = set(matrix["stage"].unique().to_list()) if matrix.height else set()
    counted = [s for s in default_stages().counted() if stages is None or s.id in stages]
    if not present - {POPULATION}:
        return f"No stage of the justice process has counts by ethnicity for {area_name}."
    last = max(i for i, s in enumerate(counted) if s.id in present)
    beyond = counted[last + 1:]
    gaps = [s for s in counted[:last] if s.id not in present]
    notes = []
    if beyond:
        notes.append(f"stages beyond {counted[last].title.lower()}: no data loaded for "
                     f"this area ({', '.join(s.title.lower() for s in beyond)})")
    if gaps:
        notes.append(f"no data loaded for {', '.join(s.title.lower() for s in gaps)}: the "
                     "next stage is compared with the stage before it")
    return "; ".join(notes).capitalize() + "." if notes else ""

