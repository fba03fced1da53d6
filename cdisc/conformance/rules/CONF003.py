"""CONF003 - an Expected (Core = Exp) SDTMIG variable is missing from its dataset.

SDTMIG 3.4 section 4.1.5: Expected variables must be included even when no values were collected.

**Anti-pattern**: dropping AESTDTC from AE because no onset dates came through.

**Best practice**: keep every Exp column (null where not collected) and explain the nulls in the reviewer notes.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import spec_variables
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF003", "Expected variable missing", Severity.WARNING,
               "add the Exp variable as a column (null when not collected) and explain it in the reviewer notes")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per Exp variable absent from a dataset SDTMIG defines."""
    return [finding(CODE, f"{dataset.name}.{variable.name} (Exp) is not in the dataset",
                    dataset=dataset.name, variable=variable.name)
            for dataset, variable, stored in spec_variables(package, sdtmig, core="Exp") if not stored]
