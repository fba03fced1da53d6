"""Issues: problems that travel with results (STYLE 1.8, 3.2).

Every step returns its output plus a list of :class:`Issue`. Only the CLI renders them.
An issue never carries names, MRNs or addresses: locations use resource ids and USUBJID.

Each package declares its codes once, in its own ``codes.py``, with :func:`declare`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is: on the FHIR side (file/entry/resource/element) or the SDTM side."""

    file: str | None = None
    entry: int | None = None          # bundle entry index or NDJSON line number (1-based line)
    resource: str | None = None       # "Observation/123"
    element: str | None = None        # FHIR element path, e.g. "effectiveDateTime"
    dataset: str | None = None        # "AE"
    usubjid: str | None = None
    seq: int | None = None
    variable: str | None = None
    row: int | None = None

    def to_dict(self) -> dict:
        out = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.to_dict().items())


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    title: str
    severity: Severity
    hint: str | None = None


_REGISTRY: dict[str, CodeInfo] = {}


def declare(code: str, title: str, severity: Severity, hint: str | None = None) -> CodeInfo:
    """Register an issue code once (called from each package's ``codes.py`` at import)."""
    info = CodeInfo(code, title, severity, hint)
    existing = _REGISTRY.get(code)
    if existing is not None and existing != info:
        raise ValueError(f"issue code {code} declared twice with different meanings")
    _REGISTRY[code] = info
    return info


def registered_codes() -> dict[str, CodeInfo]:
    return dict(_REGISTRY)


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    severity: Severity
    message: str
    where: Location = field(default_factory=Location)
    hint: str | None = None

    def to_dict(self) -> dict:
        out = {"code": self.code, "severity": self.severity.value, "message": self.message,
               "where": self.where.to_dict()}
        if self.hint:
            out["hint"] = self.hint
        return out


def issue(info: CodeInfo, message: str, where: Location | None = None, hint: str | None = None) -> Issue:
    """Build an Issue from a declared code; the code's default hint is used unless one is given."""
    return Issue(info.code, info.severity, message, where or Location(), hint or info.hint)


class ConversionError(Exception):
    """The one exception type of the project: carries an Issue; caught at one boundary (the CLI)."""

    def __init__(self, issue: Issue):
        super().__init__(issue.message)
        self.issue = issue


def worst(issues) -> Severity | None:
    ranked = [i.severity for i in issues]
    return max(ranked, key=lambda s: s.rank) if ranked else None
