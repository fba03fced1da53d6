"""CONF017 - a value is not in the define.xml codelist of its variable.

Define-XML 2.1 section 4.5 (CodeList): the codelist attached to a variable lists every value used
(an external dictionary such as MedDRA has no items and is not checked here).

**Anti-pattern**: CMROUTE = "TOPICAL" in the data when the define.xml codelist lists ORAL and
INTRAVENOUS only.

**Best practice**: build define.xml codelists from the values in the data, subset from CDISC CT.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import declared_columns, first_rows_by_value, format_number, usubjid_at
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF017", "Value not in define.xml codelist", Severity.ERROR,
               "add the value to the variable's define.xml codelist, or recode it to a listed value")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per distinct value outside its define.xml codelist, at its first row."""
    out = []
    for dataset, variable in declared_columns(package):
        allowed = package.define.codelists.get(variable.codelist_oid or "", frozenset())
        if not allowed:
            continue
        for value, (first, count) in first_rows_by_value(dataset, variable.name).items():
            text = format_number(float(value)) if dataset.types.get(variable.name) == "Num" else value
            if text not in allowed:
                out.append(finding(CODE, f"{dataset.name}.{variable.name} = '{text}' is not in define.xml "
                                   f"codelist {variable.codelist_oid}; {count} record(s)",
                                   dataset=dataset.name, variable=variable.name, value=text,
                                   usubjid=usubjid_at(dataset, first), row=first + 1))
    return out
