"""define.xml 2.1 from a neutral metadata model, validated against the Define-XML 2.1 XSD.

The model (:class:`DefineDocument`) is built by the pipeline from the same SDTMIG metadata, study definition and
data that produced the datasets; this module only renders and validates it (it knows nothing of FHIR).
Element order follows the Define-XML 2.1 schema (MetaDataVersion: Standards, SupplementalDoc?, ValueListDef*,
WhereClauseDef*, ItemGroupDef*, ItemDef*, CodeList*, MethodDef*, CommentDef*, leaf*).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from cdisc.codes import DEF002, DEF003, DEF004
from cdisc.issues import Issue, Location, issue

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ODM, "def": DEF, "xlink": XLINK}
HERE = Path(__file__).parent / "define_xml"
SCHEMA_PATH = HERE / "schema" / "cdisc-define-2.1" / "define2-1-0.xsd"
STYLESHEET = HERE / "define2-1.xsl"
STYLESHEET_NAME = "define2-1.xsl"


@dataclass(frozen=True, slots=True)
class Standard:
    oid: str
    name: str                  # "SDTMIG" | "CDISC/NCI"
    type: str                  # "IG" | "CT"
    version: str
    publishing_set: str | None = None   # "SDTM" | "DEFINE-XML" for CT


@dataclass(frozen=True, slots=True)
class Origin:
    type: str                  # Collected | Derived | Assigned | Protocol | Predecessor | Not Available
    source: str | None = None  # Subject | Investigator | Vendor | Sponsor
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ItemDef:
    oid: str
    name: str
    label: str
    data_type: str             # text | integer | float | datetime | date | durationDatetime ...
    length: int | None
    origin: Origin
    significant_digits: int | None = None
    codelist_oid: str | None = None
    valuelist_oid: str | None = None
    comment_oid: str | None = None


@dataclass(frozen=True, slots=True)
class ItemRef:
    item_oid: str
    order: int
    mandatory: bool
    key_sequence: int | None = None
    method_oid: str | None = None
    role: str | None = None
    where_clause_oid: str | None = None   # only inside a value list


@dataclass(frozen=True, slots=True)
class ItemGroup:
    oid: str
    name: str                  # dataset name, e.g. "LB" or "SUPPLB"
    domain: str
    label: str
    dataset_class: str         # SPECIAL PURPOSE | FINDINGS | EVENTS | INTERVENTIONS | TRIAL DESIGN | RELATIONSHIP
    structure: str
    repeating: bool
    reference_data: bool
    file_name: str             # "lb.xpt"
    items: tuple[ItemRef, ...]
    standard_oid: str
    comment_oid: str | None = None
    domain_description: str | None = None   # SUPP--: the parent domain's label (Alias DomainDescription)


@dataclass(frozen=True, slots=True)
class CodeListItem:
    coded_value: str
    nci_code: str | None = None
    decode: str | None = None
    extended: bool = False


@dataclass(frozen=True, slots=True)
class CodeList:
    oid: str
    name: str
    data_type: str
    items: tuple[CodeListItem, ...]
    nci_code: str | None = None
    standard_oid: str | None = None   # set for CDISC CT codelists; None for sponsor-defined


@dataclass(frozen=True, slots=True)
class RangeCheck:
    item_oid: str
    values: tuple[str, ...]
    comparator: str = "EQ"


@dataclass(frozen=True, slots=True)
class WhereClause:
    """A def:WhereClauseDef: all its range checks hold together (logical AND, Define-XML 2.1 section 5.3.7)."""

    oid: str
    checks: tuple[RangeCheck, ...]
    comment_oid: str | None = None


@dataclass(frozen=True, slots=True)
class ValueList:
    oid: str
    items: tuple[ItemRef, ...]


@dataclass(frozen=True, slots=True)
class Method:
    oid: str
    name: str
    type: str                  # Computation | Imputation
    description: str


@dataclass(frozen=True, slots=True)
class Comment:
    oid: str
    text: str


@dataclass(slots=True)
class DefineDocument:
    study_oid: str
    study_name: str
    study_description: str
    protocol_name: str
    creation_datetime: str     # ISO 8601, from the run options or the data (never the clock)
    originator: str
    source_system: str
    source_system_version: str
    standards: list[Standard] = field(default_factory=list)
    item_groups: list[ItemGroup] = field(default_factory=list)
    item_defs: list[ItemDef] = field(default_factory=list)
    codelists: list[CodeList] = field(default_factory=list)
    value_lists: list[ValueList] = field(default_factory=list)
    where_clauses: list[WhereClause] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    comment_oid: str | None = None   # a comment on the whole MetaDataVersion (study-level assumptions)


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _description(parent, text: str) -> None:
    desc = etree.SubElement(parent, _q(ODM, "Description"))
    translated = etree.SubElement(desc, _q(ODM, "TranslatedText"))
    translated.set(XML_LANG, "en")
    translated.text = text


def _item_ref(parent, ref: ItemRef) -> None:
    el = etree.SubElement(parent, _q(ODM, "ItemRef"), ItemOID=ref.item_oid, OrderNumber=str(ref.order),
                          Mandatory="Yes" if ref.mandatory else "No")
    if ref.key_sequence is not None:
        el.set("KeySequence", str(ref.key_sequence))
    if ref.method_oid:
        el.set("MethodOID", ref.method_oid)
    if ref.role:
        el.set("Role", ref.role)
    if ref.where_clause_oid:
        etree.SubElement(el, _q(DEF, "WhereClauseRef"), WhereClauseOID=ref.where_clause_oid)


def _render_item_group(mdv, group: ItemGroup) -> None:
    el = etree.SubElement(mdv, _q(ODM, "ItemGroupDef"), OID=group.oid, Domain=group.domain, Name=group.name,
                          Repeating="Yes" if group.repeating else "No",
                          IsReferenceData="Yes" if group.reference_data else "No",
                          SASDatasetName=group.name, Purpose="Tabulation")
    el.set(_q(DEF, "Structure"), group.structure)
    el.set(_q(DEF, "StandardOID"), group.standard_oid)
    if group.comment_oid:
        el.set(_q(DEF, "CommentOID"), group.comment_oid)
    el.set(_q(DEF, "ArchiveLocationID"), f"LF.{group.name}")
    _description(el, group.label)
    for ref in group.items:
        _item_ref(el, ref)
    if group.domain_description:
        etree.SubElement(el, _q(ODM, "Alias"), Context="DomainDescription", Name=group.domain_description)
    etree.SubElement(el, _q(DEF, "Class"), Name=group.dataset_class)
    leaf = etree.SubElement(el, _q(DEF, "leaf"), ID=f"LF.{group.name}")
    leaf.set(_q(XLINK, "href"), group.file_name)
    title = etree.SubElement(leaf, _q(DEF, "title"))
    title.text = group.file_name


def _render_item_def(mdv, item: ItemDef) -> None:
    el = etree.SubElement(mdv, _q(ODM, "ItemDef"), OID=item.oid, Name=item.name, DataType=item.data_type)
    if item.length is not None:
        el.set("Length", str(item.length))
    if item.significant_digits is not None:
        el.set("SignificantDigits", str(item.significant_digits))
    el.set("SASFieldName", item.name[:8])
    if item.comment_oid:
        el.set(_q(DEF, "CommentOID"), item.comment_oid)
    _description(el, item.label)
    if item.codelist_oid:
        etree.SubElement(el, _q(ODM, "CodeListRef"), CodeListOID=item.codelist_oid)
    origin = etree.SubElement(el, _q(DEF, "Origin"), Type=item.origin.type)
    if item.origin.source:
        origin.set("Source", item.origin.source)
    if item.origin.description:
        _description(origin, item.origin.description)
    if item.valuelist_oid:
        etree.SubElement(el, _q(DEF, "ValueListRef"), ValueListOID=item.valuelist_oid)


def _render_codelist(mdv, codelist: CodeList) -> None:
    el = etree.SubElement(mdv, _q(ODM, "CodeList"), OID=codelist.oid, Name=codelist.name, DataType=codelist.data_type)
    if codelist.standard_oid:
        el.set(_q(DEF, "StandardOID"), codelist.standard_oid)
    with_decode = any(i.decode for i in codelist.items)
    for order, item in enumerate(codelist.items, start=1):
        tag = "CodeListItem" if with_decode else "EnumeratedItem"
        child = etree.SubElement(el, _q(ODM, tag), CodedValue=item.coded_value, OrderNumber=str(order))
        if item.extended:
            child.set(_q(DEF, "ExtendedValue"), "Yes")
        if with_decode:
            decode = etree.SubElement(child, _q(ODM, "Decode"))
            translated = etree.SubElement(decode, _q(ODM, "TranslatedText"))
            translated.set(XML_LANG, "en")
            translated.text = item.decode or item.coded_value
        if item.nci_code:
            etree.SubElement(child, _q(ODM, "Alias"), Context="nci:ExtCodeID", Name=item.nci_code)
    if codelist.nci_code:
        etree.SubElement(el, _q(ODM, "Alias"), Context="nci:ExtCodeID", Name=codelist.nci_code)


def render_define(doc: DefineDocument) -> bytes:
    """The define.xml bytes (UTF-8, with the stylesheet processing instruction)."""
    root = etree.Element(_q(ODM, "ODM"), nsmap=NSMAP, ODMVersion="1.3.2", FileType="Snapshot",
                         FileOID=f"{doc.study_oid}.DEFINE", CreationDateTime=doc.creation_datetime,
                         Originator=doc.originator, SourceSystem=doc.source_system,
                         SourceSystemVersion=doc.source_system_version)
    root.set(_q(DEF, "Context"), "Submission")
    study = etree.SubElement(root, _q(ODM, "Study"), OID=doc.study_oid)
    gv = etree.SubElement(study, _q(ODM, "GlobalVariables"))
    for tag, text in (("StudyName", doc.study_name), ("StudyDescription", doc.study_description),
                      ("ProtocolName", doc.protocol_name)):
        etree.SubElement(gv, _q(ODM, tag)).text = text
    mdv = etree.SubElement(study, _q(ODM, "MetaDataVersion"), OID=f"MDV.{doc.study_oid}",
                           Name=f"{doc.study_name} SDTM data definitions")
    mdv.set(_q(DEF, "DefineVersion"), "2.1.0")
    if doc.comment_oid:
        mdv.set(_q(DEF, "CommentOID"), doc.comment_oid)
    standards = etree.SubElement(mdv, _q(DEF, "Standards"))
    for std in doc.standards:
        s = etree.SubElement(standards, _q(DEF, "Standard"), OID=std.oid, Name=std.name, Type=std.type,
                             Version=std.version, Status="Final")
        if std.publishing_set:
            s.set("PublishingSet", std.publishing_set)
    for vl in doc.value_lists:
        el = etree.SubElement(mdv, _q(DEF, "ValueListDef"), OID=vl.oid)
        for ref in vl.items:
            _item_ref(el, ref)
    for wc in doc.where_clauses:
        el = etree.SubElement(mdv, _q(DEF, "WhereClauseDef"), OID=wc.oid)
        if wc.comment_oid:
            el.set(_q(DEF, "CommentOID"), wc.comment_oid)
        for check in wc.checks:
            rc = etree.SubElement(el, _q(ODM, "RangeCheck"), Comparator=check.comparator, SoftHard="Soft")
            rc.set(_q(DEF, "ItemOID"), check.item_oid)
            for value in check.values:
                etree.SubElement(rc, _q(ODM, "CheckValue")).text = value
    for group in doc.item_groups:
        _render_item_group(mdv, group)
    for item in doc.item_defs:
        _render_item_def(mdv, item)
    for codelist in doc.codelists:
        _render_codelist(mdv, codelist)
    for method in doc.methods:
        el = etree.SubElement(mdv, _q(ODM, "MethodDef"), OID=method.oid, Name=method.name, Type=method.type)
        _description(el, method.description)
    for comment in doc.comments:
        el = etree.SubElement(mdv, _q(DEF, "CommentDef"), OID=comment.oid)
        _description(el, comment.text)
    tree = etree.ElementTree(root)
    pi = etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{STYLESHEET_NAME}"')
    root.addprevious(pi)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)


_SCHEMA: etree.XMLSchema | None = None


def load_schema() -> etree.XMLSchema:
    global _SCHEMA
    if _SCHEMA is None:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        _SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))
    return _SCHEMA


def check_define(xml: bytes) -> list[str]:
    """Schema errors of a define.xml document (empty when valid)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    doc = etree.fromstring(xml, parser)
    schema = load_schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def write_define(doc: DefineDocument, folder: Path) -> tuple[Path, list[str]]:
    """Write define.xml and its stylesheet into ``folder``; return the path and schema errors (written only if valid)."""
    xml = render_define(doc)
    errors = check_define(xml)
    path = folder / "define.xml"
    if not errors:
        path.write_bytes(xml)
        shutil.copyfile(STYLESHEET, folder / STYLESHEET_NAME)
    return path, errors


def _references(doc: DefineDocument) -> dict[str, list[tuple[str, str]]]:
    """Every OID the document refers to, by kind, with the referring item (dataset.variable or OID)."""
    refs: dict[str, list[tuple[str, str]]] = {"method": [], "comment": [], "codelist": [], "valuelist": [],
                                               "whereclause": [], "item": []}
    if doc.comment_oid:
        refs["comment"].append((doc.comment_oid, "MetaDataVersion"))
    for group in doc.item_groups:
        if group.comment_oid:
            refs["comment"].append((group.comment_oid, group.oid))
        for ref in group.items:
            refs["item"].append((ref.item_oid, group.oid))
            if ref.method_oid:
                refs["method"].append((ref.method_oid, ref.item_oid))
    for vl in doc.value_lists:
        for ref in vl.items:
            refs["item"].append((ref.item_oid, vl.oid))
            if ref.method_oid:
                refs["method"].append((ref.method_oid, ref.item_oid))
            if ref.where_clause_oid:
                refs["whereclause"].append((ref.where_clause_oid, ref.item_oid))
    for item in doc.item_defs:
        for kind, oid in (("codelist", item.codelist_oid), ("valuelist", item.valuelist_oid),
                          ("comment", item.comment_oid)):
            if oid:
                refs[kind].append((oid, item.oid))
    for wc in doc.where_clauses:
        if wc.comment_oid:
            refs["comment"].append((wc.comment_oid, wc.oid))
        for check in wc.checks:
            refs["item"].append((check.item_oid, wc.oid))
    return refs


def check_define_model(doc: DefineDocument) -> list[Issue]:
    """Referential checks the XSD cannot make (Define-XML 2.1 sections 5.3.x).

    DEF002: an ItemRef of a Derived item has no MethodOID. DEF003: a MethodDef, CommentDef, CodeList or
    ValueListDef nobody references. DEF004: a reference to an OID that is not defined.
    """
    defined = {"method": {m.oid for m in doc.methods}, "comment": {c.oid for c in doc.comments},
               "codelist": {c.oid for c in doc.codelists}, "valuelist": {v.oid for v in doc.value_lists},
               "whereclause": {w.oid for w in doc.where_clauses}, "item": {i.oid for i in doc.item_defs}}
    refs = _references(doc)
    issues = []
    for kind, pairs in refs.items():
        for oid, where in pairs:
            if oid not in defined[kind]:
                issues.append(issue(DEF004, f"{where} refers to {kind} {oid}, which is not defined",
                                    Location(file="define.xml", element=where)))
    for kind in ("method", "comment", "codelist", "valuelist"):
        used = {oid for oid, _ in refs[kind]}
        for oid in sorted(defined[kind] - used):
            issues.append(issue(DEF003, f"{kind} {oid} is defined but never referenced",
                                Location(file="define.xml", element=oid)))
    derived = {i.oid for i in doc.item_defs if i.origin.type == "Derived"}
    for container in [*doc.item_groups, *doc.value_lists]:
        for ref in container.items:
            if ref.item_oid in derived and not ref.method_oid:
                issues.append(issue(DEF002, f"{ref.item_oid} is Derived but has no MethodOID",
                                    Location(file="define.xml", element=ref.item_oid)))
    return issues
