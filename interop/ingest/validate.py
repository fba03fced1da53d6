"""Cheap structural checks of one resource (plain dict) against the R4 structure, repairing in place.

What is checked, per element, using :mod:`interop.ingest.structure`:
- the JSON shape: an array where the element repeats, else a single value; objects for complex types,
  strings/numbers/booleans for primitives (FHIR005, the element or array item is dropped);
- unknown elements (FHIR006, dropped); ``_x`` companions of primitives are kept;
- date, dateTime and instant values against the FHIR grammar and the calendar (FHIR007, dropped);
  a dateTime with a time but no offset is accepted (the caller's ``on_datetime`` decides what to do);
- nesting deeper than ``Limits.max_depth`` (FHIR009), strings longer than ``Limits.max_string``
  (FHIR010) and numbers beyond 64 bits (FHIR026, only XML can carry one), all dropped;
- contained resources are checked as resources of their own type (FHIR004 when unknown, dropped).

Every problem is an :class:`~cdisc.issues.Issue` whose location names the file, entry, resource and
element path (``component[1].valueQuantity.value``); the rest of the resource is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Callable

from cdisc.issues import Issue, Location, issue
from interop import codes
from interop.ingest.structure import DATE_KINDS, ElementInfo, element_table, is_companion, is_resource_type

_YEAR = r"(?P<y>[0-9]{4})"
_FHIR_DATETIME = re.compile(
    _YEAR + r"(?:-(?P<m>0[1-9]|1[0-2])(?:-(?P<d>0[1-9]|[12][0-9]|3[01])"
    r"(?:T(?P<H>[01][0-9]|2[0-3]):(?P<M>[0-5][0-9])(?::(?P<S>[0-5][0-9]|60)(?P<frac>\.[0-9]+)?)?"
    r"(?P<tz>Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)?)?)?)?$"
)
_FHIR_DATE = re.compile(_YEAR + r"(?:-(?P<m>0[1-9]|1[0-2])(?:-(?P<d>0[1-9]|[12][0-9]|3[01]))?)?$")

# (value, kind, path) -> replacement value; lets the caller move times onto a clock
DateTimeHook = Callable[[str, str, str], str]


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes beyond which an element is not read."""

    max_depth: int = 48          # FHIR structures rarely nest beyond ~20 (nested QuestionnaireResponse items)
    max_string: int = 2_000_000  # characters; large enough for a base64 attachment of ~1.5 MB


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")   # FHIR R4 string: no control characters
# element kinds whose JSON value is a plain string with no further grammar checked here (fast path in check_object)
_PLAIN_STRING_KINDS = frozenset({"string", "canonical", "time"})


def match_fhir_date(value: str, kind: str) -> re.Match | None:
    """The regex match of a FHIR date/dateTime/instant (calendar-checked), or None.

    >>> bool(match_fhir_date("2023-02-28T10:00:00+08:00", "dateTime"))
    True
    >>> match_fhir_date("2023-02-30", "date") is None, match_fhir_date("2023-5-1", "dateTime") is None
    (True, True)
    """
    pattern = _FHIR_DATE if kind == "date" else _FHIR_DATETIME
    m = pattern.match(value)
    if m is None:
        return None
    if m.group("d"):
        try:
            date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:
            return None
    return m


_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1   # what orjson (every later step) can carry

_PRIMITIVE_JSON = {
    "boolean": (bool,),
    "integer": (int,),
    "integer64": (int, str),
    "decimal": (int, float),
}


def _primitive_ok(value: object, kind: str) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "decimal"):
        return isinstance(value, _PRIMITIVE_JSON[kind]) and not isinstance(value, bool)
    if kind == "integer64":
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    return isinstance(value, str)


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def _expected(info: ElementInfo) -> str:
    if info.kind in ("complex", "resource"):
        return "object"
    return {"boolean": "boolean", "integer": "number", "decimal": "number"}.get(info.kind, "string")


def _depth_exceeds(value: object, limit: int) -> bool:
    """True if the JSON value nests deeper than ``limit`` (iterative, no recursion)."""
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)
    return False


class _Checker:
    def __init__(self, where: Location, limits: Limits, on_datetime: DateTimeHook | None):
        self.where = where
        self.limits = limits
        self.on_datetime = on_datetime
        self.issues: list[Issue] = []

    def report(self, info, message: str, path: str) -> None:
        self.issues.append(issue(info, message, replace(self.where, element=path)))

    # -- values ---------------------------------------------------------------------------------
    def check_value(self, value, info: ElementInfo, path: str, depth: int):
        """The repaired value, or ``_DROP``."""
        if info.kind == "resource":
            if not isinstance(value, dict):
                self.report(codes.FHIR005, f"{path} is a JSON {_json_type(value)}, expected a resource object", path)
                return _DROP
            rtype = value.get("resourceType")
            if not is_resource_type(rtype):
                self.report(codes.FHIR004, f"contained resource at {path} has unknown resourceType {rtype!r}", path)
                return _DROP
            self.check_object(value, rtype, path, depth + 1, is_resource=True)
            return value
        if info.kind == "complex":
            if not isinstance(value, dict):
                self.report(codes.FHIR005, f"{path} is a JSON {_json_type(value)}, expected an object", path)
                return _DROP
            self.check_object(value, info.type_name, path, depth + 1, is_resource=False)
            return value
        if info.kind == "xhtml":
            return value if isinstance(value, str) else self._wrong(value, info, path)
        if not _primitive_ok(value, info.kind):
            return self._wrong(value, info, path)
        if type(value) is int and not _INT64_MIN <= value <= _UINT64_MAX:   # only XML can give one (JSON: FHIR001)
            self.report(codes.FHIR026, f"{path} is a number of {len(str(abs(value)))} digits, beyond 64 bits", path)
            return _DROP
        if isinstance(value, str):
            if len(value) > self.limits.max_string:
                self.report(codes.FHIR010, f"{path} has {len(value)} characters (limit {self.limits.max_string})",
                            path)
                return _DROP
            if info.kind in DATE_KINDS:
                return self.check_date(value, info.kind, path)
            if _CONTROL.search(value):
                cleaned = _CONTROL.sub("", value)
                self.report(codes.FHIR025, f"{path}: {len(value) - len(cleaned)} control character(s) removed", path)
                return cleaned
        return value

    def _wrong(self, value, info: ElementInfo, path: str):
        self.report(codes.FHIR005, f"{path} is a JSON {_json_type(value)}, expected a {_expected(info)}", path)
        return _DROP

    def check_date(self, value: str, kind: str, path: str):
        m = match_fhir_date(value, kind)
        if m is None:
            self.report(codes.FHIR007, f"{path} value {value[:40]!r} is not a FHIR {kind}", path)
            return _DROP
        if self.on_datetime is not None and kind != "date" and m.group("H"):
            return self.on_datetime(value, kind, path)
        return value

    # -- objects --------------------------------------------------------------------------------
    def check_object(self, obj: dict, type_name: str, path: str, depth: int, *, is_resource: bool) -> None:
        if depth > self.limits.max_depth:
            # the caller asked for this object; empty it rather than walk further
            self.report(codes.FHIR009, f"{path or type_name} nests deeper than {self.limits.max_depth} levels",
                        path or type_name)
            obj.clear()
            return
        table = element_table(type_name) or {}
        max_string = self.limits.max_string
        for name in list(obj):
            if is_resource and name == "resourceType":
                continue
            value = obj[name]
            info = table.get(name)
            if info is not None and not info.repeats:
                # fast paths for the common valid cases; anything else takes the full check below
                kind = info.kind
                if kind in _PLAIN_STRING_KINDS:
                    if type(value) is str and len(value) <= max_string and not _CONTROL.search(value):
                        continue
                elif kind == "complex" and type(value) is dict:
                    self.check_object(value, info.type_name, f"{path}.{name}" if path else name, depth + 1,
                                      is_resource=False)
                    continue
            child = f"{path}.{name}" if path else name
            if info is None:
                if is_companion(name, table) or name == "fhir_comments":
                    if _depth_exceeds(value, 8):
                        self.report(codes.FHIR009, f"{child} nests too deeply", child)
                        del obj[name]
                    continue
                self.report(codes.FHIR006, f"{child} is not an element of {type_name}", child)
                del obj[name]
                continue
            if info.repeats:
                if not isinstance(value, list):
                    self.report(codes.FHIR005,
                                f"{child} is a JSON {_json_type(value)}, expected an array", child)
                    del obj[name]
                    continue
                kept = []
                kind = info.kind
                plain = kind in _PLAIN_STRING_KINDS
                for i, item in enumerate(value):
                    if plain and type(item) is str and len(item) <= max_string and not _CONTROL.search(item):
                        kept.append(item)
                        continue
                    if kind == "complex" and type(item) is dict:
                        self.check_object(item, info.type_name, f"{child}[{i}]", depth + 1, is_resource=False)
                        kept.append(item)
                        continue
                    repaired = self.check_value(item, info, f"{child}[{i}]", depth)
                    if repaired is not _DROP:
                        kept.append(repaired)
                if kept:
                    obj[name] = kept
                else:
                    del obj[name]
            else:
                repaired = self.check_value(value, info, child, depth)
                if repaired is _DROP:
                    del obj[name]
                else:
                    obj[name] = repaired

_DROP = object()


def check_resource(data: dict, *, where: Location, limits: Limits = Limits(),
                   on_datetime: DateTimeHook | None = None) -> list[Issue]:
    """Check and repair one resource in place; return the problems found.

    Parameters
    ----------
    data
        The resource as a plain dict; its ``resourceType`` must already be known to be valid.
    where
        Location of the resource (file, entry, resource key); each issue adds the element path.
    limits
        Depth and string-size limits.
    on_datetime
        Called with (value, kind, path) for every valid dateTime/instant that carries a time;
        its return value replaces the value (used to move times onto the site's clock).

    Returns
    -------
    list of Issue
        FHIR004/005/006/007/009/010 issues, one per dropped element.

    Examples
    --------
    >>> obs = {"resourceType": "Observation", "id": "o1", "status": "final", "code": "8867-4",
    ...        "effectiveDateTime": "2023-13-01"}
    >>> [(i.code, i.where.element) for i in check_resource(obs, where=Location(file="f.json"))]
    [('FHIR005', 'code'), ('FHIR007', 'effectiveDateTime')]
    >>> obs
    {'resourceType': 'Observation', 'id': 'o1', 'status': 'final'}
    """
    checker = _Checker(where, limits, on_datetime)
    checker.check_object(data, data["resourceType"], "", 0, is_resource=True)
    return checker.issues
