"""CONF011 - a USUBJID is not in DM (or the package has no DM).

SDTMIG 3.4 section 5.2: DM holds one record per subject; every subject-level record points to it.

**Anti-pattern**: AE rows for a subject screened out before DM was built.

**Best practice**: build DM from the same subject list as every other domain.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import first_rows_by_value
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF011", "USUBJID not in DM", Severity.ERROR,
               "add the subject to DM or remove the records; USUBJID must match DM exactly")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per (dataset, subject) missing from DM; one if DM itself is absent."""
    dm = package.get("DM")
    if dm is None or "USUBJID" not in dm.columns:
        return [finding(CODE, "the package has no DM dataset with USUBJID", dataset="DM", variable="USUBJID")]
    known = {str(v) for v in dm.frame["USUBJID"].tolist()}
    out = []
    for dataset in package.datasets.values():
        if dataset.name == "DM" or "USUBJID" not in dataset.columns:
            continue
        for subject, (first, count) in first_rows_by_value(dataset, "USUBJID").items():
            if subject not in known:
                out.append(finding(CODE, f"{dataset.name}: USUBJID not in DM; {count} record(s)",
                                   dataset=dataset.name, variable="USUBJID", usubjid=subject,
                                   row=first + 1, value=subject))
    return out
