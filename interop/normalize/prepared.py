"""The per-resource half of normalisation, done where the resource is read (in a worker, typically).

Everything ingest does to one resource that needs no other resource happens in :func:`prepare`: its canonical
key, its summary (version, content hash, patient links), the R4B model check when asked, references put in
canonical form where their form alone decides it (``Type/id[/_history/v]`` and ``#id``), and the resource
encoded as JSON. What needs every input (does the target exist? is ``urn:uuid:...`` the fullUrl of another
entry? is ``http://h/fhir`` the base of one?) is settled later by
:func:`interop.normalize.inputs.group_inputs` with :func:`settle_references`, from the list of references
:func:`prepare` recorded, without walking or decoding the resource again unless one has to change.

So the process that decides and groups handles a few small fields and one ``bytes`` per resource, and the
expensive walks run in parallel with the reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from cdisc.issues import Issue, Location, issue
from interop import codes
from interop.ingest.readers import ReadItem
from interop.normalize.references import ReferenceResolver, canonical_form, content_hash, resource_key
from interop.normalize.summaries import pack

# elements that tie a resource directly to a patient, in order of preference
PATIENT_LINKS = ("patient", "subject", "beneficiary", "individual", "for")
# elements through which a resource belongs to the owner of another resource
INDIRECT_LINKS = ("encounter", "context", "basedOn", "partOf", "request", "target", "focus")

Steps = tuple[str | int, ...]   # from the resource to the object holding a ``reference``: names and indexes
# one reference: (steps, the reference as read, its canonical form if its form alone decides it, else None)
ReferenceNote = tuple[Steps, str, str | None]


@dataclass(slots=True)
class PreparedItem:
    """A readable input resource after :func:`prepare`: the summary fields and the encoded resource.

    The lists are packed (JSON bytes) where they are made, because the grouping step only stores them."""

    file: str
    entry: int | None
    path: str | None
    full_url: str | None
    issues: list[Issue]              # reading issues, then FHIR019 (no usable id), then FHIR022 (model)
    key: str
    rtype: str
    version: str | None
    last_updated: str | None
    sha256: str
    links: bytes | None              # raw references of the PATIENT_LINKS elements (packed, see summaries.pack)
    indirect: bytes | None           # raw references of the INDIRECT_LINKS elements (packed)
    contained_ids: tuple[str, ...]
    references: bytes | None         # a ReferenceNote per reference (packed)
    encoded: bytes                   # the resource as JSON, references in canonical form where decided

    def decode(self) -> dict:
        return orjson.loads(self.encoded)


def prepare(item: ReadItem, *, validate_models: bool = False) -> PreparedItem:
    """Summarise, check (optionally), canonicalise and encode one readable item (``item.data`` is changed)."""
    data = item.data
    key, from_id = resource_key(data, item.full_url)
    issues = list(item.issues)
    if not from_id:
        issues.append(issue(codes.FHIR019, f"{data['resourceType']} without a usable id keyed as {key}",
                            Location(file=item.file, entry=item.entry, resource=key, element=item.path)))
    if validate_models:
        issues.extend(_model_issues(item, key))
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    sha256 = item.sha256 or content_hash(data)
    links, indirect = pack(_links(data, PATIENT_LINKS)), pack(_links(data, INDIRECT_LINKS))
    references = pack(canonicalise_references(data, key))
    return PreparedItem(file=item.file, entry=item.entry, path=item.path, full_url=item.full_url, issues=issues,
                        key=key, rtype=data["resourceType"], version=meta.get("versionId"),
                        last_updated=meta.get("lastUpdated"), sha256=sha256, links=links, indirect=indirect,
                        contained_ids=_contained_ids(data), references=references, encoded=orjson.dumps(data))


def prepared_items(items: Iterable[tuple[ReadItem | PreparedItem, tuple]], *, validate_models: bool = False
                   ) -> Iterator[tuple[ReadItem | PreparedItem, tuple]]:
    """``(item, local_times)`` pairs with every readable item prepared (unreadable and already prepared items
    pass as they are)."""
    for item, local_times in items:
        if isinstance(item, ReadItem) and item.data is not None:
            yield prepare(item, validate_models=validate_models), local_times
        else:
            yield item, local_times


def canonicalise_references(data: dict, container: str) -> tuple[ReferenceNote, ...]:
    """Put every ``reference`` whose form alone decides its canonical key in that form (in place); note all.

    Depth first, last child first.
    """
    notes: list[ReferenceNote] = []
    stack: list[tuple] = [(data, ())]
    pop, push = stack.pop, stack.append
    while stack:
        value, steps = pop()
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str):
                canonical = canonical_form(ref, container)
                if canonical is not None:
                    value["reference"] = canonical
                notes.append((steps, ref, canonical))
            for name, child in value.items():
                if isinstance(child, (dict, list)):
                    push((child, (*steps, name)))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                if isinstance(child, (dict, list)):
                    push((child, (*steps, i)))
    return tuple(notes)


def settle_references(references: Iterable[ReferenceNote], container: str, encoded: bytes,
                      resolver: ReferenceResolver) -> tuple[bytes, list[tuple[str, str]], list[str]]:
    """A prepared resource's final JSON, its unresolved references ``(element path, reference)`` sorted, and
    every reference's final value in walk order (depth first, last child first).

    ``references`` are the notes :func:`prepare` took of the resource keyed ``container``; ``encoded`` its JSON.
    Each reference becomes what :meth:`ReferenceResolver.resolve` makes of the reference as read. The JSON is
    decoded and re-encoded only when some reference differs from the form :func:`prepare` gave it (a fullUrl alias,
    an absolute URL on a known base).
    """
    changes: list[tuple[Steps, str]] = []
    unresolved: list[tuple[str, str]] = []
    final: list[str] = []
    for steps, ref, decided in references:
        if decided is not None and not ref.startswith("#") and ref not in resolver.aliases:
            canonical, found = decided, decided in resolver.keys
        else:
            canonical, found = resolver.resolve(ref, container)
        final.append(canonical)
        if canonical != (decided if decided is not None else ref):
            changes.append((steps, canonical))
        if not found:
            where = element_path(steps)
            unresolved.append((f"{where}.reference" if where else "reference", ref))
    unresolved.sort()
    if not changes:
        return encoded, unresolved, final
    data = orjson.loads(encoded)
    for steps, canonical in changes:
        holder = data
        for step in steps:
            holder = holder[step]
        holder["reference"] = canonical
    return orjson.dumps(data), unresolved, final


def element_path(steps: Steps) -> str:
    """``("contained", 0, "subject")`` -> ``"contained[0].subject"``.

    >>> element_path(("contained", 0, "subject")), element_path(())
    ('contained[0].subject', '')
    """
    where = ""
    for step in steps:
        where = f"{where}[{step}]" if isinstance(step, int) else (f"{where}.{step}" if where else step)
    return where


def _links(data: dict, names: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for name in names:
        value = data.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("reference"), str):
                out.append(item["reference"])
    return tuple(out)


def _contained_ids(data: dict) -> tuple[str, ...]:
    return tuple(c["id"] for c in data.get("contained") or []
                 if isinstance(c, dict) and isinstance(c.get("id"), str))


def _model_issues(item: ReadItem, key: str) -> list[Issue]:
    """FHIR022: the R4B model's verdict on the resource (after repair; times are local by then)."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    try:
        get_fhir_model_class(item.data["resourceType"]).model_validate(item.data)
    except ValidationError as exc:
        errors = exc.errors()
        first = ".".join(str(p) for p in errors[0]["loc"]) if errors else None
        return [issue(codes.FHIR022, f"{len(errors)} model validation error(s); first: {errors[0]['type']}",
                      Location(file=item.file, entry=item.entry, resource=key, element=first))]
    return []
