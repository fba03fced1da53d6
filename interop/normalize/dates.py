"""FHIR dateTime/instant values moved onto the site's clock (offset dropped, precision kept).

SDTM --DTC values carry no offset: a time is the site's local time. A FHIR dateTime with an offset
(``Z`` or ``+hh:mm``) is converted into the site's IANA zone (from the study definition) and written
without offset, to the precision it had (minutes, seconds, fractions). A time without an offset is
taken as already local. Dates without a time (``2023``, ``2023-05``, ``2023-05-01``) are untouched.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from interop.ingest.validate import match_fhir_date


def convert_to_site_clock(value: str, zone: ZoneInfo) -> tuple[str, bool]:
    """(local value without offset, whether it had an offset) for a valid FHIR dateTime/instant.

    Parameters
    ----------
    value
        A dateTime or instant that matches the FHIR grammar (see ``match_fhir_date``).
    zone
        The site's time zone.

    Examples
    --------
    >>> convert_to_site_clock("2023-05-01T23:30:00Z", ZoneInfo("Asia/Shanghai"))
    ('2023-05-02T07:30:00', True)
    >>> convert_to_site_clock("2023-03-26T00:30:00.250-01:00", ZoneInfo("Europe/Paris"))
    ('2023-03-26T03:30:00.250', True)
    >>> convert_to_site_clock("2023-05-01T08:15", ZoneInfo("Asia/Shanghai"))
    ('2023-05-01T08:15', False)
    >>> convert_to_site_clock("2023-05", ZoneInfo("Asia/Shanghai"))
    ('2023-05', False)
    """
    m = match_fhir_date(value, "dateTime")
    if m is None or not m.group("H") or not m.group("tz"):
        return value, False
    seconds = m.group("S")
    leap = seconds == "60"
    moment = datetime(int(m.group("y")), int(m.group("m")), int(m.group("d")), int(m.group("H")),
                      int(m.group("M")), 59 if leap else int(seconds or 0), tzinfo=_offset(m.group("tz")))
    local = moment.astimezone(zone)
    out = local.strftime("%Y-%m-%dT%H:%M")
    if seconds is not None:
        out += ":60" if leap else f":{local.second:02d}"
        out += m.group("frac") or ""
    return out, True


def _offset(text: str) -> timezone:
    if text == "Z":
        return timezone.utc
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def to_instant(value: str | None) -> datetime | None:
    """An aware UTC datetime for comparing ``meta.lastUpdated`` values (naive values taken as UTC).

    >>> to_instant("2023-05-01T10:00:00+02:00").isoformat()
    '2023-05-01T08:00:00+00:00'
    """
    if not isinstance(value, str):
        return None
    m = match_fhir_date(value, "instant")
    if m is None:
        return None
    parts = [int(m.group(g) or default) for g, default in (("y", 0), ("m", 1), ("d", 1), ("H", 0), ("M", 0))]
    seconds = min(int(m.group("S") or 0), 59)
    micro = int(((m.group("frac") or ".0")[1:] + "000000")[:6])
    tz = _offset(m.group("tz")) if m.group("tz") else timezone.utc
    return datetime(*parts, seconds, micro, tzinfo=tz).astimezone(timezone.utc)
