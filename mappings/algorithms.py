"""The small, fixed set of row-level mapping algorithms every domain reuses (STYLE 1.1, sdtm.oak).

A row is a plain dict of SDTM variable -> value (plus hidden ``_src``/``_rule``/``_supp`` keys). Every
algorithm returns a *new* row and never overwrites a value already there: when several sources feed one
variable, the visible order of calls is the priority and each later call only fills the gaps (STYLE 1.6).

=================  ==============================================================================
``assign``         a source value, verbatim
``hardcode``       a fixed value, when a condition holds
``assign_ct``      a source text recoded to a CDISC CT submission value (synonyms accepted)
``assign_coded``   a source (system, code) recoded through a terminology table, then checked against CT
``hardcode_ct``    a fixed CT term named by its NCI C-code (never by its text)
``assign_dtc``     an ISO 8601 date/time, partial dates kept partial
``assign_dose``    a FHIR Quantity -> dose and CDISC unit (units.csv)
``assign_frequency`` a FHIR Timing -> CT frequency (frequencies.csv)
``with_source``    the provenance of the row: source resource keys and rule id
``add_supp``       a value that has no standard variable (SUPP--, label from supp_qualifiers.csv)
=================  ==============================================================================

>>> from cdisc.standards import load_ct
>>> row = assign({}, "CMTRT", "Prednisone 5 mg")
>>> row = assign(row, "CMTRT", "prednisone")                   # already filled: kept
>>> row, _ = assign_ct(row, "CMDOSFRQ", "qs", codelist="C71113", ct=load_ct())
>>> row, _ = assign_dtc(row, "CMSTDTC", "2022-06")
>>> row
{'CMTRT': 'Prednisone 5 mg', 'CMDOSFRQ': 'EVERY WEEK', 'CMSTDTC': '2022-06'}
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from cdisc.ct import map_ct
from cdisc.dates import parse_dtc
from cdisc.issues import Issue, Location, issue
from cdisc.standards import ControlledTerminology
from interop.normalize.record import codings
from mappings.codes import DTC001, MAP016, MAP021
from mappings.units import cdisc_unit

TERMINOLOGY_DIR = Path(__file__).resolve().parent / "terminology"


def is_missing(value: object) -> bool:
    """True for None and blank strings (the gaps an algorithm may fill)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _fill(row: dict, to: str, value: object) -> dict:
    if is_missing(value) or not is_missing(row.get(to)):
        return row
    return {**row, to: value}


def assign(row: dict, to: str, value: object) -> dict:
    """Copy a source value verbatim into ``to`` if ``to`` is still empty.

    >>> assign({"AETERM": None}, "AETERM", "Headache")
    {'AETERM': 'Headache'}
    """
    return _fill(row, to, value)


def hardcode(row: dict, to: str, value: object, *, when: bool = True) -> dict:
    """Put a fixed (non-CT) value into ``to`` when ``when`` holds and ``to`` is still empty.

    >>> hardcode({}, "CMENTPT", "END OF STUDY", when=False)
    {}
    """
    return _fill(row, to, value) if when else row


def ct_value(ct: ControlledTerminology, codelist: str, nci_code: str) -> str:
    """The submission value of the term ``nci_code`` in ``codelist``.

    Domain modules name CT terms by C-code, so no CT text is typed into mapping code.

    Raises
    ------
    KeyError
        If the package has no such term (a programming error, not bad data).

    >>> from cdisc.standards import load_ct
    >>> ct_value(load_ct(), "C66727", "C49628")
    'SCREEN FAILURE'
    """
    for term in ct.codelist(codelist).terms:
        if term.code == nci_code:
            return term.submission_value
    raise KeyError(f"term {nci_code} is not in codelist {codelist}")


def hardcode_ct(row: dict, to: str, nci_code: str, *, codelist: str, ct: ControlledTerminology,
                when: bool = True) -> dict:
    """Put the CT term ``nci_code`` of ``codelist`` into ``to`` (when ``when``, into a gap only).

    >>> from cdisc.standards import load_ct
    >>> hardcode_ct({}, "AGEU", "C29848", codelist="C66781", ct=load_ct())
    {'AGEU': 'YEARS'}
    """
    return _fill(row, to, ct_value(ct, codelist, nci_code)) if when else row


def assign_ct(row: dict, to: str, value: str | None, *, codelist: str, ct: ControlledTerminology,
              where: Location | None = None) -> tuple[dict, list[Issue]]:
    """Recode a source text to its CT submission value (matched on submission value or synonym).

    A term outside a non-extensible codelist is not assigned (CT001); outside an extensible one it
    is kept as a sponsor extension (CT002). See :func:`cdisc.ct.map_ct`.
    """
    if is_missing(value) or not is_missing(row.get(to)):
        return row, []
    mapped, issues = map_ct([value], codelist=codelist, ct=ct, where=where)
    return _fill(row, to, mapped[0]), issues


def assign_coded(row: dict, to: str, concept: dict | None, *, table: str, codelist: str,
                 ct: ControlledTerminology, where: Location | None = None) -> tuple[dict, list[Issue]]:
    """Recode a FHIR CodeableConcept through ``terminology/<table>.csv`` (columns system, code, cdisc)
    and check the result against the CT codelist.

    The first coding found in the table wins. A concept with codings none of which is in the table
    gives MAP021 (naming each system|code); an absent concept assigns nothing and says nothing.

    >>> from cdisc.standards import load_ct
    >>> oral = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}
    >>> assign_coded({}, "EXROUTE", oral, table="routes", codelist="C66729", ct=load_ct())[0]
    {'EXROUTE': 'ORAL'}
    """
    found = codings(concept)
    if not found or not is_missing(row.get(to)):
        return row, []
    lookup = load_code_table(table)
    for system, code, _ in found:
        value = lookup.get((system or "", code or ""))
        if value is not None:
            return assign_ct(row, to, value, codelist=codelist, ct=ct, where=where)
    shown = ", ".join(f"{s}|{c}" for s, c, _ in found)
    return row, [issue(MAP021, f"{to}: {shown} is not in terminology/{table}.csv", where)]


def assign_dtc(row: dict, to: str, text: str | None, *, where: Location | None = None) -> tuple[dict, list[Issue]]:
    """Assign an ISO 8601 --DTC value, keeping its precision (partial dates stay partial).

    A value that is not an ISO 8601 date/time (without offset: ``interop.normalize`` moves times onto
    the site clock) is not assigned and gives DTC001.

    >>> assign_dtc({}, "CMSTDTC", "2023-02")[0]
    {'CMSTDTC': '2023-02'}
    >>> [i.code for i in assign_dtc({}, "CMSTDTC", "2023-02-30")[1]]
    ['DTC001']
    """
    if is_missing(text) or not is_missing(row.get(to)):
        return row, []
    parsed = parse_dtc(text)
    if parsed is None:
        return row, [issue(DTC001, f"{to}: '{text}' is not an ISO 8601 date/time", where)]
    return _fill(row, to, parsed.iso()), []


def assign_dose(row: dict, to: str, unit_to: str, quantity: dict | None, *,
                where: Location | None = None) -> tuple[dict, list[Issue]]:
    """A FHIR Quantity into a dose variable and its unit (UCUM code -> CDISC UNIT through units.csv).

    The number is kept as sent; a unit missing from units.csv is not assigned (MAP016).

    >>> assign_dose({}, "EXDOSE", "EXDOSU", {"value": 5, "system": "http://unitsofmeasure.org", "code": "mg"})[0]
    {'EXDOSE': 5, 'EXDOSU': 'mg'}
    """
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return row, []
    row = _fill(row, to, quantity["value"])
    ucum = quantity.get("code") or quantity.get("unit")
    if ucum is None:
        return row, []
    unit = cdisc_unit(ucum)
    if unit is None:
        return row, [issue(MAP016, f"{unit_to}: unit '{ucum}' is not in terminology/units.csv", where)]
    return _fill(row, unit_to, unit), []


def _number_text(value: object) -> str:
    """1 and 1.0 both give "1" (the key form of frequencies.csv)."""
    if isinstance(value, (int, float)) and float(value).is_integer():
        return str(int(value))
    return str(value)


@cache
def load_frequency_table() -> Mapping[tuple[str, str, str], str]:
    """``terminology/frequencies.csv`` as (frequency, period, periodUnit) -> CT frequency (C71113)."""
    with (TERMINOLOGY_DIR / "frequencies.csv").open(encoding="utf-8", newline="") as handle:
        return MappingProxyType({(r["frequency"], r["period"], r["period_unit"]): r["cdisc"]
                                 for r in csv.DictReader(handle)})


def assign_frequency(row: dict, to: str, timing: dict | None, *, ct: ControlledTerminology,
                     where: Location | None = None) -> tuple[dict, list[Issue]]:
    """A FHIR Timing (``repeat.frequency`` per ``period`` ``periodUnit``) into a CT frequency (C71113).

    ``repeat.frequency`` defaults to 1 (FHIR). A repeat pattern not in frequencies.csv gives MAP021.

    >>> from cdisc.standards import load_ct
    >>> weekly = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}
    >>> assign_frequency({}, "EXDOSFRQ", weekly, ct=load_ct())[0]
    {'EXDOSFRQ': 'EVERY WEEK'}
    """
    repeat = (timing or {}).get("repeat") if isinstance(timing, dict) else None
    if not isinstance(repeat, dict) or repeat.get("period") is None or not is_missing(row.get(to)):
        return row, []
    key = (_number_text(repeat.get("frequency", 1)), _number_text(repeat["period"]), str(repeat.get("periodUnit")))
    value = load_frequency_table().get(key)
    if value is None:
        return row, [issue(MAP021, f"{to}: timing {key[0]} per {key[1]} {key[2]} is not in "
                                   "terminology/frequencies.csv", where)]
    return assign_ct(row, to, value, codelist="C71113", ct=ct, where=where)


def with_source(row: dict, *keys: str, rule: str) -> dict:
    """Record where the row came from: ``_src`` (canonical resource keys, no duplicates) and ``_rule``.

    >>> with_source({"SVSTDTC": "2023-01-10"}, "Encounter/e1", rule="SV.from-encounter")
    {'SVSTDTC': '2023-01-10', '_src': ('Encounter/e1',), '_rule': 'SV.from-encounter'}
    """
    sources = tuple(dict.fromkeys(k for k in (*row.get("_src", ()), *keys) if k))
    return {**row, "_src": sources, "_rule": rule}


def add_supp(row: dict, qnam: str, value: object) -> dict:
    """Add a supplemental qualifier (``_supp[QNAM]``); labels live in ``supp_qualifiers.csv``."""
    if is_missing(value):
        return row
    return {**row, "_supp": {**row.get("_supp", {}), qnam: value}}


def where_resource(resource, element: str | None = None) -> Location:
    """The location of a resource (file, entry, key) and one of its elements, for issues."""
    src = resource.source
    return Location(file=src.file, entry=src.entry, resource=src.key, element=element)


@cache
def load_code_table(name: str) -> Mapping[tuple[str, str], str]:
    """``terminology/<name>.csv`` as (system, code) -> CDISC value (cached, read-only)."""
    with (TERMINOLOGY_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return MappingProxyType({(r["system"], r["code"]): r["cdisc"] for r in csv.DictReader(handle)})
