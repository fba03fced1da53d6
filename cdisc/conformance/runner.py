"""``validate_package``: our CONF rules plus CORE on one SDTM folder, as one report."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import pyreadstat

from cdisc.conformance import core
from cdisc.conformance.codes import PACKAGE_UNREADABLE
from cdisc.conformance.findings import Finding
from cdisc.conformance.package import SdtmPackage, read_package
from cdisc.conformance.rules import load_rules
from cdisc.issues import ConversionError, Issue, Severity, issue
from cdisc.standards import ControlledTerminology, Sdtmig, load_ct, load_sdtmig

THRESHOLDS = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}


@dataclass(frozen=True)
class ValidationReport:
    """The result of validating one package.

    Attributes
    ----------
    package : str
        Folder validated.
    findings : tuple of Finding
        Ours and CORE's, sorted by severity (worst first), rule id, dataset, row.
    datasets : tuple of str
        Dataset names found.
    define : str or None
        define.xml used by our rules, if any.
    standards : mapping
        SDTMIG version, CT package, CORE engine version and rule set (STYLE 2.6).
    core : mapping or None
        CORE run facts (rules run, status counts, notes), None when CORE was not run.
    """

    package: str
    findings: tuple[Finding, ...]
    datasets: tuple[str, ...]
    define: str | None
    standards: Mapping[str, object]
    core: Mapping[str, object] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    generated: str | None = None        # when the report was made (ISO 8601); None: the clock at writing

    def counts_by_rule(self) -> dict[str, int]:
        """Rule id -> number of findings, sorted by rule id."""
        return dict(sorted(collections.Counter(f.rule_id for f in self.findings).items()))

    def counts_by_severity(self) -> dict[str, int]:
        counts = collections.Counter(f.severity.value for f in self.findings)
        return {s.value: counts.get(s.value, 0) for s in Severity}

    def fails(self, threshold: str) -> bool:
        """True when a finding is at or above ``threshold`` (``error``, ``warning`` or ``never``)."""
        level = THRESHOLDS[threshold]
        return level is not None and any(f.severity.rank >= level.rank for f in self.findings)

    @property
    def issues(self) -> list[Issue]:
        """The findings as project Issues, for the convert pipeline's issue list."""
        return [f.to_issue() for f in self.findings]


def check_package(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology,
                  severity: Mapping[str, Severity] | None = None) -> list[Finding]:
    """Run every CONF rule on a parsed package; ``severity`` overrides defaults per code."""
    overrides = severity or {}
    found = [f for rule in load_rules() for f in rule.check(package, sdtmig=sdtmig, ct=ct)]
    return [f.with_severity(overrides[f.rule_id]) if f.rule_id in overrides else f for f in found]


def sort_findings(findings) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.rule_id, f.dataset or "",
                                                 f.row or 0, f.variable or "", f.value or "")))


def load_package_or_raise(folder: Path, define: Path | None) -> SdtmPackage:
    """Read the folder; a missing folder, no .xpt or an unreadable file is CONF902."""
    if not folder.is_dir() or not any(p.suffix.lower() == ".xpt" for p in folder.iterdir()):
        raise ConversionError(issue(PACKAGE_UNREADABLE, f"{folder}: not a folder with .xpt files"))
    if define is not None and not define.is_file():
        raise ConversionError(issue(PACKAGE_UNREADABLE, f"define.xml not found: {define}"))
    try:
        return read_package(folder, define)
    except pyreadstat.ReadstatError as exc:
        raise ConversionError(issue(PACKAGE_UNREADABLE, f"{folder}: unreadable XPT ({exc})")) from exc


def validate_package(folder: Path, *, out: Path | None, define: Path | None = None, run_core: bool = True,
                     core_venv: Path | None = None, core_pool_size: int = 2, core_rules: tuple[str, ...] = (),
                     severity: Mapping[str, Severity] | None = None, label: str | None = None,
                     generated: str | None = None) -> ValidationReport:
    """Validate an SDTM folder (.xpt + optional define.xml) with our rules and CDISC CORE.

    Parameters
    ----------
    folder : Path
        Any SDTM package folder (ours or another sponsor's).
    out : Path or None
        Folder for ``validation.json``, ``validation.xlsx`` and ``validation.html``; None writes nothing.
    define : Path, optional
        define.xml; defaults to ``folder/define.xml`` when present.
    run_core : bool
        Run the CORE engine (needs ``.core-venv``; see ``scripts/setup-core.sh``).
    severity : mapping, optional
        Severity per CONF code, overriding the rule defaults (CORE's are in ``core_severity.yaml``).
    label : str, optional
        How the report names the package (default: the folder path); define.xml inside it is named relative to it.
    generated : str, optional
        The report's timestamp. Given, the report is reproducible: it holds no clock time and no run durations.

    Raises
    ------
    ConversionError
        CONF902 for a folder that is not an SDTM package, CONF900 when CORE was asked for and cannot run.
    """
    from cdisc.conformance.core_adapter import run_core as run_core_engine
    from cdisc.conformance.report import write_reports

    folder = Path(folder)
    package = load_package_or_raise(folder, define)
    sdtmig, ct = load_sdtmig(), load_ct()
    findings = check_package(package, sdtmig=sdtmig, ct=ct, severity=severity)
    define_used = define or (folder / "define.xml" if package.define is not None else None)
    core_info = None
    if run_core:
        core_run = run_core_engine(folder, define=define_used, encoding=package.encoding, venv=core_venv,
                                   pool_size=core_pool_size, rules=core_rules)
        findings += core_run.findings
        core_info = core_run.info
    standards = {"sdtmig": sdtmig.version, "ct": f"{ct.package} {ct.date}",
                 "core_engine": f"cdisc-rules-engine {core.ENGINE_VERSION}" if run_core else None,
                 "core_rules": f"{core.STANDARD} {core.STANDARD_VERSION}, {core.CT_PACKAGE}" if run_core else None}
    if generated is not None and core_info is not None:
        core_info = {k: v for k, v in core_info.items() if not k.startswith("seconds_")}
    define_name = None
    if define_used:
        define_path = Path(define_used)
        define_name = (define_path.name if label is not None and define_path.parent.resolve() == folder.resolve()
                       else str(define_path))
    report = ValidationReport(label or str(folder), sort_findings(findings), tuple(sorted(package.datasets)),
                              define_name, MappingProxyType(standards),
                              core_info, tuple((core_info or {}).get("notes", ())), generated)
    if out is not None:
        write_reports(report, Path(out))
    return report
