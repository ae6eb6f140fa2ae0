"""Dates as exports and questions write them."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.dates import iso_date, question_dates

TODAY = date(2026, 12, 1)  # a Tuesday


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2023-05-08", "2023-05-08"),
        ("2023/05/08 13:56", "2023-05-08T13:56:00"),
        ("08.05.2023", "2023-05-08"),  # day first, as outside the US
        ("8 May 2023", "2023-05-08"),
        ("1:56 pm on 8 May, 2023", "2023-05-08T13:56:00"),
        ("2023年5月8日", "2023-05-08"),
        ("1683553000", "2023-05-08T13:36:40"),  # epoch seconds
        (1683553000, "2023-05-08T13:36:40"),
        ("2023-05-08T13:56:00Z", "2023-05-08T13:56:00"),
        ("not a date", None),
        ("", None),
        ("31.02.2023", None),
    ],
)
def test_export_dates(raw: object, iso: str | None) -> None:
    assert iso_date(raw) == iso


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("What happened with this customer in May?", ("2026-05-01", "2026-05-31")),
        ("refund calls last week", ("2026-11-23", "2026-11-29")),
        ("上周的退款电话", ("2026-11-23", "2026-11-29")),
        ("五月份客户说了什么", ("2026-05-01", "2026-05-31")),
        ("2023年5月的电话", ("2023-05-01", "2023-05-31")),
        ("5月8日的通话", ("2026-05-08", "2026-05-08")),
        ("calls on 8 May 2023", ("2023-05-08", "2023-05-08")),
        ("calls in March 2025", ("2025-03-01", "2025-03-31")),
        ("complaints this month", ("2026-12-01", "2026-12-31")),
        ("去年的投诉", ("2025-01-01", "2025-12-31")),
        ("what was said yesterday", ("2026-11-30", "2026-11-30")),
        ("calls in December", ("2026-12-01", "2026-12-31")),
        ("calls in 2024", ("2024-01-01", "2024-12-31")),
    ],
)
def test_question_dates(question: str, span: tuple[str, str]) -> None:
    found = question_dates(question, TODAY)
    assert found is not None
    assert (found.start.isoformat(), found.end.isoformat()) == span


@pytest.mark.parametrize(
    "question",
    [
        "may I get a refund?",  # the modal verb, not the month
        "the agent promised a callback in 2 days",
        "find calls where the agent promised a callback",
        "the refund of 89 dollars",
        "call 123",
    ],
)
def test_no_date_no_range(question: str) -> None:
    assert question_dates(question, TODAY) is None
