"""The subject context: is this patient a trial subject, and the facts every domain shares.

Rules (docs/FHIR-INPUT.md, "Study membership"):

- A patient is a subject of the study when one of their ResearchSubjects points to a ResearchStudy
  carrying the study's identifier (``study.research_study_system`` / ``research_study_value``); the
  reference may also be logical (``study.identifier``). Several: the first is used (MAP004).
- SUBJID: the ResearchSubject identifier of the study's subject-id system; else the pseudonymous
  ``subjid_fallback`` the pipeline passes in (MAP002); else the patient is skipped (MAP008).
  USUBJID: ``study.usubjid(subjid)``.
- Status: ``enrolled`` / ``screen-failure`` from the study's status lists; any other status
  (candidate, screening, eligible, pending-on-study...) is ``not-assigned`` (MAP003): the subject is
  in DM with ARMNRS NOT ASSIGNED.
- ARMCD: ``assignedArm`` (enrolled subjects only); a single-arm study's only arm when it is absent
  (MAP006). ACTARMCD: the arm whose investigational products were all the subject received
  (``mappings.ex.read_exposures``); ``actualArm`` is checked against it (MAP012). No exposure: None.
- RFICDTC: ``Consent.dateTime`` (the ResearchSubject.consent, else the earliest research Consent).
- RFSTDTC/RFENDTC: first/last study-drug exposure (start of the first interval, end of the last; an
  interval without an end counts by its start), by the EX source rule (administrations, else statements,
  else requests).
- RFPENDTC: ``ResearchSubject.period.end``; else the last of: Encounter periods, exposure ends, RFICDTC.
- Randomisation / enrolment date: ``ResearchSubject.period.start``.
"""

from __future__ import annotations

from cdisc.dates import date_part, parse_dtc
from cdisc.issues import Issue, issue
from interop.normalize.record import Resource, SubjectRecord
from mappings.algorithms import where_resource
from mappings.codes import MAP001, MAP002, MAP003, MAP004, MAP005, MAP006, MAP007, MAP008, MAP012, MAP018
from mappings.ex import Exposure, dtc_sort_key, first_exposure_dtc, last_exposure_dtc, read_exposures
from mappings.result import SubjectContext
from mappings.study import StudyDefinition

ENROLLED, SCREEN_FAILURE, NOT_ASSIGNED = "enrolled", "screen-failure", "not-assigned"


def is_study_reference(reference: dict | None, record: SubjectRecord, study: StudyDefinition) -> bool:
    """True when a ``ResearchSubject.study`` reference denotes this study (resolved or logical)."""
    if not isinstance(reference, dict):
        return False
    target = record.resolve(reference)
    if target is not None:
        identifiers = target.get("identifier") or []
    else:
        identifiers = [reference.get("identifier") or {}]
    return any(isinstance(i, dict) and i.get("system") == study.research_study_system
               and i.get("value") == study.research_study_value for i in identifiers)


def find_research_subjects(record: SubjectRecord, study: StudyDefinition) -> list[Resource]:
    """The patient's ResearchSubjects for this study, in input order."""
    return [r for r in record.of_type("ResearchSubject") if is_study_reference(r.get("study"), record, study)]


def read_subjid(research_subject: Resource, study: StudyDefinition) -> str | None:
    """The value of the identifier in the study's subject-id system."""
    for ident in research_subject.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == study.subject_identifier_system and ident.get("value"):
            return str(ident["value"])
    return None


def classify_status(status: str | None, study: StudyDefinition) -> str:
    if status in study.enrolled_statuses:
        return ENROLLED
    if status in study.screen_failure_statuses:
        return SCREEN_FAILURE
    return NOT_ASSIGNED


def find_consent(record: SubjectRecord, research_subject: Resource) -> Resource | None:
    """The ResearchSubject's Consent, else the earliest active Consent with a dateTime."""
    linked = record.resolve(research_subject.get("consent"))
    if linked is not None and linked.get("dateTime"):
        return linked
    dated = [c for c in record.of_type("Consent") if c.get("dateTime") and c.get("status") == "active"]
    return min(dated, key=lambda c: dtc_sort_key(c.get("dateTime"))) if dated else None


def derive_actual_arm(exposures: list[Exposure], study: StudyDefinition) -> str | None:
    """The arm whose investigational products are exactly those given (None: none or no such arm)."""
    given = {e.product.name for e in exposures}
    if not given:
        return None
    for arm in study.arms:
        planned = {p.name for p in study.investigational if p.arm in (None, arm.armcd)}
        if given <= planned:
            return arm.armcd
    return None


def derive_rfpendtc(record: SubjectRecord, research_subject: Resource, exposures: list[Exposure],
                    rficdtc: str | None) -> str | None:
    """End of participation: ResearchSubject.period.end, else the last known date of contact."""
    end = (research_subject.get("period") or {}).get("end")
    if end:
        return end
    candidates = [rficdtc, last_exposure_dtc(exposures)]
    for enc in record.of_type("Encounter"):
        period = enc.get("period") or {}
        candidates.append(period.get("end") or period.get("start"))
    known = [c for c in candidates if parse_dtc(c) is not None]
    return max(known, key=lambda t: dtc_sort_key(t, latest=True)) if known else None


def derive_planned_arm(research_subject: Resource, status: str, study: StudyDefinition) -> tuple[str | None, list[Issue]]:
    """ARMCD for an enrolled subject (None for others)."""
    if status != ENROLLED:
        return None, []
    armcd = research_subject.get("assignedArm")
    if armcd and study.arm(armcd):
        return armcd, []
    if armcd:
        return None, [issue(MAP005, f"assignedArm '{armcd}' is not an arm of {study.studyid}",
                            where_resource(research_subject, "assignedArm"))]
    if len(study.arms) == 1:
        return study.arms[0].armcd, [issue(MAP006, f"no assignedArm: {study.arms[0].armcd}",
                                           where_resource(research_subject, "assignedArm"))]
    return None, []


def check_actual_arm(research_subject: Resource, armcd: str | None, actarmcd: str | None,
                     exposures: list[Exposure], study: StudyDefinition) -> list[Issue]:
    """MAP005/MAP012 when actualArm is unknown or disagrees with the exposure, or exposure with the plan."""
    issues = []
    sent = research_subject.get("actualArm")
    where = where_resource(research_subject, "actualArm")
    if sent and study.arm(sent) is None:
        issues.append(issue(MAP005, f"actualArm '{sent}' is not an arm of {study.studyid}", where))
    elif sent and exposures and sent != actarmcd:
        issues.append(issue(MAP012, f"actualArm '{sent}' but study drug given fits '{actarmcd}'", where))
    if exposures and armcd and actarmcd != armcd:
        given = ", ".join(sorted({e.product.name for e in exposures}))
        issues.append(issue(MAP012, f"planned arm {armcd} but given {given}", where))
    return issues


def derive_subject_context(record: SubjectRecord, *, study: StudyDefinition,
                           subjid_fallback: str | None = None) -> tuple[SubjectContext | None, list[Issue]]:
    """The shared subject facts, or None when the patient is not a subject of ``study``.

    Parameters
    ----------
    record : SubjectRecord
        One normalised patient.
    study : StudyDefinition
        The study the conversion runs for.
    subjid_fallback : str, optional
        Pseudonymous SUBJID (``interop.normalize.pseudonym``) used when the ResearchSubject carries no
        study subject identifier.

    Returns
    -------
    (SubjectContext or None, list of Issue)
    """
    issues: list[Issue] = []
    subjects = find_research_subjects(record, study)
    if not subjects:
        return None, [issue(MAP001, f"no ResearchSubject for {study.studyid}", where_resource(record.patient))]
    rs = subjects[0]
    if len(subjects) > 1:
        issues.append(issue(MAP004, f"{len(subjects)} ResearchSubjects for {study.studyid}", where_resource(rs)))
    subjid = read_subjid(rs, study)
    if subjid is None:
        if subjid_fallback is None:
            return None, issues + [issue(MAP008, "no study subject identifier", where_resource(rs, "identifier"))]
        subjid = subjid_fallback
        issues.append(issue(MAP002, "SUBJID is the pseudonym passed by the pipeline", where_resource(rs, "identifier")))
    status = classify_status(rs.get("status"), study)
    if status == NOT_ASSIGNED:
        issues.append(issue(MAP003, f"status '{rs.get('status')}' read as not assigned to an arm",
                            where_resource(rs, "status")))
    consent = find_consent(record, rs)
    rficdtc = consent.get("dateTime") if consent is not None else None
    if rficdtc is None:
        issues.append(issue(MAP007, "no Consent.dateTime", where_resource(rs, "consent")))
    exposures = read_exposures(record, study).exposures
    armcd, found = derive_planned_arm(rs, status, study)
    issues.extend(found)
    actarmcd = derive_actual_arm(exposures, study)
    issues.extend(check_actual_arm(rs, armcd, actarmcd, exposures, study))
    rfstdtc = first_exposure_dtc(exposures)
    if rfstdtc and rficdtc and date_part(rfstdtc) and date_part(rficdtc) and date_part(rfstdtc) < date_part(rficdtc):
        issues.append(issue(MAP018, f"first dose {rfstdtc} before consent {rficdtc}", where_resource(rs)))
    context = SubjectContext(
        usubjid=study.usubjid(subjid), subjid=subjid, status=status, armcd=armcd, actarmcd=actarmcd,
        rficdtc=rficdtc, rfstdtc=rfstdtc, rfendtc=last_exposure_dtc(exposures),
        rfpendtc=derive_rfpendtc(record, rs, exposures, rficdtc),
        randdtc=(rs.get("period") or {}).get("start"), research_subject_key=rs.key,
    )
    return context, issues
