"""CONF002 - a Required variable is null on some records.

SDTMIG 3.4 section 4.1.5: Required variables cannot be null for any record.

**Anti-pattern**: DM.SEX left blank for a subject whose sex was not recorded.

**Best practice**: map the value (use the CT term for unknown, e.g. SEX = "U") rather than leave it null.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import is_blank, spec_variables, usubjid_at
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF002", "Required variable is null", Severity.ERROR,
               "populate the Req variable on every record (use a CT 'unknown' term where one exists)")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per record with a null Req variable."""
    out = []
    for dataset, variable, stored in spec_variables(package, sdtmig, core="Req"):
        if not stored:
            continue
        for index, value in enumerate(dataset.frame[variable.name].tolist()):
            if is_blank(value):
                out.append(finding(CODE, f"{dataset.name}.{variable.name} (Req) is null",
                                   dataset=dataset.name, variable=variable.name,
                                   usubjid=usubjid_at(dataset, index), row=index + 1))
    return out
