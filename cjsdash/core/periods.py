"""Reporting periods: parse the labels publishers write, label periods the way they do.

A period is a closed date range ``[start, end]``. Grains:

- ``month``      2024-06                 "Jun 2024"
- ``quarter``    calendar quarter        "Apr–Jun 2024"
- ``fquarter``   financial quarter       "2024-25 Q1"      (Apr–Jun is Q1)
- ``fy``         financial year          "2024-25"         (Apr–Mar)
- ``year``       calendar year           "2024"
- ``r12``        rolling 12 months       "year ending June 2024"
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

GRAINS: tuple[str, ...] = ("month", "quarter", "fquarter", "fy", "year", "r12")
GRAIN_LABELS: dict[str, str] = {
    "month": "Month",
    "quarter": "Calendar quarter",
    "fquarter": "Financial quarter",
    "fy": "Financial year",
    "year": "Calendar year",
    "r12": "Rolling 12 months",
}
GRAIN_MONTHS: dict[str, int] = {
    "month": 1, "quarter": 3, "fquarter": 3, "fy": 12, "year": 12, "r12": 12,
}

_MONTHS = {m.casefold(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTHS.update({m.casefold(): i for i, m in enumerate(calendar.month_name) if m})
_MONTHS["sept"] = 9


class PeriodError(ValueError):
    """A period label that cannot be read."""


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(d: date, months: int) -> date:
    """First day of the month ``months`` after the month of ``d``."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def span(start_year: int, start_month: int, months: int) -> Period:
    start = date(start_year, start_month, 1)
    last = add_months(start, months - 1)
    return Period(start, month_end(last.year, last.month))


def _month(token: str) -> int:
    try:
        return _MONTHS[token.casefold().rstrip(".")]
    except KeyError:
        raise PeriodError(f"'{token}' is not a month name") from None


def _fy_start(text: str) -> int:
    """'2024-25', '2024/25', '2024-2025', 'FY2024-25' → 2024, checking the years follow on."""
    m = re.fullmatch(r"(?:fy\s*)?(\d{4})\s*[-/–]\s*(\d{2}|\d{4})", text.strip(), re.I)
    if not m:
        raise PeriodError(f"'{text}' is not a financial year like 2024-25")
    first, second = int(m.group(1)), m.group(2)
    expected = (first + 1) % (100 if len(second) == 2 else 10_000)
    if int(second) != expected:
        raise PeriodError(f"'{text}': the second year should follow the first")
    return first


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})\s*/\s*(\d{4})-(\d{2})-(\d{2})"), "iso_range"),
    (re.compile(r"(\d{4})-(\d{1,2})(?:-01)?"), "iso_month"),
    (re.compile(r"([a-z]{3,9})\.?\s+(\d{4})", re.I), "month_name"),
    (re.compile(r"(\d{4})\s*[- ]?\s*q([1-4])(?:\s*\(.*\))?", re.I), "quarter"),
    (re.compile(r"((?:fy\s*)?\d{4}\s*[-/]\s*\d{2,4})\s*q([1-4])", re.I), "fquarter"),
    (re.compile(r"([a-z]{3,9})\s*[-–—to ]+\s*([a-z]{3,9})\s+(\d{4})", re.I), "month_range"),
    (re.compile(r"(?:the\s+)?(?:year|12 months)\s+(?:ending|to)\s+([a-z]{3,9})\s+(\d{4})", re.I), "year_ending"),
    (re.compile(r"(\d{4})"), "year"),
]


FIRST_YEAR = 1990
"""The earliest year a period may start in; the latest it may end in is LAST_YEAR."""
LAST_YEAR = date.today().year + 5


def parse_period(label: str) -> Period:
    """Read a period label as publishers write it; raise PeriodError saying why not.

    Periods outside FIRST_YEAR..LAST_YEAR are refused: a figure for year 1 or 9999 is a
    typing error, and dates at the ends of the calendar break the arithmetic of every page.
    """
    label = str(label)
    if len(label) > 100:
        raise PeriodError(f"'{label[:40]}…' is not a period (too long)")
    try:
        period = _parse(label)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"'{label}': {exc}") from None
    if period.start.year < FIRST_YEAR or period.end.year > LAST_YEAR:
        raise PeriodError(f"'{label}' is outside the years cjsdash reads "
                          f"({FIRST_YEAR} to {LAST_YEAR})")
    return period


def _parse(label: str) -> Period:
    text = " ".join(label.replace("\u2013", "-").replace("\u2014", "-").split())
    if not text:
        raise PeriodError("the period is empty")
    fy = re.fullmatch(r"(?:fy\s*)?(\d{4})\s*[-/]\s*(\d{2}|\d{4})", text, re.I)
    if fy and int(fy.group(2)) == (int(fy.group(1)) + 1) % (100 if len(fy.group(2)) == 2 else 10_000):
        # "2011-12" is the financial year, not December 2011: write "Dec 2011" for the month.
        return span(int(fy.group(1)), 4, 12)
    for pattern, kind in _PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            try:
                return _build(kind, m)
            except PeriodError:
                raise
            except ValueError as exc:
                raise PeriodError(f"'{label}': {exc}") from None
    raise PeriodError(
        f"'{label}' is not a period cjsdash reads (try 2024-06, Jun 2024, 2024 Q2, "
        "Apr-Jun 2024, 2024-25, 2024-25 Q1, year ending March 2025)"
    )


def _build(kind: str, m: re.Match[str]) -> Period:
    g = m.groups()
    if kind == "iso_range":
        start, end = date(int(g[0]), int(g[1]), int(g[2])), date(int(g[3]), int(g[4]), int(g[5]))
        if end < start:
            raise PeriodError(f"'{m.string}' ends before it starts")
        return Period(start, end)
    if kind == "iso_month":
        month = int(g[1])
        if not 1 <= month <= 12:
            raise PeriodError(f"'{m.string}': month {month} does not exist")
        return span(int(g[0]), month, 1)
    if kind == "month_name":
        return span(int(g[1]), _month(g[0]), 1)
    if kind == "fquarter":
        fy = _fy_start(g[0])
        q = int(g[1])
        return span(fy + (q == 4), (4 + 3 * (q - 1) - 1) % 12 + 1, 3)
    if kind == "quarter":
        return span(int(g[0]), 3 * (int(g[1]) - 1) + 1, 3)
    if kind == "month_range":
        first, last, year = _month(g[0]), _month(g[1]), int(g[2])
        months = (last - first) % 12 + 1
        start_year = year - (1 if last < first else 0)
        return span(start_year, first, months)
    if kind == "year_ending":
        last = _month(g[0])
        end = date(int(g[1]), last, 1)
        start = add_months(end, -11)
        return span(start.year, start.month, 12)
    return span(int(g[0]), 1, 12)


def grain_of(start: date, end: date) -> str:
    """The natural grain of a native period (month, quarter, fy, year or 'other')."""
    p = Period(start, end)
    if start.day != 1 or end != month_end(end.year, end.month):
        return "other"
    if p.months == 1:
        return "month"
    if p.months == 3 and start.month in (1, 4, 7, 10):
        return "quarter"
    if p.months == 12 and start.month == 4:
        return "fy"
    if p.months == 12 and start.month == 1:
        return "year"
    return "other"


def fy_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def label_period(start: date, end: date, grain: str | None = None) -> str:
    """Label a period the way publishers do, for the given grain (or its natural one)."""
    grain = grain or grain_of(start, end)
    if grain == "month":
        return f"{calendar.month_abbr[start.month]} {start.year}"
    if grain == "quarter":
        return f"{calendar.month_abbr[start.month]}\u2013{calendar.month_abbr[end.month]} {end.year}"
    if grain == "fquarter":
        fy = start.year - (start.month < 4)
        q = ((start.month - 4) % 12) // 3 + 1
        return f"{fy_label(fy)} Q{q}"
    if grain == "fy":
        return fy_label(start.year)
    if grain == "year":
        return str(start.year)
    if grain == "r12":
        return f"year ending {calendar.month_name[end.month]} {end.year}"
    return f"{start.isoformat()} to {end.isoformat()}"


def bucket_start(d: date, grain: str) -> date:
    """The first day of the ``grain`` period that contains ``d`` (r12: its month)."""
    if grain in ("month", "r12"):
        return date(d.year, d.month, 1)
    if grain in ("quarter", "fquarter"):
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if grain == "fy":
        return date(d.year - (d.month < 4), 4, 1)
    if grain == "year":
        return date(d.year, 1, 1)
    raise PeriodError(f"unknown grain '{grain}' (one of {', '.join(GRAINS)})")


def bucket_end(start: date, grain: str) -> date:
    last = add_months(start, GRAIN_MONTHS[grain] - 1)
    return month_end(last.year, last.month)


def same_period_last_year(start: date, end: date) -> Period:
    s, e = add_months(start, -12), add_months(end, -12)
    return Period(date(s.year, s.month, start.day if start.day == 1 else 1), month_end(e.year, e.month))


def days(start: date, end: date) -> int:
    return (end - start).days + 1


def previous_day(d: date) -> date:
    return d - timedelta(days=1)
