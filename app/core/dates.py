"""Dates as real exports and real questions write them.

- :func:`parse_date`: a call or session date in any of the forms exports use (ISO, ``2023/05/08
  13:56``, ``08.05.2023``, ``8 May 2023``, ``1:56 pm on 8 May, 2023``, ``2023年5月8日``, epoch
  seconds) through ``dateparser`` (day before month where a form is ambiguous, as in most of the
  world outside the US). Unreadable is ``None``: the caller keeps the call and warns.
- :func:`question_dates`: the date range a question asks about ("last week", "in May",
  "上周", "2023年5月"), or ``None`` when it names none. Deliberately strict (a small grammar, not
  a fuzzy search): "may I ask" is not May, "in 2 days" is not a range of past calls.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

#: Epoch seconds between 2000 and 2100 (10 digits), optionally with milliseconds (13 digits).
_EPOCH = re.compile(r"^\d{10}(\d{3})?(\.\d+)?$")


@lru_cache(maxsize=1)
def _parser() -> Any:
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["en", "zh"],
        settings={"DATE_ORDER": "DMY", "RETURN_AS_TIMEZONE_AWARE": False},
    )


def parse_date(value: object) -> datetime | None:
    """The moment ``value`` names (naive, as written: no time zone is assumed), or ``None``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    text = " ".join(str(value).split())
    if not text:
        return None
    if _EPOCH.match(text):
        return _from_epoch(float(text[:10]))
    try:  # the common case, fast: ISO 8601
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    except ValueError:
        pass
    found = _parser().get_date_data(text)
    return found.date_obj if found and found.date_obj else None


def iso_date(value: object) -> str | None:
    """``parse_date`` as an ISO string (``YYYY-MM-DDTHH:MM:SS``, or the date alone at midnight)."""
    moment = parse_date(value)
    if moment is None:
        return None
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return moment.date().isoformat()
    return moment.replace(microsecond=0).isoformat()


def _from_epoch(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True)
class DateSpan:
    """A range of days a question asks about (both ends included) and the words that said so."""

    start: date
    end: date
    words: str


_MONTHS = {
    name: i
    for i in range(1, 13)
    for name in (calendar.month_name[i].lower(), calendar.month_abbr[i].lower())
}
_MONTH = (
    r"(january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
)
_CN_NUM = {name: i for i, name in enumerate("一二三四五六七八九十", start=1)}
_CN_NUM.update({"十一": 11, "十二": 12})
_CN_MONTH = r"(1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"

# English, most specific first. A bare month needs a preposition before it ("in May") or a day
# or year after it ("May 8", "May 2023"), so the modal "may" never becomes a month.
_EN = [
    ("iso_day", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    (
        "month_day",
        re.compile(rf"\b{_MONTH}\.? (\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?\b", re.I),
    ),
    (
        "day_month",
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{_MONTH}\.?(?:,? (\d{{4}}))?\b", re.I),
    ),
    ("month_year", re.compile(rf"\b{_MONTH}\.? (\d{{4}})\b", re.I)),
    ("in_month", re.compile(rf"\b(?:in|during|since|of|for|through|throughout) {_MONTH}\b", re.I)),
    ("in_year", re.compile(r"\b(?:in|during|since|of|for) ((?:19|20)\d{2})\b", re.I)),
    ("relative", re.compile(r"\b(today|yesterday)\b", re.I)),
    ("this_last", re.compile(r"\b(this|last|past|previous) (week|month|year)\b", re.I)),
    ("last_n", re.compile(r"\b(?:last|past) (\d{1,3}) (day|week|month)s?\b", re.I)),
]
_ZH = [
    ("zh_ymd", re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?")),
    ("zh_md", re.compile(rf"(?<![\d年]){_CN_MONTH}\s*月\s*(\d{{1,2}})\s*[日号]")),
    ("zh_month", re.compile(rf"(?<![\d年上下本这个]){_CN_MONTH}\s*月份?(?![\d日号])")),
    ("zh_year", re.compile(r"(\d{4})\s*年(?!\s*\d{1,2}\s*月)")),
    (
        "zh_relative",
        re.compile(
            r"(今天|昨天|前天|本周|这周|这个星期|上周|上个星期|上星期|本月|这个月|上个月|上月|今年|去年)"
        ),
    ),
]


def question_dates(question: str, today: date | None = None) -> DateSpan | None:
    """The days a question is about, when it names them; a month or year without a year is the
    latest one not after ``today``."""
    today = today or date.today()
    for kind, pattern in _EN + _ZH:
        m = pattern.search(question)
        if m is None:
            continue
        span = _span(kind, m.groups(), today)
        if span is not None:
            return DateSpan(span[0], span[1], m.group(0).strip())
    return None


def _span(kind: str, g: tuple[Any, ...], today: date) -> tuple[date, date] | None:
    try:
        if kind == "iso_day":
            day = date(int(g[0]), int(g[1]), int(g[2]))
            return day, day
        if kind in ("month_day", "day_month"):
            month, day_n = (g[0], g[1]) if kind == "month_day" else (g[1], g[0])
            year = int(g[2]) if g[2] else None
            return _one_day(_MONTHS[month.lower()], int(day_n), year, today)
        if kind == "month_year":
            return _month(int(g[1]), _MONTHS[g[0].lower()])
        if kind == "in_month":
            return _latest_month(_MONTHS[g[0].lower()], today)
        if kind in ("in_year", "zh_year"):
            return date(int(g[0]), 1, 1), date(int(g[0]), 12, 31)
        if kind == "relative":
            day = today - timedelta(days=1 if g[0].lower() == "yesterday" else 0)
            return day, day
        if kind == "this_last":
            return _period(g[1].lower(), 0 if g[0].lower() == "this" else -1, today)
        if kind == "last_n":
            n, unit = int(g[0]), g[1].lower()
            days = n * {"day": 1, "week": 7, "month": 30}[unit]
            return today - timedelta(days=days), today
        if kind == "zh_ymd":
            if g[2]:
                day = date(int(g[0]), int(g[1]), int(g[2]))
                return day, day
            return _month(int(g[0]), int(g[1]))
        if kind == "zh_md":
            return _one_day(_cn_int(g[0]), int(g[1]), None, today)
        if kind == "zh_month":
            return _latest_month(_cn_int(g[0]), today)
        if kind == "zh_relative":
            word = g[0]
            if word in ("今天", "昨天", "前天"):
                day = today - timedelta(days={"今天": 0, "昨天": 1, "前天": 2}[word])
                return day, day
            unit = "week" if "周" in word or "星期" in word else "month" if "月" in word else "year"
            return _period(unit, -1 if word[0] in "上去" else 0, today)
    except ValueError:  # 31 February and friends: no range
        return None
    return None


def _cn_int(text: str) -> int:
    return int(text) if text.isdigit() else _CN_NUM[text]


def _one_day(month: int, day: int, year: int | None, today: date) -> tuple[date, date]:
    year = year or (today.year if (month, day) <= (today.month, today.day) else today.year - 1)
    one = date(year, month, day)
    return one, one


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _latest_month(month: int, today: date) -> tuple[date, date]:
    return _month(today.year if month <= today.month else today.year - 1, month)


def _period(unit: str, offset: int, today: date) -> tuple[date, date]:
    """The week (Monday to Sunday), month or year ``offset`` units from the one holding today."""
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        year, month = today.year, today.month + offset
        while month < 1:
            year, month = year - 1, month + 12
        return _month(year, month)
    return date(today.year + offset, 1, 1), date(today.year + offset, 12, 31)
