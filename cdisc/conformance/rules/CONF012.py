"""CONF012 - --DY does not match --DTC and DM.RFSTDTC.

SDTMIG 3.4 section 4.4.4: --DY = (date of --DTC) - (date of RFSTDTC) + 1 on or after RFSTDTC, and
the plain difference before it; there is no day 0. Only complete dates give a study day.

**Anti-pattern**: AESTDY = 0, or a study day computed from the imputed first of the month.

**Best practice**: derive every --DY with one function (``compute_study_day``) from DM.RFSTDTC.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import format_number, is_blank, usubjid_at
from cdisc.dates import compute_study_day, date_part
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF012", "--DY inconsistent with --DTC and RFSTDTC", Severity.ERROR,
               "recompute --DY from the date part of --DTC and DM.RFSTDTC (no day 0)")


def dy_pairs(columns: tuple[str, ...]) -> list[tuple[str, str]]:
    """(--DTC, --DY) pairs present together, e.g. (AESTDTC, AESTDY), (VSDTC, VSDY)."""
    return [(c, c[:-3] + "DY") for c in columns if c.endswith("DTC") and c[:-3] + "DY" in columns]


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per record whose --DY differs from the study day its dates give."""
    dm = package.get("DM")
    if dm is None or not {"USUBJID", "RFSTDTC"} <= set(dm.columns):
        return []
    reference = {str(s): date_part(str(r)) for s, r in zip(dm.frame["USUBJID"], dm.frame["RFSTDTC"])}
    out = []
    for dataset in package.datasets.values():
        if dataset.name == "DM" or "USUBJID" not in dataset.columns:
            continue
        for dtc, dy in dy_pairs(dataset.columns):
            for index, (text, day) in enumerate(zip(dataset.frame[dtc].tolist(), dataset.frame[dy].tolist())):
                subject = usubjid_at(dataset, index)
                expected = compute_study_day(None if is_blank(text) else str(text), reference.get(subject))
                actual = None if is_blank(day) else day
                if expected is None or (actual is not None and float(actual) == expected):
                    continue
                out.append(finding(CODE, f"{dataset.name}.{dy} = {format_number(actual) if actual is not None else 'null'}"
                                   f", {dtc} = {text} and RFSTDTC give {expected}",
                                   dataset=dataset.name, variable=dy, usubjid=subject, row=index + 1,
                                   value=None if actual is None else format_number(actual)))
    return out
