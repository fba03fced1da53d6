"""Value sets of the eligibility criteria, loaded from data (one place per fact).

- ``valuesets/<name>.csv`` (``system,code,display,status``), system aliases in ``valuesets/_systems.csv``:
  ``exact`` systems match (system, code); ``prefix`` systems (ICD-10 families, ATC levels) match when the
  row's code, dots removed, starts the record's code, dots removed; ``icd10`` covers WHO ICD-10 and ICD-10-CM.
- ``lab:<LBTESTCD>``: the LOINC codes of ``terminology/labs.csv`` for that test.
- ``drug:<name>`` / ``class:<drug class>``: RxNorm and ATC codes of ``terminology/drugs.csv``
  (through :func:`mappings.drugs.load_drugs`).

>>> from interop.normalize.record import ICD10CM
>>> load_valueset("herpes-zoster").contains(ICD10CM, "B02.9")
True
>>> load_valueset("lab:HGB").contains("http://loinc.org", "718-7")
True
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from interop.normalize.record import LOINC, Resource, SubjectRecord, codings
from mappings.drugs import load_drugs

VALUESET_DIR = Path(__file__).resolve().parent / "valuesets"
LABS_FILE = Path(__file__).resolve().parent.parent / "terminology" / "labs.csv"


class ValueSetError(ValueError):
    """A value set named by a criterion does not exist or is malformed (a study-definition error)."""


@dataclass(frozen=True, slots=True)
class ValueSet:
    """Codes that stand for one concept: exact (system, code) pairs and prefix families."""

    name: str
    exact: frozenset[tuple[str, str]]
    prefixes: tuple[tuple[str, str], ...] = ()   # (system uri, code prefix without dots)
    # system uri -> its prefixes (derived from ``prefixes``: one str.startswith per lookup)
    _prefixes_of: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[str, tuple[str, ...]] = {}
        for system, prefix in self.prefixes:
            grouped[system] = grouped.get(system, ()) + (prefix,)
        object.__setattr__(self, "_prefixes_of", grouped)

    def contains(self, system: str | None, code: str | None) -> bool:
        if not system or not code:
            return False
        if (system, code) in self.exact:
            return True
        prefixes = self._prefixes_of.get(system)
        return prefixes is not None and code.replace(".", "").upper().startswith(prefixes)

    def matches(self, concept: dict | None) -> bool:
        """True when any coding of the CodeableConcept (or Coding) is in the value set."""
        return any(self.contains(system, code) for system, code, _ in codings(concept))

    def coded_in(self, record: SubjectRecord, resource_type: str, element: str = "code") -> list[Resource]:
        """The record's resources of ``resource_type`` whose ``element`` has a coding in the value set, in
        record order (the same as filtering ``record.of_type(resource_type)`` with :meth:`matches`)."""
        positions = sorted({position for (system, code), where in record.codes_of(resource_type, element).items()
                            if self.contains(system, code) for position in where})
        resources = record.of_type(resource_type)
        return [resources[position] for position in positions]

    def matching_code(self, concept: dict | None) -> str | None:
        """``system|code`` of the first coding in the value set (for evidence), else None."""
        for system, code, _ in codings(concept):
            if self.contains(system, code):
                return f"{system}|{code}"
        return None


@cache
def load_system_aliases() -> dict[str, tuple[tuple[str, ...], str]]:
    """alias -> (system URIs, match kind) from ``_systems.csv``."""
    with (VALUESET_DIR / "_systems.csv").open(encoding="utf-8", newline="") as handle:
        return {row["alias"]: (tuple(row["uri"].split()), row["match"]) for row in csv.DictReader(handle)}


def system_uri(alias: str) -> str:
    """The (first) system URI of an alias, e.g. ``system_uri("elig")``."""
    return load_system_aliases()[alias][0][0]


def _read_file_valueset(name: str) -> ValueSet:
    path = VALUESET_DIR / f"{name}.csv"
    if not path.is_file():
        raise ValueSetError(f"value set '{name}' not found ({path.name})")
    aliases = load_system_aliases()
    exact: set[tuple[str, str]] = set()
    prefixes: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row.get("system") not in aliases or not row.get("code") or row.get("status") not in ("C", "U"):
                raise ValueSetError(f"{path.name} line {line}: unknown system, empty code or status not C/U")
            uris, match = aliases[row["system"]]
            for uri in uris:
                if match == "prefix":
                    prefixes.append((uri, row["code"].replace(".", "").upper()))
                else:
                    exact.add((uri, row["code"]))
    return ValueSet(name, frozenset(exact), tuple(prefixes))


def _lab_valueset(name: str, testcd: str) -> ValueSet:
    with LABS_FILE.open(encoding="utf-8", newline="") as handle:
        codes = {(LOINC, row["loinc"]) for row in csv.DictReader(handle) if row["lbtestcd"] == testcd}
    if not codes:
        raise ValueSetError(f"value set '{name}': no LOINC code for {testcd} in labs.csv")
    return ValueSet(name, frozenset(codes))


def _drug_valueset(name: str, kind: str, value: str) -> ValueSet:
    codes = {key for key, drug in load_drugs().items()
             if (drug.name if kind == "drug" else drug.drug_class) == value}
    if not codes:
        raise ValueSetError(f"value set '{name}': no {kind} '{value}' in drugs.csv")
    return ValueSet(name, frozenset(codes))


@cache
def load_valueset(name: str) -> ValueSet:
    """The value set called ``name`` (a file name, ``lab:X``, ``drug:x`` or ``class:x``); cached.

    Raises
    ------
    ValueSetError
        When it does not exist (checked when the criteria load, never during a run).
    """
    kind, _, value = name.partition(":")
    if value and kind == "lab":
        return _lab_valueset(name, value)
    if value and kind in ("drug", "class"):
        return _drug_valueset(name, kind, value)
    return _read_file_valueset(name)


def union(names) -> ValueSet:
    """One value set holding every code of the named ones (built once per list of names)."""
    return _union(tuple(names))


@cache
def _union(names: tuple[str, ...]) -> ValueSet:
    sets = [load_valueset(n) for n in names]
    return ValueSet("+".join(names), frozenset().union(*(s.exact for s in sets)),
                    tuple(p for s in sets for p in s.prefixes))
