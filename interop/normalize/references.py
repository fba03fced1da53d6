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
            key = canonical_form(reference, container)
            return (key, key in self.keys) if key is not None else (reference, False)
        alias = self.aliases.get(reference)
        if alias is not None:
            return alias, True
        key = self._form(reference)
        return (key, key in self.keys) if key is not None else (reference, False)

    def target(self, reference: str, container: str | None = None) -> str:
        """The canonical form :meth:`resolve` gives, without asking whether it is in the inputs.

        >>> ReferenceResolver(set(), {"urn:uuid:abc": "Patient/p1"}, set()).target("urn:uuid:abc")
        'Patient/p1'
        """
        if reference.startswith("#"):
            return canonical_form(reference, container) or reference
        return self.aliases.get(reference) or self._form(reference) or reference

    def _form(self, reference: str) -> str | None:
        """The key of a relative reference, or of an absolute one on a known base (else None)."""
        key = canonical_form(reference, None)
        if key is not None:
            return key
        m = _ABSOLUTE.match(reference)
        return f"{m.group('type')}/{m.group('id')}" if m and m.group("base") in self.bases else None


def canonical_form(reference: str, container: str | None) -> str | None:
    """The canonical key of a reference whose form alone decides it, else None.

    Decided by form: ``#id`` and ``#`` (against ``container``, the key of the resource holding the reference)
    and relative ``Type/id[/_history/v]``. Not decided by form: ``urn:uuid:`` and absolute URLs (they need the
    inputs' fullUrls and bases); a relative form can also be overridden by an identical fullUrl alias, which
    :meth:`ReferenceResolver.resolve` checks first.

    >>> [canonical_form(r, "Observation/o1") for r in ("#c1", "#", "Patient/p1/_history/3", "urn:uuid:x")]
    ['Observation/o1#c1', 'Observation/o1', 'Patient/p1', None]
    """
    if reference.startswith("#"):
        if container is None:
            return None
        target = container.split("#", 1)[0]
        return target if reference == "#" else f"{target}{reference}"
    m = _RELATIVE.match(reference)
    return f"{m.group('type')}/{m.group('id')}" if m else None
