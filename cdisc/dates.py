"""ISO 8601 dates for SDTM --DTC: partial dates stay partial (SDTMIG 4.4).

Pure functions, no FHIR knowledge. FHIR date/dateTime/instant are ISO 8601 already;
``interop.normalize`` moves times with an offset onto the site's clock before they get here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_DTC = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?)?)?)?$"
)


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A date that may be known only to the year or month (times kept to the minute/second)."""

    year: int
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None

    @property
    def is_complete_date(self) -> bool:
        return self.day is not None

    def to_date(self) -> date | None:
        if self.day is None:
            return None
        return date(self.year, self.month, self.day)

    def iso(self) -> str:
        out = f"{self.year:04d}"
        if self.month is None:
            return out
        out += f"-{self.month:02d}"
        if self.day is None:
            return out
        out += f"-{self.day:02d}"
        if self.hour is None:
            return out
        out += f"T{self.hour:02d}"
        if self.minute is None:
            return out
        out += f":{self.minute:02d}"
        if self.second is None:
            return out
        return out + f":{self.second:02d}"


def parse_dtc(text: str | None) -> PartialDate | None:
    """Parse an ISO 8601 date/datetime without offset; None if it is not one.

    >>> parse_dtc("2023-05").iso()
    '2023-05'
    >>> parse_dtc("2023-02-30") is None
    True
    """
    if not text:
        return None
    m = _DTC.match(text)
    if not m:
        return None
    parts = [int(v) if v is not None else None for v in m.group("y", "m", "d", "H", "M", "S")]
    y, mo, d, hh, mi, ss = parts
    try:
        if mo is not None and not 1 <= mo <= 12:
            return None
        if d is not None:
            date(y, mo, d)
        if hh is not None and not 0 <= hh <= 23:
            return None
        if mi is not None and not 0 <= mi <= 59:
            return None
        if ss is not None and not 0 <= ss <= 60:
            return None
    except ValueError:
        return None
    return PartialDate(y, mo, d, hh, mi, ss)


def compute_study_day(dtc: str | None, ref: date | None) -> int | None:
    """SDTM --DY: days from the reference start date, +1 on/after it, no day 0.

    >>> compute_study_day("2023-01-10", date(2023, 1, 10))
    1
    >>> compute_study_day("2023-01-09T08:00", date(2023, 1, 10))
    -1
    >>> compute_study_day("2023-01", date(2023, 1, 10)) is None
    True
    """
    parsed = parse_dtc(dtc)
    if parsed is None or ref is None or parsed.day is None:
        return None
    delta = (parsed.to_date() - ref).days
    return delta + 1 if delta >= 0 else delta


def date_part(dtc: str | None) -> date | None:
    """The complete calendar date of a --DTC value, else None."""
    parsed = parse_dtc(dtc)
    return parsed.to_date() if parsed else None
