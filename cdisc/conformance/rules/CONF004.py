"""CONF004 - SDTMIG variables are not in SDTMIG order.

SDTMIG 3.4 section 4.1.4: variables appear in the order of the domain specification.

**Anti-pattern**: appending AESEQ after the timing variables because it was derived last.

**Best practice**: order columns by the SDTMIG specification (sponsor variables after them) in one shaping step.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import specified_datasets
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF004", "Variables out of SDTMIG order", Severity.WARNING,
               "reorder the columns as in the SDTMIG domain specification")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per dataset, naming the first SDTMIG variable found out of place."""
    out = []
    for dataset, spec in specified_datasets(package, sdtmig):
        present = [c for c in dataset.columns if c in spec]
        expected = sorted(present, key=lambda name: spec.variable(name).order)
        for position, (actual, wanted) in enumerate(zip(present, expected)):
            if actual != wanted:
                out.append(finding(CODE, f"{dataset.name}: column {position + 1} of the SDTMIG variables is "
                                   f"{actual}, SDTMIG order puts {wanted} there",
                                   dataset=dataset.name, variable=actual, value=", ".join(present)))
                break
    return out
