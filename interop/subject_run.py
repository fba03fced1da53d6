"""The per-patient step of a conversion: one SubjectRecord in, rows per domain and their accounting out.

Pure and picklable, so the same function runs in a single process, a process pool, or a Spark task.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from cdisc.issues import Issue
from interop.normalize.record import SubjectRecord
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition


@dataclass(slots=True)
class SubjectOutput:
    """What one patient contributes to the package."""

    patient_key: str
    usubjid: str | None
    status: str
    rows: dict[str, list[dict]] = field(default_factory=dict)       # domain -> rows (with USUBJID)
    issues: list[Issue] = field(default_factory=list)
    mapped: dict[str, Counter] = field(default_factory=dict)         # resource key -> Counter(domain -> rows)
    evidence: set[str] = field(default_factory=set)
    unmapped: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)            # resource key -> versionId or sha256:...
    subject: SubjectContext | None = None
    screening: object | None = None                                  # mappings.eligibility ScreeningResult


def mappers(meddra):
    # imported here so that a worker process pays the import once, and to keep module import cheap
    from functools import partial

    from mappings import ae, cm, dm, ds, ex, ie, lb, mh, qs, se, sv, vs

    return (("DM", dm.map_dm), ("DS", ds.map_ds), ("SV", sv.map_sv), ("SE", se.map_se), ("EX", ex.map_ex),
            ("CM", cm.map_cm), ("AE", partial(ae.map_ae, meddra=meddra)), ("LB", lb.map_lb), ("VS", vs.map_vs),
            ("MH", partial(mh.map_mh, meddra=meddra)), ("QS", qs.map_qs))


@lru_cache(maxsize=4)
def load_dictionary(folder: str | None):
    """The user's MedDRA ASCII distribution (loaded once per process), or None."""
    if folder is None:
        return None, []
    from mappings.meddra import load_meddra

    return load_meddra(folder)


def _source_pin(record: SubjectRecord) -> dict[str, str]:
    pins = {}
    for resource in record.all_resources():
        src = resource.source
        pins[resource.key] = f"version:{src.version}" if src.version else f"sha256:{src.sha256}" if src.sha256 else ""
    return pins


def _merge(out: SubjectOutput, result: MapResult, usubjid: str) -> None:
    rows = out.rows.setdefault(result.domain, [])
    for row in result.rows:
        row["USUBJID"] = usubjid
        rows.append(row)
        for key in row.get("_src", ()):
            out.mapped.setdefault(key, Counter())[result.domain] += 1
    out.issues.extend(result.issues)
    out.evidence.update(result.evidence)
    for key, reason in result.unmapped.items():
        out.unmapped.setdefault(key, reason)


def run_subject(record: SubjectRecord, *, study: StudyDefinition, subjid_fallback: str | None = None,
                meddra: str | None = None) -> SubjectOutput:
    """Map one patient's record into rows of every domain, with the fate of each of its resources.

    ``meddra`` is the folder of a MedDRA ASCII distribution to code adverse events and history with.
    """
    from mappings.subject import derive_subject_context

    subject, issues = derive_subject_context(record, study=study, subjid_fallback=subjid_fallback)
    out = SubjectOutput(patient_key=record.key, usubjid=subject.usubjid if subject else None,
                        status=subject.status if subject else "not-a-subject", subject=subject)
    out.issues.extend(issues)
    out.sources = _source_pin(record)
    from mappings.eligibility import screen_subject
    from mappings.ie import map_ie

    out.screening = screen_subject(record, study=study.key)
    if subject is None or subject.status == "not-a-subject":
        reason = f"patient is not a subject of {study.studyid} (no ResearchSubject for the study)"
        for resource in record.all_resources():
            out.unmapped[resource.key] = reason
        return out
    dictionary, _dictionary_issues = load_dictionary(meddra)
    for _domain, mapper in mappers(dictionary):
        _merge(out, mapper(record, study=study, subject=subject), subject.usubjid)
    _merge(out, map_ie(record, study=study, subject=subject, screening=out.screening), subject.usubjid)
    for resource in record.all_resources():
        if resource.key not in out.mapped and resource.key not in out.evidence and resource.key not in out.unmapped:
            out.unmapped[resource.key] = f"no mapping reads {resource.type} resources for {study.studyid}"
    return out
