"""The per-subject record: what ``interop`` hands to ``mappings`` (the only types mappings import).

A :class:`Resource` is the resource's JSON as a plain dict (the fast path; no model objects)
plus where it came from. After normalisation:
- every ``reference`` string inside ``data`` is rewritten to the canonical ``"Type/id"`` key of the
  resource it points to (urn:uuid, absolute same-base URLs and relative refs all resolved);
  contained resources are reachable as ``"Type/<container-id>#<contained-id>"``;
- dateTime/instant values with an offset are moved onto the site's clock (offset dropped), so every
  date string is ISO 8601 without offset and keeps its original precision.

A :class:`SubjectRecord` is one patient and every resource that refers to them (directly through
``subject``/``patient``/``beneficiary``/``individual``..., or through a Group/ResearchSubject).
Codes are matched on (system, code) only, never on display text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where one resource was read: file, bundle entry index or NDJSON line, and its identity."""

    file: str
    entry: int | None          # 0-based bundle entry index, or 1-based NDJSON line number
    key: str                   # "Observation/123" (canonical key after normalisation)
    version: str | None = None  # meta.versionId, if any
    sha256: str | None = None   # hash of the resource as read, when there is no versionId
    path: str | None = None     # entry path inside a nested bundle, relative to the top-level entry's
    #                             resource (entry=3, path="entry[0]" is entry[3].resource.entry[0])


@dataclass(slots=True)
class Resource:
    data: dict
    source: SourceRef

    @property
    def type(self) -> str:
        return self.data["resourceType"]

    @property
    def id(self) -> str | None:
        return self.data.get("id")

    @property
    def key(self) -> str:
        return self.source.key

    def get(self, name: str, default=None):
        return self.data.get(name, default)


@dataclass(slots=True)
class SubjectRecord:
    """One patient: the Patient resource and every resource belonging to them, by type."""

    patient: Resource
    resources: dict[str, list[Resource]] = field(default_factory=dict)
    # every resource of the input this record can resolve references to (own + shared, e.g.
    # Medication, Practitioner, Questionnaire, ResearchStudy), by canonical key
    index: dict[str, Resource] = field(default_factory=dict)
    # (resource type, element) -> {(system, code): positions in of_type(type)}; built on first use
    _code_index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        return self.patient.key

    def codes_of(self, resource_type: str, element: str = "code") -> dict[tuple[str | None, str | None], list[int]]:
        """Every (system, code) coding ``element`` of the record's resources of one type, with the positions (in
        :meth:`of_type`) of the resources carrying it. Built once per record and element: rules that test
        many value sets against the same resources look each distinct code up once, not each resource.
        """
        cache_key = (resource_type, element)
        found = self._code_index.get(cache_key)
        if found is None:
            found = {}
            for position, resource in enumerate(self.of_type(resource_type)):
                for system, code, _ in codings(resource.data.get(element)):
                    positions = found.setdefault((system, code), [])
                    if not positions or positions[-1] != position:
                        positions.append(position)
            self._code_index[cache_key] = found
        return found

    def of_type(self, resource_type: str) -> list[Resource]:
        return self.resources.get(resource_type, [])

    def resolve(self, reference: dict | str | None) -> Resource | None:
        """Resolve a normalised reference (``{"reference": "Type/id"}`` or the string)."""
        if reference is None:
            return None
        ref = reference.get("reference") if isinstance(reference, dict) else reference
        return self.index.get(ref) if ref else None

    def all_resources(self) -> Iterator[Resource]:
        yield self.patient
        for items in self.resources.values():
            yield from items


# ---- small element helpers (plain dicts in, plain values out) ------------------------------

def codings(concept: dict | None) -> list[tuple[str | None, str | None, str | None]]:
    """(system, code, display) of every coding in a CodeableConcept (or a bare Coding)."""
    if not isinstance(concept, dict):
        return []
    if "coding" not in concept and ("code" in concept or "system" in concept):
        return [(concept.get("system"), concept.get("code"), concept.get("display"))]
    out = []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict):
            out.append((coding.get("system"), coding.get("code"), coding.get("display")))
    return out


def first_code(concept: dict | None, system: str) -> str | None:
    """The first code of ``system`` in the concept."""
    for sys_, code, _ in codings(concept):
        if sys_ == system and code:
            return code
    return None


def has_code(concept: dict | None, system: str, codes: Iterable[str]) -> bool:
    wanted = set(codes)
    return any(sys_ == system and code in wanted for sys_, code, _ in codings(concept))


def concept_text(concept: dict | None) -> str | None:
    """CodeableConcept.text, else the first coding's display."""
    if not isinstance(concept, dict):
        return None
    if concept.get("text"):
        return concept["text"]
    for _, _, display in codings(concept):
        if display:
            return display
    return None


def extension_value(element: dict | None, url: str) -> object | None:
    """The value[x] of the first extension with this url (None if absent)."""
    for ext in (element or {}).get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            for k, v in ext.items():
                if k.startswith("value"):
                    return v
            return ext
    return None
