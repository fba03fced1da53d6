"""REST side of a pull: the study's subjects, ``Patient/$everything``, type searches, referenced resources.

Servers differ in what they support: a search parameter may be ignored (and reported in an OperationOutcome),
``$everything`` may leave types out. So every answer is checked on our side: a ResearchStudy must carry the
study's identifier, a ResearchSubject must point to that study, and a searched resource must belong to one of the
selected patients (:func:`interop.pull.scope.patient_of`); anything else is dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from cdisc.issues import ConversionError, Location, issue
from interop.pull import codes
from interop.pull.client import FhirClient
from interop.pull.scope import chunked, patient_of, patient_search_param, reference_id
from mappings.study import StudyDefinition

IDS_PER_SEARCH = 20


def has_identifier(resource: dict, system: str, value: str) -> bool:
    return any(isinstance(i, dict) and i.get("system") == system and i.get("value") == value
               for i in resource.get("identifier") or [])


def find_research_study(client: FhirClient, study: StudyDefinition) -> dict:
    """The server's ResearchStudy with the study definition's identifier (PULL005 when there is none)."""
    system, value = study.research_study_system, study.research_study_value
    for resource in client.search("ResearchStudy", {"identifier": f"{system}|{value}"}):
        if resource.get("resourceType") == "ResearchStudy" and has_identifier(resource, system, value):
            return resource
    raise ConversionError(issue(codes.PULL005, f"no ResearchStudy with identifier {system}|{value}",
                                Location(resource="ResearchStudy")))


def find_research_subjects(client: FhirClient, research_study: dict) -> list[dict]:
    """ResearchSubjects of the study (any status: screen failures are part of the trial's data)."""
    study_id = research_study["id"]
    return [r for r in client.search("ResearchSubject", {"study": f"ResearchStudy/{study_id}"})
            if r.get("resourceType") == "ResearchSubject"
            and reference_id((r.get("study") or {}).get("reference"), "ResearchStudy") == study_id]


def subject_patient_ids(subjects: list[dict]) -> list[str]:
    ids = {reference_id((s.get("individual") or {}).get("reference"), "Patient") for s in subjects}
    return sorted(i for i in ids if i)


def find_patients_by_identifier(client: FhirClient, identifiers: tuple[str, ...]) -> list[str]:
    """Patient ids for ``system|value`` identifiers (each checked on the returned Patient)."""
    found = set()
    for token in identifiers:
        system, _, value = token.rpartition("|")
        for resource in client.search("Patient", {"identifier": token}):
            if resource.get("resourceType") == "Patient" and has_identifier(resource, system, value):
                found.add(resource["id"])
    return sorted(found)


def group_patient_ids(client: FhirClient, group: str) -> list[str]:
    """Patient ids of a Group's members."""
    body = client.get_json(f"Group/{group}")
    ids = {reference_id((m.get("entity") or {}).get("reference"), "Patient") for m in body.get("member") or []
           if isinstance(m, dict)}
    return sorted(i for i in ids if i)


def fetch_everything(client: FhirClient, patient_id: str, *, since: str | None, count: int) -> Iterator[dict]:
    """``Patient/<id>/$everything`` (with ``_since`` and ``_count``), following ``next`` links."""
    params = {"_count": str(count)}
    if since:
        params["_since"] = since
    yield from client.search(f"Patient/{patient_id}/$everything", params)


@dataclass
class TypeSearchResult:
    resources: list[dict]
    outside: int             # distinct resources returned by the server that belong to no selected patient


def search_type_for_patients(client: FhirClient, rtype: str, patient_ids: list[str], *, since: str | None,
                             count: int, type_filter: str | None = None) -> TypeSearchResult:
    """``<Type>?<patient param>=Patient/a,Patient/b...`` in chunks; only resources of those patients are kept."""
    wanted = set(patient_ids)
    kept, outside = [], set()
    param = patient_search_param(rtype)
    for ids in chunked(patient_ids, IDS_PER_SEARCH):
        values = ",".join(ids if param == "_id" else (f"Patient/{i}" for i in ids))
        params = [(param, values), ("_count", str(count))]
        if since:
            params.append(("_lastUpdated", f"ge{since}"))
        if type_filter:
            params.extend(_filter_params(type_filter))
        chunk = set(ids)
        for resource in client.search(rtype, params):
            owner = patient_of(resource) if resource.get("resourceType") == rtype else None
            if owner in chunk:
                kept.append(resource)
            elif owner not in wanted:
                outside.add((resource.get("resourceType"), resource.get("id")))
    return TypeSearchResult(kept, len(outside))


def _filter_params(type_filter: str) -> list[tuple[str, str]]:
    """``Observation?status=final&category=laboratory`` -> its query parameters."""
    from urllib.parse import parse_qsl

    _, _, query = type_filter.partition("?")
    return parse_qsl(query)


def fetch_resource(client: FhirClient, rtype: str, rid: str) -> dict:
    return client.get_json(f"{rtype}/{rid}")
