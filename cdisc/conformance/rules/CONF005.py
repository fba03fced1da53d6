"""CONF005 - a variable's type (Char/Num) differs from SDTMIG.

SDTMIG 3.4 section 2.5 (variable metadata: Type).

**Anti-pattern**: AGE stored as text "63", or AESEQ as a character column.

**Best practice**: take the type from the SDTMIG metadata when shaping; never infer it from the values.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import stored_variables
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF005", "Variable type differs from SDTMIG", Severity.ERROR,
               "store the variable with the SDTMIG type (Char or Num)")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per variable whose stored type is not the SDTMIG type."""
    return [finding(CODE, f"{dataset.name}.{name} is {dataset.types.get(name)}, SDTMIG says {variable.type}",
                    dataset=dataset.name, variable=name, value=dataset.types.get(name))
            for dataset, name, variable in stored_variables(package, sdtmig)
            if dataset.types.get(name) != variable.type]
