"""An SDTM package as our rules see it: datasets (frame + XPT metadata) and, optionally, define.xml.

Read once at the edge (``read_package``); rules receive the parsed :class:`SdtmPackage` and never
touch files. Tests build packages in memory with :func:`dataset_from_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import pandas as pd
import pyreadstat
from lxml import etree

FALLBACK_ENCODING = "cp1252"      # SAS on Windows; the CDISC pilot's XPTs are written in it


@dataclass(frozen=True)
class XptDataset:
    """One dataset: its rows and the metadata stored with it.

    Attributes
    ----------
    name : str
        Dataset name, upper case (``"AE"``, ``"SUPPAE"``).
    frame : pandas.DataFrame
        The rows; character columns as strings ("" for blank), numeric as float.
    labels : mapping
        Variable name -> label as stored.
    lengths : mapping
        Variable name -> storage length in bytes (XPT).
    types : mapping
        Variable name -> ``"Char"`` or ``"Num"``.
    label : str or None
        Dataset label.
    file : str or None
        File name it came from (``"ae.xpt"``).
    encoding : str
        Text encoding the file decoded with.
    """

    name: str
    frame: pd.DataFrame
    labels: Mapping[str, str]
    lengths: Mapping[str, int]
    types: Mapping[str, str]
    label: str | None = None
    file: str | None = None
    encoding: str = "utf-8"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.frame.columns)


@dataclass(frozen=True)
class DefineVariable:
    """An ItemDef as referenced from one dataset in define.xml."""

    dataset: str
    name: str
    data_type: str | None
    length: int | None
    codelist_oid: str | None


@dataclass(frozen=True)
class DefineDoc:
    """What our rules read from a define.xml (1.0, 2.0 or 2.1): datasets, variables, codelists."""

    file: str
    datasets: Mapping[str, tuple[DefineVariable, ...]]
    codelists: Mapping[str, frozenset[str]]       # CodeList OID -> coded values (decoded items + enumerated)
    codelist_names: Mapping[str, str] = field(default_factory=dict)

    def variables(self, dataset: str) -> tuple[DefineVariable, ...]:
        return self.datasets.get(dataset, ())


@dataclass(frozen=True)
class SdtmPackage:
    """A folder of SDTM datasets plus its define.xml, if any."""

    folder: str
    datasets: Mapping[str, XptDataset]
    define: DefineDoc | None = None

    def get(self, name: str) -> XptDataset | None:
        return self.datasets.get(name)

    @property
    def encoding(self) -> str:
        """One encoding for the whole package (for CORE): the fallback if any file needed it."""
        encodings = {d.encoding for d in self.datasets.values()}
        return FALLBACK_ENCODING if FALLBACK_ENCODING in encodings else "utf-8"


def read_xpt(path: Path) -> XptDataset:
    """Read one XPT file with pyreadstat, as UTF-8 or else cp1252.

    Character blanks stay ``""``; SAS missing numerics become NaN.
    """
    try:
        frame, meta = pyreadstat.read_xport(str(path), encoding="utf-8")
        encoding = "utf-8"
    except (UnicodeDecodeError, pyreadstat.ReadstatError):   # pyreadstat raises either for bad bytes
        frame, meta = pyreadstat.read_xport(str(path), encoding=FALLBACK_ENCODING)
        encoding = FALLBACK_ENCODING
    types = {name: ("Num" if kind in ("double", "float", "int8", "int16", "int32") else "Char")
             for name, kind in meta.readstat_variable_types.items()}
    for name, kind in types.items():
        if kind == "Char":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), "")
    name = (meta.table_name or path.stem).upper()
    return XptDataset(name, frame, MappingProxyType(dict(meta.column_names_to_labels)),
                      MappingProxyType(dict(meta.variable_storage_width)), MappingProxyType(types),
                      meta.file_label, path.name, encoding)


def dataset_from_rows(name: str, rows: list[dict], *, labels: dict | None = None,
                      lengths: dict | None = None, types: dict | None = None,
                      columns: list[str] | None = None, label: str | None = None) -> XptDataset:
    """Build an in-memory dataset (tests, and callers holding frames rather than files).

    Types default from the values (numbers -> Num), lengths from the longest value (8 for Num),
    labels to "".

    >>> ds = dataset_from_rows("AE", [{"USUBJID": "S1", "AESEQ": 1}])
    >>> ds.types["AESEQ"], ds.lengths["USUBJID"]
    ('Num', 2)
    """
    frame = pd.DataFrame(rows, columns=columns) if columns else pd.DataFrame(rows)
    inferred = {c: ("Num" if pd.api.types.is_numeric_dtype(frame[c]) else "Char") for c in frame.columns}
    types = {**inferred, **(types or {})}
    for column, kind in types.items():
        if kind == "Char" and column in frame:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
        elif column in frame:
            frame[column] = pd.to_numeric(frame[column]).astype(float)
    widths = {c: (8 if types[c] == "Num" else max([len(str(v).encode("utf-8")) for v in frame[c]] + [1]))
              for c in frame.columns}
    return XptDataset(name, frame, MappingProxyType({c: "" for c in frame.columns} | (labels or {})),
                      MappingProxyType(widths | (lengths or {})), MappingProxyType(types), label,
                      f"{name.lower()}.xpt")


def package_from_datasets(datasets: list[XptDataset], define: DefineDoc | None = None,
                          folder: str = "<memory>") -> SdtmPackage:
    return SdtmPackage(folder, MappingProxyType({d.name: d for d in datasets}), define)


def read_package(folder: Path, define: Path | None = None) -> SdtmPackage:
    """Read every ``*.xpt`` in ``folder`` and the define.xml (given, or ``folder/define.xml``)."""
    datasets = [read_xpt(p) for p in sorted(folder.iterdir()) if p.suffix.lower() == ".xpt"]
    define_path = define or (folder / "define.xml")
    doc = read_define(define_path) if define_path.is_file() else None
    return package_from_datasets(datasets, doc, str(folder))


def local(tag: object) -> str:
    """Element name without namespace (define 1.0 uses ODM 1.2, 2.x uses ODM 1.3.2)."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def attr(element, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (``def:Length`` vs ``Length``)."""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return None


def parse_define(xml: bytes, file: str = "define.xml") -> DefineDoc:
    """Parse define.xml (1.0/2.0/2.1) into the datasets, variables and codelists our rules compare."""
    root = etree.fromstring(xml, parser=etree.XMLParser(no_network=True, resolve_entities=False))
    items, codelists, names = {}, {}, {}
    for element in root.iter():
        kind = local(element.tag)
        if kind == "ItemDef":
            ref = next((c for c in element if local(c.tag) == "CodeListRef"), None)
            length = attr(element, "Length")
            items[attr(element, "OID")] = (attr(element, "Name"), attr(element, "DataType"),
                                           int(length) if length and length.isdigit() else None,
                                           attr(ref, "CodeListOID") if ref is not None else None)
        elif kind == "CodeList":
            values = {attr(c, "CodedValue") for c in element if local(c.tag) in ("CodeListItem", "EnumeratedItem")}
            codelists[attr(element, "OID")] = frozenset(v for v in values if v is not None)
            names[attr(element, "OID")] = attr(element, "Name") or ""
    datasets = {}
    for group in root.iter():
        if local(group.tag) != "ItemGroupDef":
            continue
        name = (attr(group, "Name") or "").upper()
        refs = [items.get(attr(r, "ItemOID")) for r in group if local(r.tag) == "ItemRef"]
        datasets[name] = tuple(DefineVariable(name, *ref) for ref in refs if ref is not None)
    return DefineDoc(file, MappingProxyType(datasets), MappingProxyType(codelists), MappingProxyType(names))


def read_define(path: Path) -> DefineDoc:
    return parse_define(path.read_bytes(), path.name)
