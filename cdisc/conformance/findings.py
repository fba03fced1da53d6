"""One finding = one row of the validation report, from CORE or from our CONF rules (STYLE 3.2)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cdisc.issues import CodeInfo, Issue, Location, Severity

SOURCE_OURS = "ours"
SOURCE_CORE = "CORE"


@dataclass(frozen=True, slots=True)
class Finding:
    """A conformance finding.

    Attributes
    ----------
    source : str
        ``"ours"`` (a CONF rule) or ``"CORE"`` (the CDISC rules engine).
    rule_id : str
        ``"CONF007"`` or ``"CORE-000701"``.
    severity : Severity
    message : str
        What is wrong, with the value; never names or MRNs (data are pseudonymised SDTM).
    dataset, variable, usubjid : str or None
    row : int or None
        1-based row in the dataset as stored.
    value : str or None
        The offending value, as text.
    hint : str or None
        How to fix it.
    """

    source: str
    rule_id: str
    severity: Severity
    message: str
    dataset: str | None = None
    variable: str | None = None
    usubjid: str | None = None
    row: int | None = None
    value: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict:
        """JSON form; these keys are part of the ``--format json`` API."""
        return {"source": self.source, "rule_id": self.rule_id, "severity": self.severity.value,
                "dataset": self.dataset, "variable": self.variable, "usubjid": self.usubjid,
                "row": self.row, "value": self.value, "message": self.message, "hint": self.hint}

    def to_issue(self) -> Issue:
        """The finding as a project :class:`~cdisc.issues.Issue` (for the convert pipeline)."""
        where = Location(dataset=self.dataset, usubjid=self.usubjid, variable=self.variable, row=self.row)
        return Issue(self.rule_id, self.severity, self.message, where, self.hint)

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)


def finding(code: CodeInfo, message: str, *, dataset: str | None = None, variable: str | None = None,
            usubjid: str | None = None, row: int | None = None, value: object = None) -> Finding:
    """A finding of one of our declared CONF codes, with its default severity and hint."""
    return Finding(SOURCE_OURS, code.code, code.severity, message, dataset, variable,
                   usubjid or None, row, None if value is None else str(value), code.hint)
