"""CONF015 - a dataset or variable in the data is not declared in define.xml.

Define-XML 2.1 section 4.3 (ItemGroupDef/ItemRef): define.xml describes every dataset and variable
submitted.

**Anti-pattern**: adding a sponsor variable (AETRTEM) to the data after define.xml was generated.

**Best practice**: write define.xml from the same metadata, in the same run, as the datasets.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF015", "Data not declared in define.xml", Severity.ERROR,
               "regenerate define.xml from the package metadata so it declares every dataset and variable")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per undeclared dataset, and per undeclared variable of a declared dataset."""
    define = package.define
    if define is None:
        return []
    out = []
    for dataset in package.datasets.values():
        if dataset.name not in define.datasets:
            out.append(finding(CODE, f"dataset {dataset.name} is not in {define.file}", dataset=dataset.name))
            continue
        declared = {v.name for v in define.variables(dataset.name)}
        for name in dataset.columns:
            if name not in declared:
                out.append(finding(CODE, f"{dataset.name}.{name} is not declared in {define.file}",
                                   dataset=dataset.name, variable=name))
    return out
