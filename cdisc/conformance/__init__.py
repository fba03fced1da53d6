"""Conformance checks on any SDTM package: our CONF rules and CDISC CORE, one report.

>>> from pathlib import Path
>>> from cdisc.conformance import validate_package           # doctest: +SKIP
>>> report = validate_package(Path("out/len-cdm"), out=Path("out/len-cdm/validation"))  # doctest: +SKIP
>>> report.fails("error"), report.counts_by_rule()            # doctest: +SKIP
"""

from cdisc.conformance.findings import Finding
from cdisc.conformance.runner import ValidationReport, check_package, validate_package

__all__ = ["Finding", "ValidationReport", "check_package", "validate_package"]
