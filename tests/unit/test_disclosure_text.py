"""The board pack says which disclosure rule it applied (cjsdash.exports.pack_notes)."""

from __future__ import annotations

from cjsdash.exports.pack_notes import disclosure_text
from metrics.options import Options


def test_the_default_pack_describes_suppression_over_the_whole_published_set() -> None:
    text = disclosure_text(Options())
    assert Options().disclosure == "whole_set"
    assert "decided once over everything published" in text
    assert "from the total." not in text


def test_the_breakdown_rule_is_described_as_within_a_total() -> None:
    text = disclosure_text(Options(disclosure="breakdown"))
    assert "worked out from the total." in text
    assert "everything published" not in text
