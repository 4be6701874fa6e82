"""A file refused as cut short, loaded anyway from the data page (decisions 43 and 46): only
a file the server saved and kept is loaded, and only when the user asks."""

from __future__ import annotations

from pathlib import Path

import pytest

from cjsdash.core.config import Settings
from cjsdash.core.gateway import Warehouse
from cjsdash.uploads import accept_upload, handle_upload, upload_dir
from metrics import provenance
from metrics.compute import compute_indicators
from metrics.registry import default_registry

IND, CUMBRIA = "ineffective_trial_rate_crown", "E23000002"
FULL = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,120,1000
Cumbria,2024-25 Q2,ineffective_trial_rate_crown,150,1100
"""
# the same quarter cut to a tenth: a filter left on, or a real withdrawal
CUT = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,1000
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", upload_max_bytes=4096)


def _numerators(warehouse: Warehouse) -> list[float]:
    frame = compute_indicators(warehouse.reader(), default_registry(), [IND], [CUMBRIA],
                               grain="fquarter")
    return frame.sort("period_start")["numerator"].to_list()


def test_a_cut_upload_is_kept_and_loaded_only_when_accepted(warehouse: Warehouse,
                                                             settings: Settings) -> None:
    assert handle_upload(warehouse, "full.csv", FULL.encode(), settings).status == "loaded"
    refused = handle_upload(warehouse, "cut.csv", CUT.encode(), settings)
    assert refused.status == "refused" and refused.can_accept
    assert "would replace figures already loaded with far fewer" in refused.line
    assert (upload_dir(settings) / refused.saved_as).is_file()  # kept for the button
    assert _numerators(warehouse) == [120, 150]

    accepted = accept_upload(warehouse, refused.saved_as, "cut.csv", settings)
    assert accepted.status == "loaded" and not accepted.can_accept
    assert accepted.file_name == "cut.csv"
    assert _numerators(warehouse) == [12, 150]
    runs = provenance.runs_frame(warehouse.reader())
    assert runs["status"].to_list()[:2] == ["loaded", "refused"]  # newest first, both logged
    again = accept_upload(warehouse, refused.saved_as, "cut.csv", settings)  # a second press
    assert again.status == "rejected" and "not refused as cut short" in again.line
    assert (upload_dir(settings) / refused.saved_as).is_file()  # the run log names it


def test_only_a_file_refused_as_cut_short_is_loaded_anyway(warehouse: Warehouse,
                                                            settings: Settings) -> None:
    """Saved names are shown on the data page; a kept file refused for another reason, or
    loaded, is not loaded anyway whoever asks."""
    bad = b"area,period,measure,numerator,denominator\nNarnia,2024-25 Q1,obtj,5,\n"
    refused = handle_upload(warehouse, "bad.csv", bad, settings)
    assert refused.status == "refused" and not refused.can_accept
    loaded = handle_upload(warehouse, "full.csv", FULL.encode(), settings)
    before = provenance.runs_frame(warehouse.reader()).height
    for outcome in (refused, loaded):
        assert (upload_dir(settings) / outcome.saved_as).is_file()
        again = accept_upload(warehouse, outcome.saved_as, outcome.file_name, settings)
        assert again.status == "rejected" and "not refused as cut short" in again.line
    assert provenance.runs_frame(warehouse.reader()).height == before


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "../data/cjsdash.duckdb", "/etc/passwd", "", "cut.csv",
    "20261205T101010-0123abcd-cut.csv/../../x.csv", "20261205T101010-0123abcd-cut.exe",
    "20261205T101010-0123abcd-missing.csv", "20261205T101010-0123abcd-" + "a" * 300 + ".csv",
    "２0261205T101010-0123abcd-cut.csv"])
def test_only_a_kept_upload_is_ever_loaded(warehouse: Warehouse, settings: Settings,
                                           name: str) -> None:
    handle_upload(warehouse, "full.csv", FULL.encode(), settings)
    before = provenance.runs_frame(warehouse.reader()).height
    outcome = accept_upload(warehouse, name, "x.csv", settings)
    assert outcome.status == "rejected" and "not kept here" in outcome.line
    assert provenance.runs_frame(warehouse.reader()).height == before
    assert _numerators(warehouse) == [120, 150]
