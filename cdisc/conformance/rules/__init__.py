"""Our conformance rules, one module per code (STYLE 3.1): ``CODE`` (declared) and ``check``.

Every ``check(package, *, sdtmig, ct) -> list[Finding]`` only detects; the runner applies policy.
"""

from __future__ import annotations

import importlib
from types import ModuleType

RULE_IDS = tuple(f"CONF{n:03d}" for n in range(1, 21))


def load_rules() -> tuple[ModuleType, ...]:
    """The rule modules in code order (a plain registry: name -> module, STYLE 3.5)."""
    return tuple(importlib.import_module(f"{__name__}.{rule_id}") for rule_id in RULE_IDS)
