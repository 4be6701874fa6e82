"""A command's whole-set plan made in processes (metrics.disclosure_workers) is the plan
made in turn: the same withheld cells, primary and secondary, in the same order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from polars.testing import assert_frame_equal

from cjsdash.core.gateway import Warehouse
from metrics import disclosure, disclosure_workers
from metrics.disclosure import HIDDEN_SCHEMA, plan_hidden_cells
from metrics.options import Options
from metrics.registry import default_registry

MEASURES = ["crime_outcomes_charged", "crime_outcomes_no_suspect", "crime_outcomes_oocr",
            "crime_outcomes_victim_withdrawal"]  # each with cells withheld in the demo


@pytest.fixture(scope="module")
def reader(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    wh = Warehouse(demo_db)
    yield wh.reader()
    wh.close()


def test_batches_planned_in_processes_are_the_plan_made_in_turn(
        reader: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    registry, whole = default_registry(), Options(disclosure="whole_set")
    in_one_batch = plan_hidden_cells(reader, registry, whole, only=MEASURES)
    monkeypatch.setattr(disclosure, "BATCH_ROWS", 1)  # a measure a batch
    in_turn = plan_hidden_cells(reader, registry, whole, only=MEASURES)
    assert not disclosure_workers.worth_processes([8_140] * 4, 2)  # too small: in turn
    monkeypatch.setattr(disclosure_workers, "PARALLEL_ROWS", 1)
    assert disclosure_workers.worth_processes([8_140] * 4, 2)
    assert not disclosure_workers.worth_processes([8_140] * 4, 1)
    in_processes = plan_hidden_cells(reader, registry, whole, only=MEASURES, workers=2)
    assert in_turn.filter("primary").height > 0 and in_turn.filter(~in_turn["primary"]).height > 0
    assert set(in_turn["measure"].unique()) == set(MEASURES)
    assert_frame_equal(in_processes, in_turn)  # order too: batches reassembled in turn
    order = list(HIDDEN_SCHEMA)
    assert_frame_equal(in_turn.sort(order), in_one_batch.sort(order))


def test_a_failing_batch_fails_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that raises in its process raises here; the others are not waited for."""
    import numpy as np

    from metrics.statistics.disclosure import Relations

    good = (np.array([1.0, 9.0, 10.0]), np.array([True, False, False]),
            Relations.build([0, 0, 0], [0, 1, 2], [1, 1, -1]), {})
    bad = (np.array([1.0]), np.array([True, False]),  # a mask longer than the values
           Relations.build([0], [0], [1]), {})
    masks = [m for _, m in disclosure_workers.protected([("a", [good])], 2)]
    assert masks[0][0].tolist() == disclosure_workers.protect_jobs([good])[0].tolist()
    assert masks[0][0][0] and masks[0][0].sum() == 2  # the 1, and a cell beside it
    with pytest.raises(Exception):  # noqa: B017 - whatever protect raises, it surfaces
        list(disclosure_workers.protected([("a", [good]), ("b", [bad])], 2))
