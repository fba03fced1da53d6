"""Dates for eligibility windows: partial dates become [earliest, latest] day bounds, windows are three-valued.

>>> date_bounds("2023-02")
(datetime.date(2023, 2, 1), datetime.date(2023, 2, 28))
>>> in_window(date_bounds("2023-02"), date(2023, 1, 15), date(2023, 3, 31))
True
>>> in_window(date_bounds("2023-02"), date(2023, 2, 15), date(2023, 3, 31)) is None
True
>>> add_months(date(2023, 3, 31), -1)
datetime.date(2023, 2, 28)
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from cdisc.dates import parse_dtc

Bounds = tuple[date, date]


def date_bounds(text: str | None) -> Bounds | None:
    """Earliest and latest calendar day an ISO 8601 (partial) date can mean; None if absent or invalid."""
    if not isinstance(text, str):
        return None
    parsed = parse_dtc(text[:19])
    if parsed is None:
        return None
    if parsed.day is not None:
        day = parsed.to_date()
        return day, day
    if parsed.month is not None:
        last = calendar.monthrange(parsed.year, parsed.month)[1]
        return date(parsed.year, parsed.month, 1), date(parsed.year, parsed.month, last)
    return date(parsed.year, 1, 1), date(parsed.year, 12, 31)


def is_invalid_date(text) -> bool:
    """True when a date element is present but is not ISO 8601 (worth an issue)."""
    return text is not None and date_bounds(text) is None


def add_months(day: date, months: int) -> date:
    """Calendar months later (negative: earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def days_before(day: date, days: int) -> date:
    return day - timedelta(days=days)


def in_window(bounds: Bounds | None, start: date, end: date) -> bool | None:
    """Is the (possibly partial) date inside [start, end]? True, False, or None when it cannot be said."""
    if bounds is None:
        return None
    low, high = bounds
    if start <= low and high <= end:
        return True
    if high < start or low > end:
        return False
    return None


def overlaps(first: Bounds, last: Bounds, start: date, end: date) -> bool | None:
    """Does an interval from ``first`` (onset bounds) to ``last`` (end bounds) overlap [start, end]?"""
    if last[1] < start or first[0] > end:
        return False
    if last[0] >= start and first[1] <= end:
        return True
    return None


def age_bounds(birth: Bounds, on: date) -> tuple[int, int]:
    """Youngest and oldest age in completed years on ``on`` for a birth date known within ``birth``."""
    return _age(birth[1], on), _age(birth[0], on)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
