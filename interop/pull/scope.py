"""What a pull asks for: the resource types the converter reads, and which resources belong to which patient.

:data:`STUDY_TYPES` are the patient-linked types docs/FHIR-INPUT.md describes (what ``convert`` and ``screen``
read); shared reference data (Medication, Organization, ResearchStudy...) is fetched by reference.
The patient links are the converter's own (``interop.normalize.inputs.PATIENT_LINKS``), so the pull keeps exactly
the resources the converter would give to a patient.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from interop.normalize.inputs import SHARED_TYPES, references_in
from interop.normalize.prepared import PATIENT_LINKS

STUDY_TYPES = (
    "Patient", "ResearchSubject", "Consent", "Encounter", "Observation", "QuestionnaireResponse", "Condition",
    "AdverseEvent", "MedicationAdministration", "MedicationRequest", "MedicationStatement", "Immunization",
    "Procedure", "AllergyIntolerance", "Coverage", "DiagnosticReport", "ServiceRequest",
)
# search parameter that selects a type's resources by patient, where it is not ``patient``
PATIENT_SEARCH_PARAMS = {
    "Patient": "_id", "ResearchSubject": "individual", "AdverseEvent": "subject", "Coverage": "beneficiary",
    "QuestionnaireResponse": "subject",
}


def patient_search_param(rtype: str) -> str:
    """The search parameter that selects ``rtype`` resources of given patients (e.g. ``subject``)."""
    return PATIENT_SEARCH_PARAMS.get(rtype, "patient")


def reference_id(reference: str | None, rtype: str) -> str | None:
    """The id in a literal reference to ``rtype`` (relative or absolute; ``_history`` dropped).

    >>> reference_id("https://h.example/fhir/Patient/7/_history/2", "Patient")
    '7'
    >>> reference_id("Group/7", "Patient") is None
    True
    """
    if not reference:
        return None
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == rtype and parts[-1]:
        return parts[-1]
    return None


def patient_of(resource: dict) -> str | None:
    """The id of the Patient a resource belongs to directly (its own id for a Patient), else None."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for name in PATIENT_LINKS:
        value = resource.get(name)
        for ref in value if isinstance(value, list) else [value]:
            if isinstance(ref, dict):
                found = reference_id(ref.get("reference"), "Patient")
                if found:
                    return found
    return None


def is_shared(rtype: str) -> bool:
    return rtype in SHARED_TYPES


def shared_references(resources: Iterable[dict]) -> set[tuple[str, str]]:
    """(type, id) of shared reference data (Medication, Organization...) the resources point to."""
    found: set[tuple[str, str]] = set()
    for resource in resources:
        for ref in references_in(resource):
            parts = ref.split("/")
            if "_history" in parts:
                parts = parts[: parts.index("_history")]
            if len(parts) >= 2 and is_shared(parts[-2]) and parts[-1] and not ref.startswith(("#", "urn:")):
                found.add((parts[-2], parts[-1]))
    return found


def chunked(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
