"""Build the define.xml model from the datasets actually written, their SDTMIG specs and the CT in use.

Every dataset and variable in the data is declared, and nothing more. Lengths come from the data (none for
ISO 8601 types, as in the Define-XML 2.1 examples); DataType follows the content (Define-XML 2.1 section 4.3.2:
``date``, ``datetime``, ``partialDate``, ``partialDatetime``, ``durationDatetime``, ...). Codelists list the
values present, with NCI codes; values outside an extensible CDISC codelist are marked as extended; sponsor
codelists (ARMCD, ETCD, VISIT, IETESTCD ...) carry decodes from their paired variable. Value-level metadata
(ValueListDef + WhereClauseDef) describes --ORRES/--STRESC per test in LB, VS and QS (per category and test
when --CAT is present), TSVAL per TSPARMCD, each SUPP-- QVAL per QNAM, and QSTESTCD per QSCAT (one codelist
per instrument). Origins and methods come from the caller's ``origin_rule``; the study definition's
assumptions become CommentDefs attached to what they explain (``comment_targets``), the rest to the
MetaDataVersion. Only referenced MethodDefs and CommentDefs are kept.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from cdisc import define as d
from cdisc.standards import ControlledTerminology, DomainSpec

SDTMIG_OID, CT_OID = "STD.SDTMIG", "STD.CT.SDTM"
FINDINGS_RESULTS = ("ORRES", "STRESC")
VALUE_LEVEL_DOMAINS = ("LB", "VS", "QS")
# sponsor codelist variable -> the variable holding its decode, on the same record
DECODE_PAIRS = {"ARMCD": "ARM", "ACTARMCD": "ACTARM", "ETCD": "ELEMENT", "IETESTCD": "IETEST",
                "QSTESTCD": "QSTEST", "TSPARMCD": "TSPARM"}
# dataset -> (category variable, coded variable, decode variable): one codelist per category, at value level
CATEGORY_CODELISTS = {"QS": ("QSCAT", "QSTESTCD", "QSTEST")}
ORIGIN_TYPES = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available", "Other")

_DATE = r"\d{4}-\d{2}-\d{2}"
_TZ = r"(Z|[+-]\d{2}(:\d{2})?)?"
ISO8601_TYPES = (   # first whose pattern every value matches (Define-XML 2.1 section 4.3.2, Table DataType)
    ("date", re.compile(_DATE)),
    ("datetime", re.compile(_DATE + r"T\d{2}:\d{2}:\d{2}(\.\d+)?" + _TZ)),
    ("partialDate", re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")),
    ("partialDatetime", re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?" + _TZ + r")?)?)?")),
    ("durationDatetime", re.compile(r"-?P(\d+(\.\d+)?[YMWD])*(T(\d+(\.\d+)?[HMS])+)?")),
    ("incompleteDatetime", re.compile(r"(\d{4}|-)-(\d{2}|-)-(\d{2}|-)(T(\d{2}|-):(\d{2}|-)(:(\d{2}|-))?)?")),
    ("intervalDatetime", re.compile(r"[^/]+/[^/]+")),
)


@dataclass(frozen=True, slots=True)
class DatasetInput:
    name: str
    frame: pd.DataFrame
    spec: DomainSpec


OriginRule = Callable[[str, str], tuple[d.Origin, str | None]]   # (dataset, variable) -> (origin, method OID)


def compute_length(values: pd.Series, numeric: bool) -> int:
    """Define-XML Length: 8 for numbers, else the longest value in (ASCII) bytes, at least 1.

    >>> compute_length(pd.Series(["AB", None, "ABCD"]), numeric=False)
    4
    """
    if numeric:
        return 8
    # ASCII with "replace" gives one byte per character, so the byte length is the character count
    return max(1, max((len(str(v)) for v in values.dropna()), default=1))


def is_iso8601_variable(name: str, value_domain: str | None) -> bool:
    """--DTC, --DUR and any variable the SDTMIG says holds ISO 8601 values."""
    return name.endswith("DTC") or bool(value_domain and value_domain.startswith("ISO 8601"))


def compute_iso8601_type(values: Iterable) -> str:
    """The narrowest Define-XML ISO 8601 DataType every value fits; ``partialDatetime`` when there is none.

    >>> compute_iso8601_type(["2023-01-02", "2023-02-03"])
    'date'
    >>> compute_iso8601_type(["2023-01-02", "2023-02"])
    'partialDate'
    >>> compute_iso8601_type(["2023-01-02T10:00:00", "2023-02-03"])
    'partialDatetime'
    >>> compute_iso8601_type(["P24W"])
    'durationDatetime'
    """
    present = [str(v) for v in values if v is not None and v == v and str(v) != ""]
    if not present:
        return "partialDatetime"
    for data_type, pattern in ISO8601_TYPES:
        if all(pattern.fullmatch(v) for v in present):
            return data_type
    return "text"


def compute_significant_digits(values: Iterable) -> int:
    """Most decimal places among the values (their text form as written).

    >>> compute_significant_digits([1.5, 2.25, 3])
    2
    """
    def places(v) -> int:
        text = f"{v:.10g}" if isinstance(v, float) else str(v)
        return len(text.split(".")[1]) if "." in text else 0
    return max((places(v) for v in values), default=0)


def compute_data_type(name: str, values: pd.Series, numeric: bool,
                      value_domain: str | None = None) -> tuple[str, int | None]:
    """(Define-XML DataType, SignificantDigits) of one column.

    >>> compute_data_type("AGE", pd.Series([34.0, 51.0]), True)
    ('integer', None)
    >>> compute_data_type("LBSTRESN", pd.Series([1.25, 3.0]), True)
    ('float', 2)
    >>> compute_data_type("AESTDTC", pd.Series(["2023-01-02", None]), False)
    ('date', None)
    """
    if not numeric:
        if is_iso8601_variable(name, value_domain):
            return compute_iso8601_type(values), None
        return "text", None
    present = values.dropna()
    if present.empty or (present == present.round()).all():
        return "integer", None
    return "float", compute_significant_digits(present)


def compute_text_data_type(values: pd.Series) -> tuple[str, int | None]:
    """DataType of a Char result column restricted to one test: integer/float when every value is a number."""
    present = values.dropna()
    present = present[present.astype(str) != ""]
    numbers = pd.to_numeric(present, errors="coerce")
    if present.empty or numbers.isna().any():
        return "text", None
    if (numbers == numbers.round()).all() and not present.astype(str).str.contains(r"\.").any():
        return "integer", None
    return "float", compute_significant_digits(present.astype(str))


def dataset_class(spec: DomainSpec) -> str:
    """def:Class name (Define-XML CT C103329): 'Special-Purpose' -> 'SPECIAL PURPOSE'."""
    return spec.dataset_class.upper().replace("-", " ")


def make_oid(*parts: str) -> str:
    """An OID from parts, with characters other than letters, digits, '.', '-' and '_' as '_'."""
    return ".".join(re.sub(r"[^A-Za-z0-9_\-]", "_", str(p)) for p in parts)


def present_values(values: Iterable) -> list[str]:
    return sorted({str(v) for v in values if v is not None and v == v and str(v) != ""})


def codelist_for(dataset: str, variable: str, values: Iterable[str], codes: tuple[str, ...],
                 ct: ControlledTerminology) -> d.CodeList | None:
    """A CodeList of the values present: CDISC CT when the spec names one, else None."""
    present = present_values(values)
    if not present:
        return None
    for code in codes:
        if code not in ct:
            continue
        codelist = ct.codelist(code)
        items = []
        for value in present:
            term = codelist.find(value)
            exact = term is not None and term.submission_value == value
            items.append(d.CodeListItem(value, term.code if exact else None, extended=not exact))
        return d.CodeList(make_oid("CL", dataset, variable, codelist.submission_value), codelist.name, "text",
                          tuple(items), codelist.code, CT_OID)
    return None


def sponsor_codelist(oid: str, name: str, frame: pd.DataFrame, variable: str,
                     decode: str | None = None) -> d.CodeList | None:
    """A sponsor-defined CodeList of the values of ``variable`` present in ``frame``, decoded by ``decode``."""
    present = present_values(frame[variable])
    if not present:
        return None
    decodes: dict[str, str] = {}
    if decode and decode in frame.columns:
        pairs = frame[[variable, decode]].dropna().drop_duplicates(variable)
        decodes = {str(k): str(v) for k, v in zip(pairs[variable], pairs[decode])}
    return d.CodeList(oid, name, "text", tuple(d.CodeListItem(v, decode=decodes.get(v)) for v in present))


def resolve_comment_target(where: str, targets: Sequence[tuple[str, str]]) -> str | None:
    """The target ("DM", "DM.SEX", "TS.TSVAL.AGEMAX") of an assumption at ``where`` (first fnmatch wins)."""
    for pattern, target in targets:
        if fnmatch.fnmatchcase(where, pattern):
            return target.replace("{name}", where.rsplit(".", 1)[-1])
    return None


@dataclass(slots=True)
class _Builder:
    """Accumulates the model; each ``add_*`` adds one kind of definition."""

    doc: d.DefineDocument
    ct: ControlledTerminology
    origin_rule: OriginRule
    sponsor_variables: frozenset[str]
    comment_oids: dict[str, str]          # target -> CommentDef OID
    codelists: dict[str, d.CodeList]

    def comment(self, target: str) -> str | None:
        return self.comment_oids.get(target)

    def add_dataset(self, ds: DatasetInput, parent_labels: dict[str, str]) -> None:
        refs = []
        present_keys = [k for k in ds.spec.keys if k in ds.frame.columns]
        for order, column in enumerate(ds.frame.columns, start=1):
            oid, method = self.add_variable(ds, column)
            key = present_keys.index(column) + 1 if column in present_keys else None
            var = ds.spec.variable(column)
            refs.append(d.ItemRef(oid, order, var.core == "Req", key, method, var.role or None))
        cls = dataset_class(ds.spec)
        trial_design = cls == "TRIAL DESIGN"
        is_supp = ds.name.startswith("SUPP")
        domain = ds.name[4:] if is_supp else ds.name
        self.doc.item_groups.append(d.ItemGroup(
            f"IG.{ds.name}", ds.name, domain, ds.spec.label, cls, ds.spec.structure,
            repeating=ds.name != "DM" and not trial_design, reference_data=trial_design,
            file_name=f"{ds.name.lower()}.xpt", items=tuple(refs), standard_oid=SDTMIG_OID,
            comment_oid=self.comment(ds.name),
            domain_description=parent_labels.get(domain) if is_supp else None))

    def add_variable(self, ds: DatasetInput, column: str) -> tuple[str, str | None]:
        var = ds.spec.variable(column)
        oid = f"IT.{ds.name}.{column}"
        origin, method = self.origin_rule(ds.name, column)
        data_type, digits = compute_data_type(column, ds.frame[column], var.is_numeric, var.value_domain)
        length = compute_length(ds.frame[column], var.is_numeric) if data_type in ("text", "integer", "float") else None
        valuelist = self.add_value_list(ds, column)
        codelist = None if var.is_numeric or valuelist else self.add_codelist(ds, column, var.codelists)
        self.doc.item_defs.append(d.ItemDef(oid, column, var.label, data_type, length, origin,
                                            significant_digits=digits, codelist_oid=codelist,
                                            valuelist_oid=valuelist, comment_oid=self.comment(f"{ds.name}.{column}")))
        return oid, method

    def add_codelist(self, ds: DatasetInput, column: str, codes: tuple[str, ...]) -> str | None:
        if column in self.sponsor_variables:
            codelist = sponsor_codelist(make_oid("CL", ds.name, column), f"{ds.name} {column} (sponsor-defined)",
                                        ds.frame, column, DECODE_PAIRS.get(column))
        elif codes:
            codelist = codelist_for(ds.name, column, ds.frame[column], codes, self.ct)
        else:
            codelist = None
        if codelist is None:
            return None
        self.codelists[codelist.oid] = codelist
        return codelist.oid

    def add_value_list(self, ds: DatasetInput, column: str) -> str | None:
        """The ValueListDef OID for ``column`` if it has value-level metadata, else None."""
        by = value_level_keys(ds, column)
        if by is None:
            return None
        if ds.name in CATEGORY_CODELISTS and CATEGORY_CODELISTS[ds.name][1] == column:
            return self.add_category_codelists(ds)
        refs = []
        groups = ds.frame.groupby(list(by), dropna=False, sort=True)
        for order, (values, rows) in enumerate(groups, start=1):
            values = values if isinstance(values, tuple) else (values,)
            where = [(k, str(v)) for k, v in zip(by, values) if v is not None and v == v]
            if not where or (rows[column].dropna().empty and ds.name != "TS"):
                continue   # TS keeps parameters with TSVALNF only, so their where clause can carry a comment
            wc_oid = self.add_where_clause(ds.name, where)
            refs.append(self.add_value_item(ds, column, rows, where, wc_oid, order))
        if not refs:
            return None
        vl_oid = f"VL.{ds.name}.{column}"
        self.doc.value_lists.append(d.ValueList(vl_oid, tuple(refs)))
        return vl_oid

    def add_where_clause(self, dataset: str, where: list[tuple[str, str]]) -> str:
        oid = make_oid("WC", dataset, *[p for pair in where for p in pair])
        if not any(w.oid == oid for w in self.doc.where_clauses):
            checks = tuple(d.RangeCheck(f"IT.{dataset}.{var}", (value,)) for var, value in where)
            self.doc.where_clauses.append(d.WhereClause(oid, checks))
        return oid

    def add_value_item(self, ds: DatasetInput, column: str, rows: pd.DataFrame, where: list[tuple[str, str]],
                       wc_oid: str, order: int) -> d.ItemRef:
        code = where[-1][1]
        oid = make_oid("IT", ds.name, column, *[v for _, v in where])
        origin, method = value_origin(ds, column, rows, code, self.origin_rule)
        data_type, digits = compute_text_data_type(rows[column])
        if ds.name == "TS":
            data_type = compute_iso8601_type(rows[column]) if is_iso8601_parameter(code) else "text"
            digits = None
        length = compute_length(rows[column], False) if data_type in ("text", "integer", "float") else None
        label = describe_value(ds, rows, column, code)
        comment = self.comment(f"{ds.name}.{column}.{code}")
        self.doc.item_defs.append(d.ItemDef(oid, column, label, data_type, length, origin,
                                            significant_digits=digits, comment_oid=comment))
        mandatory = bool(rows[column].notna().all())
        return d.ItemRef(oid, order, mandatory, method_oid=method, where_clause_oid=wc_oid)

    def add_category_codelists(self, ds: DatasetInput) -> str | None:
        """QSTESTCD per QSCAT: one sponsor codelist of the tests of each instrument, at value level."""
        category, coded, decode = CATEGORY_CODELISTS[ds.name]
        if category not in ds.frame.columns:
            return None
        refs = []
        for order, (cat, rows) in enumerate(ds.frame.groupby(category, sort=True), start=1):
            wc_oid = self.add_where_clause(ds.name, [(category, str(cat))])
            cl_oid = make_oid("CL", ds.name, coded, cat)
            codelist = sponsor_codelist(cl_oid, f"{coded} for {cat}", rows, coded, decode)
            if codelist is None:
                continue
            self.codelists[cl_oid] = codelist
            oid = make_oid("IT", ds.name, coded, cat)
            origin, method = self.origin_rule(ds.name, coded)
            self.doc.item_defs.append(d.ItemDef(oid, coded, f"{coded} for {cat}", "text",
                                                compute_length(rows[coded], False), origin, codelist_oid=cl_oid))
            refs.append(d.ItemRef(oid, order, True, method_oid=method, where_clause_oid=wc_oid))
        if not refs:
            return None
        vl_oid = f"VL.{ds.name}.{coded}"
        self.doc.value_lists.append(d.ValueList(vl_oid, tuple(refs)))
        return vl_oid


ISO8601_TS_PARAMETERS = ("SSTDTC", "SENDTC", "AGEMIN", "AGEMAX", "LENGTH", "DCUTDTC", "PLNTRDUR", "PTRTDUR",
                         "CRMDUR", "SDMDUR", "TRGFUDUR")


def is_iso8601_parameter(parmcd: str) -> bool:
    """TS parameters whose TSVAL is an ISO 8601 date or duration (SDTMIG 3.4 TS assumptions)."""
    return parmcd in ISO8601_TS_PARAMETERS


def value_level_keys(ds: DatasetInput, column: str) -> tuple[str, ...] | None:
    """The variables a value list on ``column`` is keyed by, or None when ``column`` has none.

    SUPP-- QVAL by QNAM; TS TSVAL by TSPARMCD; --ORRES/--STRESC in LB, VS, QS by (--CAT,) --TESTCD;
    QSTESTCD by QSCAT.
    """
    frame = ds.frame
    if ds.name.startswith("SUPP"):
        return ("QNAM",) if column == "QVAL" and "QNAM" in frame.columns else None
    if ds.name == "TS":
        return ("TSPARMCD",) if column == "TSVAL" else None
    if ds.name in CATEGORY_CODELISTS:
        category, coded, _ = CATEGORY_CODELISTS[ds.name]
        if column == coded and category in frame.columns:
            return (category,)
    testcd = f"{ds.name}TESTCD"
    if ds.name not in VALUE_LEVEL_DOMAINS or testcd not in frame.columns:
        return None
    if column not in {f"{ds.name}{suffix}" for suffix in FINDINGS_RESULTS}:
        return None
    category = f"{ds.name}CAT"
    return (category, testcd) if category in frame.columns else (testcd,)


def value_origin(ds: DatasetInput, column: str, rows: pd.DataFrame, code: str,
                 origin_rule: OriginRule) -> tuple[d.Origin, str | None]:
    """Origin and method of one value-level item.

    A SUPP-- QVAL takes the QORIG of its records (the method from ``origin_rule(SUPPxx, "QVAL.<QNAM>")``);
    a findings result whose records are all --DRVFL = "Y" is Derived with the method of --DRVFL; else the
    origin of the variable itself.
    """
    if ds.name.startswith("SUPP") and "QORIG" in rows.columns:
        qorig = present_values(rows["QORIG"])
        kind = qorig[0] if len(qorig) == 1 and qorig[0] in ORIGIN_TYPES else "Collected"
        _, method = origin_rule(ds.name, f"QVAL.{code}")
        source = "Sponsor" if kind in ("Derived", "Assigned", "Protocol") else "Investigator"
        return d.Origin(kind, source), method if kind == "Derived" else None
    drvfl = f"{ds.name}DRVFL"
    if drvfl in rows.columns and column.endswith("ORRES") and (rows[drvfl] == "Y").all():
        _, method = origin_rule(ds.name, drvfl)
        return d.Origin("Derived", "Sponsor"), method
    return origin_rule(ds.name, column)


def describe_value(ds: DatasetInput, rows: pd.DataFrame, column: str, code: str) -> str:
    """Description of a value-level item: the test name (--TEST, QLABEL, TSPARM) when present."""
    for name_variable in (f"{ds.name}TEST", "QLABEL", "TSPARM"):
        if name_variable in rows.columns:
            names = present_values(rows[name_variable])
            if names:
                return f"{names[0]} ({column})"[:200]
    return f"{column} where {code}"[:200]


def build_comments(assumptions: Sequence[tuple[str, str]], targets: Sequence[tuple[str, str]],
                   available: set[str]) -> tuple[list[d.Comment], dict[str, str], str | None]:
    """CommentDefs from the study definition's assumptions, one per target (texts of one target joined).

    Returns the comments, target -> comment OID, and the OID of the study-level comment (assumptions with
    no target, or whose target is not in ``available``), if any.
    """
    grouped: dict[str, list[str]] = {}
    for where, text in assumptions:
        target = resolve_comment_target(where, targets)
        key = target if target in available else ""
        grouped.setdefault(key, []).append(f"{where}: {text}")
    comments, oids = [], {}
    for target in sorted(grouped):
        oid = make_oid("COM", *target.split(".")) if target else "COM.STUDY"
        comments.append(d.Comment(oid, " ".join(grouped[target])))
        oids[target] = oid
    return comments, oids, oids.pop("", None)


def comment_target_names(datasets: Sequence[DatasetInput]) -> set[str]:
    """Every target a comment can attach to: datasets, variables, and TS parameters present."""
    names: set[str] = set()
    for ds in datasets:
        names.add(ds.name)
        names.update(f"{ds.name}.{c}" for c in ds.frame.columns)
        if ds.name == "TS" and "TSPARMCD" in ds.frame.columns and "TSVAL" in ds.frame.columns:
            with_value = ds.frame[ds.frame["TSVAL"].notna()]
            names.update(f"TS.TSVAL.{p}" for p in present_values(with_value["TSPARMCD"]))
    return names


def build_define(datasets: list[DatasetInput], *, ct: ControlledTerminology, origin_rule: OriginRule,
                 study_oid: str, study_name: str, study_description: str, protocol_name: str,
                 creation_datetime: str, tool_version: str, methods: list[d.Method],
                 assumptions: Sequence[tuple[str, str]] = (), comment_targets: Sequence[tuple[str, str]] = (),
                 sponsor_codelist_variables: frozenset[str] = frozenset()) -> d.DefineDocument:
    """The define.xml model of exactly ``datasets`` (see the module doc).

    Parameters
    ----------
    datasets
        The shaped frames as written, with their SDTMIG specs.
    origin_rule
        (dataset, variable) -> (Origin, MethodOID or None); value-level SUPP methods are asked as
        (SUPPxx, "QVAL.<QNAM>").
    methods
        Every MethodDef available; those no ItemRef names are left out.
    assumptions, comment_targets
        (where, text) of the study definition's assumptions, and (fnmatch pattern on where, target) rules.
    """
    doc = d.DefineDocument(study_oid, study_name, study_description, protocol_name, creation_datetime,
                           originator="fhir2cdisc", source_system="fhir2cdisc", source_system_version=tool_version,
                           standards=[d.Standard(SDTMIG_OID, "SDTMIG", "IG", "3.4"),
                                      d.Standard(CT_OID, "CDISC/NCI", "CT", ct.date, "SDTM")])
    ordered = sorted(datasets, key=lambda x: x.name)
    comments, comment_oids, study_comment = build_comments(assumptions, comment_targets,
                                                           comment_target_names(ordered))
    builder = _Builder(doc, ct, origin_rule, sponsor_codelist_variables, comment_oids, {})
    labels = {ds.name: ds.spec.label for ds in ordered}
    for ds in ordered:
        builder.add_dataset(ds, labels)
    doc.codelists = [builder.codelists[k] for k in sorted(builder.codelists)]
    used_methods = {r.method_oid for c in [*doc.item_groups, *doc.value_lists] for r in c.items if r.method_oid}
    doc.methods = [m for m in methods if m.oid in used_methods]
    doc.comments = comments
    doc.comment_oid = study_comment
    return doc
