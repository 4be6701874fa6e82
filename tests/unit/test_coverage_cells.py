"""The data page's coverage cells: one element each, the symbol and its words from the class
(decision 49), a tooltip only where a cell is not simply complete."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from layouts import data_coverage

CSS = (Path(data_coverage.__file__).parent / "assets" / "style_data.css").read_text("utf-8")


def _row(**values: object) -> data_coverage.Cell:
    row: dict[str, object] = {"figures": 4, "months_covered": 3, "months_expected": 3,
                              "withheld": 0, "complete": True, "_mark_synthetic": False}
    row.update(values)
    return tuple(row[field] for field in data_coverage._CELL_FIELDS)  # type: ignore[return-value]


def test_a_complete_cell_is_its_class_and_count_alone() -> None:
    assert data_coverage._cell(_row(figures=1234), counts=True, label=("x", "y")) == (
        '<td class="cjs-cov-full">1,234</td>')
    assert data_coverage._cell(_row(), counts=False, label=("x", "y")) == (
        '<td class="cjs-cov-full"></td>')


@pytest.mark.parametrize(("values", "css", "title", "text"), [
    ({"months_covered": 2, "complete": False}, "cjs-cov-part",
     "Trials, Q1: 2 of 3 months covered; 0 figures withheld", "4"),
    ({"withheld": 2}, "cjs-cov-full", "Trials, Q1: 3 of 3 months covered; 2 figures withheld",
     "4"),
    ({"months_covered": 0, "complete": False, "withheld": 4}, "cjs-cov-held",
     "Trials, Q1: 0 of 3 months covered; 4 figures withheld", ""),  # nothing shown: no count
])
def test_a_cell_not_simply_complete_says_how(values: dict[str, object], css: str,
                                             title: str, text: str) -> None:
    cell = data_coverage._cell(_row(**values), counts=True, label=("Trials", "Q1"))
    assert cell == f'<td class="{css}" title="{title}">{text}</td>'


def test_no_figures_and_synthetic_marks() -> None:
    none = data_coverage._cell(None, counts=True, label=("x", "y"))
    assert none == '<td class="cjs-cov-none"></td>'
    assert data_coverage._cell(_row(_mark_synthetic=True), counts=True, label=("x", "y")) == (
        '<td class="cjs-cov-full">4 ◆</td>')


@pytest.mark.parametrize(("css", "symbol", "words"), [
    ("cjs-cov-full", "✓", "complete"), ("cjs-cov-part", "◐", "partial"),
    ("cjs-cov-held", "[c]", "withheld"), ("cjs-cov-none", "–", "none")])
def test_every_kind_of_cell_is_drawn_and_named_by_the_stylesheet(css: str, symbol: str,
                                                                 words: str) -> None:
    """The symbol alone for a browser without generated content's alternative text, then the
    symbol named in words (the key's words) for one with it."""
    rule = re.search(rf"\.cjs-cov td\.{css}::before \{{([^}}]*)\}}", CSS)
    assert rule is not None, css
    assert rule[1].split(";")[:2] == [f' content: "{symbol}"', f' content: "{symbol}" / "{words} "']
    assert any(sym.startswith(symbol) and key == css
               for key, sym, _ in data_coverage.KEY)


def test_cells_are_read_by_key_in_the_fields_order() -> None:
    frame = pl.DataFrame({"area_code": ["A", "B"], "indicator": ["i", "i"], "figures": [4, 0],
                          "months_covered": [3, 0], "months_expected": [3, 3],
                          "withheld": [0, 2], "complete": [True, False],
                          "_mark_synthetic": [False, True], "sources": ["s", "t"]})
    assert data_coverage._cells(frame, "area_code", "indicator") == {
        ("A", "i"): (4, 3, 3, 0, True, False), ("B", "i"): (0, 0, 3, 2, False, True)}
