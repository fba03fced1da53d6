"""VS (Vital Signs) from vital-sign Observations (docs/FHIR-INPUT.md, "Labs and vitals").

One VS row per measurement whose LOINC code is in ``terminology/vitals.csv``: a single Observation, or
each component of a panel (blood pressure 85354-9 with components 8480-6 systolic / 8462-4 diastolic; the
panel resource is the source of both rows).

===================  ===============================================================================
VSTESTCD/VSTEST      ``vitals.csv``
VSORRES/VSORRESU     the value as sent; the UCUM unit as CDISC unit (``units.csv``, per test where the
                     unit depends on it: ``/min`` -> beats/min for PULSE, breaths/min for RESP)
VSSTRESC/VSSTRESN/   standard unit with the factor of ``unit_conversions.csv`` (the one converter,
VSSTRESU             :func:`mappings.units.convert_lab_value`; e.g. [lb_av] x 0.45359237 = kg)
VSPOS                extension ``observation-bodyPosition`` through ``positions.csv`` (CT C71148)
VSSTAT/VSREASND      not done (status cancelled / dataAbsentReason), as LB
VSDTC                ``effectiveDateTime``
===================  ===============================================================================
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Mapping

from cdisc.issues import Issue, issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import LOINC, Resource, SubjectRecord, codings, extension_value, first_code
from mappings.algorithms import (TERMINOLOGY_DIR, assign, assign_coded, assign_dtc, hardcode_ct, where_resource,
                                 with_source)
from mappings.codes import MAP060, MAP061, MAP064, MAP065, MAP067
from mappings.lb import (NOT_DONE, SKIPPED_STATUSES, assign_original_unit, derive_standard_result, effective_dtc,
                         has_category, is_not_done, is_panel, not_done_reason, quantity_text, quantity_unit)
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition

BODY_POSITION = "http://hl7.org/fhir/StructureDefinition/observation-bodyPosition"


@dataclass(frozen=True, slots=True)
class VitalTest:
    """One row of ``vitals.csv``."""

    loinc: str
    vstestcd: str
    vstest: str
    ucum: str


@cache
def load_vital_tests() -> Mapping[str, VitalTest]:
    """LOINC code -> :class:`VitalTest` from ``terminology/vitals.csv`` (read once)."""
    with (TERMINOLOGY_DIR / "vitals.csv").open(encoding="utf-8", newline="") as fh:
        rows = [VitalTest(r["loinc"], r["vstestcd"], r["vstest"], r["ucum"]) for r in csv.DictReader(fh)]
    return MappingProxyType({t.loinc: t for t in rows})


def map_vs(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           ct: ControlledTerminology | None = None) -> MapResult:
    """VS rows for one subject's vital-sign Observations (category ``vital-signs``, or no category and a
    LOINC code of ``vitals.csv``). Panels with ``hasMember`` only are evidence."""
    ct = ct or load_ct()
    result = MapResult("VS")
    tests = load_vital_tests()
    for resource in record.of_type("Observation"):
        if not is_vital_observation(resource, tests):
            continue
        if is_panel(resource):
            result.evidence.add(resource.key)
            continue
        rows, issues, reason = map_vital_observation(resource, tests=tests, ct=ct)
        result.issues.extend(issues)
        result.rows.extend(rows)
        if not rows:
            result.unmapped[resource.key] = reason
    return result


def is_vital_observation(resource: Resource, tests: Mapping[str, VitalTest]) -> bool:
    """Category vital-signs, or no category at all and a LOINC code of the vitals table."""
    if has_category(resource, "vital-signs"):
        return True
    return not resource.get("category") and first_code(resource.get("code"), LOINC) in tests


def map_vital_observation(resource: Resource, *, tests: Mapping[str, VitalTest],
                          ct: ControlledTerminology) -> tuple[list[dict], list[Issue], str | None]:
    """The VS rows of one Observation (one, or one per known component); reason when there are none."""
    data = resource.data
    if data.get("status") in SKIPPED_STATUSES:
        return [], [], f"status {data['status']}"
    common, issues = derive_vs_common(resource, ct=ct)
    test = tests.get(first_code(data.get("code"), LOINC) or "")
    if test is not None:
        row, found = derive_vs_measurement(common, data, test, resource, "", ct=ct)
        if row is None:
            return [], issues + found, "no result and not marked not done"
        return [with_source(row, resource.key, rule="VS.from-observation")], issues + found, None
    rows = []
    for index, component in enumerate(data.get("component") or []):
        element = f"component[{index}]"
        comp_test = tests.get(first_code(component.get("code"), LOINC) or "")
        if comp_test is None:
            issues.append(issue(MAP067, f"component {index} code is not in terminology/vitals.csv",
                                where_resource(resource, f"{element}.code")))
            continue
        row, found = derive_vs_measurement(common, component, comp_test, resource, f"{element}.", ct=ct)
        issues += found
        if row is not None:
            rows.append(with_source(row, resource.key, rule="VS.from-panel-component"))
    if rows:
        return rows, issues, None
    if data.get("component"):
        return [], issues, "no vital-sign component with a known code and a result"
    shown = ", ".join(f"{s}|{c}" for s, c, _ in codings(data.get("code"))) or "no code"
    return [], issues + [issue(MAP060, f"vital sign {shown} is not in terminology/vitals.csv",
                               where_resource(resource, "code"))], f"unknown vital sign ({shown})"


def derive_vs_common(resource: Resource, *, ct: ControlledTerminology) -> tuple[dict, list[Issue]]:
    """VSDTC and VSPOS, shared by every row of the Observation."""
    dtc, element = effective_dtc(resource)
    row, issues = assign_dtc({}, "VSDTC", dtc, where=where_resource(resource, element))
    if dtc is None:
        issues.append(issue(MAP065, "vital sign has no date", where_resource(resource, "effectiveDateTime")))
    position = extension_value(resource.data, BODY_POSITION)
    row, found = assign_coded(row, "VSPOS", position if isinstance(position, dict) else None, table="positions",
                              codelist="C71148", ct=ct, where=where_resource(resource, "extension(bodyPosition)"))
    return row, issues + found


def derive_vs_measurement(common: dict, element: dict, test: VitalTest, resource: Resource, path: str, *,
                          ct: ControlledTerminology) -> tuple[dict | None, list[Issue]]:
    """One VS row from an Observation or a component (``element``); None when it has no result."""
    row = {"VSTESTCD": test.vstestcd, "VSTEST": test.vstest, **common}
    if is_not_done(element):
        row = hardcode_ct(row, "VSSTAT", NOT_DONE[1], codelist=NOT_DONE[0], ct=ct)
        return assign(row, "VSREASND", not_done_reason(element)), []
    quantity = element.get("valueQuantity") or {}
    text = quantity_text(quantity)
    if text is None:
        return None, [issue(MAP064, f"{test.vstestcd} result missing", where_resource(resource, f"{path}value[x]"))]
    row = assign(row, "VSORRES", text)
    row, issues = assign_original_unit(row, "VSORRESU", quantity, test.vstestcd, resource, f"{path}valueQuantity")
    row, converted = derive_standard_result(row, test.vstestcd, quantity, prefix="VS")
    if not converted:
        issues.append(issue(MAP061, f"{test.vstestcd} in '{quantity_unit(quantity)}' has no conversion to the "
                                    f"standard unit", where_resource(resource, f"{path}valueQuantity.code")))
    return row, issues
