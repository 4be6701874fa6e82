from datetime import date

import pytest

from cjsdash.core.periods import (
    PeriodError,
    bucket_start,
    grain_of,
    label_period,
    parse_period,
)


@pytest.mark.parametrize(
    ("label", "start", "end", "grain"),
    [
        ("2024-06", date(2024, 6, 1), date(2024, 6, 30), "month"),
        ("Jun 2024", date(2024, 6, 1), date(2024, 6, 30), "month"),
        ("February 2024", date(2024, 2, 1), date(2024, 2, 29), "month"),
        ("2024 Q2", date(2024, 4, 1), date(2024, 6, 30), "quarter"),
        ("2010 Q2 (Apr-Jun)", date(2010, 4, 1), date(2010, 6, 30), "quarter"),
        ("Apr-Jun 2024", date(2024, 4, 1), date(2024, 6, 30), "quarter"),
        ("Apr\u2013Jun 2024", date(2024, 4, 1), date(2024, 6, 30), "quarter"),
        ("2024-25", date(2024, 4, 1), date(2025, 3, 31), "fy"),
        ("2024/25", date(2024, 4, 1), date(2025, 3, 31), "fy"),
        ("2011-12", date(2011, 4, 1), date(2012, 3, 31), "fy"),
        ("2024-25 Q1", date(2024, 4, 1), date(2024, 6, 30), "quarter"),
        ("2024-25 Q4", date(2025, 1, 1), date(2025, 3, 31), "quarter"),
        ("year ending March 2025", date(2024, 4, 1), date(2025, 3, 31), "fy"),
        ("year ending June 2024", date(2023, 7, 1), date(2024, 6, 30), "other"),
        ("2024", date(2024, 1, 1), date(2024, 12, 31), "year"),
        ("2024-04-01/2024-06-30", date(2024, 4, 1), date(2024, 6, 30), "quarter"),
    ],
)
def test_publishers_labels_parse(label: str, start: date, end: date, grain: str) -> None:
    period = parse_period(label)
    assert (period.start, period.end) == (start, end)
    assert grain_of(period.start, period.end) == grain


@pytest.mark.parametrize("label", ["", "2024-13", "2024-26", "Smarch 2024", "2024-25 Q5", "Q"])
def test_bad_labels_say_why(label: str) -> None:
    with pytest.raises(PeriodError) as info:
        parse_period(label)
    assert str(info.value)


def test_labels_as_publishers_write_them() -> None:
    q1 = parse_period("2024-25 Q1")
    assert label_period(q1.start, q1.end, "fquarter") == "2024-25 Q1"
    assert label_period(q1.start, q1.end, "quarter") == "Apr\u2013Jun 2024"
    fy = parse_period("2024-25")
    assert label_period(fy.start, fy.end) == "2024-25"
    assert label_period(date(2023, 7, 1), date(2024, 6, 30), "r12") == "year ending June 2024"


def test_financial_year_buckets() -> None:
    assert bucket_start(date(2025, 3, 31), "fy") == date(2024, 4, 1)
    assert bucket_start(date(2025, 4, 1), "fy") == date(2025, 4, 1)
    assert bucket_start(date(2025, 5, 9), "quarter") == date(2025, 4, 1)
