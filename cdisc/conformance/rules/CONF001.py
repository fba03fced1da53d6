"""CONF001 - a Required (Core = Req) SDTMIG variable is missing from its dataset.

SDTMIG 3.4 section 4.1.5: Required variables must be included in the dataset and cannot be null.

**Anti-pattern**: an AE dataset without AETERM because no source term was mapped.

**Best practice**: every Req variable of the domain is a column, populated on every record.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import spec_variables
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF001", "Required variable missing", Severity.ERROR,
               "add the variable (SDTMIG Core = Req) to the dataset and populate it on every record")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per Req variable absent from a dataset SDTMIG defines."""
    return [finding(CODE, f"{dataset.name}.{variable.name} (Req) is not in the dataset",
                    dataset=dataset.name, variable=variable.name)
            for dataset, variable, stored in spec_variables(package, sdtmig, core="Req") if not stored]
