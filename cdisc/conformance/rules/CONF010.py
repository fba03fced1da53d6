"""CONF010 - --SEQ is not unique within a subject.

SDTMIG 3.4 section 4.1.9 (--SEQ): a sequence number unique for each record within a domain and subject.

**Anti-pattern**: numbering AESEQ per source file, so two AE records of one subject both have AESEQ = 1.

**Best practice**: derive --SEQ once, after all rows of the domain are gathered (``derive_seq``).
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import format_number, is_blank
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF010", "--SEQ not unique per subject", Severity.ERROR,
               "renumber --SEQ so that each record of a subject has its own number within the domain")


def seq_variable(columns: tuple[str, ...], name: str) -> str | None:
    """The domain's --SEQ column (``AESEQ`` in AE; ``SEQ`` is not a domain prefix in SUPP/RELREC)."""
    candidate = f"{name[:2]}SEQ"
    return candidate if candidate in columns and "USUBJID" in columns else None


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per record repeating an earlier (USUBJID, --SEQ) pair."""
    out = []
    for dataset in package.datasets.values():
        seq = seq_variable(dataset.columns, dataset.name)
        if seq is None or dataset.name.startswith("SUPP"):
            continue
        seen: set[tuple[str, str]] = set()
        for index, (subject, value) in enumerate(zip(dataset.frame["USUBJID"].tolist(),
                                                     dataset.frame[seq].tolist())):
            if is_blank(value):
                continue
            key = (str(subject), format_number(value))
            if key in seen:
                out.append(finding(CODE, f"{dataset.name}.{seq} = {key[1]} repeats for the subject",
                                   dataset=dataset.name, variable=seq, usubjid=key[0], row=index + 1,
                                   value=key[1]))
            seen.add(key)
    return out
