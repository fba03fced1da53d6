"""CDISC Dataset-JSON 1.1 writer and reader, from the same shaped frames and spec as the XPT.

Layout (Dataset-JSON v1.1): top-level ``datasetJSONCreationDateTime``, ``datasetJSONVersion``,
``fileOID``, ``dbLastModifiedDateTime``, ``originator``, ``sourceSystem``, ``studyOID``,
``metaDataVersionOID``, ``metaDataRef``, ``itemGroupOID``, ``isReferenceData``, ``records``,
``name``, ``label``, ``columns`` (itemOID, name, label, dataType, length, keySequence) and
``rows`` (arrays in column order, null for missing). Timestamps come from arguments, never the
clock, so the same frame gives the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson
import pandas as pd

from cdisc.codes import DJSON001
from cdisc.issues import ConversionError, Issue, Location, issue
from cdisc.standards import TRIAL_DESIGN_DOMAINS, DomainSpec

DATASET_JSON_VERSION = "1.1.0"
REQUIRED_KEYS = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name",
                 "label", "columns", "rows")


@dataclass(frozen=True, slots=True)
class SourceSystem:
    """The software that wrote the file (``sourceSystem``)."""

    name: str
    version: str


@dataclass(frozen=True, slots=True)
class DatasetJsonInfo:
    """File-level attributes of a Dataset-JSON file; ``created`` also fills dbLastModifiedDateTime."""

    created: datetime
    study_oid: str
    metadata_version_oid: str = "MDV.1"
    metadata_ref: str | None = "define.xml"
    originator: str | None = None
    source_system: SourceSystem | None = None


@dataclass(frozen=True, slots=True)
class DatasetJson:
    """What :func:`read_dataset_json` returns."""

    frame: pd.DataFrame
    name: str
    label: str
    columns: list[dict] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)


def item_oid(dataset: str, variable: str) -> str:
    """OID of a variable, as define.xml's ItemDef/@OID: ``IT.<dataset>.<variable>``."""
    return f"IT.{dataset}.{variable}"


def item_group_oid(dataset: str) -> str:
    """OID of a dataset, as define.xml's ItemGroupDef/@OID: ``IG.<dataset>``."""
    return f"IG.{dataset}"


def compute_data_type(values: pd.Series, *, numeric: bool) -> str:
    """Dataset-JSON dataType: ``string`` for Char; ``integer`` for Num whose values are all whole,
    else ``double``.

    >>> compute_data_type(pd.Series([1.0, None, 3.0]), numeric=True)
    'integer'
    >>> compute_data_type(pd.Series([1.5]), numeric=True)
    'double'
    """
    if not numeric:
        return "string"
    present = pd.to_numeric(values, errors="coerce").dropna()
    return "integer" if bool((present == present.round()).all()) else "double"


def compute_length(values: pd.Series) -> int:
    """Longest value in UTF-8 bytes (at least 1), the Char length written to the file."""
    lengths = [len(v.encode("utf-8")) for v in values if isinstance(v, str)]
    return max(lengths, default=1) or 1


def build_columns(frame: pd.DataFrame, spec: DomainSpec) -> list[dict]:
    """Column metadata in frame order, labels and types from the spec, keys from spec.keys."""
    columns = []
    for name in frame.columns:
        var = spec.variable(name)
        column = {"itemOID": item_oid(spec.name, name), "name": name, "label": var.label,
                  "dataType": compute_data_type(frame[name], numeric=var.is_numeric)}
        if not var.is_numeric:
            column["length"] = compute_length(frame[name])
        if name in spec.keys:
            column["keySequence"] = spec.keys.index(name) + 1
        columns.append(column)
    return columns


def build_rows(frame: pd.DataFrame, columns: list[dict]) -> list[list]:
    """Row arrays: str or None for strings, int/float or None for numbers."""
    converters = [convert_integer if c["dataType"] == "integer" else
                  convert_double if c["dataType"] == "double" else convert_string for c in columns]
    return [[convert(value) for convert, value in zip(converters, row)]
            for row in frame.itertuples(index=False, name=None)]


def convert_string(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" else str(value)


def convert_integer(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def convert_double(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def check_frame(frame: pd.DataFrame, spec: DomainSpec) -> list[Issue]:
    """Columns the spec does not define (DJSON001): the frame must be shaped first."""
    return [issue(DJSON001, f"{c} is not a variable of {spec.name}", Location(dataset=spec.name, variable=c))
            for c in frame.columns if c not in spec]


def build_dataset_json(frame: pd.DataFrame, *, spec: DomainSpec, info: DatasetJsonInfo,
                       dataset_label: str | None = None) -> dict:
    """The Dataset-JSON document for a shaped frame (see the module docstring for the layout)."""
    stamp = info.created.isoformat(timespec="seconds")
    columns = build_columns(frame, spec)
    document = {
        "datasetJSONCreationDateTime": stamp,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{info.study_oid}.{spec.name}",
        "dbLastModifiedDateTime": stamp,
    }
    if info.originator:
        document["originator"] = info.originator
    if info.source_system:
        document["sourceSystem"] = {"name": info.source_system.name, "version": info.source_system.version}
    document |= {"studyOID": info.study_oid, "metaDataVersionOID": info.metadata_version_oid}
    if info.metadata_ref:
        document["metaDataRef"] = info.metadata_ref
    document |= {
        "itemGroupOID": item_group_oid(spec.name),
        "isReferenceData": spec.name in TRIAL_DESIGN_DOMAINS,
        "records": len(frame),
        "name": spec.name,
        "label": spec.label if dataset_label is None else dataset_label,
        "columns": columns,
        "rows": build_rows(frame, columns),
    }
    return document


def write_dataset_json(frame: pd.DataFrame, path: str | Path, *, spec: DomainSpec, info: DatasetJsonInfo,
                       dataset_label: str | None = None) -> list[Issue]:
    """Write a shaped frame as Dataset-JSON 1.1 (atomically), or return the errors and write nothing.

    Parameters
    ----------
    frame : DataFrame
        Shaped domain (:func:`cdisc.shape.shape_domain`).
    path : str or Path
        Target file, e.g. ``datasetjson/dm.json``.
    spec : DomainSpec
        Labels, types and keys.
    info : DatasetJsonInfo
        Creation time (from the run, not the clock), study OID and other file attributes.
    """
    problems = check_frame(frame, spec)
    if problems:
        return problems
    content = orjson.dumps(build_dataset_json(frame, spec=spec, info=info, dataset_label=dataset_label))
    target = Path(path)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".tmp") as handle:
        handle.write(content)
    os.replace(handle.name, target)
    return []


def read_dataset_json(path: str | Path) -> DatasetJson:
    """Read a Dataset-JSON 1.1 file: numbers as float64 (as XPT), strings as str or None.

    Raises
    ------
    ConversionError
        DJSON001 when a required attribute is missing or a row has the wrong number of cells.
    """
    document = orjson.loads(Path(path).read_bytes())
    missing = [key for key in REQUIRED_KEYS if key not in document]
    names = [c["name"] for c in document.get("columns", [])]
    bad_rows = [i for i, row in enumerate(document.get("rows", [])) if len(row) != len(names)]
    if missing or bad_rows or document.get("records") != len(document.get("rows", [])):
        raise ConversionError(issue(DJSON001, f"{Path(path).name}: missing {missing}, "
                                              f"{len(bad_rows)} malformed row(s)", Location(file=str(path))))
    frame = pd.DataFrame(document["rows"], columns=names, dtype="object")
    for column in document["columns"]:
        name = column["name"]
        if column["dataType"] in ("integer", "double", "float", "decimal"):
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
        else:
            frame[name] = pd.Series([v if v not in (None, "") else None for v in frame[name]], dtype="object")
    attributes = {k: v for k, v in document.items() if k not in ("columns", "rows")}
    return DatasetJson(frame, document["name"], document["label"], document["columns"], attributes)
