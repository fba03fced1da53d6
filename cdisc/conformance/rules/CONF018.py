"""CONF018 - a character value is longer than the Length declared in define.xml.

Define-XML 2.1 section 4.4 (ItemDef Length): the declared length holds every value; FDA's
Technical Conformance Guide asks that it be the longest value actually present.

**Anti-pattern**: define.xml generated with a default Length of 200, or with lengths from an older cut.

**Best practice**: set Length from the data of the same run.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import declared_columns, rows_with, usubjid_at
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF018", "Value longer than define.xml Length", Severity.ERROR,
               "set the define.xml Length to the longest value in the data")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per variable, at the longest value exceeding the declared Length (bytes)."""
    out = []
    for dataset, variable in declared_columns(package):
        if variable.length is None or dataset.types.get(variable.name) != "Char":
            continue
        lengths = [(len(str(v).encode(dataset.encoding, errors="replace")), i, v)
                   for i, v in rows_with(dataset, variable.name)]
        longest = max(lengths, default=None)
        if longest and longest[0] > variable.length:
            size, index, value = longest
            out.append(finding(CODE, f"{dataset.name}.{variable.name} has a {size}-byte value; define.xml "
                               f"Length is {variable.length}", dataset=dataset.name, variable=variable.name,
                               value=value, usubjid=usubjid_at(dataset, index), row=index + 1))
    return out
