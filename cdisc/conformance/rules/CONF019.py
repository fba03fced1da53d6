"""CONF019 - XPT v5 limits: names, labels, lengths.

FDA Study Data Technical Conformance Guide 3.3 and SAS XPORT v5: dataset and variable names up to 8
characters (letters, digits, underscore; starting with a letter), labels up to 40 characters,
character values up to 200 bytes.

**Anti-pattern**: a variable called ``AESTDTC_RAW`` or a 45-character label truncated by the writer.

**Best practice**: check names, labels and lengths before writing (``write_xpt`` refuses bad ones).
"""

from __future__ import annotations

import re

from cdisc.conformance.findings import Finding, finding
from cdisc.conformance.package import SdtmPackage
from cdisc.issues import Severity, declare
from cdisc.standards import ControlledTerminology, Sdtmig

CODE = declare("CONF019", "XPT v5 limit exceeded", Severity.ERROR,
               "names: <= 8 characters, A-Z 0-9 _ starting with a letter; labels <= 40; values <= 200 bytes")

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
MAX_LABEL = 40
MAX_LENGTH = 200


def check(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology) -> list[Finding]:
    """One finding per bad dataset name/label and per bad variable name/label/length."""
    out = []
    for dataset in package.datasets.values():
        if not NAME.match(dataset.name):
            out.append(finding(CODE, f"dataset name '{dataset.name}' is not a valid XPT v5 name",
                               dataset=dataset.name, value=dataset.name))
        if dataset.label and len(dataset.label) > MAX_LABEL:
            out.append(finding(CODE, f"dataset label is {len(dataset.label)} characters (max {MAX_LABEL})",
                               dataset=dataset.name, value=dataset.label))
        for name in dataset.columns:
            label = dataset.labels.get(name) or ""
            if not NAME.match(name):
                out.append(finding(CODE, f"variable name '{name}' is not a valid XPT v5 name",
                                   dataset=dataset.name, variable=name, value=name))
            if len(label) > MAX_LABEL:
                out.append(finding(CODE, f"{dataset.name}.{name} label is {len(label)} characters (max {MAX_LABEL})",
                                   dataset=dataset.name, variable=name, value=label))
            if dataset.lengths.get(name, 0) > MAX_LENGTH:
                out.append(finding(CODE, f"{dataset.name}.{name} length {dataset.lengths[name]} exceeds {MAX_LENGTH}",
                                   dataset=dataset.name, variable=name, value=str(dataset.lengths[name])))
    return out
