"""SE (Subject Elements): the elements the subject actually went through, with their dates.

The study's elements follow TE: screening starts at informed consent (RFICDTC; without a consent date, at the
first Encounter) and ends when the
treatment element starts. The treatment element starts at randomisation (ResearchSubject.period.start)
in a randomised study (trial summary RANDOM = Y: len-cle, "Randomisation to ..."), else at the first
dose (RFSTDTC: len-cdm, "First dose of lenalidomide"), and ends at the end of participation (RFPENDTC,
else the last dose RFENDTC): there is no follow-up element. The treatment element is the one of the
actual arm (ACTARMCD); for a randomised subject not treated, of the planned arm. A subject with no
treatment element (screen failure, not assigned, not treated) has screening only, ending at RFPENDTC.
TAETORD is the element's position in that arm; EPOCH is the element's epoch in the study definition
(the other domains derive their EPOCH from these rows).
"""

from __future__ import annotations

from interop.normalize.record import SubjectRecord
from mappings.algorithms import assign, assign_dtc, with_source
from mappings.result import MapResult, SubjectContext
from mappings.study import Arm, StudyDefinition


def derive_element_arm(subject: SubjectContext, study: StudyDefinition, randomised: bool) -> Arm | None:
    """The arm whose treatment element the subject entered (None: no treatment element)."""
    if subject.actarmcd:
        return study.arm(subject.actarmcd)
    if randomised and subject.randdtc and subject.armcd:
        return study.arm(subject.armcd)
    return None


def element_row(etcd: str, start: str | None, end: str | None, arm: Arm | None, study: StudyDefinition,
                source: str):
    element = study.element(etcd)
    row = assign(assign({}, "ETCD", etcd), "ELEMENT", element.element if element else None)
    row = assign(row, "EPOCH", element.epoch if element else None)
    if arm is not None and etcd in arm.elements:
        row = assign(row, "TAETORD", arm.elements.index(etcd) + 1)
    issues = []
    for var, value in (("SESTDTC", start), ("SEENDTC", end)):
        row, found = assign_dtc(row, var, value)
        issues.extend(found)
    return with_source(row, source, rule="SE.from-subject-context"), issues


def first_encounter_dtc(record: SubjectRecord) -> str | None:
    """The earliest Encounter start: where screening begins when the record has no consent date."""
    starts = sorted(s for e in record.of_type("Encounter") if isinstance(s := (e.get("period") or {}).get("start"), str))
    return starts[0] if starts else None


def map_se(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext) -> MapResult:
    """SE rows of one subject (see the module doc)."""
    result = MapResult("SE")
    screening_start = subject.rficdtc or first_encounter_dtc(record)
    if screening_start is None:
        return result          # SESTDTC is required; MAP007 is already reported by the subject context
    source = subject.research_subject_key or record.key
    randomised = study.trial_summary.get("RANDOM") == "Y"
    arm = derive_element_arm(subject, study, randomised)
    screening = arm.elements[0] if arm is not None else study.elements[0].etcd
    treatment_start = (subject.randdtc if randomised else subject.rfstdtc) if arm is not None else None
    if arm is None or treatment_start is None:
        row, found = element_row(screening, screening_start, subject.rfpendtc, arm, study, source)
        result.rows.append(row)
        result.issues.extend(found)
        return result
    treatment = arm.elements[1]
    for etcd, start, end in ((screening, screening_start, treatment_start),
                             (treatment, treatment_start, subject.rfpendtc or subject.rfendtc)):
        row, found = element_row(etcd, start, end, arm, study, source)
        result.rows.append(row)
        result.issues.extend(found)
    return result
