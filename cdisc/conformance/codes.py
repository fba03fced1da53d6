"""The issue codes of ``cdisc.conformance`` (STYLE 3.1): every CONF code, declared once.

CONF001-CONF020 are declared in their rule modules (``rules/CONFnnn.py``: title, severity, hint
beside the check and its docstring); this module imports them so that one import lists them all,
and declares the codes of the run itself (CONF9xx).
"""

from __future__ import annotations

from cdisc.conformance.rules import load_rules
from cdisc.issues import CodeInfo, Severity, declare

RULE_CODES: dict[str, CodeInfo] = {module.CODE.code: module.CODE for module in load_rules()}

CORE_UNAVAILABLE = declare(
    "CONF900", "CORE engine not available", Severity.ERROR,
    "run `bash scripts/setup-core.sh` (needs Python 3.12), or pass --no-core to skip CORE")
CORE_RULE_FAILED = declare(
    "CONF901", "CORE rule could not run", Severity.INFO,
    "usually a dataset or define.xml the rule needs is absent; see the message")
PACKAGE_UNREADABLE = declare(
    "CONF902", "SDTM package unreadable", Severity.ERROR,
    "PACKAGE_DIR must be a folder of SAS XPORT v5 .xpt files (define.xml optional)")

RUN_CODES: dict[str, CodeInfo] = {c.code: c for c in (CORE_UNAVAILABLE, CORE_RULE_FAILED, PACKAGE_UNREADABLE)}
ALL_CODES: dict[str, CodeInfo] = {**RULE_CODES, **RUN_CODES}
