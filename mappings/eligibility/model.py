"""Verdicts, evidence and results of the screening (plain frozen values; serialisable with ``to_dict``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from cdisc.issues import Issue


class Verdict(str, enum.Enum):
    """What a criterion's sentence is for one patient (REVIEW: only the investigator can say)."""

    MET = "met"
    NOT_MET = "not met"
    UNDETERMINED = "cannot be determined"
    REVIEW = "needs review"


class PatientStatus(str, enum.Enum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    NEEDS_REVIEW = "needs review"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact that decided (or informed) a verdict: the resource, what it says, and its date."""

    resource: str | None          # canonical key "Observation/123" (None for derived facts)
    fact: str                     # "WBC 2.4 10*9/L (sent 2.4 10*3/uL)"
    date: str | None = None       # ISO 8601 as sent (site clock)

    def to_dict(self) -> dict:
        return {"resource": self.resource, "fact": self.fact, "date": self.date}


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one rule: verdict, the evidence, what was missing, and notes (assumptions applied)."""

    verdict: Verdict
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Criterion:
    """One protocol criterion as loaded from ``<study>.criteria.yaml``."""

    id: str                        # IETESTCD
    category: str                  # INCLUSION | EXCLUSION (IECAT)
    ietest: str                    # IETEST (<= 200 characters)
    text: str                      # the protocol's full wording
    logic: dict                    # rule tree (mappings/eligibility/rules.py)
    assumption: str | None = None

    @property
    def is_inclusion(self) -> bool:
        return self.category == "INCLUSION"


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion: Criterion
    outcome: Outcome

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict

    @property
    def fails(self) -> bool:
        """True when this result makes the patient ineligible (inclusion not met, exclusion met)."""
        bad = Verdict.NOT_MET if self.criterion.is_inclusion else Verdict.MET
        return self.verdict is bad

    @property
    def open(self) -> bool:
        """True when the verdict is not settled (cannot be determined, needs review)."""
        return self.verdict in (Verdict.UNDETERMINED, Verdict.REVIEW)

    def to_dict(self) -> dict:
        return {
            "id": self.criterion.id, "category": self.criterion.category, "ietest": self.criterion.ietest,
            "verdict": self.verdict.value, "fails": self.fails,
            "evidence": [e.to_dict() for e in self.outcome.evidence],
            "missing": list(self.outcome.missing), "notes": list(self.outcome.notes),
        }


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """One patient screened against one study's criteria."""

    study: str
    patient_key: str                           # "Patient/123" (never shown in reports: see interop.screening)
    screening_date: str | None
    screening_date_source: str                 # consent | screening-encounter | as-of | none
    status: PatientStatus
    results: tuple[CriterionResult, ...]
    issues: tuple[Issue, ...] = field(default=())

    @property
    def reasons(self) -> tuple[str, ...]:
        """Criterion ids behind the status: failing ones if ineligible, open ones if needs review."""
        if self.status is PatientStatus.INELIGIBLE:
            return tuple(r.criterion.id for r in self.results if r.fails)
        if self.status is PatientStatus.NEEDS_REVIEW:
            return tuple(r.criterion.id for r in self.results if r.open)
        return ()

    def result(self, criterion_id: str) -> CriterionResult:
        return next(r for r in self.results if r.criterion.id == criterion_id)

    def verdicts(self) -> dict[str, str]:
        return {r.criterion.id: r.verdict.value for r in self.results}
