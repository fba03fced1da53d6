"""CM (Concomitant/Prior Medications): every medicine that is not study drug.

Sources: ``MedicationStatement`` (not ``not-taken``/``entered-in-error``), ``MedicationRequest`` (active,
completed, on-hold, stopped) and ``MedicationAdministration`` (completed, in-progress, stopped), each
naming a medication that is not an investigational product of the study (those are EX's).

- CMTRT: the medication text as sent (``CodeableConcept.text``, else the first display), else the
  ingredient of drugs.csv; CMDECOD / CMCLAS: the drugs.csv ingredient / drug class (upper case), MAP014
  when the codes are not in the table.
- CMINDC: the text of the first ``reasonCode``.
- CMDOSE/CMDOSU (units.csv), CMDOSFRQ (frequencies.csv), CMROUTE (routes.csv).
- CMSTDTC/CMENDTC: effectivePeriod (statement, administration), or effectiveDateTime as the start;
  requests: ``timing.repeat.boundsPeriod``, else ``dispenseRequest.validityPeriod``, the start falling
  back to ``authoredOn``. Partial dates are kept.
- Ongoing (status active and no end): CMENRTPT ONGOING (C66728) relative to CMENTPT END OF STUDY.
"""

from __future__ import annotations

from cdisc.issues import Issue, issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import Resource, SubjectRecord, concept_text
from mappings.algorithms import (assign, assign_coded, assign_dose, assign_dtc, assign_frequency, hardcode,
                                 hardcode_ct, where_resource, with_source)
from mappings.codes import MAP014, MAP020
from mappings.drugs import find_drug, medication_concept
from mappings.ex import check_period_order, find_study_product
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition

MAPPED_STATUSES = {
    "MedicationStatement": frozenset({"active", "completed", "intended", "stopped", "on-hold", "unknown"}),
    "MedicationRequest": frozenset({"active", "completed", "on-hold", "stopped"}),
    "MedicationAdministration": frozenset({"completed", "in-progress", "stopped"}),
}
STRTPT, ONGOING = "C66728", "C53279"
END_OF_STUDY = "END OF STUDY"


def _first(items) -> dict:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def read_dosage(res: Resource) -> tuple[dict | None, dict | None, dict | None]:
    """(dose Quantity, route CodeableConcept, Timing) of any of the three medication resources."""
    if res.type == "MedicationAdministration":
        dosage = res.get("dosage") or {}
        return dosage.get("dose"), dosage.get("route"), None
    dosage = _first(res.get("dosage") if res.type == "MedicationStatement" else res.get("dosageInstruction"))
    dose = _first(dosage.get("doseAndRate")).get("doseQuantity")
    return dose, dosage.get("route"), dosage.get("timing")


def read_period(res: Resource) -> tuple[str | None, str | None]:
    """(start, end) text of a medication resource as sent."""
    if res.type == "MedicationRequest":
        timing = _first(res.get("dosageInstruction")).get("timing") or {}
        period = (timing.get("repeat") or {}).get("boundsPeriod") or \
            (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
        return period.get("start") or res.get("authoredOn"), period.get("end")
    period = res.get("effectivePeriod") or {}
    return period.get("start") or res.get("effectiveDateTime"), period.get("end")


def derive_cm_row(res: Resource, concept: dict | None, *, ct: ControlledTerminology) -> tuple[dict, list[Issue]]:
    """One CM row from one medication resource."""
    issues: list[Issue] = []
    drug = find_drug(concept)
    if drug is None:
        issues.append(issue(MAP014, "medication codes not in terminology/drugs.csv", where_resource(res, "medication")))
    row = assign({}, "CMTRT", concept_text(concept))
    row = assign(row, "CMTRT", drug.name if drug else None)
    row = assign(row, "CMDECOD", drug.name.upper() if drug else None)
    row = assign(row, "CMINDC", concept_text(_first(res.get("reasonCode"))))
    row = assign(row, "CMCLAS", drug.drug_class.upper() if drug else None)
    dose, route, timing = read_dosage(res)
    start, end = read_period(res)
    steps = [
        lambda r: assign_dose(r, "CMDOSE", "CMDOSU", dose, where=where_resource(res, "dosage")),
        lambda r: assign_frequency(r, "CMDOSFRQ", timing, ct=ct, where=where_resource(res, "dosage.timing")),
        lambda r: assign_coded(r, "CMROUTE", route, table="routes", codelist="C66729", ct=ct,
                               where=where_resource(res, "dosage.route")),
        lambda r: assign_dtc(r, "CMSTDTC", start, where=where_resource(res, "effective")),
        lambda r: assign_dtc(r, "CMENDTC", end, where=where_resource(res, "effective")),
    ]
    for step in steps:
        row, found = step(row)
        issues.extend(found)
    ongoing = res.get("status") == "active" and not end
    row = hardcode_ct(row, "CMENRTPT", ONGOING, codelist=STRTPT, ct=ct, when=ongoing)
    row = hardcode(row, "CMENTPT", END_OF_STUDY, when=ongoing)
    issues.extend(check_period_order(row, "CMSTDTC", "CMENDTC", res))
    return with_source(row, res.key, rule=f"CM.from-{res.type[len('Medication'):].lower()}"), issues


def map_cm(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           ct: ControlledTerminology | None = None) -> MapResult:
    """CM rows of one subject (see the module doc)."""
    ct = ct or load_ct()
    result = MapResult("CM")
    for rtype, statuses in MAPPED_STATUSES.items():
        for res in record.of_type(rtype):
            if find_study_product(res, record, study) is not None:
                continue                                  # study drug: EX accounts for it
            if res.get("status") not in statuses:
                result.unmapped[res.key] = f"{rtype} status '{res.get('status')}': not taken"
                continue
            concept = medication_concept(res, record)
            if not concept:
                result.unmapped[res.key] = "medication has no code and no text"
                result.issues.append(issue(MAP020, "no medication", where_resource(res, "medication")))
                continue
            if res.get("medicationReference"):
                result.evidence.add(res.get("medicationReference", {}).get("reference", ""))
            row, found = derive_cm_row(res, concept, ct=ct)
            result.rows.append(row)
            result.issues.extend(found)
    result.evidence.discard("")
    return result
