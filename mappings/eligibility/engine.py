"""Screen one patient against one study's criteria: a pure function of the record (STYLE 1.4).

>>> # doctest-style sketch (see tests/test_eligibility.py for real cases)
>>> # result = screen_subject(record, study="len-cle")
>>> # result.status.value, result.reasons
"""

from __future__ import annotations

from datetime import date

from cdisc.issues import Issue, Location, issue
from interop.normalize.record import SubjectRecord
from mappings.eligibility.codes import ELIG002
from mappings.eligibility.context import RuleContext, derive_randomisation_date, derive_screening_date
from mappings.eligibility.criteria import load_criteria_set
from mappings.eligibility.model import CriterionResult, PatientStatus, ScreeningResult
from mappings.eligibility.rules import evaluate
from mappings.study import StudyDefinition, load_study


def screen_subject(record: SubjectRecord, *, study: str | StudyDefinition, as_of: date | None = None) -> ScreeningResult:
    """Every criterion of ``study`` for one patient, and the patient's status.

    Parameters
    ----------
    record : SubjectRecord
        One patient and their resources (``interop.normalize``).
    study : str or StudyDefinition
        Study key (``"len-cdm"`` / ``"len-cle"``) or its loaded definition.
    as_of : date, optional
        Screening date to use when the record has neither a Consent nor a screening Encounter.

    Returns
    -------
    ScreeningResult
        Per criterion a verdict (met / not met / cannot be determined / needs review) with evidence or what
        is missing; status ``ineligible`` if an inclusion is not met or an exclusion is met, else
        ``needs review`` if any verdict is open, else ``eligible``. Issues name resources, never PHI.
    """
    definition = load_study(study) if isinstance(study, str) else study
    criteria = load_criteria_set(definition.key)
    screening = derive_screening_date(record, as_of)
    randomisation = derive_randomisation_date(record, definition)
    issues: list[Issue] = []
    if screening.day is None:
        issues.append(issue(ELIG002, f"no screening date for {record.key} in {definition.key}",
                            Location(file=record.patient.source.file, resource=record.key)))
    results = []
    for criterion in criteria.criteria:
        ctx = RuleContext(record, definition, criterion, criteria.windows, screening, randomisation)
        results.append(CriterionResult(criterion, evaluate(criterion.logic, ctx)))
        issues.extend(i for i in ctx.issues if i not in issues)
    return ScreeningResult(definition.key, record.key, screening.iso, screening.source,
                           derive_patient_status(results), tuple(results), tuple(issues))


def derive_patient_status(results: list[CriterionResult]) -> PatientStatus:
    """Ineligible if any criterion fails; else needs review if any is open; else eligible."""
    if any(r.fails for r in results):
        return PatientStatus.INELIGIBLE
    if any(r.open for r in results):
        return PatientStatus.NEEDS_REVIEW
    return PatientStatus.ELIGIBLE
