"""The FHIR R4 element structure, read from the ``fhir.resources.R4B`` models (R4B fits R4 data).

Only the facts the readers need: for each type, its JSON element names, whether each repeats, and
whether it is a primitive (with its FHIR type), a complex type (with its model name) or a resource.
Tables are built lazily, one type at a time, and cached.

>>> table = element_table("Observation")
>>> table["effectiveDateTime"]
ElementInfo(name='effectiveDateTime', repeats=False, kind='dateTime', type_name=None)
>>> table["category"].repeats, table["category"].kind, table["category"].type_name
(True, 'complex', 'CodeableConcept')
>>> is_resource_type("Observation"), is_resource_type("CodeableConcept"), is_resource_type("Nope")
(True, False, False)
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from functools import lru_cache

# fhir_core marker class name -> FHIR primitive type name
_PRIMITIVES = {
    "DateTime": "dateTime", "Date": "date", "Instant": "instant", "Time": "time",
    "Integer": "integer", "PositiveInt": "integer", "UnsignedInt": "integer", "Integer64": "integer64",
    "Decimal": "decimal", "Boolean": "boolean",
    "String": "string", "Code": "string", "Id": "string", "Uri": "string", "Url": "string",
    "Canonical": "canonical", "Oid": "string", "Uuid": "string", "Markdown": "string",
    "Base64Binary": "string", "Xhtml": "xhtml",
}
DATE_KINDS = frozenset({"date", "dateTime", "instant"})
_ABSTRACT = frozenset({"Resource", "DomainResource"})
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{1,63}$")


@dataclass(frozen=True, slots=True)
class ElementInfo:
    """One element of a FHIR type, as it appears in JSON."""

    name: str
    repeats: bool
    kind: str                 # a primitive type ("dateTime", "string", ...), "complex" or "resource"
    type_name: str | None     # model name of a complex type ("CodeableConcept", "ObservationComponent")


def _unwrap(annotation) -> tuple[bool, object]:
    """(repeats, inner type) of a pydantic field annotation such as Optional[List[X]]."""
    repeats = False
    current = annotation
    while True:
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            non_none = [a for a in args if a is not type(None)]
            current = non_none[0]
            continue
        if origin in (list, typing.List):
            repeats = True
            current = args[0]
            continue
        return repeats, current


def _describe(inner) -> tuple[str, str | None]:
    """(kind, type_name) of an unwrapped annotation."""
    if inner is bool:
        return "boolean", None
    if typing.get_origin(inner) is typing.Annotated:
        marker = typing.get_args(inner)[1]
        return _PRIMITIVES.get(type(marker).__name__, "string"), None
    name = getattr(inner, "__name__", "")
    if name == "ResourceType":
        return "resource", None
    if name.endswith("Type") and hasattr(inner, "get_model_klass"):
        return "complex", name[: -len("Type")]
    return "string", None


@lru_cache(maxsize=None)
def _model_class(type_name: str):
    from fhir.resources.R4B import get_fhir_model_class

    if not _TYPE_NAME.match(type_name):
        return None
    try:
        return get_fhir_model_class(type_name)
    except (ValueError, ImportError, AttributeError):
        return None


@lru_cache(maxsize=None)
def element_table(type_name: str) -> dict[str, ElementInfo] | None:
    """JSON element name -> :class:`ElementInfo` for a resource or complex type; None if unknown.

    Primitive extension companions (``_birthDate``) are not listed: see :func:`is_companion`.
    """
    cls = _model_class(type_name)
    if cls is None:
        return None
    table: dict[str, ElementInfo] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.alias or field_name
        if alias.startswith("_") or field_name == "fhir_comments":
            continue
        repeats, inner = _unwrap(field.annotation)
        kind, complex_name = _describe(inner)
        table[alias] = ElementInfo(alias, repeats, kind, complex_name)
    return table


@lru_cache(maxsize=None)
def is_resource_type(name: object) -> bool:
    """True if ``name`` is a FHIR R4(B) resource type."""
    if not isinstance(name, str):
        return False
    cls = _model_class(name)
    if cls is None:
        return False
    from fhir.resources.R4B.resource import Resource

    return issubclass(cls, Resource) and cls.__name__ == name and name not in _ABSTRACT


def is_companion(name: str, table: dict[str, ElementInfo]) -> bool:
    """True for ``_x`` when ``x`` is a primitive element of the table (its id/extension holder)."""
    if not name.startswith("_"):
        return False
    info = table.get(name[1:])
    return info is not None and info.kind not in ("complex", "resource")
