"""SAS V5 transport (XPT) writer and reader, strict and reproducible (STYLE 2.4, 2.5).

:func:`write_xpt` runs every check first and writes nothing if any fails (all problems are
returned together). Names, labels and types come from the :class:`~cdisc.standards.DomainSpec`;
character widths come from the data. The header timestamps are taken from the ``created``
argument, never the clock, so the same frame always gives the same bytes.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyreadstat

from cdisc.codes import XPT001, XPT002, XPT003, XPT004, XPT005, XPT006, XPT007
from cdisc.issues import ConversionError, Issue, Location, Severity, issue
from cdisc.standards import DomainSpec

MAX_NAME = 8
MAX_LABEL = 40
MAX_VALUE_BYTES = 200
SAS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,7}$")
# Fixed positions of the four header timestamps in a V5 transport file (16 bytes each,
# ddMMMyy:hh:mm:ss): library header records 2 and 3, member descriptor records 6 and 7.
HEADER_TIMESTAMPS = (144, 160, 464, 480)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True, slots=True)
class XptDataset:
    """What :func:`read_xpt` returns: the data plus the transport metadata."""

    frame: pd.DataFrame
    name: str
    label: str | None
    labels: dict[str, str | None]
    widths: dict[str, int]


def transliterate(text: str) -> str:
    """ASCII form of text: accents dropped (NFKD), other characters as '?'.

    >>> transliterate("Éruption cutanée – grade 2")
    'Eruption cutanee ? grade 2'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.encode("ascii", "replace").decode("ascii")


def to_ascii(frame: pd.DataFrame, spec: DomainSpec) -> tuple[pd.DataFrame, list[Issue]]:
    """Transliterate non-ASCII Char values, one XPT004 per variable (count of records, no values)."""
    out = frame.copy()
    issues = []
    for column in out.columns:
        if out[column].dtype.kind in "fiub":
            continue
        values = out[column].tolist()
        changed = [isinstance(v, str) and not v.isascii() for v in values]
        if any(changed):
            out[column] = pd.Series([transliterate(v) if c else v for v, c in zip(values, changed)],
                                    index=out.index, dtype="object")
            issues.append(issue(XPT004, f"{column}: non-ASCII characters transliterated on {sum(changed)} "
                                        "record(s)", Location(dataset=spec.name, variable=column)))
    return out, issues


def check_dataset(name: str, label: str) -> list[Issue]:
    """Dataset name (<= 8, SAS name) and label (<= 40 ASCII)."""
    if SAS_NAME.match(name) and len(label) <= MAX_LABEL and label.isascii():
        return []
    return [issue(XPT005, f"dataset name '{name}' or label ({len(label)} characters) breaks XPT v5 limits",
                  Location(dataset=name))]


def check_variables(frame: pd.DataFrame, spec: DomainSpec) -> list[Issue]:
    """Names, labels and types of every column against XPT v5 limits and the spec."""
    issues = []
    for column in frame.columns:
        where = Location(dataset=spec.name, variable=str(column))
        var = spec.variable(column)
        if not SAS_NAME.match(str(column)):
            issues.append(issue(XPT001, f"variable name '{column}' is not a SAS V5 name (1-8 characters)", where))
        if var is None:
            issues.append(issue(XPT007, f"{column} is not a variable of {spec.name} in the spec", where))
            continue
        if len(var.label) > MAX_LABEL or not var.label.isascii():
            issues.append(issue(XPT002, f"{column} label has {len(var.label)} characters", where))
        numeric = frame[column].dtype.kind in "fiub"
        if numeric != var.is_numeric:
            issues.append(issue(XPT006, f"{column} is {var.type} in the spec but {frame[column].dtype} in the "
                                        "frame", where))
    return issues


def check_value_lengths(frame: pd.DataFrame, spec: DomainSpec) -> list[Issue]:
    """Char values longer than 200 bytes (one XPT003 per variable, first offending USUBJID)."""
    issues = []
    for column in frame.columns:
        if frame[column].dtype.kind in "fiub":
            continue
        lengths = frame[column].map(lambda v: len(v.encode("ascii", "replace")) if isinstance(v, str) else 0)
        too_long = lengths > MAX_VALUE_BYTES
        if too_long.any():
            first = too_long.idxmax()
            usubjid = str(frame.at[first, "USUBJID"]) if "USUBJID" in frame.columns else None
            issues.append(issue(XPT003, f"{column}: {int(too_long.sum())} value(s) over {MAX_VALUE_BYTES} bytes "
                                        f"(longest {int(lengths.max())})",
                                Location(dataset=spec.name, variable=str(column), usubjid=usubjid)))
    return issues


def format_sas_datetime(moment: datetime) -> bytes:
    """The 16-byte ddMMMyy:hh:mm:ss stamp of XPT headers.

    >>> format_sas_datetime(datetime(2025, 3, 28, 9, 5, 0))
    b'28MAR25:09:05:00'
    """
    text = f"{moment.day:02d}{_MONTHS[moment.month - 1]}{moment.year % 100:02d}:{moment:%H:%M:%S}"
    return text.encode("ascii")


def stamp_header(content: bytes, created: datetime) -> bytes:
    """Overwrite the four header timestamps with ``created`` (created = modified)."""
    if not (content.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD")
            and content[400:403] == b"SAS"):
        raise ConversionError(issue(XPT005, "unexpected XPT header layout from the writer; cannot set timestamps"))
    stamp = format_sas_datetime(created)
    data = bytearray(content)
    for offset in HEADER_TIMESTAMPS:
        data[offset:offset + 16] = stamp
    return bytes(data)


def prepare_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Char columns as str ('' for missing) and numbers as float64, the form pyreadstat writes."""
    out = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "fiub":
            out[column] = values.astype("float64").to_numpy()
        else:
            out[column] = pd.Series(["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                                     for v in values], dtype="object")
    return out


def write_xpt(frame: pd.DataFrame, path: str | Path, *, spec: DomainSpec, created: datetime,
              dataset_label: str | None = None) -> list[Issue]:
    """Write one domain as a SAS V5 transport file, or write nothing and return the errors.

    Parameters
    ----------
    frame : DataFrame
        Shaped domain (:func:`cdisc.shape.shape_domain`): SDTM columns only, Num as float.
    path : str or Path
        Target file (lower-case ``<domain>.xpt`` by convention); written atomically.
    spec : DomainSpec
        Gives the table name and variable labels.
    created : datetime
        Header created/modified timestamp (from the run's options or the data, not the clock).
    dataset_label : str, optional
        Dataset label; the spec's label by default.

    Returns
    -------
    list of Issue
        All problems found. If any is an ERROR the file is not written (STYLE 2.4, 2.5);
        non-ASCII text is transliterated and reported as a WARNING (XPT004).
    """
    label = spec.label if dataset_label is None else dataset_label
    ascii_frame, issues = to_ascii(frame, spec)
    issues += check_dataset(spec.name, label)
    issues += check_variables(ascii_frame, spec)
    issues += check_value_lengths(ascii_frame, spec)
    if any(i.severity is Severity.ERROR for i in issues):
        return issues
    labels = [spec.variable(c).label for c in ascii_frame.columns]
    target = Path(path)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        temporary = Path(scratch) / target.name
        pyreadstat.write_xport(prepare_frame(ascii_frame), str(temporary), file_label=label,
                               column_labels=labels, table_name=spec.name, file_format_version=5)
        temporary.write_bytes(stamp_header(temporary.read_bytes(), created))
        os.replace(temporary, target)
    return issues


def read_xpt(path: str | Path, *, encoding: str | None = None) -> XptDataset:
    """Read a V5 transport file (ours, or a sponsor's: e.g. ``encoding="cp1252"`` for the CDISC pilot).

    Blank Char values come back as None (SAS has no distinct missing text).
    """
    frame, meta = pyreadstat.read_xport(str(path), encoding=encoding)
    for column in frame.columns:
        if frame[column].dtype.kind not in "fiub":
            frame[column] = pd.Series([v if isinstance(v, str) and v != "" else None for v in frame[column]],
                                      index=frame.index, dtype="object")
    return XptDataset(frame=frame, name=meta.table_name, label=meta.file_label,
                      labels=dict(zip(meta.column_names, meta.column_labels)),
                      widths=dict(meta.variable_storage_width))
