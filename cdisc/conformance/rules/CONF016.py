"""CONF016 - define.xml declares a dataset or variable the data do not have.

Define-XML 2.1 section 4.3: define.xml describes the datasets submitted, no more.

**Anti-pattern**: a define.xml copied from a template that still lists LB and VS when no lab or vital
signs data were collected.

**Best practice**: generate define.xml from the datasets actually written.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF016", "define.xml declares data that is absent", Severity.WARNING,
               "remove the dataset/variable from define.xml, or add the missing file/column")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per declared dataset without a file, and per declared variable without a column."""
    define = package.define
    if define is None:
        return []
    out = []
    for name, variables in define.datasets.items():
        dataset = package.get(name)
        if dataset is None:
            out.append(finding(CODE, f"{define.file} declares dataset {name}, which is not in the package",
                               dataset=name))
            continue
        for variable in variables:
            if variable.name not in dataset.columns:
                out.append(finding(CODE, f"{define.file} declares {name}.{variable.name}, which is not in the data",
                                   dataset=name, variable=variable.name))
    return out
