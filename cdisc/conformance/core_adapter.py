"""Run CDISC CORE (``core/driver.py``) in its own venv and turn its results into findings.

The engine needs Python 3.12 and pandas 3, so it runs as a subprocess of ``.core-venv/bin/python``
(made by ``scripts/setup-core.sh``). Its pickle cache is rebuilt from the shipped JSON once per
data version, under ``$XDG_CACHE_HOME/fhir2cdisc/core-cache`` (or ``cache_dir``).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import yaml

from cdisc.conformance import core
from cdisc.conformance.codes import CORE_RULE_FAILED, CORE_UNAVAILABLE
from cdisc.conformance.findings import SOURCE_CORE, Finding, finding
from cdisc.issues import ConversionError, Severity, issue

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_SEVERITY_FILE = Path(__file__).resolve().parent / "core_severity.yaml"
DEFAULT_VENV = REPO_ROOT / ".core-venv"


@dataclass(frozen=True)
class CoreSeverityPolicy:
    """Severity of CORE findings: a default plus per-rule overrides, each with its reason."""

    default: Severity
    rules: Mapping[str, Severity]
    reasons: Mapping[str, str] = field(default_factory=dict)

    def severity_of(self, rule_id: str) -> Severity:
        return self.rules.get(rule_id, self.default)


@cache
def load_core_severity(path: Path = CORE_SEVERITY_FILE) -> CoreSeverityPolicy:
    """Read ``core_severity.yaml``; every override must give a reason (checked on load)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules, reasons = {}, {}
    for rule_id, entry in (data.get("rules") or {}).items():
        if not entry.get("reason"):
            raise ValueError(f"{path.name}: {rule_id} changes the severity without a reason")
        rules[rule_id] = Severity(entry["severity"])
        reasons[rule_id] = entry["reason"]
    return CoreSeverityPolicy(Severity(data["default"]), MappingProxyType(rules), MappingProxyType(reasons))


@dataclass(frozen=True)
class CoreRun:
    """What a CORE run gave: findings plus the engine's run facts (versions, counts, notes)."""

    findings: tuple[Finding, ...]
    info: Mapping[str, object]


def core_python(venv: Path | None = None) -> Path:
    """The CORE venv's python; raises ConversionError (CONF900) when it is missing."""
    venv = venv or Path(os.environ.get("CORE_VENV", DEFAULT_VENV))
    python = venv / "bin" / "python"
    if not python.is_file():
        raise ConversionError(issue(CORE_UNAVAILABLE, f"no CORE venv at {venv}"))
    return python


def default_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fhir2cdisc" / f"core-cache-{core.ENGINE_VERSION}"


def run_core(folder: Path, *, define: Path | None = None, encoding: str = "utf-8",
             venv: Path | None = None, cache_dir: Path | None = None, pool_size: int = 2,
             rules: tuple[str, ...] = (), policy: CoreSeverityPolicy | None = None) -> CoreRun:
    """Run the CORE SDTMIG 3.4 rules on ``folder`` with SDTM CT 2025-03-28.

    Parameters
    ----------
    folder : Path
        Folder of .xpt files.
    define : Path, optional
        define.xml; CORE uses it when it is Define-XML 2.0/2.1 (a 1.0 define is noted and ignored).
    encoding : str
        Text encoding of the XPT files.
    rules : tuple of str
        Only these CORE ids (all SDTMIG 3.4 rules when empty).

    Raises
    ------
    ConversionError
        CONF900 when the venv is missing or the engine fails.
    """
    python = core_python(venv)
    policy = policy or load_core_severity()
    with tempfile.TemporaryDirectory(prefix="core-run-") as tmp:
        out = Path(tmp) / "core.json"
        command = [str(python), str(core.DRIVER), "--data", str(folder), "--shipped", str(core.DATA_DIR),
                   "--cache-dir", str(cache_dir or default_cache_dir()), "--out", str(out),
                   "--standard", core.STANDARD, "--version", core.STANDARD_VERSION, "--ct", core.CT_PACKAGE,
                   "--encoding", encoding, "--pool-size", str(pool_size)]
        command += ["--define", str(define)] if define else []
        for rule_id in rules:
            command += ["--rule", rule_id]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.is_file():
            tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
            raise ConversionError(issue(CORE_UNAVAILABLE, f"CORE engine failed (exit {done.returncode}): {tail[0]}"))
        document = json.loads(out.read_text(encoding="utf-8"))
    findings = tuple(f for outcome in document["outcomes"] for f in outcome_findings(outcome, policy))
    info = {k: v for k, v in document.items() if k != "outcomes"}
    return CoreRun(findings, MappingProxyType(info))


def outcome_findings(outcome: dict, policy: CoreSeverityPolicy) -> list[Finding]:
    """Findings of one CORE rule outcome: one per reported error, one per failed dataset."""
    out = []
    for result in outcome["results"]:
        for error in result["errors"]:
            if result["status"] == "execution error":
                out.append(finding(CORE_RULE_FAILED, f"{outcome['rule_id']}: {error.get('message') or error.get('error')}",
                                   dataset=result.get("dataset")))
            else:
                out.append(core_finding(outcome, result, error, policy))
    return out


MAX_LISTED = 8
MAX_VALUE_CHARS = 200


def compact_value(value: object) -> str:
    """A CORE value as report text: long lists (e.g. ``$model_variables``) counted, long text cut.

    >>> compact_value(["STUDYID"] * 20), compact_value("Y")
    ('[20 values]', 'Y')
    """
    if isinstance(value, (list, tuple)) and len(value) > MAX_LISTED:
        return f"[{len(value)} values]"
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def core_finding(outcome: dict, result: dict, error: dict, policy: CoreSeverityPolicy) -> Finding:
    """One CORE error entity as a finding; the rule's description is the hint."""
    values = error.get("value") or {}
    # the engine builds these from sets: sorted, so a report does not depend on the interpreter's hash seed
    variables = sorted(values) or sorted(result.get("variables") or [])
    shown = "; ".join(f"{k}={compact_value(values[k])}" for k in sorted(values)) if values else None
    return Finding(SOURCE_CORE, outcome["rule_id"], policy.severity_of(outcome["rule_id"]), outcome["message"],
                   error.get("dataset") or result.get("dataset"), ", ".join(variables) or None,
                   error.get("USUBJID") or None, error.get("row"), shown,
                   outcome.get("description") or None)
