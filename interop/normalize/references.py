"""Canonical keys of resources and resolution of FHIR references to them.

Canonical key: ``"Type/id"``. Contained resources: ``"<container key>#<contained id>"``, e.g.
``"MedicationRequest/mr1#med1"``. Reference forms resolved (FHIR R4 §2.3.0.3 "Resolving references"):
``urn:uuid:``/``urn:oid:`` fullUrls, relative ``Type/id[/_history/v]``, absolute ``<base>/Type/id`` when
the URL is a fullUrl of the input or its base is the base of one, and ``#id`` (contained) / ``#`` (the
container itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from interop.ingest.readers import content_hash  # noqa: F401  (re-exported: the one definition is in ingest)

_ID = r"[A-Za-z0-9\-\.]{1,64}"
_RELATIVE = re.compile(rf"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>{_ID})(?:/_history/{_ID})?$")
_ABSOLUTE = re.compile(rf"^(?P<base>[a-z][a-z0-9+.\-]*://.+?)/(?P<type>[A-Z][A-Za-z]+)/(?P<id>{_ID})"
                       rf"(?:/_history/{_ID})?$")
_URN = re.compile(r"^urn:(?:uuid|oid):(?P<id>[A-Za-z0-9\-\.]{1,64})$")


def resource_key(data: dict, full_url: str | None) -> tuple[str, bool]:
    """(canonical key, whether it came from the resource's own id).

    Without an id the key is built from the fullUrl (``urn:uuid:X`` -> ``Type/X``; ``.../Type/id``) or,
    failing that, from the content hash (``Type/sha256-<16 hex>``).

    >>> resource_key({"resourceType": "Patient", "id": "p1"}, None)
    ('Patient/p1', True)
    >>> resource_key({"resourceType": "Patient"}, "urn:uuid:6b0c1f5e-0000-4000-8000-000000000001")
    ('Patient/6b0c1f5e-0000-4000-8000-000000000001', False)
    """
    rtype = data["resourceType"]
    rid = data.get("id")
    if isinstance(rid, str) and re.fullmatch(_ID, rid):
        return f"{rtype}/{rid}", True
    if full_url:
        m = _URN.match(full_url) or _ABSOLUTE.match(full_url)
        if m:
            return f"{rtype}/{m.group('id')}", False
    return f"{rtype}/sha256-{content_hash(data)[:16]}", False


def full_url_base(full_url: str | None) -> str | None:
    """The service base of an absolute ``<base>/Type/id`` fullUrl."""
    m = _ABSOLUTE.match(full_url or "")
    return m.group("base") if m else None


@dataclass(slots=True)
class ReferenceResolver:
    """Everything needed to resolve references across all inputs (built after reading them all)."""

    keys: set[str] = field(default_factory=set)          # canonical keys, incl. contained "X/1#c"
    aliases: dict[str, str] = field(default_factory=dict)  # fullUrl -> canonical key
    bases: set[str] = field(default_factory=set)          # service bases seen in absolute fullUrls

    def resolve(self, reference: str, container: str | None = None) -> tuple[str, bool]:
        """(canonical form, found in the inputs) of a reference string.

        ``container`` is the key of the resource the reference sits in (for ``#id``). A reference that
        cannot be put in canonical form (an external URL, a logical-only form) is returned unchanged.

        >>> r = ReferenceResolver({"Patient/p1", "MedicationRequest/m1#med"}, {"urn:uuid:abc": "Patient/p1"},
        ...                       {"http://h/fhir"})
        >>> [r.resolve(x, "MedicationRequest/m1") for x in
        ...  ("urn:uuid:abc", "Patient/p1/_history/2", "http://h/fhir/Patient/p1", "#med", "Patient/zz")]
        [('Patient/p1', True), ('Patient/p1', True), ('Patient/p1', True), ('MedicationRequest/m1#med', True), ('Patient/zz', False)]
        """
        if reference.startswith("#"):
            if container is None:
                return reference, False
            target = container.split("#", 1)[0]
            key = target if reference == "#" else f"{target}{reference}"
            return key, key in self.keys
        alias = self.aliases.get(reference)
        if alias is not None:
            return alias, True
        m = _RELATIVE.match(reference)
        if m:
            key = f"{m.group('type')}/{m.group('id')}"
            return key, key in self.keys
        m = _ABSOLUTE.match(reference)
        if m and m.group("base") in self.bases:
            key = f"{m.group('type')}/{m.group('id')}"
            return key, key in self.keys
        return reference, False


def rewrite_references(data, resolver: ReferenceResolver, container: str,
                       path: str = "") -> list[tuple[str, str]]:
    """Rewrite every ``reference`` string inside ``data`` (in place) to its canonical key.

    Contained resources resolve ``#id`` against the same container. Returns the (element path,
    reference) pairs that do not resolve to any input resource.
    """
    unresolved: list[tuple[str, str]] = []
    # element paths are built only for unresolved references: each stack entry carries its parent's
    # entry and its own name (in an object) or index (in an array)
    stack = [(data, None, None, None)]
    pop = stack.pop
    push = stack.append
    while stack:
        entry = pop()
        value = entry[0]
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str):
                canonical, found = resolver.resolve(ref, container)
                value["reference"] = canonical
                if not found:
                    where = _element_path(entry, path)
                    unresolved.append((f"{where}.reference" if where else "reference", ref))
            for name, child in value.items():
                if isinstance(child, (dict, list)):
                    push((child, entry, name, None))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                if isinstance(child, (dict, list)):
                    push((child, entry, None, i))
    unresolved.sort()
    return unresolved


def _element_path(entry: tuple, root: str) -> str:
    """The element path of a :func:`rewrite_references` stack entry (``contained[0].subject``)."""
    steps = []
    while entry[1] is not None:
        steps.append(entry)
        entry = entry[1]
    where = root
    for _, _, name, index in reversed(steps):
        where = (f"{where}.{name}" if where else name) if index is None else f"{where}[{index}]"
    return where
