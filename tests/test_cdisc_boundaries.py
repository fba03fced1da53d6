"""cdisc imports nothing from interop or mappings (ARCHITECTURE: one-way flow)."""

from __future__ import annotations

import ast
from pathlib import Path

from cdisc.issues import registered_codes

CDISC = Path(__file__).resolve().parents[1] / "cdisc"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_cdisc_does_not_import_interop_or_mappings():
    offenders = {str(p.relative_to(CDISC)): sorted(m for m in imported_modules(p)
                                                   if m.split(".")[0] in ("interop", "mappings"))
                 for p in CDISC.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cdisc_codes_are_declared_with_their_prefixes():
    import cdisc.codes  # noqa: F401  (declares on import)
    ours = {c for c in registered_codes() if c.startswith(("CT0", "SHAPE", "XPT", "DJSON"))}
    assert {"CT001", "CT002", "SHAPE001", "SHAPE007", "XPT001", "XPT007", "DJSON001"} <= ours
