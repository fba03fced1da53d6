"""Medication concepts -> ingredient and drug class, through ``terminology/drugs.csv`` (one place).

Used by EX (is it a study product?), CM (CMDECOD, CMCLAS) and eligibility (prior/forbidden drugs).
Codes are matched on (system, code): RxNorm first, then ATC; display text is never matched.

>>> from interop.normalize.record import RXNORM
>>> find_drug({"coding": [{"system": RXNORM, "code": "6851"}]}).name
'methotrexate'
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from interop.normalize.record import ATC, RXNORM, Resource, SubjectRecord, codings

DRUGS_FILE = Path(__file__).resolve().parent / "terminology" / "drugs.csv"


@dataclass(frozen=True, slots=True)
class Drug:
    """One row of drugs.csv: ingredient name, drug class and the codes that denote it."""

    name: str
    drug_class: str
    rxnorm: tuple[str, ...]
    atc: tuple[str, ...]


@cache
def load_drugs() -> dict[tuple[str, str], Drug]:
    """drugs.csv indexed by (system, code) for RxNorm and ATC codes (cached)."""
    index: dict[tuple[str, str], Drug] = {}
    with DRUGS_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            drug = Drug(row["name"], row["drug_class"], tuple(row["rxnorm"].split()), tuple(row["atc"].split()))
            for code in drug.rxnorm:
                index.setdefault((RXNORM, code), drug)
            for code in drug.atc:
                index.setdefault((ATC, code), drug)
    return index


def find_drug(concept: dict | None) -> Drug | None:
    """The drug a CodeableConcept denotes: its first RxNorm coding found in drugs.csv, else ATC."""
    index = load_drugs()
    found = codings(concept)
    for system in (RXNORM, ATC):
        for sys_, code, _ in found:
            if sys_ == system and (system, code) in index:
                return index[(system, code)]
    return None


def medication_concept(resource: Resource, record: SubjectRecord) -> dict | None:
    """The medication CodeableConcept of a MedicationAdministration/Request/Statement: the inline
    ``medicationCodeableConcept``, else the ``code`` of the referenced Medication (None if neither)."""
    inline = resource.get("medicationCodeableConcept")
    if inline:
        return inline
    medication = record.resolve(resource.get("medicationReference"))
    return medication.get("code") if medication is not None else None


def drug_class_of(concept: dict | None) -> str | None:
    """The drug class of the concept's ingredient (drugs.csv ``drug_class``), if known."""
    drug = find_drug(concept)
    return drug.drug_class if drug else None
