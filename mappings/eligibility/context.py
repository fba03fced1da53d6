"""What every rule receives: the patient's record, the study, the criterion, and the screening dates.

The screening date (reference of every window) is, in order: the earliest active research ``Consent.dateTime``;
else the first ``Encounter`` typed screening (``EX:/CodeSystem/encounter-type#screening``); else the ``as_of``
date the caller gives; else none (windowed criteria cannot be determined). docs/FHIR-INPUT.md documents it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from cdisc.issues import Issue, Location, issue
from interop.normalize.record import Resource, SubjectRecord
from mappings.eligibility.codes import ELIG003
from mappings.eligibility.criteria import Windows
from mappings.eligibility.model import Criterion
from mappings.eligibility.timeline import Bounds, date_bounds
from mappings.eligibility.valuesets import load_valueset
from mappings.study import StudyDefinition

NOT_EVIDENCE_STATUSES = frozenset({"entered-in-error", "cancelled", "not-done", "refuted", "rejected"})


@dataclass(frozen=True, slots=True)
class ScreeningDate:
    day: date | None
    source: str            # consent | screening-encounter | as-of | none
    iso: str | None
    resource: str | None = None


@dataclass(slots=True)
class RuleContext:
    """Per patient and criterion. ``issues`` is a sink the engine de-duplicates and returns with the result."""

    record: SubjectRecord
    study: StudyDefinition
    criterion: Criterion
    windows: Windows
    screening: ScreeningDate
    randomisation: date | None
    issues: list[Issue] = field(default_factory=list)

    @property
    def day(self) -> date | None:
        return self.screening.day

    def assessment_window(self) -> tuple[date, date] | None:
        """[start, end] of 'at screening' assessments: around the screening date, never after randomisation."""
        if self.day is None:
            return None
        start = self.day + timedelta(days=self.windows.assessment[0])
        end = self.day + timedelta(days=self.windows.assessment[1])
        if self.randomisation is not None:
            end = min(end, self.randomisation)
        return start, end

    def randomisation_window(self) -> tuple[date, date] | None:
        if self.randomisation is None:
            return None
        return (self.randomisation + timedelta(days=self.windows.randomisation[0]),
                self.randomisation + timedelta(days=self.windows.randomisation[1]))

    def bounds_of(self, resource: Resource, element: str, text) -> Bounds | None:
        """Day bounds of a date element; an invalid date is reported (ELIG003) and gives None."""
        bounds = date_bounds(text)
        if text is not None and bounds is None:
            self.issues.append(issue(ELIG003, f"{element} '{text}' is not an ISO 8601 date",
                                     Location(file=resource.source.file, entry=resource.source.entry,
                                              resource=resource.key, element=element)))
        return bounds

    def location(self, resource: Resource, element: str | None = None) -> Location:
        return Location(file=resource.source.file, entry=resource.source.entry, resource=resource.key,
                        element=element)


def usable(resource: Resource) -> bool:
    """False for resources whose status says they are void (entered-in-error, cancelled, not-done...)."""
    status = resource.get("status")
    if isinstance(status, str) and status in NOT_EVIDENCE_STATUSES:
        return False
    verification = resource.get("verificationStatus")
    if isinstance(verification, dict):
        codes = {c.get("code") for c in verification.get("coding") or [] if isinstance(c, dict)}
        if codes & NOT_EVIDENCE_STATUSES:
            return False
    return True


def derive_screening_date(record: SubjectRecord, as_of: date | None) -> ScreeningDate:
    """The screening date of a patient (see the module docstring for the order of sources)."""
    consents = []
    for res in record.of_type("Consent"):
        bounds = date_bounds(res.get("dateTime"))
        if res.get("status") == "active" and bounds is not None and bounds[0] == bounds[1]:
            consents.append((bounds[0], res))
    if consents:
        day, res = min(consents, key=lambda pair: pair[0])
        return ScreeningDate(day, "consent", day.isoformat(), res.key)
    screening_type = load_valueset("screening-encounter")
    visits = []
    for res in record.of_type("Encounter"):
        if any(screening_type.matches(t) for t in res.get("type") or []):
            bounds = date_bounds((res.get("period") or {}).get("start"))
            if bounds is not None and bounds[0] == bounds[1]:
                visits.append((bounds[0], res))
    if visits:
        day, res = min(visits, key=lambda pair: pair[0])
        return ScreeningDate(day, "screening-encounter", day.isoformat(), res.key)
    if as_of is not None:
        return ScreeningDate(as_of, "as-of", as_of.isoformat())
    return ScreeningDate(None, "none", None)


def derive_randomisation_date(record: SubjectRecord, study: StudyDefinition) -> date | None:
    """``ResearchSubject.period.start`` of this study's ResearchSubject: the enrolment / randomisation visit
    (for a screen failure, the visit at which it failed)."""
    for res in record.of_type("ResearchSubject"):
        target = record.resolve(res.get("study"))
        if target is None:
            continue
        ids = target.get("identifier") or []
        if any(i.get("system") == study.research_study_system and i.get("value") == study.research_study_value
               for i in ids if isinstance(i, dict)):
            bounds = date_bounds((res.get("period") or {}).get("start"))
            if bounds is not None and bounds[0] == bounds[1]:
                return bounds[0]
    return None
