"""Build the define.xml model from the datasets actually written, their SDTMIG specs and the CT in use.

Every dataset and variable in the data is declared, and nothing more (lengths from the data). Codelists list the
values present, with NCI codes; values outside an extensible codelist are marked as extended. Origins, methods
and comments come from the caller (the pipeline knows which variables were collected, derived or assigned).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from cdisc import define as d
from cdisc.standards import ControlledTerminology, DomainSpec

SDTMIG_OID, CT_OID = "STD.SDTMIG", "STD.CT.SDTM"
FINDINGS_VALUE_LEVEL = ("ORRES", "STRESC")


@dataclass(frozen=True, slots=True)
class DatasetInput:
    name: str
    frame: pd.DataFrame
    spec: DomainSpec


OriginRule = Callable[[str, str], tuple[d.Origin, str | None]]   # (dataset, variable) -> (origin, method OID)


def compute_length(values: pd.Series, numeric: bool) -> int:
    if numeric:
        return 8
    lengths = values.dropna().map(lambda v: len(str(v).encode("ascii", "replace")))
    return max(1, int(lengths.max())) if len(lengths) else 1


def compute_data_type(name: str, values: pd.Series, numeric: bool) -> tuple[str, int | None]:
    """(Define-XML DataType, SignificantDigits) of one column."""
    if not numeric:
        return ("datetime" if name.endswith("DTC") else "text"), None
    present = values.dropna()
    if present.empty or (present == present.round()).all():
        return "integer", None
    decimals = present.map(lambda v: len(f"{v:.10g}".split(".")[1]) if "." in f"{v:.10g}" else 0)
    return "float", int(decimals.max())


def dataset_class(spec: DomainSpec) -> str:
    return spec.dataset_class.upper().replace("-", " ")


def codelist_for(dataset: str, variable: str, values: Iterable[str], codes: tuple[str, ...],
                 ct: ControlledTerminology) -> d.CodeList | None:
    """A CodeList of the values present: CDISC CT when the spec names one, else None."""
    present = sorted({str(v) for v in values if v is not None and str(v) != ""})
    if not present:
        return None
    for code in codes:
        if code not in ct:
            continue
        codelist = ct.codelist(code)
        items = []
        for value in present:
            term = codelist.find(value)
            items.append(d.CodeListItem(value, term.code if term and term.submission_value == value else None,
                                        extended=term is None or term.submission_value != value))
        return d.CodeList(f"CL.{dataset}.{variable}.{codelist.submission_value}", codelist.name, "text",
                          tuple(items), codelist.code, CT_OID)
    return None


def sponsor_codelist(dataset: str, variable: str, values: Iterable[str]) -> d.CodeList | None:
    present = sorted({str(v) for v in values if v is not None and str(v) != ""})
    if not present:
        return None
    return d.CodeList(f"CL.{dataset}.{variable}", f"{variable} (sponsor-defined)", "text",
                      tuple(d.CodeListItem(v) for v in present))


def build_define(datasets: list[DatasetInput], *, ct: ControlledTerminology, origin_rule: OriginRule,
                 study_oid: str, study_name: str, study_description: str, protocol_name: str,
                 creation_datetime: str, tool_version: str, methods: list[d.Method],
                 comments: list[d.Comment], sponsor_codelist_variables: frozenset[str] = frozenset(),
                 dataset_comments: dict[str, str] | None = None) -> d.DefineDocument:
    doc = d.DefineDocument(study_oid, study_name, study_description, protocol_name, creation_datetime,
                           originator="fhir2cdisc", source_system="fhir2cdisc", source_system_version=tool_version,
                           standards=[d.Standard(SDTMIG_OID, "SDTMIG", "IG", "3.4"),
                                      d.Standard(CT_OID, "CDISC/NCI", "CT", ct.date, "SDTM")],
                           methods=list(methods), comments=list(comments))
    codelists: dict[str, d.CodeList] = {}
    for ds in sorted(datasets, key=lambda x: x.name):
        refs = []
        for order, column in enumerate(ds.frame.columns, start=1):
            var = ds.spec.variable(column)
            oid = f"IT.{ds.name}.{column}"
            origin, method = origin_rule(ds.name, column)
            data_type, digits = compute_data_type(column, ds.frame[column], var.is_numeric)
            codelist = None
            if not var.is_numeric:
                if column in sponsor_codelist_variables:
                    codelist = sponsor_codelist(ds.name, column, ds.frame[column])
                elif var.codelists:
                    codelist = codelist_for(ds.name, column, ds.frame[column], var.codelists, ct)
            if codelist:
                codelists[codelist.oid] = codelist
            valuelist = _value_list(doc, ds, column) if _has_value_level(ds, column) else None
            doc.item_defs.append(d.ItemDef(oid, column, var.label, data_type,
                                           compute_length(ds.frame[column], var.is_numeric), origin,
                                           significant_digits=digits,
                                           codelist_oid=codelist.oid if codelist else None,
                                           valuelist_oid=valuelist))
            key = ds.spec.keys.index(column) + 1 if column in ds.spec.keys else None
            refs.append(d.ItemRef(oid, order, var.core == "Req", key, method, var.role or None))
        comment = (dataset_comments or {}).get(ds.name)
        doc.item_groups.append(d.ItemGroup(
            f"IG.{ds.name}", ds.name, ds.name[4:] if ds.name.startswith("SUPP") else ds.name, ds.spec.label,
            dataset_class(ds.spec), ds.spec.structure, repeating=ds.name != "DM" and "TRIAL" not in dataset_class(ds.spec),
            reference_data="TRIAL" in dataset_class(ds.spec), file_name=f"{ds.name.lower()}.xpt", items=tuple(refs),
            standard_oid=SDTMIG_OID, comment_oid=comment))
    doc.codelists = [codelists[k] for k in sorted(codelists)]
    return doc


def _testcd(ds: DatasetInput) -> str | None:
    if ds.name.startswith("SUPP"):
        return "QNAM"
    name = f"{ds.name}TESTCD"
    return name if name in ds.frame.columns else None


def _has_value_level(ds: DatasetInput, column: str) -> bool:
    testcd = _testcd(ds)
    if testcd is None:
        return False
    if ds.name.startswith("SUPP"):
        return column == "QVAL"
    return column in {f"{ds.name}{suffix}" for suffix in FINDINGS_VALUE_LEVEL}


def _value_list(doc: d.DefineDocument, ds: DatasetInput, column: str) -> str:
    """A ValueListDef on ``column`` with one item per --TESTCD (or QNAM) value, each with its WhereClause."""
    testcd = _testcd(ds)
    vl_oid = f"VL.{ds.name}.{column}"
    refs = []
    for order, (code, rows) in enumerate(sorted(ds.frame.groupby(testcd, dropna=True)), start=1):
        wc_oid = f"WC.{ds.name}.{testcd}.{code}"
        if not any(w.oid == wc_oid for w in doc.where_clauses):
            doc.where_clauses.append(d.WhereClause(wc_oid, f"IT.{ds.name}.{testcd}", (str(code),)))
        item_oid = f"IT.{ds.name}.{column}.{code}"
        values = rows[column]
        numeric = pd.to_numeric(values.dropna(), errors="coerce").notna().all() and values.notna().any()
        data_type = "float" if numeric and not ds.name.startswith("SUPP") else "text"
        digits = None
        if data_type == "float":
            as_numbers = pd.to_numeric(values.dropna())
            if (as_numbers == as_numbers.round()).all():
                data_type = "integer"
            else:
                digits = int(values.dropna().map(lambda v: len(str(v).split(".")[1]) if "." in str(v) else 0).max())
        doc.item_defs.append(d.ItemDef(item_oid, column, f"{column} for {testcd} {code}"[:200], data_type,
                                       compute_length(values, False), d.Origin("Collected", "Investigator"),
                                       significant_digits=digits))
        refs.append(d.ItemRef(item_oid, order, False, where_clause_oid=wc_oid))
    doc.value_lists.append(d.ValueList(vl_oid, tuple(refs)))
    return vl_oid
