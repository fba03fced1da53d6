"""Recode values to CDISC Controlled Terminology (STYLE 1.7): CT is data, unmapped terms are reported.

>>> from cdisc.standards import load_ct
>>> values, issues = map_ct(["Yes", "no", "maybe", "maybe", None], codelist="C66742", ct=load_ct())
>>> values
['Y', 'N', None, None, None]
>>> [(i.code, i.severity.value) for i in issues]
[('CT001', 'error')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from cdisc.codes import CT001, CT002
from cdisc.issues import Issue, Location, issue
from cdisc.standards import Codelist, ControlledTerminology


def map_ct(values: Iterable[object], *, codelist: str, ct: ControlledTerminology,
           where: Location | None = None, wheres: Sequence[Location] | None = None,
           ) -> tuple[list[str | None], list[Issue]]:
    """Map each value to the submission value of its term (matched on submission value or synonym,
    ignoring case and surrounding blanks).

    Parameters
    ----------
    values : iterable
        Source values (strings; None/NaN/blank stay None and are not reported).
    codelist : str
        C-code (``"C66742"``) or codelist submission value (``"NY"``).
    ct : ControlledTerminology
        The package, from :func:`cdisc.standards.load_ct`.
    where : Location, optional
        Location reported with every issue (e.g. dataset and variable).
    wheres : sequence of Location, optional
        One location per value; the issue for a distinct term names its first occurrence.

    Returns
    -------
    mapped : list of str or None
        Submission values. A term not in a non-extensible codelist becomes None (CT001, ERROR);
        one not in an extensible codelist keeps its (trimmed) text (CT002, INFO).
    issues : list of Issue
        One issue per distinct unmapped term (ignoring case), in order of first appearance.
    """
    lookup = ct.codelist(codelist)
    mapped: list[str | None] = []
    unmapped: dict[str, tuple[str, Location]] = {}     # casefolded text -> (first spelling, where)
    for index, value in enumerate(values):
        text = normalize_text(value)
        term = lookup.find(text) if text is not None else None
        if term is not None:
            mapped.append(term.submission_value)
            continue
        if text is not None and text.casefold() not in unmapped:
            unmapped[text.casefold()] = (text, (wheres[index] if wheres is not None else where) or Location())
        mapped.append(text if (text is not None and lookup.extensible) else None)
    return mapped, [unmapped_issue(text, lookup, loc) for text, loc in unmapped.values()]


def normalize_text(value: object) -> str | None:
    """Trimmed text of a value; None for None, NaN, pandas NA and blank strings."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def unmapped_issue(text: str, codelist: Codelist, where: Location) -> Issue:
    info = CT002 if codelist.extensible else CT001
    kind = "extensible" if codelist.extensible else "non-extensible"
    return issue(info, f"'{text}' is not a term of {kind} codelist {codelist.code} "
                       f"({codelist.submission_value}, {codelist.name})", where)
