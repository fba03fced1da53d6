"""FHIR XML -> the FHIR JSON form (plain dicts), with a parser that refuses DTDs and entities.

``fhir.resources`` 8.3 can parse XML (``Model.model_validate_xml``) but returns model objects whose
dates are already converted (precision lost, times without offset rejected), so we convert the XML
ourselves and use the R4B model field info (:mod:`interop.ingest.structure`) to know which elements
repeat and which primitives are booleans or numbers. FHIR XML rules followed (FHIR R4 §2.6.3 / §2.6.2):
- the root element's name is the resourceType; elements are in the ``http://hl7.org/fhir`` namespace;
- primitives carry ``value="..."``; their ``id`` attribute and ``extension`` children go to ``_name``;
- ``id`` (elements) and ``url`` (Extension) are attributes; ``Resource.id`` is an element;
- resources inside ``contained``/``entry.resource``/``parameter.resource`` are wrapped in an element
  named by their type; ``Narrative.div`` is XHTML kept as a string.

Any DOCTYPE or ENTITY declaration is refused (FHIR016) before parsing, and the parser itself never
loads DTDs, resolves entities or touches the network.
"""

from __future__ import annotations

import math
import re

from lxml import etree

from cdisc.issues import Issue, Location, issue
from interop import codes
from interop.ingest.structure import ElementInfo, element_table, is_resource_type

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def safe_parser() -> etree.XMLParser:
    """An lxml parser that loads no DTD, resolves no entity and never uses the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def read_xml_resource(raw: bytes, *, file: str) -> tuple[dict | None, list[Issue]]:
    """Parse FHIR XML bytes into the JSON form of the resource; (None, issues) if refused or invalid.

    Examples
    --------
    >>> xml = b'<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><active value="true"/>' \\
    ...       b'<name><given value="A"/><given value="B"/></name></Patient>'
    >>> read_xml_resource(xml, file="p.xml")[0]
    {'resourceType': 'Patient', 'id': 'p1', 'active': True, 'name': [{'given': ['A', 'B']}]}
    """
    where = Location(file=file)
    if _DECLARATION.search(raw):
        return None, [issue(codes.FHIR016, "the XML declares a DOCTYPE or ENTITY", where)]
    try:
        root = etree.fromstring(raw, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        return None, [issue(codes.FHIR017, f"not well-formed XML: {exc.msg}"[:200],
                            Location(file=file, element=f"line {exc.lineno}"))]
    if root.getroottree().docinfo.doctype:
        return None, [issue(codes.FHIR016, "the XML has a DOCTYPE", where)]
    namespace, name = _split(root.tag)
    if namespace != FHIR_NS or not is_resource_type(name):
        return None, [issue(codes.FHIR017, f"root element {name!r} is not a FHIR resource in {FHIR_NS}", where)]
    problems: list[Issue] = []
    return convert_resource(root, problems, file), problems


def _split(tag) -> tuple[str | None, str]:
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def convert_resource(element, problems: list[Issue], file: str) -> dict:
    """A resource element (``<Patient>``) as a JSON dict."""
    _, name = _split(element.tag)
    out: dict = {"resourceType": name}
    _convert_children(element, name, out, problems, file, is_resource=True)
    return out


def _convert_children(element, type_name: str, out: dict, problems: list[Issue], file: str,
                      *, is_resource: bool) -> None:
    table = element_table(type_name) or {}
    if not is_resource and element.get("id") is not None:
        out["id"] = element.get("id")
    if type_name == "Extension" and element.get("url") is not None:
        out["url"] = element.get("url")
    for child in element:
        if not isinstance(child.tag, str):
            continue
        _, name = _split(child.tag)
        info = table.get(name)
        if info is None:
            # unknown: keep a marker so the structural check reports it (FHIR006) with its path
            out.setdefault(name, {"xml": "unknown element"})
            continue
        value, companion = _convert_element(child, info, problems, file)
        if info.repeats:
            out.setdefault(name, []).append(value)
            if info.kind not in ("complex", "resource"):
                companions = out.setdefault("_" + name, [])
                companions.extend([None] * (len(out[name]) - 1 - len(companions)))
                companions.append(companion)
        else:
            if value is not None:
                out[name] = value
            if companion is not None:
                out["_" + name] = companion
    # drop companion arrays that carry nothing
    for key in [k for k, v in out.items() if k.startswith("_") and isinstance(v, list)]:
        if all(v is None for v in out[key]):
            del out[key]


def _convert_element(child, info: ElementInfo, problems: list[Issue], file: str):
    """(JSON value, primitive companion or None) of one child element."""
    if info.kind == "resource":
        inner = [c for c in child if isinstance(c.tag, str)]
        if len(inner) != 1:
            return {"xml": "resource wrapper without exactly one resource"}, None
        _, inner_name = _split(inner[0].tag)
        if not is_resource_type(inner_name):
            return {"resourceType": inner_name}, None
        return convert_resource(inner[0], problems, file), None
    if info.kind == "complex":
        value: dict = {}
        _convert_children(child, info.type_name, value, problems, file, is_resource=False)
        return value, None
    if info.kind == "xhtml":
        return etree.tostring(child, encoding="unicode", with_tail=False), None
    raw = child.get("value")
    companion: dict = {}
    if child.get("id") is not None:
        companion["id"] = child.get("id")
    extensions = []
    for ext in child:
        if isinstance(ext.tag, str) and _split(ext.tag)[1] == "extension":
            converted: dict = {}
            _convert_children(ext, "Extension", converted, problems, file, is_resource=False)
            extensions.append(converted)
    if extensions:
        companion["extension"] = extensions
    return _typed(raw, info.kind), (companion or None)


# FHIR R4 grammars of the integer and decimal primitives (Python's int() and float() also take "1_000",
# non-ASCII digits, "NaN" and "inf", which would pass as numbers and could not be written back as JSON)
_FHIR_INTEGER = re.compile(r"0|[-+]?[1-9][0-9]*")
_FHIR_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _typed(raw: str | None, kind: str):
    """The JSON value of a primitive's ``value`` attribute (left as text when it does not parse,
    so the structural check reports it as the wrong type)."""
    if raw is None:
        return None
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "integer":
        return int(raw) if _FHIR_INTEGER.fullmatch(raw) else raw
    if kind == "decimal":
        if not _FHIR_DECIMAL.fullmatch(raw):
            return raw
        number = int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw)
        return number if math.isfinite(number) else raw   # 1e999 is no JSON number either
    return raw
