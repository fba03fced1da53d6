"""Code tables the sample generator draws on, read once from data files.

Lab, vital-sign, unit and drug codes come from the project's terminology tables
(``mappings/terminology/*.csv``, the same tables the converter maps with); the extra tables only the
generator needs live in ``interop/samples/data/`` (sources in its README).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).parent / "data"
TERMINOLOGY_DIR = Path(__file__).resolve().parents[2] / "mappings" / "terminology"


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts (all values strings)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True, slots=True)
class LabTest:
    lbtestcd: str
    loinc: str
    display: str
    panel: str
    si_unit: str
    conventional_unit: str | None
    factor_to_si: float          # conventional value * factor = SI value
    mean: float
    sd: float
    ref_low: float | None
    ref_high: float | None
    decimals: int


@dataclass(frozen=True, slots=True)
class Catalog:
    labs: dict[str, LabTest]                 # by LBTESTCD
    lab_loinc: dict[str, dict[str, str]]     # labs.csv rows by LOINC
    vitals: dict[str, dict[str, str]]        # vitals.csv rows by VSTESTCD
    drugs: dict[str, dict[str, str]]         # drugs.csv rows by name
    conditions: dict[str, dict[str, str]]
    meddra: dict[str, dict[str, str]]
    vaccines: dict[str, dict[str, str]]
    procedures: dict[str, dict[str, str]]
    ct: dict[tuple[str, str], str]           # (codelist, submission value) -> NCIt code
    frequencies: tuple[dict[str, str], ...]  # frequencies.csv rows (FHIR timing -> CDISC frequency)
    routes: tuple[dict[str, str], ...]       # routes.csv rows (SNOMED route -> CDISC route)

    def timing(self, cdisc_frequency: str) -> tuple[int, int, str]:
        """(frequency, period, periodUnit) of the first frequencies.csv row for a CDISC frequency."""
        row = next(r for r in self.frequencies if r["cdisc"] == cdisc_frequency)
        return int(row["frequency"]), int(row["period"]), row["period_unit"]

    def route(self, cdisc_route: str) -> tuple[str, str]:
        """(system, code) of the first routes.csv row for a CDISC route."""
        row = next(r for r in self.routes if r["cdisc"] == cdisc_route)
        return row["system"], row["code"]

    def rxnorm(self, drug: str) -> str:
        """The ingredient RxNorm code (first listed) of a drug in drugs.csv."""
        return self.drugs[drug]["rxnorm"].split()[0]


def _conversion_factor(conversions: list[dict[str, str]], lbtestcd: str, unit: str | None) -> float:
    for row in conversions:
        if row["lbtestcd"] == lbtestcd and row["from_unit"] == unit:
            return float(row["factor"])
    return 1.0


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Read every table once (cached)."""
    labs_rows = read_csv(TERMINOLOGY_DIR / "labs.csv")
    by_loinc = {r["loinc"]: r for r in labs_rows}
    conversions = read_csv(TERMINOLOGY_DIR / "unit_conversions.csv")
    labs: dict[str, LabTest] = {}
    for p in read_csv(DATA_DIR / "lab_profiles.csv"):
        row = by_loinc[p["loinc"]]
        conv = p["conventional_unit"] or None
        labs[p["lbtestcd"]] = LabTest(
            lbtestcd=p["lbtestcd"], loinc=p["loinc"], display=row["lbtest"], panel=p["panel"],
            si_unit=row["si_unit"], conventional_unit=conv,
            factor_to_si=_conversion_factor(conversions, p["lbtestcd"], conv) if conv else 1.0,
            mean=float(p["mean"]), sd=float(p["sd"]),
            ref_low=float(p["ref_low"]) if p["ref_low"] else None,
            ref_high=float(p["ref_high"]) if p["ref_high"] else None,
            decimals=int(p["decimals"]),
        )
    return Catalog(
        labs=labs,
        lab_loinc=by_loinc,
        vitals={r["vstestcd"]: r for r in read_csv(TERMINOLOGY_DIR / "vitals.csv")},
        drugs={r["name"]: r for r in read_csv(TERMINOLOGY_DIR / "drugs.csv")},
        conditions={r["key"]: r for r in read_csv(DATA_DIR / "conditions.csv")},
        meddra={r["key"]: r for r in read_csv(DATA_DIR / "meddra.csv")},
        vaccines={r["key"]: r for r in read_csv(DATA_DIR / "vaccines.csv")},
        procedures={r["key"]: r for r in read_csv(DATA_DIR / "procedures.csv")},
        frequencies=tuple(read_csv(TERMINOLOGY_DIR / "frequencies.csv")),
        routes=tuple(read_csv(TERMINOLOGY_DIR / "routes.csv")),
        ct={(r["codelist"], r["submission_value"]): r["ncit_code"] for r in read_csv(DATA_DIR / "ct_terms.csv")},
    )


@lru_cache(maxsize=None)
def load_story_specs(study_key: str) -> dict:
    """The curated population of one study (``data/stories-<key>.yaml``)."""
    with (DATA_DIR / f"stories-{study_key}.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)
