"""CONF020 - non-ASCII characters in values or labels.

FDA Study Data Technical Conformance Guide 3.3.2: XPT v5 datasets carry ASCII text only; characters
such as a curly apostrophe (cp1252 0x92) or an accented letter are not portable.

**Anti-pattern**: "Alzheimer’s" pasted from a word processor into a TS value.

**Best practice**: transliterate to ASCII ("Alzheimer's") when mapping, and report what was changed.
"""

from __future__ import annotations

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import rows_with, usubjid_at
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF020", "Non-ASCII text", Severity.ERROR,
               "replace non-ASCII characters with ASCII equivalents (e.g. ’ -> ')")


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per record and variable with non-ASCII text, and per non-ASCII label."""
    out = []
    for dataset in package.datasets.values():
        for name in dataset.columns:
            label = dataset.labels.get(name) or ""
            if not label.isascii():
                out.append(finding(CODE, f"{dataset.name}.{name} label has non-ASCII characters",
                                   dataset=dataset.name, variable=name, value=label))
            if dataset.types.get(name) != "Char":
                continue
            for index, value in rows_with(dataset, name):
                if not str(value).isascii():
                    bad = "".join(sorted({c for c in str(value) if not c.isascii()}))
                    out.append(finding(CODE, f"{dataset.name}.{name} has non-ASCII character(s) '{bad}' "
                                       f"(file encoding {dataset.encoding})", dataset=dataset.name,
                                       variable=name, value=value, usubjid=usubjid_at(dataset, index),
                                       row=index + 1))
    return out
