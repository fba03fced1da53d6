"""CONF014 - VISITNUM/VISIT do not match SV (and TV for planned visits).

SDTMIG 3.4 sections 5.4 (SV) and 7.3.1 (TV): every subject visit of a findings/events record is in
SV for that subject, with the same VISIT name; a planned VISITNUM has the VISIT name TV gives it.

**Anti-pattern**: a lab record at VISITNUM 3 for a subject with no SV record for visit 3, or "Week 4"
in VS while TV says "WEEK 4".

**Best practice**: assign VISITNUM/VISIT from one visit schedule (the study definition), and build
SV from the same assignments.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import format_number, is_blank
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF014", "VISIT/VISITNUM inconsistent with SV/TV", Severity.WARNING,
               "use the VISITNUM/VISIT pairs of TV and make sure SV has every subject visit")


def visit_names(frame, *, by_subject: bool) -> dict:
    """(USUBJID, VISITNUM) or VISITNUM -> VISIT."""
    out = {}
    subjects = frame["USUBJID"] if by_subject else [None] * len(frame)
    for subject, number, name in zip(subjects, frame["VISITNUM"], frame["VISIT"]):
        if not is_blank(number):
            key = (str(subject), format_number(number)) if by_subject else format_number(number)
            out[key] = str(name)
    return out


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per distinct (dataset, subject, VISITNUM) that SV/TV contradict."""
    sv, tv = package.get("SV"), package.get("TV")
    has = lambda ds, cols: ds is not None and set(cols) <= set(ds.columns)  # noqa: E731
    planned = visit_names(tv.frame, by_subject=False) if has(tv, ("VISITNUM", "VISIT")) else {}
    visited = visit_names(sv.frame, by_subject=True) if has(sv, ("USUBJID", "VISITNUM", "VISIT")) else None
    out, reported = [], set()
    for dataset in package.datasets.values():
        if dataset.name in ("TV", "TA", "TE", "TI", "TS") or not {"VISITNUM", "USUBJID"} <= set(dataset.columns):
            continue
        names = dataset.frame["VISIT"] if "VISIT" in dataset.columns else [""] * len(dataset.frame)
        for index, (subject, number, name) in enumerate(zip(dataset.frame["USUBJID"], dataset.frame["VISITNUM"], names)):
            if is_blank(number):
                continue
            key = (str(subject), format_number(number))
            problem = None
            if dataset.name != "SV" and visited is not None and key not in visited:
                problem = f"VISITNUM {key[1]} is not in SV for the subject"
            elif dataset.name != "SV" and visited is not None and not is_blank(name) and visited[key] != str(name):
                problem = f"VISIT '{name}' differs from SV '{visited[key]}' for VISITNUM {key[1]}"
            elif key[1] in planned and not is_blank(name) and planned[key[1]] != str(name):
                problem = f"VISIT '{name}' differs from TV '{planned[key[1]]}' for VISITNUM {key[1]}"
            if problem and (dataset.name, key) not in reported:
                reported.add((dataset.name, key))
                out.append(finding(CODE, f"{dataset.name}: {problem}", dataset=dataset.name, variable="VISITNUM",
                                   usubjid=key[0], row=index + 1, value=key[1]))
    return out
