"""CONF009 - a --DTC value is not ISO 8601 as SDTM uses it.

SDTMIG 3.4 section 4.4: dates/times in ISO 8601 extended format; partial dates are truncated
("2023-05") or use "-" for a missing middle component ("2023---15"); intervals use "/".

**Anti-pattern**: "05/14/2023", "2023-5-14", "2023-05-14 10:00", or an imputed "2023-05-01" for a
month-only date.

**Best practice**: keep the precision the source has; write YYYY-MM-DDThh:mm[:ss].
"""

from __future__ import annotations

import re

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import rows_with, usubjid_at
from cdisc.dates import parse_dtc
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF009", "--DTC not ISO 8601", Severity.ERROR,
               "write the date as YYYY[-MM[-DD[Thh[:mm[:ss]]]]], keeping partial dates partial")

_MISSING_PARTS = re.compile(
    r"^(?P<y>\d{4}|-)-(?P<m>\d{2}|-)-(?P<d>\d{2}|-)?"
    r"(?:T(?P<H>\d{2}|-)(?::(?P<M>\d{2}|-)(?::(?P<S>\d{2}(?:\.\d+)?|-))?)?)?$")
_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_RANGES = {"m": (1, 12), "d": (1, 31), "H": (0, 23), "M": (0, 59)}


def is_sdtm_dtc(text: str) -> bool:
    """True if ``text`` is an SDTM ISO 8601 date/time, partial date, interval or duration.

    >>> [is_sdtm_dtc(t) for t in ("2023-05", "2023---15", "2023-05-01/2023-06", "05/14/2023", "2023-13")]
    [True, True, True, False, False]
    """
    if "/" in text:
        parts = text.split("/")
        return len(parts) == 2 and all(is_sdtm_dtc(p) or bool(_DURATION.match(p)) for p in parts)
    if parse_dtc(text) is not None:
        return True
    match = _MISSING_PARTS.match(text)
    if not match or "-" not in (match.group("y"), match.group("m"), match.group("d"),
                                match.group("H"), match.group("M"), match.group("S")):
        return False
    return all(low <= int(match.group(k)) <= high for k, (low, high) in _RANGES.items()
               if match.group(k) not in (None, "-"))


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per record whose *DTC variable is not SDTM ISO 8601."""
    out = []
    for dataset in package.datasets.values():
        for name in dataset.columns:
            if not name.endswith("DTC") or dataset.types.get(name) != "Char":
                continue
            for index, value in rows_with(dataset, name):
                if not is_sdtm_dtc(str(value)):
                    out.append(finding(CODE, f"{dataset.name}.{name} = '{value}' is not ISO 8601",
                                       dataset=dataset.name, variable=name, value=value,
                                       usubjid=usubjid_at(dataset, index), row=index + 1))
    return out
