"""Small builders of FHIR R4 resource dicts and of a SubjectRecord, for tests (STYLE 4).

Each builder returns a plain resource dict shaped as docs/FHIR-INPUT.md describes; every argument has a
sensible default so a test names only what it is about. ``**extra`` is merged last into the resource,
so a test can add or override any element. References are written ``"Type/id"``; :func:`record` also
normalises ``urn:uuid:<id>`` and absolute ``.../Type/id`` references, as ``interop.normalize`` does.

>>> rec = record(patient("p1"), research_subject("rs1", patient="p1"), research_study())
>>> rec.key, [r.key for r in rec.of_type("ResearchSubject")], "ResearchStudy/len-cle" in rec.index
('Patient/p1', ['ResearchSubject/rs1'], True)

Other engineers append their own builders at the END of this file only.
"""

from __future__ import annotations

import re

from interop.normalize.record import ATC, LOINC, RXNORM, SNOMED, UCUM, Resource, SourceRef, SubjectRecord

EX = "https://example.org/fhir2cdisc"
MDR = "http://terminology.hl7.org/CodeSystem/mdr"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
OMB = "urn:oid:2.16.840.1.113883.6.238"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
US_CORE_BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DISCONTINUATION_REASON = f"{EX}/StructureDefinition/discontinuation-reason"

# SNOMED routes used in the samples (docs/FHIR-INPUT.md, Medications)
ORAL = "26643006"
SUBCUTANEOUS = "34206005"

# Resource types shared by many patients (in the record's index only): the converter's own list.
from interop.normalize.inputs import SHARED_TYPES  # noqa: E402


def _ref(type_: str, id_: str | None) -> dict | None:
    if id_ is None:
        return None
    return {"reference": id_ if "/" in id_ or ":" in id_ else f"{type_}/{id_}"}


def _clean(resource: dict, extra: dict) -> dict:
    """Drop None-valued elements and merge ``extra`` last."""
    out = {k: v for k, v in resource.items() if v is not None}
    out.update(extra)
    return out


def _concept(system: str | None, code: str | None, display: str | None = None, text: str | None = None) -> dict | None:
    if code is None and text is None:
        return None
    out: dict = {}
    if code is not None:
        coding = {"system": system, "code": code}
        if display:
            coding["display"] = display
        out["coding"] = [coding]
    if text:
        out["text"] = text
    return out


def _period(start: str | None, end: str | None) -> dict | None:
    if start is None and end is None:
        return None
    return {k: v for k, v in (("start", start), ("end", end)) if v is not None}


def _quantity(value, unit: str | None) -> dict | None:
    if value is None:
        return None
    out = {"value": value}
    if unit:
        out.update({"unit": unit, "system": UCUM, "code": unit})
    return out


def _medication(rxnorm: str | None, text: str | None, atc: str | None = None) -> dict:
    coding = []
    if rxnorm:
        coding.append({"system": RXNORM, "code": rxnorm})
    if atc:
        coding.append({"system": ATC, "code": atc})
    out: dict = {}
    if coding:
        out["coding"] = coding
    if text:
        out["text"] = text
    return out


def _timing(frequency: int | None, period: float | None, period_unit: str | None) -> dict | None:
    if frequency is None and period is None:
        return None
    repeat = {"frequency": frequency if frequency is not None else 1}
    if period is not None:
        repeat["period"] = period
    if period_unit is not None:
        repeat["periodUnit"] = period_unit
    return {"repeat": repeat}


# ---- study membership -----------------------------------------------------------------------------

def research_study(id: str = "len-cle", *, value: str = "LEN-CLE", arms: tuple[str, ...] = ("LEN5", "MTX"),
                   **extra) -> dict:
    """A ResearchStudy with the project study identifier and its arms (``arm[].name`` = ARMCD)."""
    return _clean({
        "resourceType": "ResearchStudy", "id": id, "status": "active",
        "identifier": [{"system": f"{EX}/study", "value": value}],
        "arm": [{"name": a} for a in arms] or None,
    }, extra)


def research_subject(id: str = "rs1", *, patient: str = "p1", study: str = "len-cle", subject_id: str | None = "001",
                     study_key: str = "len-cle", status: str = "on-study", start: str | None = None,
                     end: str | None = None, assigned_arm: str | None = None, actual_arm: str | None = None,
                     consent: str | None = None, discontinuation: tuple[str, str] | None = None, **extra) -> dict:
    """A ResearchSubject; ``discontinuation`` = (NCIt C-code, CDISC submission value) of NCOMPLT."""
    ext = None
    if discontinuation is not None:
        ext = [{"url": DISCONTINUATION_REASON,
                "valueCoding": {"system": NCIT, "code": discontinuation[0], "display": discontinuation[1]}}]
    return _clean({
        "resourceType": "ResearchSubject", "id": id, "extension": ext,
        "identifier": ([{"system": f"{EX}/subject-id/{study_key}", "value": subject_id}]
                       if subject_id is not None else None),
        "status": status, "period": _period(start, end),
        "study": _ref("ResearchStudy", study), "individual": _ref("Patient", patient),
        "assignedArm": assigned_arm, "actualArm": actual_arm, "consent": _ref("Consent", consent),
    }, extra)


def consent(id: str = "c1", *, patient: str = "p1", date_time: str | None = "2023-01-05",
            status: str = "active", **extra) -> dict:
    """A research Consent; ``dateTime`` is the informed consent date (RFICDTC)."""
    return _clean({
        "resourceType": "Consent", "id": id, "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
        "patient": _ref("Patient", patient), "dateTime": date_time,
    }, extra)


# ---- patient -------------------------------------------------------------------------------------

def patient(id: str = "p1", *, gender: str | None = "female", birth_date: str | None = "1970-05-15",
            deceased: str | None = None, races: tuple[tuple[str, str], ...] = (),
            ethnicity: tuple[str, str] | None = None, birthsex: str | None = None, **extra) -> dict:
    """A Patient; ``races``/``ethnicity`` are (OMB code, display) pairs in US Core extensions."""
    ext = []
    if races:
        ext.append({"url": US_CORE_RACE, "extension": [
            {"url": "ombCategory", "valueCoding": {"system": OMB, "code": c, "display": d}} for c, d in races
        ] + [{"url": "text", "valueString": ", ".join(d for _, d in races)}]})
    if ethnicity is not None:
        ext.append({"url": US_CORE_ETHNICITY, "extension": [
            {"url": "ombCategory", "valueCoding": {"system": OMB, "code": ethnicity[0], "display": ethnicity[1]}},
            {"url": "text", "valueString": ethnicity[1]}]})
    if birthsex is not None:
        ext.append({"url": US_CORE_BIRTHSEX, "valueCode": birthsex})
    return _clean({
        "resourceType": "Patient", "id": id, "extension": ext or None,
        "gender": gender, "birthDate": birth_date, "deceasedDateTime": deceased,
    }, extra)


# ---- visits and observations ----------------------------------------------------------------------

def encounter(id: str = "e1", *, patient: str = "p1", start: str | None = "2023-01-10",
              end: str | None = None, type_text: str | None = None, status: str = "finished", **extra) -> dict:
    """An ambulatory visit Encounter (``type_text`` e.g. "Unscheduled")."""
    return _clean({
        "resourceType": "Encounter", "id": id, "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"text": type_text}] if type_text else None,
        "subject": _ref("Patient", patient), "period": _period(start, end),
    }, extra)


def observation(id: str = "o1", *, patient: str = "p1", code: str = "718-7", system: str = LOINC,
                value=None, unit: str | None = None, category: str | None = "laboratory",
                effective: str | None = "2023-01-10", encounter: str | None = None,
                low=None, high=None, interpretation: str | None = None, value_code: str | None = None,
                value_string: str | None = None, status: str = "final",
                components: list[dict] | None = None, **extra) -> dict:
    """An Observation; ``value`` + ``unit`` (UCUM) give valueQuantity, ``value_code`` a SNOMED concept."""
    ref_range = None
    if low is not None or high is not None:
        ref_range = [{k: _quantity(v, unit) for k, v in (("low", low), ("high", high)) if v is not None}]
    return _clean({
        "resourceType": "Observation", "id": id, "status": status,
        "category": ([{"coding": [{"system": OBS_CATEGORY, "code": category}]}] if category else None),
        "code": _concept(system, code), "subject": _ref("Patient", patient),
        "encounter": _ref("Encounter", encounter), "effectiveDateTime": effective,
        "valueQuantity": _quantity(value, unit),
        "valueCodeableConcept": _concept(SNOMED, value_code),
        "valueString": value_string, "referenceRange": ref_range,
        "interpretation": ([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                          "code": interpretation}]}] if interpretation else None),
        "component": components,
    }, extra)


def condition(id: str = "cond1", *, patient: str = "p1", code: str | None = "200936003", system: str = SNOMED,
              text: str | None = None, onset: str | None = None, abatement: str | None = None,
              clinical_status: str | None = "active", verification_status: str | None = "confirmed",
              category: str | None = "problem-list-item", recorded_date: str | None = None, **extra) -> dict:
    """A Condition coded in SNOMED (or ``system``), with optional onset/abatement (partial allowed)."""
    return _clean({
        "resourceType": "Condition", "id": id,
        "clinicalStatus": ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": clinical_status}]} if clinical_status else None),
        "verificationStatus": ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                            "code": verification_status}]} if verification_status else None),
        "category": ([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                   "code": category}]}] if category else None),
        "code": _concept(system, code, text=text), "subject": _ref("Patient", patient),
        "onsetDateTime": onset, "abatementDateTime": abatement, "recordedDate": recorded_date,
    }, extra)


# ---- medications ---------------------------------------------------------------------------------

def medication(id: str = "med1", *, rxnorm: str | None = "342369", text: str | None = None,
               atc: str | None = None, **extra) -> dict:
    """A Medication resource (shared; referenced by ``medicationReference``)."""
    return _clean({"resourceType": "Medication", "id": id, "code": _medication(rxnorm, text, atc) or None}, extra)


def medication_administration(id: str = "ma1", *, patient: str = "p1", rxnorm: str | None = "342369",
                              text: str | None = None, medication_ref: str | None = None,
                              start: str | None = "2023-01-10", end: str | None = None,
                              effective: str | None = None, dose=5, unit: str | None = "mg",
                              route: str | None = ORAL, status: str = "completed",
                              status_reason: str | None = None, request: str | None = None, **extra) -> dict:
    """A MedicationAdministration: ``start``/``end`` give effectivePeriod, ``effective`` effectiveDateTime."""
    dosage = {}
    if dose is not None:
        dosage["dose"] = _quantity(dose, unit)
    if route is not None:
        dosage["route"] = _concept(SNOMED, route)
    use_period = effective is None
    return _clean({
        "resourceType": "MedicationAdministration", "id": id, "status": status,
        "statusReason": [{"text": status_reason}] if status_reason else None,
        "medicationCodeableConcept": None if medication_ref else _medication(rxnorm, text),
        "medicationReference": _ref("Medication", medication_ref),
        "subject": _ref("Patient", patient),
        "effectivePeriod": _period(start, end) if use_period else None,
        "effectiveDateTime": effective,
        "request": _ref("MedicationRequest", request), "dosage": dosage or None,
    }, extra)


def _dosage(dose, unit, route, frequency, period, period_unit, text=None) -> dict | None:
    out: dict = {}
    if text:
        out["text"] = text
    timing = _timing(frequency, period, period_unit)
    if timing:
        out["timing"] = timing
    if route is not None:
        out["route"] = _concept(SNOMED, route)
    if dose is not None:
        out["doseAndRate"] = [{"doseQuantity": _quantity(dose, unit)}]
    return out or None


def medication_request(id: str = "mr1", *, patient: str = "p1", rxnorm: str | None = "6851",
                       text: str | None = None, atc: str | None = None, medication_ref: str | None = None,
                       authored_on: str | None = "2023-01-10", dose=15, unit: str | None = "mg",
                       route: str | None = ORAL, frequency: int | None = 1, period: float | None = 1,
                       period_unit: str | None = "wk", start: str | None = None, end: str | None = None,
                       status: str = "active", intent: str = "order",
                       reason: tuple[str, str, str] | None = None, **extra) -> dict:
    """A MedicationRequest; ``start``/``end`` fill dispenseRequest.validityPeriod; ``reason`` =
    (system, code, display) for reasonCode."""
    return _clean({
        "resourceType": "MedicationRequest", "id": id, "status": status, "intent": intent,
        "medicationCodeableConcept": None if medication_ref else _medication(rxnorm, text, atc),
        "medicationReference": _ref("Medication", medication_ref),
        "subject": _ref("Patient", patient), "authoredOn": authored_on,
        "reasonCode": [_concept(*reason)] if reason else None,
        "dosageInstruction": ([d] if (d := _dosage(dose, unit, route, frequency, period, period_unit)) else None),
        "dispenseRequest": ({"validityPeriod": _period(start, end)} if (start or end) else None),
    }, extra)


def medication_statement(id: str = "ms1", *, patient: str = "p1", rxnorm: str | None = "8640",
                         text: str | None = None, atc: str | None = None, medication_ref: str | None = None,
                         start: str | None = "2022-06", end: str | None = None, effective: str | None = None,
                         dose=None, unit: str | None = "mg", route: str | None = None,
                         frequency: int | None = None, period: float | None = None,
                         period_unit: str | None = None, status: str = "active",
                         reason: tuple[str, str, str] | None = None, **extra) -> dict:
    """A MedicationStatement (other medicines taken); ``start``/``end`` give effectivePeriod unless
    ``effective`` (effectiveDateTime) is given; ``reason`` = (system, code, display)."""
    use_period = effective is None
    return _clean({
        "resourceType": "MedicationStatement", "id": id, "status": status,
        "medicationCodeableConcept": None if medication_ref else _medication(rxnorm, text, atc),
        "medicationReference": _ref("Medication", medication_ref),
        "subject": _ref("Patient", patient),
        "effectivePeriod": _period(start, end) if use_period else None,
        "effectiveDateTime": effective,
        "reasonCode": [_concept(*reason)] if reason else None,
        "dosage": ([d] if (d := _dosage(dose, unit, route, frequency, period, period_unit)) else None),
    }, extra)


# ---- adverse events and questionnaires ---------------------------------------------------------------

def adverse_event(id: str = "ae1", *, patient: str = "p1", meddra: str | None = None, text: str | None = "Rash",
                  date: str | None = "2023-02-01", end: str | None = None, serious: bool | None = False,
                  criteria: tuple[str, ...] = (), severity: str | None = "mild", grade: int | None = None,
                  outcome: str | None = None, causality: str | None = None, suspect: str | None = None,
                  action: tuple[str, str] | None = None, **extra) -> dict:
    """An R4 AdverseEvent (extensions as docs/FHIR-INPUT.md); ``action`` = (NCIt code, ACN value)."""
    term = "http://terminology.hl7.org/CodeSystem"
    ext = []
    if end is not None:
        ext.append({"url": f"{EX}/StructureDefinition/ae-end-date", "valueDateTime": end})
    for c in criteria:
        ext.append({"url": f"{EX}/StructureDefinition/ae-serious-criterion", "valueCode": c})
    if grade is not None:
        ext.append({"url": f"{EX}/StructureDefinition/ctcae-grade", "valueInteger": grade})
    if action is not None:
        ext.append({"url": f"{EX}/StructureDefinition/ae-action-taken",
                    "valueCoding": {"system": NCIT, "code": action[0], "display": action[1]}})
    suspect_entity = None
    if suspect is not None:
        suspect_entity = [{"instance": {"reference": suspect}}]
        if causality is not None:
            suspect_entity[0]["causality"] = [{"assessment": {"coding": [
                {"system": f"{term}/adverse-event-causality-assess", "code": causality}]}}]
    return _clean({
        "resourceType": "AdverseEvent", "id": id, "actuality": "actual", "extension": ext or None,
        "subject": _ref("Patient", patient), "event": _concept(MDR, meddra, text=text),
        "date": date, "recordedDate": date,
        "seriousness": (None if serious is None else {"coding": [{"system": f"{term}/adverse-event-seriousness",
                                                                   "code": "serious" if serious else "non-serious"}]}),
        "severity": ({"coding": [{"system": f"{term}/adverse-event-severity", "code": severity}]}
                     if severity else None),
        "outcome": ({"coding": [{"system": f"{term}/adverse-event-outcome", "code": outcome}]} if outcome else None),
        "suspectEntity": suspect_entity,
    }, extra)


def questionnaire_response(id: str = "qr1", *, patient: str = "p1", questionnaire: str = f"{EX}/Questionnaire/dlqi|1.0",
                           answers: dict | None = None, authored: str | None = "2023-01-10",
                           encounter: str | None = None, status: str = "completed", **extra) -> dict:
    """A QuestionnaireResponse; ``answers`` maps linkId -> value (int, float, bool, str, or a Coding dict)."""
    items = []
    for link_id, value in (answers or {}).items():
        if isinstance(value, bool):
            answer = {"valueBoolean": value}
        elif isinstance(value, int):
            answer = {"valueInteger": value}
        elif isinstance(value, float):
            answer = {"valueDecimal": value}
        elif isinstance(value, dict):
            answer = {"valueCoding": value}
        else:
            answer = {"valueString": value}
        items.append({"linkId": link_id, "answer": [answer]})
    return _clean({
        "resourceType": "QuestionnaireResponse", "id": id, "status": status, "questionnaire": questionnaire,
        "subject": _ref("Patient", patient), "encounter": _ref("Encounter", encounter),
        "authored": authored, "item": items or None,
    }, extra)


# ---- the record ----------------------------------------------------------------------------------

_ABSOLUTE = re.compile(r"^(?:https?://.*/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/.*)?$")


def _normalise_reference(ref: str, ids: dict[str, str]) -> str:
    if ref.startswith("urn:uuid:"):
        return ids.get(ref[len("urn:uuid:"):], ref)
    m = _ABSOLUTE.match(ref)
    return f"{m['type']}/{m['id']}" if m else ref


def _normalise(node, ids: dict[str, str]):
    if isinstance(node, dict):
        return {k: (_normalise_reference(v, ids) if k == "reference" and isinstance(v, str) else _normalise(v, ids))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise(v, ids) for v in node]
    return node


def record(*resources: dict, file: str = "test.json") -> SubjectRecord:
    """A SubjectRecord of the given resource dicts (one must be the Patient).

    Shared types (ResearchStudy, Medication, ...) go into the index only; every other resource into
    ``resources`` by type. Each resource gets a SourceRef naming ``file`` and its position as entry.
    """
    ids = {r["id"]: f"{r['resourceType']}/{r['id']}" for r in resources if r.get("id")}
    wrapped = []
    for entry, data in enumerate(resources):
        data = _normalise(data, ids)
        wrapped.append(Resource(data, SourceRef(file=file, entry=entry, key=f"{data['resourceType']}/{data['id']}")))
    patients = [r for r in wrapped if r.type == "Patient"]
    if len(patients) != 1:
        raise ValueError(f"record() needs exactly one Patient, got {len(patients)}")
    rec = SubjectRecord(patient=patients[0])
    for res in wrapped:
        rec.index[res.key] = res
        if res.type != "Patient" and res.type not in SHARED_TYPES:
            rec.resources.setdefault(res.type, []).append(res)
    return rec


# ---- builders appended by other engineers go below this line -------------------------------------------


def subject_context(*, usubjid: str = "LEN-CLE-01-001", subjid: str = "001", status: str = "enrolled",
                    armcd: str | None = "LEN5", actarmcd: str | None = "LEN5",
                    rficdtc: str | None = "2023-01-05", rfstdtc: str | None = "2023-01-10",
                    rfendtc: str | None = "2023-06-30", rfpendtc: str | None = "2023-07-28",
                    randdtc: str | None = "2023-01-09", research_subject_key: str | None = "ResearchSubject/rs1"):
    """A SubjectContext with plausible reference dates (consent 2023-01-05, first dose 2023-01-10)."""
    from mappings.result import SubjectContext

    return SubjectContext(usubjid, subjid, status, armcd, actarmcd, rficdtc, rfstdtc, rfendtc, rfpendtc, randdtc,
                          research_subject_key)


# ---- eligibility (owner: eligibility) --------------------------------------------------------------

CVX = "http://hl7.org/fhir/sid/cvx"
ELIG = f"{EX}/CodeSystem/eligibility"


def coverage(id: str = "cov1", *, patient: str = "p1", type_code: str = "FR-AMO", status: str = "active",
             start: str | None = "2010-01-01", end: str | None = None, **extra) -> dict:
    """A Coverage of the patient; ``type_code`` in ``EX:/CodeSystem/coverage-type`` (FR-AMO = French social security)."""
    return _clean({
        "resourceType": "Coverage", "id": id, "status": status,
        "type": _concept(f"{EX}/CodeSystem/coverage-type", type_code),
        "beneficiary": _ref("Patient", patient), "period": _period(start, end),
    }, extra)


def immunization(id: str = "imm1", *, patient: str = "p1", cvx: str = "03", date: str | None = "2022-12-20",
                 status: str = "completed", **extra) -> dict:
    """An Immunization with a CVX vaccine code (03 = MMR, live)."""
    return _clean({"resourceType": "Immunization", "id": id, "status": status, "vaccineCode": _concept(CVX, cvx),
                   "patient": _ref("Patient", patient), "occurrenceDateTime": date}, extra)


def procedure(id: str = "proc1", *, patient: str = "p1", code: str = "38102005", system: str = SNOMED,
              performed: str | None = "2022-12-01", status: str = "completed", **extra) -> dict:
    """A Procedure (SNOMED 38102005 = cholecystectomy, a major surgery in the value set)."""
    return _clean({"resourceType": "Procedure", "id": id, "status": status, "code": _concept(system, code),
                   "subject": _ref("Patient", patient), "performedDateTime": performed}, extra)


def diagnostic_report(id: str = "dr1", *, patient: str = "p1", conclusion: tuple[str, str] | None = (
        "http://hl7.org/fhir/sid/icd-10", "L93.0"), effective: str | None = "2021-03-02", status: str = "final",
        **extra) -> dict:
    """A pathology DiagnosticReport (LOINC 11526-1) with ``conclusionCode`` = (system, code)."""
    return _clean({"resourceType": "DiagnosticReport", "id": id, "status": status,
                   "code": _concept(LOINC, "11526-1"), "subject": _ref("Patient", patient),
                   "effectiveDateTime": effective,
                   "conclusionCode": [_concept(*conclusion)] if conclusion else None}, extra)


def allergy_intolerance(id: str = "al1", *, patient: str = "p1", code: str = "10432", system: str = RXNORM,
                        recorded: str | None = "2020-01-01", **extra) -> dict:
    """An AllergyIntolerance (RxNorm 10432 = thalidomide)."""
    return _clean({"resourceType": "AllergyIntolerance", "id": id, "code": _concept(system, code),
                   "patient": _ref("Patient", patient), "recordedDate": recorded}, extra)


def elig_observation(id: str, code: str, *, patient: str = "p1", value=None, effective: str | None = "2023-01-05",
                     system: str = ELIG, method: str | None = None, start: str | None = None, **extra) -> dict:
    """An eligibility Observation (docs/FHIR-INPUT.md, Eligibility-specific data): ``value`` bool ->
    valueBoolean, int -> valueInteger; ``method`` -> contraception method (valueCodeableConcept) with
    effectivePeriod.start = ``start``."""
    value_key = {bool: "valueBoolean", int: "valueInteger"}.get(type(value))
    return _clean({
        "resourceType": "Observation", "id": id, "status": "final", "code": _concept(system, code),
        "subject": _ref("Patient", patient),
        "effectiveDateTime": None if start else effective,
        "effectivePeriod": _period(start, None),
        **({value_key: value} if value_key else {}),
        "valueCodeableConcept": _concept(f"{EX}/CodeSystem/contraception-method", method) if method else None,
    }, extra)
