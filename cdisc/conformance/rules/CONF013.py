"""CONF013 - EPOCH does not match the subject's element (SE) at the record's date.

SDTMIG 3.4 section 5.3 (SE) and 4.1.3.1 (EPOCH): EPOCH is the epoch of the element the subject was
in at the start date/time of the record.

**Anti-pattern**: EPOCH taken from the visit schedule (TV) while SE says the subject had already
moved on, or set to "TREATMENT" for a screening record.

**Best practice**: derive EPOCH from SE (``derive_epoch``) using the record's --STDTC, or --DTC.
"""

from __future__ import annotations

from datetime import date

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage, XptDataset
from cdisc.conformance.rules._helpers import is_blank, usubjid_at
from cdisc.dates import date_part
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF013", "EPOCH inconsistent with SE", Severity.WARNING,
               "derive EPOCH from the subject's SE element that contains the record's start date")


def subject_elements(se: XptDataset) -> dict[str, list[tuple[date, date | None, str]]]:
    """USUBJID -> [(SESTDTC date, SEENDTC date or None, EPOCH)] for elements with a start date."""
    out: dict[str, list[tuple[date, date | None, str]]] = {}
    for subject, start, end, epoch in zip(se.frame["USUBJID"], se.frame["SESTDTC"],
                                          se.frame["SEENDTC"], se.frame["EPOCH"]):
        begin = date_part(str(start))
        if begin is not None and not is_blank(epoch):
            out.setdefault(str(subject), []).append((begin, date_part(str(end)), str(epoch)))
    return out


def epochs_at(elements: list[tuple[date, date | None, str]], day: date) -> set[str]:
    """Epochs of the elements containing ``day`` (both ends inclusive: transition days are ambiguous)."""
    return {epoch for start, end, epoch in elements if start <= day and (end is None or day <= end)}


def record_date_column(dataset: XptDataset) -> str | None:
    prefix = dataset.name[:2]
    for name in (f"{prefix}STDTC", f"{prefix}DTC"):
        if name in dataset.columns:
            return name
    return None


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per record whose EPOCH is none of the epochs SE gives for its date."""
    se = package.get("SE")
    if se is None or not {"USUBJID", "SESTDTC", "SEENDTC", "EPOCH"} <= set(se.columns):
        return []
    elements = subject_elements(se)
    out = []
    for dataset in package.datasets.values():
        column = record_date_column(dataset)
        if dataset.name == "SE" or column is None or not {"EPOCH", "USUBJID"} <= set(dataset.columns):
            continue
        for index, (text, epoch) in enumerate(zip(dataset.frame[column], dataset.frame["EPOCH"])):
            day = date_part(str(text))
            subject = usubjid_at(dataset, index)
            if day is None or is_blank(epoch) or subject not in elements:
                continue
            allowed = epochs_at(elements[subject], day)
            if allowed and str(epoch) not in allowed:
                out.append(finding(CODE, f"{dataset.name}.EPOCH = '{epoch}' but SE gives "
                                   f"{'/'.join(sorted(allowed))} on {column} {text}",
                                   dataset=dataset.name, variable="EPOCH", usubjid=subject,
                                   row=index + 1, value=epoch))
    return out
