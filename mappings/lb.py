"""LB (Laboratory Test Results) from laboratory Observations (docs/FHIR-INPUT.md, "Labs and vitals").

One LB row per laboratory Observation whose LOINC code is in ``terminology/labs.csv``:

======================  =========================================================================
LBTESTCD/LBTEST/LBCAT/  from the LOINC row of ``labs.csv``; LBLOINC = the LOINC code
LBSPEC/LBLOINC
LBORRES/LBORRESU        the value as sent (comparator kept: ``<0.5``); the UCUM unit as CDISC UNIT
                        (``units.csv``; a unit missing there is kept as sent and reported)
LBSTRESC/LBSTRESN/      standard unit of the test with the explicit factor of ``unit_conversions.csv``
LBSTRESU                (:func:`mappings.units.convert_lab_value`: exact decimal product, no rounding);
                        a result with a comparator has LBSTRESC only (SDTMIG 3.4 LB assumption 7)
LBORNRLO/LBORNRHI,      ``referenceRange[0]`` as sent / standardised with the same factor
LBSTNRLO/LBSTNRHI
LBSTNRC                 ``referenceRange[0].text`` when the range has no low/high
LBNRIND                 ``interpretation`` through ``interpretations.csv`` (CT C78736); not derived
                        from the range when the source gives none
qualitative results     ``valueCodeableConcept`` via ``qualitative_results.csv`` (CT C102580);
                        ``valueString``: kept as sent in LBORRES, standardised when the text is listed
                        (other languages reported, MAP063), else reported (MAP062)
LBSTAT/LBREASND         ``status`` cancelled or a ``dataAbsentReason`` without a value: NOT DONE and
                        the reason's text
LBDTC                   ``effectiveDateTime`` (or ``effectivePeriod.start`` / ``effectiveInstant``)
======================  =========================================================================

VISIT/VISITNUM, LBDY, LBLOBXFL, EPOCH and LBSEQ are derived study-wide by ``cdisc.derive``.
Panels (Observations with ``hasMember`` and no value) are evidence; their members are mapped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Mapping

from cdisc.issues import Issue, issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import LOINC, SubjectRecord, codings, concept_text, first_code, Resource
from mappings.algorithms import (TERMINOLOGY_DIR, assign, assign_coded, assign_dtc, hardcode_ct, is_missing,
                                 where_resource, with_source)
from mappings.codes import MAP021, MAP060, MAP061, MAP062, MAP063, MAP064, MAP065, MAP066
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition
from mappings.units import cdisc_unit, convert_lab_value, format_decimal, to_decimal

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
NOT_DONE = ("C66789", "C49484")              # codelist ND, term NOT DONE
NOT_DONE_STATUSES = frozenset({"cancelled"})
SKIPPED_STATUSES = frozenset({"entered-in-error"})


@dataclass(frozen=True, slots=True)
class LabTest:
    """One row of ``labs.csv``."""

    loinc: str
    lbtestcd: str
    lbtest: str
    lbcat: str
    lbspec: str


@cache
def load_lab_tests() -> Mapping[str, LabTest]:
    """LOINC code -> :class:`LabTest` from ``terminology/labs.csv`` (read once)."""
    with (TERMINOLOGY_DIR / "labs.csv").open(encoding="utf-8", newline="") as fh:
        rows = [LabTest(r["loinc"], r["lbtestcd"], r["lbtest"], r["lbcat"], r["lbspec"]) for r in csv.DictReader(fh)]
    return MappingProxyType({t.loinc: t for t in rows})


@cache
def load_qualitative_text() -> Mapping[str, tuple[str, str]]:
    """Casefolded result text -> (standard result, language) from ``qualitative_results.csv``."""
    with (TERMINOLOGY_DIR / "qualitative_results.csv").open(encoding="utf-8", newline="") as fh:
        return MappingProxyType({r["code"].casefold(): (r["cdisc"], r["language"])
                                 for r in csv.DictReader(fh) if r["system"] == "text"})


# ---- shared with VS ---------------------------------------------------------------------------------

def has_category(resource: Resource, code: str) -> bool:
    """True when the Observation carries the observation-category ``code``."""
    return any(sys_ == OBSERVATION_CATEGORY and c == code
               for concept in resource.get("category") or [] for sys_, c, _ in codings(concept))


def is_panel(resource: Resource) -> bool:
    """An Observation that groups others (``hasMember``) and has no value of its own."""
    return bool(resource.get("hasMember")) and not any(k.startswith("value") for k in resource.data)


def effective_dtc(resource: Resource) -> tuple[str | None, str]:
    """The observation date and the element it came from."""
    for element in ("effectiveDateTime", "effectiveInstant"):
        if resource.get(element):
            return resource.get(element), element
    period = resource.get("effectivePeriod") or {}
    return period.get("start"), "effectivePeriod.start"


def is_not_done(element: dict) -> bool:
    """Status cancelled, or a dataAbsentReason with no value (an Observation or a component)."""
    has_value = any(k.startswith("value") for k in element)
    return element.get("status") in NOT_DONE_STATUSES or (bool(element.get("dataAbsentReason")) and not has_value)


def not_done_reason(element: dict) -> str | None:
    """The text of ``dataAbsentReason`` (its text, display or code)."""
    concept = element.get("dataAbsentReason")
    text = concept_text(concept)
    if text:
        return text
    found = codings(concept)
    return found[0][1] if found else None


def quantity_text(quantity: dict) -> str | None:
    """A Quantity's value as plain decimal text, comparator first (``"<0.5"``)."""
    number = to_decimal(quantity.get("value"))
    if number is None:
        return None
    return f"{quantity.get('comparator') or ''}{format_decimal(number)}"


def quantity_unit(quantity: dict | None) -> str | None:
    """The UCUM code of a Quantity (``code``, else ``unit``)."""
    if not quantity:
        return None
    return quantity.get("code") or quantity.get("unit")


def derive_standard_result(row: dict, testcd: str, quantity: dict, *, prefix: str) -> tuple[dict, bool]:
    """Fill <prefix>STRESC/STRESN/STRESU from a Quantity; False when the unit is not convertible."""
    converted = convert_lab_value(testcd, quantity.get("value"), quantity_unit(quantity))
    if converted is None:
        return row, False
    comparator = quantity.get("comparator") or ""
    row = assign(row, f"{prefix}STRESC", f"{comparator}{converted.text}")
    if not comparator:
        row = assign(row, f"{prefix}STRESN", converted.number)
    return assign(row, f"{prefix}STRESU", converted.cdisc_unit or converted.ucum_unit), True


def assign_original_unit(row: dict, to: str, quantity: dict, testcd: str, resource: Resource,
                         element: str) -> tuple[dict, list[Issue]]:
    """<prefix>ORRESU: the UCUM unit as a CDISC unit; an unknown one is kept as sent and reported."""
    ucum = quantity_unit(quantity)
    if ucum is None:
        return row, []
    unit = cdisc_unit(ucum, testcd)
    if unit is not None:
        return assign(row, to, unit), []
    return assign(row, to, ucum), [issue(MAP021, f"{to}: UCUM unit '{ucum}' is not in terminology/units.csv",
                                         where_resource(resource, f"{element}.code"))]


# ---- LB ------------------------------------------------------------------------------------------------

def map_lb(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           ct: ControlledTerminology | None = None) -> MapResult:
    """LB rows for one subject's laboratory Observations.

    Parameters
    ----------
    record : SubjectRecord
        The subject's resources; Observations of category ``laboratory`` (or without category but
        with a LOINC code of ``labs.csv``) are LB's.
    study, subject :
        The mapper contract (unused by LB itself: visits and flags are derived study-wide).
    ct : ControlledTerminology, optional
        CT package (default :func:`cdisc.standards.load_ct`).

    Returns
    -------
    MapResult
        ``rows`` (one per result), ``evidence`` (panels), ``unmapped`` (unknown tests, no result).
    """
    ct = ct or load_ct()
    result = MapResult("LB")
    tests = load_lab_tests()
    for resource in record.of_type("Observation"):
        if not is_lab_observation(resource, tests):
            continue
        if is_panel(resource):
            result.evidence.add(resource.key)
            continue
        row, issues, reason = map_lab_observation(resource, tests=tests, ct=ct)
        result.issues.extend(issues)
        if row is None:
            result.unmapped[resource.key] = reason
        else:
            result.rows.append(row)
    return result


def is_lab_observation(resource: Resource, tests: Mapping[str, LabTest]) -> bool:
    """Category laboratory, or no category at all and a LOINC code of the lab table."""
    if has_category(resource, "laboratory"):
        return True
    return not resource.get("category") and first_code(resource.get("code"), LOINC) in tests


def map_lab_observation(resource: Resource, *, tests: Mapping[str, LabTest],
                        ct: ControlledTerminology) -> tuple[dict | None, list[Issue], str | None]:
    """One LB row from one laboratory Observation, or (None, issues, reason) when it cannot be one."""
    data = resource.data
    if data.get("status") in SKIPPED_STATUSES:
        return None, [], f"status {data['status']}"
    loinc = first_code(data.get("code"), LOINC)
    test = tests.get(loinc) if loinc else None
    if test is None:
        shown = ", ".join(f"{s}|{c}" for s, c, _ in codings(data.get("code"))) or "no code"
        return None, [issue(MAP060, f"laboratory test {shown} is not in terminology/labs.csv",
                            where_resource(resource, "code"))], f"unknown laboratory test ({shown})"
    row = {"LBTESTCD": test.lbtestcd, "LBTEST": test.lbtest, "LBCAT": test.lbcat, "LBSPEC": test.lbspec,
           "LBLOINC": test.loinc}
    issues: list[Issue] = []
    dtc, element = effective_dtc(resource)
    row, found = assign_dtc(row, "LBDTC", dtc, where=where_resource(resource, element))
    issues += found
    if dtc is None:
        issues.append(issue(MAP065, "laboratory result has no date", where_resource(resource, "effectiveDateTime")))
    if is_not_done(data):
        row = hardcode_ct(row, "LBSTAT", NOT_DONE[1], codelist=NOT_DONE[0], ct=ct)
        row = assign(row, "LBREASND", not_done_reason(data))
        return with_source(row, resource.key, rule="LB.not-done"), issues, None
    row, found, has_result = derive_lab_result(row, resource, test, ct=ct)
    issues += found
    if not has_result:
        issues.append(issue(MAP064, f"{test.lbtestcd} result missing", where_resource(resource, "value[x]")))
        return None, issues, "no result and not marked not done"
    row, found = derive_reference_range(row, resource, test.lbtestcd)
    issues += found
    row, found = assign_coded(row, "LBNRIND", (data.get("interpretation") or [None])[0], table="interpretations",
                              codelist="C78736", ct=ct, where=where_resource(resource, "interpretation[0]"))
    issues += found
    return with_source(row, resource.key, rule="LB.from-observation"), issues, None


def derive_lab_result(row: dict, resource: Resource, test: LabTest, *,
                      ct: ControlledTerminology) -> tuple[dict, list[Issue], bool]:
    """LBORRES/LBORRESU and the standard result from value[x]; False when there is no value."""
    data = resource.data
    if "valueQuantity" in data:
        quantity = data["valueQuantity"] or {}
        text = quantity_text(quantity)
        if text is None:
            return row, [], False
        row = assign(row, "LBORRES", text)
        row, issues = assign_original_unit(row, "LBORRESU", quantity, test.lbtestcd, resource, "valueQuantity")
        row, converted = derive_standard_result(row, test.lbtestcd, quantity, prefix="LB")
        if not converted:
            issues.append(issue(MAP061, f"{test.lbtestcd} in '{quantity_unit(quantity)}' has no conversion to "
                                        f"the standard unit", where_resource(resource, "valueQuantity.code")))
        return row, issues, True
    if "valueCodeableConcept" in data:
        concept = data["valueCodeableConcept"]
        row, issues = assign_coded(row, "LBSTRESC", concept, table="qualitative_results", codelist="C102580",
                                   ct=ct, where=where_resource(resource, "valueCodeableConcept"))
        row = assign(row, "LBORRES", row.get("LBSTRESC") or concept_text(concept))
        return row, issues, not is_missing(row.get("LBORRES"))
    if "valueString" in data:
        return (*derive_qualitative_text(row, data["valueString"], resource, "LB"), True)
    if "valueInteger" in data:
        row = assign(row, "LBORRES", str(data["valueInteger"]))
        return assign(assign(row, "LBSTRESC", str(data["valueInteger"])), "LBSTRESN",
                      float(data["valueInteger"])), [], True
    return row, [], False


def derive_qualitative_text(row: dict, text: str, resource: Resource, prefix: str) -> tuple[dict, list[Issue]]:
    """<prefix>ORRES as sent; <prefix>STRESC from ``qualitative_results.csv`` when the text is listed."""
    row = assign(row, f"{prefix}ORRES", text)
    found = load_qualitative_text().get(" ".join(text.split()).casefold())
    where = where_resource(resource, "valueString")
    if found is None:
        return row, [issue(MAP062, f"result text of {len(text)} characters not in qualitative_results.csv", where)]
    standard, language = found
    row = assign(row, f"{prefix}STRESC", standard)
    if language and language != "en":
        return row, [issue(MAP063, f"result text in language '{language}' standardised to {standard}", where)]
    return row, []


def derive_reference_range(row: dict, resource: Resource, testcd: str) -> tuple[dict, list[Issue]]:
    """LBORNRLO/HI (as sent, in the result unit) and LBSTNRLO/HI (standardised); LBSTNRC from text."""
    ranges = resource.get("referenceRange") or []
    if not ranges:
        return row, []
    ref = ranges[0]
    result_unit = quantity_unit(resource.get("valueQuantity"))
    issues: list[Issue] = []
    for bound, suffix in (("low", "LO"), ("high", "HI")):
        quantity = ref.get(bound)
        if not quantity:
            continue
        unit = quantity_unit(quantity) or result_unit
        if unit == result_unit:
            row = assign(row, f"LBORNR{suffix}", quantity_text(quantity))
        else:
            issues.append(issue(MAP066, f"referenceRange {bound} in '{unit}', result in '{result_unit}'",
                                where_resource(resource, f"referenceRange[0].{bound}")))
        converted = convert_lab_value(testcd, quantity.get("value"), unit)
        if converted is not None:
            row = assign(row, f"LBSTNR{suffix}", converted.number)
    if not (ref.get("low") or ref.get("high")):
        row = assign(row, "LBSTNRC", ref.get("text"))
    return row, issues
