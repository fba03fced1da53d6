"""Shape domain frames by SDTMIG metadata (STYLE 2.1): types, order, core status, SUPP--, long text.

Each step takes a frame and the :class:`~cdisc.standards.DomainSpec` and returns ``(frame, issues)``;
:func:`shape_domain` chains them. Hidden ``_``-prefixed provenance columns (``_src_file``,
``_src_ref``, ``_src_path``, ``_supp`` ...) are set aside first and returned separately.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from cdisc.codes import SHAPE001, SHAPE002, SHAPE003, SHAPE004, SHAPE005, SHAPE006, SHAPE007
from cdisc.issues import Issue, Location, issue
from cdisc.standards import DomainSpec

MAX_TEXT = 200
SUPP_COLUMN = "_supp"


class Shaped(NamedTuple):
    """Result of :func:`shape_domain`: the SDTM frame, its provenance columns, the issues."""

    frame: pd.DataFrame
    provenance: pd.DataFrame
    issues: list[Issue]


@dataclass(frozen=True, slots=True)
class Qualifier:
    """A supplemental qualifier: QNAM, QLABEL (<= 40), origin and evaluator (SDTMIG 8.4)."""

    qnam: str
    qlabel: str
    qorig: str = "CRF"
    qeval: str | None = None


def split_provenance(frame: pd.DataFrame, *, domain: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside hidden ``_`` columns; the provenance frame keeps USUBJID and --SEQ to join on.

    >>> f = pd.DataFrame({"USUBJID": ["S1"], "AESEQ": [1], "AETERM": ["RASH"], "_src_ref": ["AdverseEvent/9"]})
    >>> visible, prov = split_provenance(f, domain="AE")
    >>> list(visible.columns), list(prov.columns)
    (['USUBJID', 'AESEQ', 'AETERM'], ['USUBJID', 'AESEQ', '_src_ref'])
    """
    hidden = [c for c in frame.columns if str(c).startswith("_")]
    links = [c for c in ("USUBJID", f"{domain}SEQ") if c in frame.columns]
    return frame.drop(columns=hidden), frame.loc[:, links + hidden].copy()


def add_identifiers(frame: pd.DataFrame, spec: DomainSpec, *, studyid: str | None) -> pd.DataFrame:
    """Fill STUDYID (when given) and DOMAIN (the spec's name) where the spec has them."""
    out = frame.copy()
    if studyid is not None and "STUDYID" in spec:
        out["STUDYID"] = out["STUDYID"].where(out["STUDYID"].notna(), studyid) if "STUDYID" in out else studyid
    if "DOMAIN" in spec:
        out["DOMAIN"] = spec.name
    return out


def drop_unknown_variables(frame: pd.DataFrame, spec: DomainSpec) -> tuple[pd.DataFrame, list[Issue]]:
    """Drop columns the SDTMIG domain does not define, reporting each (SHAPE002)."""
    unknown = [c for c in frame.columns if c not in spec]
    issues = [issue(SHAPE002, f"{c} is not an SDTMIG 3.4 {spec.name} variable; dropped "
                              f"({int(frame[c].notna().sum())} non-null values)",
                    Location(dataset=spec.name, variable=c)) for c in unknown]
    return frame.drop(columns=unknown), issues


def format_char(value: object) -> str | None:
    """Text of a Char value: None for missing, integers without '.0', never 'nan'.

    >>> [format_char(v) for v in [None, float("nan"), 3.0, 2.5, " A "]]
    [None, None, '3', '2.5', ' A']
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).rstrip()
    return text or None


def coerce_types(frame: pd.DataFrame, spec: DomainSpec) -> tuple[pd.DataFrame, list[Issue]]:
    """Num variables to float64 (non-numbers reported, SHAPE003, and nulled); Char to str/None."""
    out = frame.copy()
    issues: list[Issue] = []
    for column in out.columns:
        if spec.variable(column).is_numeric:
            numbers = pd.to_numeric(out[column], errors="coerce").astype("float64")
            bad = out[column].notna() & numbers.isna() & (out[column].astype("string").str.strip() != "")
            for value in pd.unique(out.loc[bad, column]):
                issues.append(issue(SHAPE003, f"{column} value '{value}' is not a number; set to null",
                                    Location(dataset=spec.name, variable=column)))
            out[column] = numbers
        else:
            out[column] = pd.Series([format_char(v) for v in out[column]], index=out.index, dtype="object")
    return out, issues


def select_variables(frame: pd.DataFrame, spec: DomainSpec, *,
                     keep: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, list[Issue]]:
    """SDTMIG order; Req and Exp always kept (added empty if absent), Perm only if not all null or in ``keep``
    (e.g. a --DY whose --DTC is populated, null only because no subject has a reference start date).

    Reports Req variables with null values (SHAPE001, ERROR) and Exp variables entirely null
    (SHAPE004, INFO).
    """
    columns, issues = [], []
    for var in spec.variables:
        present = var.name in frame.columns
        nulls = int(frame[var.name].isna().sum()) if present else len(frame)
        all_null = nulls == len(frame)
        if var.core == "Perm" and all_null and not (present and var.name in keep):
            continue
        columns.append(var.name)
        where = Location(dataset=spec.name, variable=var.name)
        if var.core == "Req" and nulls and len(frame):
            issues.append(issue(SHAPE001, f"{var.name} is null on {nulls} of {len(frame)} records", where))
        elif var.core == "Exp" and all_null and len(frame):
            issues.append(issue(SHAPE004, f"{var.name} is null on all {len(frame)} records", where))
    out = frame.reindex(columns=columns)
    for var in spec.variables:
        if var.name in out.columns and var.name not in frame.columns:
            out[var.name] = pd.Series([math.nan if var.is_numeric else None] * len(out), index=out.index,
                                      dtype="float64" if var.is_numeric else "object")
    return out, issues


def sort_keys(frame: pd.DataFrame, spec: DomainSpec) -> list[str]:
    """The dataset's key variables present in the frame, then --SEQ if it is not a key already."""
    keys = [k for k in spec.keys if k in frame.columns]
    seq = f"{spec.name}SEQ"
    return keys + [seq] if seq in frame.columns and seq not in keys else keys


def compute_key_order(frame: pd.DataFrame, spec: DomainSpec) -> list[int]:
    """Row positions in key order (SDTMIG/define.xml KeySequence), missing values first as SAS
    sorts them, ties kept in input order. IDVARVAL sorts numerically when it holds numbers.

    >>> from cdisc.standards import load_sdtmig
    >>> f = pd.DataFrame({"STUDYID": ["X"] * 3, "USUBJID": ["S2", "S1", "S1"], "AESEQ": [1.0, 2.0, 1.0]})
    >>> compute_key_order(f, load_sdtmig().domain("AE"))
    [2, 1, 0]
    """
    columns = sort_keys(frame, spec)
    if not columns or frame.empty:
        return list(range(len(frame)))
    keys = pd.DataFrame(index=range(len(frame)))
    for i, column in enumerate(columns):
        values = frame[column].reset_index(drop=True)
        if column == "IDVARVAL":
            keys[f"n{i}"] = pd.to_numeric(values, errors="coerce")
        keys[f"k{i}"] = values if values.dtype.kind in "fiub" else values.astype("string")
    return keys.sort_values(list(keys.columns), na_position="first", kind="mergesort").index.tolist()


def check_unique_keys(frame: pd.DataFrame, spec: DomainSpec) -> list[Issue]:
    """Records sharing the same keys (plus --SEQ): one SHAPE007 naming the count and first subject."""
    columns = sort_keys(frame, spec)
    if not columns:
        return []
    duplicated = frame.duplicated(subset=columns, keep=False)
    if not duplicated.any():
        return []
    first = frame[duplicated].iloc[0]
    usubjid = str(first["USUBJID"]) if "USUBJID" in frame.columns else None
    return [issue(SHAPE007, f"{int(duplicated.sum())} records share their values of {', '.join(columns)}",
                  Location(dataset=spec.name, usubjid=usubjid))]


def shape_domain(frame: pd.DataFrame, spec: DomainSpec, *, studyid: str | None = None,
                 keep: frozenset[str] = frozenset()) -> Shaped:
    """Shape a derived domain frame for writing: identifiers, known variables, types, order, core.

    Parameters
    ----------
    frame : DataFrame
        Domain rows with SDTM variable names (after ``cdisc.derive``) and hidden ``_`` columns.
    spec : DomainSpec
        From ``load_sdtmig().domain(name)`` (``"SUPPAE"`` works too).
    studyid : str, optional
        Fills STUDYID where missing.

    Returns
    -------
    Shaped
        ``(frame, provenance, issues)``: the SDTM frame with variables in SDTMIG order, rows in
        key order (index 0..n-1), Num as float64 and Char as str/None; the hidden columns with
        USUBJID and --SEQ, row for row; SHAPE00x issues.

    Examples
    --------
    >>> from cdisc.standards import load_sdtmig
    >>> raw = pd.DataFrame({"USUBJID": ["S1"], "AETERM": ["RASH"], "AESEQ": [1], "AEDECOD": ["Rash"],
    ...                     "_src_ref": ["AdverseEvent/9"]})
    >>> shaped = shape_domain(raw, load_sdtmig().domain("AE"), studyid="LEN-CDM")
    >>> list(shaped.frame.columns)[:5], list(shaped.provenance.columns)
    (['STUDYID', 'DOMAIN', 'USUBJID', 'AESEQ', 'AETERM'], ['USUBJID', 'AESEQ', '_src_ref'])
    """
    visible, provenance = split_provenance(frame, domain=spec.name)
    visible = add_identifiers(visible, spec, studyid=studyid)
    visible, unknown = drop_unknown_variables(visible, spec)
    visible, bad_types = coerce_types(visible, spec)
    visible, core = select_variables(visible, spec, keep=keep)
    order = compute_key_order(visible, spec)
    visible = visible.iloc[order].reset_index(drop=True)
    provenance = provenance.iloc[order].reset_index(drop=True)
    return Shaped(visible, provenance, unknown + bad_types + core + check_unique_keys(visible, spec))


def read_qualifiers(qualifiers: Mapping[str, Qualifier] | Iterable[Qualifier]) -> dict[str, Qualifier]:
    """Qualifier table keyed by QNAM (accepts a mapping or an iterable of :class:`Qualifier`)."""
    if isinstance(qualifiers, Mapping):
        return dict(qualifiers)
    return {q.qnam: q for q in qualifiers}


def build_supp(frame: pd.DataFrame, *, domain: str,
               qualifiers: Mapping[str, Qualifier] | Iterable[Qualifier]) -> tuple[pd.DataFrame, list[Issue]]:
    """SUPP-- rows from the ``_supp`` column (a dict ``{QNAM: value}`` per parent row).

    IDVAR/IDVARVAL point at --SEQ (blank for DM, which links on USUBJID; SDTMIG 8.4.1). Null or
    blank values make no row. A QNAM missing from ``qualifiers`` still makes its row, with an empty
    QLABEL, and is reported (SHAPE006).

    Examples
    --------
    >>> ae = pd.DataFrame({"STUDYID": ["X"], "USUBJID": ["S1"], "AESEQ": [2], "_supp": [{"AETRTEM": "Y"}]})
    >>> supp, _ = build_supp(ae, domain="AE", qualifiers=[Qualifier("AETRTEM", "Treatment Emergent Flag", "DERIVED")])
    >>> supp.iloc[0].tolist()
    ['X', 'AE', 'S1', 'AESEQ', '2', 'AETRTEM', 'Treatment Emergent Flag', 'Y', 'DERIVED', None]
    """
    table = read_qualifiers(qualifiers)
    idvar = None if domain == "DM" else f"{domain}SEQ"
    rows, missing = [], {}
    source = frame[SUPP_COLUMN] if SUPP_COLUMN in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    for index, extra in source.items():
        for qnam, value in (extra or {}).items():
            qval = format_char(value)
            if qval is None:
                continue
            qualifier = table.get(qnam)
            if qualifier is None:
                missing.setdefault(qnam, frame.at[index, "USUBJID"])
            rows.append({
                "STUDYID": frame.at[index, "STUDYID"] if "STUDYID" in frame.columns else None,
                "RDOMAIN": domain,
                "USUBJID": frame.at[index, "USUBJID"],
                "IDVAR": idvar,
                "IDVARVAL": format_char(frame.at[index, idvar]) if idvar else None,
                "QNAM": qnam,
                "QLABEL": qualifier.qlabel if qualifier else None,
                "QVAL": qval,
                "QORIG": qualifier.qorig if qualifier else None,
                "QEVAL": qualifier.qeval if qualifier else None,
            })
    columns = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]
    issues = [issue(SHAPE006, f"QNAM {qnam} has no QLABEL in the qualifier table",
                    Location(dataset=f"SUPP{domain}", usubjid=usubjid, variable="QLABEL"))
              for qnam, usubjid in missing.items()]
    data = {c: pd.Series([row[c] for row in rows], dtype="object") for c in columns}
    return pd.DataFrame(data, columns=columns), issues


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into chunks of at most ``limit`` characters, at the last blank when there is one.

    >>> chunks = split_text("ab " * 150)
    >>> [len(c) for c in chunks], "".join(chunks) == "ab " * 150
    ([200, 198, 52], True)
    """
    chunks = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind(" ", 1, limit + 1)
        cut = cut if cut > 0 else limit
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    return chunks


def continuation_qnam(variable: str, number: int) -> str:
    """QNAM of the n-th 200-character continuation of ``variable`` (<= 8 characters): AETERM1."""
    suffix = str(number)
    return variable[: 8 - len(suffix)] + suffix


def split_long_text(frame: pd.DataFrame, spec: DomainSpec, *, variable: str, qorig: str = "CRF",
                    limit: int = MAX_TEXT) -> tuple[pd.DataFrame, list[Qualifier], list[Issue]]:
    """Keep the first ``limit`` characters of ``variable``; move the rest into ``_supp`` as
    ``<VAR>1``, ``<VAR>2`` ... (SDTMIG 3.4 section 4.5.3.2), ready for :func:`build_supp`.

    Returns
    -------
    frame : DataFrame
        With ``variable`` cut and ``_supp`` dicts extended.
    qualifiers : list of Qualifier
        One per continuation QNAM used, labelled from the spec label (e.g. "Reported Term for the
        Adverse Event 1", cut to 40 characters), with QORIG ``qorig`` (the parent's origin).
    issues : list of Issue
        One SHAPE005 (INFO) per record split.
    """
    out = frame.copy()
    supp = list(out[SUPP_COLUMN]) if SUPP_COLUMN in out.columns else [None] * len(out)
    values, used, issues = list(out[variable]), {}, []
    label = spec.variable(variable).label
    for position, value in enumerate(values):
        if not isinstance(value, str) or len(value) <= limit:
            continue
        head, *tail = split_text(value, limit)
        values[position] = head
        extra = dict(supp[position] or {})
        for number, chunk in enumerate(tail, start=1):
            qnam = continuation_qnam(variable, number)
            extra[qnam] = chunk
            used[qnam] = Qualifier(qnam, f"{label[: 40 - len(str(number)) - 1]} {number}", qorig)
        supp[position] = extra
        issues.append(issue(SHAPE005, f"{variable} has {len(value)} characters; split into "
                                      f"{len(tail)} SUPP{spec.name} continuation(s)",
                            Location(dataset=spec.name, usubjid=_usubjid(out, position), variable=variable)))
    out[variable] = pd.Series(values, index=out.index, dtype="object")
    out[SUPP_COLUMN] = pd.Series(supp, index=out.index, dtype="object")
    return out, list(used.values()), issues


def _usubjid(frame: pd.DataFrame, position: int) -> str | None:
    return str(frame["USUBJID"].iloc[position]) if "USUBJID" in frame.columns else None
