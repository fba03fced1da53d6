"""CONF006 - a variable's label differs from the SDTMIG label.

SDTMIG 3.4 section 4.1.4: use the variable labels of the domain specification.

**Anti-pattern**: labels typed into mapping code ("Adverse Event") drifting from SDTMIG ("Reported Term
for the Adverse Event").

**Best practice**: labels come from the SDTMIG metadata, once, at the shaping step.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import stored_variables
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF006", "Variable label differs from SDTMIG", Severity.WARNING,
               "use the SDTMIG 3.4 label for the variable")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per variable whose label is not the SDTMIG label (SUPP-- datasets included)."""
    return [finding(CODE, f"{dataset.name}.{name} label is '{label}', SDTMIG: '{variable.label}'",
                    dataset=dataset.name, variable=name, value=label)
            for dataset, name, variable in stored_variables(package, sdtmig)
            if (label := dataset.labels.get(name) or "") != variable.label]
