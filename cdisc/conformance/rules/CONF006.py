"""CONF006 - a variable's label differs from the SDTMIG label.

SDTMIG 3.4 section 4.1.4: use the variable labels of the domain specification.

**Anti-pattern**: labels typed into mapping code ("Adverse Event") drifting from SDTMIG ("Reported Term
for the Adverse Event").

**Best practice**: labels come from the SDTMIG metadata, once, at the shaping step.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import domain_spec
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF006", "Variable label differs from SDTMIG", Severity.WARNING,
               "use the SDTMIG 3.4 label for the variable")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per variable whose label is not the SDTMIG label (SUPP-- datasets included)."""
    out = []
    for dataset in package.datasets.values():
        spec = domain_spec(sdtmig, dataset.name)
        if spec is None:
            continue
        for name in dataset.columns:
            variable = spec.variable(name)
            label = dataset.labels.get(name) or ""
            if variable is not None and label != variable.label:
                out.append(finding(CODE, f"{dataset.name}.{name} label is '{label}', SDTMIG: '{variable.label}'",
                                   dataset=dataset.name, variable=name, value=label))
    return out
