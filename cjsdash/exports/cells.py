"""Cell values for spreadsheets and CSV: formula neutralisation and the [c] mark.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can be
read as a formula by Excel, LibreOffice or Google Sheets (CSV/formula injection, OWASP). Every
text cell the XLSX and CSV exports write goes through :func:`neutralise`, which prefixes such
text with an apostrophe so it stays text: an area alias or a commentary field can never
become a formula. Numbers are written as numbers and never pass through here.
"""

from __future__ import annotations

from typing import Any

from cjsdash.core.safe_text import FORMULA_TRIGGERS, neutralise
from layouts import theme
from metrics.analysis import is_missing

__all__ = ["FORMULA_TRIGGERS", "neutralise", "is_missing", "hidden", "SUPPRESSED"]

SUPPRESSED = theme.SUPPRESSED_MARK
BLANKED = ("numerator", "denominator", "value", "lower", "upper")


def hidden(key: str, row: dict[str, Any]) -> bool:
    """Whether the cell ``key`` of a figure row is suppressed: it is written as [c]."""
    if key in BLANKED and row.get("suppressed"):
        return True
    return (key == "national_value" and is_missing(row.get(key))
            and row.get("national_display") == SUPPRESSED)
