"""Build one patient's FHIR R4 resources from a :class:`~interop.samples.plan.PatientPlan`.

Resources are plain dicts with relative references (``"Patient/<id>"``); the bundle writer rewrites them to
urn:uuid or absolute URLs per patient. Everything random comes from the patient's own ``random.Random``
seeded by the plan, so a patient's data does not depend on who else is in the cohort.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from interop.normalize.record import ICD10, ICD10CM, LOINC, RXNORM, SNOMED, UCUM
from interop.samples.catalog import Catalog, LabTest, load_catalog
from interop.samples.people import make_identity
from interop.samples.plan import ConditionPlan, PatientPlan
from mappings.instruments.definitions import ANSWER_CODE_SYSTEM, ITEM_CODE_SYSTEM, InstrumentDef, load_instruments
from mappings.study import StudyDefinition, Visit


@lru_cache(maxsize=1)
def fhir_codes() -> dict:
    with (Path(__file__).parent / "fhir_codes.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def ex(path: str) -> str:
    """A URL under the project's canonical base (``EX:`` in docs/FHIR-INPUT.md)."""
    return f"{fhir_codes()['base']}/{path}"


def new_id(rng: random.Random) -> str:
    """A resource id: 16 hex digits drawn from the seeded generator (never from the OS). Bundles that
    reference by urn:uuid derive the UUID from it (:func:`urn_for`)."""
    return f"{rng.getrandbits(64):016x}"


def urn_for(resource_type: str, resource_id: str) -> str:
    """The urn:uuid fullUrl of a resource in a urn-style bundle (a name-based UUID of ``Type/id``)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{resource_type}/{resource_id}')}"


def ref(resource: dict) -> dict:
    return {"reference": f"{resource['resourceType']}/{resource['id']}"}


def coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: dict, text: str | None = None) -> dict:
    out: dict = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


def shared_ids(study: StudyDefinition) -> dict[str, str]:
    """Ids of the resources every patient of a study refers to (in the shared bundle)."""
    key = study.key
    return {
        "ResearchStudy": f"{key}-study", "Organization": f"{key}-hospital", "Payor": f"{key}-payor",
        "Medication": f"{key}-lenalidomide-5mg", "MedicationMTX": f"{key}-methotrexate-2-5mg",
    }


@dataclass
class Ctx:
    """What every builder needs for one patient."""

    plan: PatientPlan
    study: StudyDefinition
    cat: Catalog
    rng: random.Random
    patient_id: str
    tz: ZoneInfo
    day1: date
    resources: list[dict] = field(default_factory=list)

    def add(self, resource: dict) -> dict:
        self.resources.append(resource)
        return resource

    def new(self, resource_type: str, **body) -> dict:
        return self.add({"resourceType": resource_type, "id": new_id(self.rng), **body})

    def subject(self) -> dict:
        return {"reference": f"Patient/{self.patient_id}"}

    def when(self, day: date, hour: int = 9, minute: int = 0) -> str:
        """A dateTime with the site's offset, or in UTC ('Z') for patients whose system sends UTC."""
        local = datetime.combine(day, time(hour, minute), tzinfo=self.tz)
        if self.plan.tz == "utc":
            return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return local.isoformat(timespec="seconds")

    def shared(self, name: str) -> dict:
        sid = shared_ids(self.study)[name]
        rtype = "Organization" if name == "Payor" else ("Medication" if name.startswith("Medication") else name)
        return {"reference": f"{rtype}/{sid}"}


# ---- dates ----------------------------------------------------------------------------------------------

def compute_visit_dates(plan: PatientPlan, study: StudyDefinition, day1: date, rng: random.Random) -> list[tuple[Visit | None, date, str]]:
    """(scheduled visit or None, date, label) of every visit the patient attends, in date order."""
    if not plan.enrolled:
        out: list[tuple[Visit | None, date, str]] = [(study.visits[0], plan.screen_date, "Screening")]
        if plan.scores and plan.scores[1] != plan.scores[0]:
            out.append((study.visit_named("DAY 1"), day1, "Randomisation"))
        return out
    stop = day1 + timedelta(days=plan.discontinue[1] * 7 - 1) if plan.discontinue else None
    out = []
    for visit in study.visits:
        if visit.visit in plan.missed:
            continue
        if visit.visit == study.visits[0].visit:
            when = plan.screen_date
        elif visit.visit in plan.out_of_window:
            when = day1 + timedelta(days=plan.out_of_window[visit.visit] - 1)
        elif visit.day == 1:
            when = day1
        else:
            when = day1 + timedelta(days=visit.day - 1 + rng.randint(-3, 3))
        if (stop and when > stop) or (plan.data_cutoff and when > plan.data_cutoff):
            continue
        out.append((visit, when, visit.visit.title()))
    if plan.unscheduled_day:
        out.append((None, day1 + timedelta(days=plan.unscheduled_day - 1), "Unscheduled"))
    if stop:
        out.append((None, stop, "Early termination"))
    return sorted(out, key=lambda v: v[1])


def partial(day: date, precision: str) -> str:
    return day.isoformat()[: {"year": 4, "month": 7}.get(precision, 10)]


def relative_date(plan: PatientPlan, onset: str | int) -> str:
    if isinstance(onset, int):
        return (plan.screen_date + timedelta(days=onset)).isoformat()
    return onset


# ---- Patient, consent, study membership ----------------------------------------------------------------

def build_patient(ctx: Ctx) -> dict:
    plan, codes = ctx.plan, fhir_codes()
    identity = make_identity(ctx.study.key, plan, ctx.rng)
    birth = plan.screen_date - timedelta(days=int((plan.age + ctx.rng.random() * 0.9) * 365.25))
    if plan.birth_precision == "year":      # 75 or 76 at consent, undecidable from the year
        birth = date(plan.screen_date.year - 76, 1, 1)
    patient = {
        "resourceType": "Patient", "id": ctx.patient_id,
        "identifier": [
            {"use": "usual", "type": concept(coding(codes["identifier_type"], "MR")),
             "system": ex(f"hospital/{ctx.study.key}/mrn"), "value": identity["mrn"]},
            {"use": "official", "system": codes["national_id"][ctx.study.key], "value": identity["national_id"]},
        ],
        "active": True,
        "name": [identity["name"]],
        "telecom": identity["telecom"],
        "gender": plan.sex,
        "address": [identity["address"]],
    }
    if plan.birth_precision == "day":
        patient["birthDate"] = birth.isoformat()
    elif plan.birth_precision in ("year", "year-adult"):
        patient["birthDate"] = str(birth.year)
    extensions = race_extensions(ctx) if plan.race else []
    if extensions:
        patient = {"resourceType": "Patient", "id": ctx.patient_id, "extension": extensions,
                   **{k: v for k, v in patient.items() if k not in ("resourceType", "id")}}
    return ctx.add(patient)


def race_extensions(ctx: Ctx) -> list[dict]:
    codes = fhir_codes()
    race_key = "asian" if ctx.study.key == "len-cdm" else ctx.rng.choice(["white", "white", "black"])
    race = codes["races"][race_key]
    eth = codes["races"]["not_hispanic"]
    return [
        {"url": codes["us_core_race"], "extension": [
            {"url": "ombCategory", "valueCoding": coding(codes["omb"], race["code"], race["display"])},
            {"url": "text", "valueString": race["display"]}]},
        {"url": codes["us_core_ethnicity"], "extension": [
            {"url": "ombCategory", "valueCoding": coding(codes["omb"], eth["code"], eth["display"])},
            {"url": "text", "valueString": eth["display"]}]},
        {"url": codes["us_core_birthsex"], "valueCode": "F" if ctx.plan.female else "M"},
    ]


def build_consent(ctx: Ctx) -> dict:
    """Informed consent; a patient who declined (pre-screened only) has a ``rejected`` Consent."""
    codes = fhir_codes()
    system, code = codes["consent_category"].split("|")
    consent = ctx.new(
        "Consent", status="rejected" if ctx.plan.consent == "none" else "active",
        scope=concept(coding(codes["consent_scope"], "research")),
        category=[concept(coding(system, code))],
        patient=ctx.subject(),
        organization=[ctx.shared("Organization")],
        policy=[{"uri": ex(f"study/{ctx.study.research_study_value}/consent")}],
    )
    if ctx.plan.consent in ("signed", "none"):
        consent["dateTime"] = ctx.when(ctx.plan.screen_date - timedelta(days=ctx.rng.randint(0, 3)), 8, 30)
    return consent


def build_research_subject(ctx: Ctx, consent: dict | None, end: date | None) -> dict | None:
    plan = ctx.plan
    if plan.consent == "none":
        return None
    body: dict = {
        "identifier": [{"system": ctx.study.subject_identifier_system, "value": plan.subjid}],
        "study": ctx.shared("ResearchStudy"),
        "individual": ctx.subject(),
        "consent": ref(consent),
    }
    if not plan.enrolled:
        body["status"] = "ineligible"
        body["period"] = {"start": plan.screen_date.isoformat()}
    else:
        body["status"] = "off-study" if plan.discontinue or end else "on-study"
        body["period"] = {"start": ctx.day1.isoformat()}
        body["assignedArm"] = body["actualArm"] = plan.arm
        if end:
            body["period"]["end"] = end.isoformat()
        if plan.discontinue:
            term = plan.discontinue[0]
            body = {"extension": [{"url": ex("StructureDefinition/discontinuation-reason"), "valueCoding": coding(
                "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", ctx.cat.ct[("C66727", term)], term)}], **body}
    return ctx.new("ResearchSubject", **body)


def build_coverage(ctx: Ctx) -> dict | None:
    """French social security (Assurance Maladie) for len-cle; see docs/FHIR-INPUT.md, Eligibility section."""
    plan = ctx.plan
    if ctx.study.key != "len-cle" or plan.coverage == "none":
        return None
    codes = fhir_codes()
    body: dict = {"status": "active", "beneficiary": ctx.subject(),
                  "period": {"start": partial(plan.screen_date - timedelta(days=3650), "day")}}
    if plan.coverage == "foreign":
        body["type"] = concept(coding(codes["coverage_type"], "foreign-private"), text="Assurance privée (étranger)")
        body["payor"] = [{"display": "International health insurer"}]
    else:
        body["type"] = concept(coding(codes["coverage_type"], "FR-AMO"), text="Assurance Maladie obligatoire")
        body["subscriberId"] = "".join(str(ctx.rng.randint(0, 9)) for _ in range(13))
        body["payor"] = [ctx.shared("Payor")]
    return ctx.new("Coverage", **body)


# ---- conditions, allergies, procedures, vaccines ----------------------------------------------------------

def condition_resource(ctx: Ctx, key: str, onset: str, *, status: str = "active", verification: str = "confirmed",
                       abatement: str | None = None, severity: str | None = None) -> dict:
    codes, row = fhir_codes(), ctx.cat.conditions[key]
    codings = []
    if row["snomed"]:
        codings.append(coding(SNOMED, row["snomed"], row["display"]))
    icd_system, icd_code = (ICD10, row["icd10"]) if ctx.study.key == "len-cle" else (ICD10CM, row["icd10cm"])
    codings.append(coding(icd_system, icd_code))
    body: dict = {
        "clinicalStatus": concept(coding(codes["condition_clinical"], status)),
        "verificationStatus": concept(coding(codes["condition_verification"], verification)),
        "category": [concept(coding(codes["condition_category"], "problem-list-item"))],
        "code": concept(*codings, text=row["display"]),
        "subject": ctx.subject(),
        "onsetDateTime": onset,
        "recordedDate": ctx.when(ctx.plan.screen_date, 10, 15),
    }
    if severity:
        body["severity"] = concept(coding(SNOMED, "24484000", "Severe"))
    if abatement:
        body["abatementDateTime"] = abatement
    return ctx.new("Condition", **body)


def build_conditions(ctx: Ctx) -> None:
    plan, rng = ctx.plan, ctx.rng
    default = "dermatomyositis" if ctx.study.key == "len-cdm" else rng.choice(["dle", "scle", "dle", "lupus_profundus"])
    dx_onset = plan.screen_date - timedelta(days=rng.randint(400, 3000))
    precision = "month" if plan.partial_dates else "day"
    condition_resource(ctx, plan.diagnosis or default, partial(dx_onset, precision),
                       verification=plan.diagnosis_status)
    if ctx.study.key == "len-cle" and rng.random() < 0.35 and not any(c.key == "sle" for c in plan.conditions):
        condition_resource(ctx, "sle", partial(dx_onset - timedelta(days=200), "year"))
    if rng.random() < 0.3:
        condition_resource(ctx, "hypertension", partial(dx_onset - timedelta(days=rng.randint(100, 2000)), "year"))
    for cond in plan.conditions:
        build_story_condition(ctx, cond)


def build_story_condition(ctx: Ctx, cond: ConditionPlan) -> dict:
    onset = relative_date(ctx.plan, cond.onset)
    if cond.status == "resolved":
        start = date.fromisoformat(onset) if len(onset) == 10 else None
        abatement = (start + timedelta(days=120)).isoformat() if start else None
        resource = condition_resource(ctx, cond.key, onset, status="resolved", abatement=abatement)
    else:
        resource = condition_resource(ctx, cond.key, onset, severity="severe" if cond.status == "severe" else None)
    if cond.provoked is not None:     # venous thrombosis: provoked or not (docs/FHIR-INPUT.md, Thrombosis)
        resource["extension"] = [{"url": ex("StructureDefinition/vte-provoked"), "valueBoolean": cond.provoked}]
    return resource


def build_allergies(ctx: Ctx) -> None:
    codes = fhir_codes()
    for drug in ctx.plan.allergies:
        ctx.new("AllergyIntolerance",
                clinicalStatus=concept(coding(codes["allergy_clinical"], "active")),
                type="allergy", category=["medication"], criticality="high",
                code=concept(coding(RXNORM, ctx.cat.rxnorm(drug), drug)),
                patient=ctx.subject(), recordedDate=partial(ctx.plan.screen_date - timedelta(days=900), "day"),
                reaction=[{"manifestation": [concept(coding(SNOMED, "271807003", "Eruption of skin"))]}])


def build_procedures(ctx: Ctx) -> None:
    for key, days in ctx.plan.procedures:
        row = ctx.cat.procedures[key]
        ctx.new("Procedure", status="completed", code=concept(coding(SNOMED, row["snomed"], row["display"])),
                subject=ctx.subject(), performedDateTime=ctx.when(ctx.plan.screen_date + timedelta(days=days), 11))


def build_immunizations(ctx: Ctx) -> None:
    for key, days in ctx.plan.vaccines:
        row = ctx.cat.vaccines[key]
        ctx.new("Immunization", status="completed",
                vaccineCode=concept(coding("http://hl7.org/fhir/sid/cvx", row["cvx"], row["display"])),
                patient=ctx.subject(), occurrenceDateTime=ctx.when(ctx.plan.screen_date + timedelta(days=days), 14),
                primarySource=True)


# ---- encounters, observations ---------------------------------------------------------------------------

def build_encounter(ctx: Ctx, day: date, label: str) -> dict:
    codes = fhir_codes()
    body: dict = {"status": "finished", "class": coding(codes["encounter_class"], "AMB", "ambulatory"),
                  "subject": ctx.subject(), "period": {"start": ctx.when(day, 8, 30), "end": ctx.when(day, 11, 45)}}
    if label in ("Unscheduled", "Early termination"):
        body["type"] = [{"text": "Unscheduled" if label == "Unscheduled" else "Unscheduled - early termination"}]
    return ctx.new("Encounter", **body)


def quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def round_value(value: float, decimals: int) -> float | int:
    return int(round(value)) if decimals == 0 else round(value, decimals)


def interpretation(value: float, low: float | None, high: float | None) -> str:
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    return "N"


def lab_observation(ctx: Ctx, test: LabTest, si_value: float | None, when: str, encounter: dict,
                    conventional: bool) -> dict:
    codes = fhir_codes()
    body: dict = {
        "status": "final",
        "category": [concept(coding(codes["observation_category"], "laboratory"))],
        "code": concept(coding(LOINC, test.loinc)),
        "subject": ctx.subject(), "encounter": ref(encounter), "effectiveDateTime": when,
    }
    if si_value is None:
        body["status"] = "cancelled"
        body["dataAbsentReason"] = concept(coding(codes["data_absent_reason"], "not-performed"), text="haemolysed sample")
        return ctx.new("Observation", **body)
    use_conv = conventional and test.conventional_unit is not None
    factor = test.factor_to_si if use_conv else 1.0
    unit = test.conventional_unit if use_conv else test.si_unit
    decimals = test.decimals + (1 if use_conv and factor >= 10 else 0) + (1 if use_conv and factor > 50 else 0)
    value = round_value(si_value / factor, decimals)
    low = round_value(test.ref_low / factor, decimals) if test.ref_low is not None else None
    high = round_value(test.ref_high / factor, decimals) if test.ref_high is not None else None
    body["valueQuantity"] = quantity(value, unit)
    rr: dict = {}
    if low is not None:
        rr["low"] = {"value": low, "unit": unit}
    if high is not None:
        rr["high"] = {"value": high, "unit": unit}
    flag = interpretation(value, low, high)
    if flag != "N" or ctx.plan.lab_units == "conventional":     # many lab systems send a flag only when abnormal
        body["interpretation"] = [concept(coding(codes["interpretation"], flag))]
    body["referenceRange"] = [rr]
    return ctx.new("Observation", **body)


def qualitative_observation(ctx: Ctx, loinc: str, positive: bool, when: str, encounter: dict) -> dict:
    codes, row = fhir_codes(), ctx.cat.lab_loinc[loinc]
    result = "positive" if positive else "negative"
    return ctx.new(
        "Observation", status="final",
        category=[concept(coding(codes["observation_category"], "laboratory"))],
        code=concept(coding(LOINC, loinc, row["lbtest"])), subject=ctx.subject(),
        encounter=ref(encounter), effectiveDateTime=when,
        valueCodeableConcept=concept(coding(SNOMED, codes["qualitative"][result], result.capitalize())),
        interpretation=[concept(coding(codes["interpretation"], "POS" if positive else "NEG"))],
    )


def lab_loinc(cat: Catalog, lbtestcd: str, lbspec: str) -> str:
    """The LOINC of a qualitative test for a specimen, read from labs.csv (first listed)."""
    return next(l for l, r in cat.lab_loinc.items() if r["lbtestcd"] == lbtestcd and r["lbspec"] == lbspec and not r["si_unit"])


# Lab panels drawn at each visit (kept lean so fhir_samples/ stays under 20 MB; "None" = unscheduled visits)
PANELS_BY_VISIT = {
    "SCREENING": ("CBC", "LIVER", "RENAL", "MUSCLE"),
    "WEEK 12": ("CBC", "MUSCLE"), "WEEK 24": ("CBC", "LIVER", "MUSCLE"), None: ("CBC",),
}


def build_labs(ctx: Ctx, visit: Visit | None, day: date, encounter: dict, first_visit: bool) -> None:
    plan = ctx.plan
    name = visit.visit if visit else None
    panels = PANELS_BY_VISIT.get(name, ())
    when = ctx.when(day, 8, ctx.rng.randint(0, 59))
    conventional = plan.lab_units == "conventional" and first_visit
    for test in ctx.cat.labs.values():
        if test.panel not in panels or (test.panel == "MUSCLE" and ctx.study.key != "len-cdm"):
            continue
        # random values never fall below the reference range: a low count is always a story (criteria use lows)
        value = max(test.ref_low or 0.1, ctx.rng.gauss(test.mean, test.sd))
        if first_visit and test.lbtestcd in plan.lab_values:
            value = plan.lab_values[test.lbtestcd]
        not_done = (first_visit and plan.plt_not_done and test.lbtestcd == "PLAT") or (
            plan.lab_not_done and name == "WEEK 12" and test.lbtestcd == "HGB")
        lab_observation(ctx, test, None if not_done else value, when, encounter, conventional)
    if first_visit:
        build_screening_serology(ctx, when, encounter)


def build_screening_serology(ctx: Ctx, when: str, encounter: dict) -> None:
    plan, cat = ctx.plan, ctx.cat
    for testcd in ("HBSAG", "HCAB", "HIV12AG", "MTBIGRA"):
        loinc = next(l for l, r in cat.lab_loinc.items() if r["lbtestcd"] == testcd)
        positive = testcd in plan.positives or (testcd == "HCAB" and plan.hcv_antibody_only)
        qualitative_observation(ctx, loinc, positive, when, encounter)
    if plan.childbearing and plan.pregnancy_test != "none":
        qualitative_observation(ctx, lab_loinc(cat, "HCG", "SERUM"), plan.pregnancy_test == "positive", when, encounter)


def build_pregnancy_followup(ctx: Ctx, day: date, encounter: dict) -> None:
    if ctx.plan.childbearing and ctx.plan.pregnancy_test != "none":
        spec = "SERUM" if ctx.study.key == "len-cle" else "URINE"   # len-cle: monthly plasma test (protocol)
        qualitative_observation(ctx, lab_loinc(ctx.cat, "HCG", spec), False, ctx.when(day, 8, 5), encounter)


def vital(ctx: Ctx, testcd: str, value: float, when: str, encounter: dict) -> dict:
    codes, row = fhir_codes(), ctx.cat.vitals[testcd]
    return ctx.new("Observation", status="final",
                   category=[concept(coding(codes["observation_category"], "vital-signs"))],
                   code=concept(coding(LOINC, row["loinc"])), subject=ctx.subject(),
                   encounter=ref(encounter), effectiveDateTime=when, valueQuantity=quantity(value, row["ucum"]))


VITALS_VISITS = ("SCREENING", "WEEK 12", "WEEK 24")


def build_vitals(ctx: Ctx, day: date, encounter: dict, screening: bool, body: dict) -> None:
    codes, rng = fhir_codes(), ctx.rng
    when = ctx.when(day, 8, 40)
    sys_row, dia_row = ctx.cat.vitals["SYSBP"], ctx.cat.vitals["DIABP"]
    ctx.new("Observation", status="final",
            category=[concept(coding(codes["observation_category"], "vital-signs"))],
            code=concept(coding(LOINC, codes["bp_panel"], "Blood pressure panel")), subject=ctx.subject(),
            encounter=ref(encounter), effectiveDateTime=when,
            component=[
                {"code": concept(coding(LOINC, sys_row["loinc"], sys_row["vstest"])),
                 "valueQuantity": quantity(rng.randint(105, 150), sys_row["ucum"])},
                {"code": concept(coding(LOINC, dia_row["loinc"], dia_row["vstest"])),
                 "valueQuantity": quantity(rng.randint(62, 92), dia_row["ucum"])}])
    weight = round(body["weight"] + rng.gauss(0, 0.8), 1)
    if not screening:
        return
    vital(ctx, "WEIGHT", weight, when, encounter)
    vital(ctx, "HEIGHT", body["height"], when, encounter)


# ---- eligibility-specific data (docs/FHIR-INPUT.md, "Eligibility-specific data") -------------------------

def elig_observation(ctx: Ctx, code: dict, when: str, **value) -> dict:
    codes = fhir_codes()
    return ctx.new("Observation", status="final",
                   category=[concept(coding(codes["observation_category"], "social-history"))],
                   code=concept(code), subject=ctx.subject(), effectiveDateTime=when, **value)


def build_reproductive_status(ctx: Ctx, when: str) -> None:
    """Breastfeeding, wish to conceive, contraception, pregnancy status for women past childbearing age."""
    plan, codes = ctx.plan, fhir_codes()
    elig = codes["eligibility_system"]
    elig_observation(ctx, coding(LOINC, codes["pregnancy_intention"], "Pregnancy intention"), when, valueBoolean=False)
    if plan.female:
        elig_observation(ctx, coding(LOINC, codes["breastfeeding"], "Breastfeeding status"), when,
                         valueBoolean=plan.breastfeeding)
    if plan.female and not plan.childbearing and plan.pregnancy_test != "none":
        elig_observation(ctx, coding(LOINC, codes["pregnancy_status"]["loinc"], "Pregnancy status"), when,
                         valueCodeableConcept=concept(coding(SNOMED, codes["pregnancy_status"]["not_pregnant"], "Not pregnant")))
    if ctx.study.key != "len-cle":
        return
    if not plan.female:
        method, since = "condom", plan.screen_date - timedelta(days=400)
    elif not plan.childbearing:
        method, since = "no-childbearing-potential", plan.screen_date - timedelta(days=2000)
    else:
        method = ctx.rng.choice(["iud", "implant", "combined-hormonal", "progestogen-only"])
        since = plan.screen_date - timedelta(days=7 if plan.contraception == "late" else ctx.rng.randint(120, 1500))
    ctx.new("Observation", status="final", code=concept(coding(elig, "contraception")), subject=ctx.subject(),
            effectivePeriod={"start": since.isoformat()},
            valueCodeableConcept=concept(coding(codes["contraception_method"], method)))


def build_alcohol(ctx: Ctx, when: str) -> None:
    per_week = ctx.plan.alcohol_per_week
    if per_week is None:
        per_week = ctx.rng.choice([0, 0, 1, 2, 3, 5])
    elig = fhir_codes()["eligibility_system"]
    elig_observation(ctx, coding(elig, "alcohol-drinks-per-week"), when, valueInteger=per_week)
    elig_observation(ctx, coding(elig, "alcohol-max-drinks-per-day"), when, valueInteger=min(per_week, 4 if per_week > 10 else 2))
    elig_observation(ctx, coding(elig, "alcohol-free-days-per-week"), when, valueInteger=1 if per_week > 10 else 4)


def build_investigator_judgements(ctx: Ctx, when: str) -> None:
    elig = fhir_codes()["eligibility_system"]
    for criterion, value in sorted(ctx.plan.investigator.items()):
        if value is None:
            continue
        ctx.new("Observation", status="final", code=concept(coding(elig, f"{ctx.study.key}/{criterion}")),
                subject=ctx.subject(), effectiveDateTime=when, valueBoolean=value,
                performer=[{"display": "Investigator"}])


def build_histology(ctx: Ctx) -> None:
    plan, codes = ctx.plan, fhir_codes()
    if ctx.study.key != "len-cle" or plan.histology == "none":
        return
    if plan.histology == "other":
        conclusion = concept(coding(ICD10, codes["psoriasis_histology"]["icd10"]), text="Psoriasiform dermatitis")
    else:
        row = ctx.cat.conditions[plan.diagnosis or "dle"]
        conclusion = concept(*( [coding(SNOMED, row["snomed"], row["display"])] if row["snomed"] else []),
                             coding(ICD10, row["icd10"]), text=row["display"])
    day = plan.screen_date - timedelta(days=ctx.rng.randint(30, 1500))
    ctx.new("DiagnosticReport", status="final", code=concept(coding(LOINC, codes["histology_report"], "Pathology study report")),
            subject=ctx.subject(), effectiveDateTime=day.isoformat(), issued=ctx.when(day + timedelta(days=6), 16),
            conclusion="Skin biopsy report", conclusionCode=[conclusion])


# ---- instruments --------------------------------------------------------------------------------------------

def distribute(total: int, items: list, rng: random.Random) -> dict[str, int]:
    """Integer answers within each item's range adding up to ``total`` (capped at the items' maximum)."""
    values = {i.link_id: 0 for i in items}
    room = [i for i in items if (i.max or 0) > 0]
    for _ in range(total):
        room = [i for i in room if values[i.link_id] < i.max]
        if not room:
            break
        values[rng.choice(room).link_id] += 1
    return values


def answer_for(item, rng: random.Random, fixed: dict[str, int]) -> dict | None:
    if item.link_id in fixed:
        return {"valueInteger": fixed[item.link_id]}
    if item.type == "choice":
        option = rng.choice(item.answers[:-1] if len(item.answers) > 2 else item.answers)
        return {"valueCoding": coding(ANSWER_CODE_SYSTEM, option.code)}
    if item.type == "boolean":
        return {"valueBoolean": False}
    low, high = item.min or 0, item.max if item.max is not None else 10
    if item.allowed:
        return {"valueInteger": int(rng.choice(item.allowed))}
    if item.type == "decimal":
        return {"valueDecimal": round(rng.uniform(low, high), 1)}
    return {"valueInteger": rng.randint(int(low), int(min(high, low + 3)) if "activity" in item.feeds or "damage" in item.feeds else int(high))}


def enabled(item, answers: dict[str, dict]) -> bool:
    if not item.enable_when:
        return True
    link, _, code = item.enable_when.partition("=")
    return answers.get(link, {}).get("valueCoding", {}).get("code") == code


def build_questionnaire_response(ctx: Ctx, instrument: InstrumentDef, activity: int | None, authored: str,
                                 encounter: dict, drop: int = 0) -> dict:
    rng = ctx.rng
    fixed = distribute(activity, [i for i in instrument.items_feeding("activity") if i.type == "integer"], rng) \
        if activity is not None else {}
    answers: dict[str, dict] = {}
    for item in instrument.items:
        if enabled(item, answers):
            answer = answer_for(item, rng, fixed)
            if answer is not None:
                answers[item.link_id] = answer
    skipped = set(rng.sample(sorted(answers), drop)) if drop else set()
    items = [{"linkId": link, **({"answer": [a]} if link not in skipped else {})} for link, a in answers.items()]
    return ctx.new("QuestionnaireResponse", questionnaire=f"{instrument.canonical}|{instrument.version}",
                   status="completed", subject=ctx.subject(), encounter=ref(encounter), authored=authored,
                   item=items)


def build_instrument_observations(ctx: Ctx, instrument: InstrumentDef, when: str, encounter: dict) -> None:
    codes = fhir_codes()
    for item in instrument.items:
        answer = answer_for(item, ctx.rng, {})
        if item.type == "integer" and instrument.key == "MMT-8":
            answer = {"valueInteger": ctx.rng.randint(7, 10)}
        if "valueDecimal" in answer:
            answer = {"valueQuantity": {"value": answer["valueDecimal"], "unit": item.unit or "1",
                                        "system": UCUM, "code": item.unit or "1"}}
        ctx.new("Observation", status="final",
                category=[concept(coding(codes["observation_category"], "exam"))],
                code=concept(coding(ITEM_CODE_SYSTEM, item.link_id, item.test)), subject=ctx.subject(),
                encounter=ref(encounter), effectiveDateTime=when, **answer)


def activity_for(ctx: Ctx, visit_name: str, index: int) -> int:
    plan = ctx.plan
    if plan.scores and visit_name in ("SCREENING", "DAY 1"):
        return plan.scores[0] if visit_name == "SCREENING" else plan.scores[1]
    base = 18 if ctx.study.key == "len-cdm" else 14
    return max(2, base + ctx.rng.randint(0, 6) - (3 * max(0, index - 1) if plan.enrolled else 0))


OBSERVATION_INSTRUMENTS = ("MMT-8", "MYOGLOBAL")


def build_instruments(ctx: Ctx, visit: Visit | None, day: date, encounter: dict, index: int) -> None:
    if visit is None:
        return
    instruments = load_instruments()
    for key, visits in ctx.study.instrument_schedule.items():
        if visit.visit not in visits or key not in instruments:
            continue
        if not ctx.plan.enrolled and visit.visit not in ("SCREENING", "DAY 1"):
            continue
        instrument = instruments[key]
        when = ctx.when(day, 10, ctx.rng.randint(0, 59))
        if key in OBSERVATION_INSTRUMENTS:
            build_instrument_observations(ctx, instrument, when, encounter)
            continue
        activity = activity_for(ctx, visit.visit, index) if instrument.items_feeding("activity") else None
        drop = 3 if ctx.plan.dlqi_partial and key == "DLQI" and visit.visit == "WEEK 12" else 0
        build_questionnaire_response(ctx, instrument, activity, when, encounter, drop)
        if ctx.plan.form_twice and visit.visit == "WEEK 4" and activity is not None:
            build_questionnaire_response(ctx, instrument, activity + 1, ctx.when(day, 15, 20), encounter)


# ---- medications --------------------------------------------------------------------------------------------

def medication_concept(ctx: Ctx, drug: str) -> dict:
    return concept(coding(RXNORM, ctx.cat.rxnorm(drug), drug), text=drug)


def route_concept(ctx: Ctx, route: str) -> dict:
    return concept(coding(*ctx.cat.route(route)))


def dose_block(ctx: Ctx, dose: float, route: str, frequency: int, period: int, unit: str) -> dict:
    return {"timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit}},
            "route": route_concept(ctx, route),
            "doseAndRate": [{"doseQuantity": quantity(dose, "mg")}]}


def build_statement(ctx: Ctx, drug: str, start: str, dose: float, frequency: tuple[int, int, str],
                    end: str | None = None, reason: str | None = None) -> dict:
    period = {"start": start, **({"end": end} if end else {})}
    body: dict = {"status": "completed" if end else "active", "subject": ctx.subject(), "effectivePeriod": period,
                  "dateAsserted": ctx.when(ctx.plan.screen_date, 9, 50),
                  "dosage": [dose_block(ctx, dose, "ORAL", *frequency)]}
    if ctx.plan.contained and drug not in ("aspirin", "folic acid"):
        body = {"contained": [{"resourceType": "Medication", "id": "med1", "code": medication_concept(ctx, drug)}],
                **body, "medicationReference": {"reference": "#med1"}}
    else:
        body["medicationCodeableConcept"] = medication_concept(ctx, drug)
    if reason:
        row = ctx.cat.conditions[reason]
        body["reasonCode"] = [concept(coding(SNOMED, row["snomed"], row["display"])) if row["snomed"]
                              else concept(coding(ICD10, row["icd10"]))]
    return ctx.new("MedicationStatement", **body)


def build_background_medications(ctx: Ctx) -> None:
    plan, rng = ctx.plan, ctx.rng
    long_ago = plan.screen_date - timedelta(days=rng.randint(150, 900))
    precision = "month" if plan.partial_dates else "day"
    if ctx.study.key == "len-cdm":
        build_statement(ctx, "prednisone", partial(long_ago, precision), rng.choice([10, 15, 20]), (1, 1, "d"),
                        reason="dermatomyositis")
        build_statement(ctx, rng.choice(["methotrexate", "mycophenolate mofetil", "azathioprine", "tacrolimus"]),
                        partial(long_ago + timedelta(days=30), "day"), 10, (1, 1, "wk"))
    else:
        start = str(long_ago.year) if plan.prior_treatment == "partial" else partial(long_ago, precision)
        if plan.prior_treatment != "none":
            build_statement(ctx, "hydroxychloroquine", start, 400, (1, 1, "d"))
        if rng.random() < 0.4:
            build_statement(ctx, "prednisone", partial(long_ago + timedelta(days=60), "day"), 5, (1, 1, "d"))
    for drug in plan.extra_meds:
        build_statement(ctx, drug, partial(plan.screen_date - timedelta(days=120), "day"),
                        5 if drug == "warfarin" else 1000, (1, 1, "d"))


def build_study_drug(ctx: Ctx, end: date, ongoing: bool) -> None:
    """MedicationRequest at day 1 and one MedicationAdministration for the constant-dose period (FHIR-INPUT:
    one record per constant-dosing interval)."""
    plan = ctx.plan
    product = ctx.study.product_for_arm(plan.arm)
    med_ref = ctx.shared("MedicationMTX" if product.name == "methotrexate" else "Medication")
    dose = product.dose
    status = "active" if ongoing else ("completed" if plan.discontinue is None else "stopped")
    request = ctx.new("MedicationRequest", status=status, intent="order",
                      medicationReference=med_ref, subject=ctx.subject(), authoredOn=ctx.when(ctx.day1, 9, 10),
                      dosageInstruction=[dose_block(ctx, dose, product.route, *ctx.cat.timing(product.frequency))],
                      dispenseRequest={"validityPeriod": {"start": ctx.day1.isoformat(), "end": end.isoformat()}})
    supportive = "aspirin" if product.name == "lenalidomide" and ctx.study.key == "len-cle" else (
        "folic acid" if product.name == "methotrexate" else None)
    if supportive:
        build_statement(ctx, supportive, ctx.day1.isoformat(), 100 if supportive == "aspirin" else 5,
                        (1, 1, "d" if supportive == "aspirin" else "wk"), end=None if ongoing else end.isoformat())
    if plan.only_request:
        return
    # the first dose follows the day-1 assessments (questionnaires, labs), as baseline assessments are pre-dose
    period = {"start": ctx.when(ctx.day1, 11, 30), **({} if ongoing else {"end": ctx.when(end, 9, 0)})}
    ctx.new("MedicationAdministration", status="in-progress" if ongoing else "completed", medicationReference=med_ref,
            subject=ctx.subject(), effectivePeriod=period, request=ref(request),
            dosage={"route": route_concept(ctx, product.route), "dose": quantity(dose, "mg")})


# ---- adverse events ------------------------------------------------------------------------------------------

AE_PLANS = (   # (meddra key, severity, grade, outcome, causality, action)
    ("nausea", "mild", 1, "resolved", "Possible", "DOSE NOT CHANGED"),
    ("urti", "mild", 1, "resolved", "Unlikely", "DOSE NOT CHANGED"),
    ("neutropenia", "moderate", 2, "resolved", "Probably-Likely", "DRUG INTERRUPTED"),
    ("rash", "mild", 1, "recovering", "Possible", "DOSE NOT CHANGED"),
    ("fatigue", "mild", 1, "ongoing", "Possible", "DOSE NOT CHANGED"),
    ("alt_increased", "moderate", 2, "resolved", "Probably-Likely", "DOSE REDUCED"),
)


def adverse_event(ctx: Ctx, key: str, onset: date, severity: str, grade: int, outcome: str, causality: str,
                  action: str, coded: bool, serious: bool = False, last_contact: date | None = None) -> dict:
    codes, row = fhir_codes(), ctx.cat.meddra[key]
    extensions = [{"url": ex("StructureDefinition/ctcae-grade"), "valueInteger": grade},
                  {"url": ex("StructureDefinition/ae-action-taken"), "valueCoding": coding(
                      "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", ctx.cat.ct[("C66767", action)], action)}]
    if outcome in ("resolved", "resolvedWithSequelae"):
        resolved = onset + timedelta(days=ctx.rng.randint(3, 20))
        if last_contact is not None:          # an end date is only known up to the last contact
            resolved = max(onset, min(resolved, last_contact))
        extensions.append({"url": ex("StructureDefinition/ae-end-date"), "valueDateTime": resolved.isoformat()})
    if serious:
        extensions.append({"url": ex("StructureDefinition/ae-serious-criterion"), "valueCode": "hospitalization"})
    event = concept(coding("http://terminology.hl7.org/CodeSystem/mdr", row["pt_code"], row["pt"]), text=row["verbatim"]) \
        if coded else {"text": row["verbatim"]}
    product = ctx.study.product_for_arm(ctx.plan.arm)
    return ctx.new(
        "AdverseEvent", extension=extensions, actuality="actual", event=event, subject=ctx.subject(),
        date=ctx.when(onset, 14), recordedDate=ctx.when(onset + timedelta(days=2), 10),
        seriousness=concept(coding(codes["ae_seriousness"], "serious" if serious else "non-serious")),
        severity=concept(coding(codes["ae_severity"], severity)),
        outcome=concept(coding(codes["ae_outcome"], outcome)),
        suspectEntity=[{"instance": ctx.shared("MedicationMTX" if product.name == "methotrexate" else "Medication"),
                        "causality": [{"assessment": concept(coding(codes["ae_causality"], causality))}]}],
        study=[ctx.shared("ResearchStudy")],
    )


def build_adverse_events(ctx: Ctx, end: date) -> None:
    rng, plan = ctx.rng, ctx.plan
    span = max(2, (end - ctx.day1).days)
    coded_plans: list[tuple] = []
    for n in range(rng.choice([0, 1, 1, 2, 3])):
        # a later event may come uncoded (free text), as a recurrence of an event coded earlier for the patient
        recurrence = bool(coded_plans) and rng.random() < 0.5
        ae_plan = rng.choice(coded_plans) if recurrence else rng.choice(AE_PLANS)
        key, severity, grade, outcome, causality, action = ae_plan
        adverse_event(ctx, key, ctx.day1 + timedelta(days=rng.randint(1, span - 1)), severity, grade, outcome,
                      causality, action, coded=not recurrence, last_contact=end)
        if not recurrence:
            coded_plans.append(ae_plan)
    if plan.serious_ae:
        adverse_event(ctx, "pneumonia", end - timedelta(days=5), "severe", 3, "resolved", "Possible",
                      "DRUG WITHDRAWN", coded=True, serious=True, last_contact=end)


# ---- one patient, and the shared resources -------------------------------------------------------------------

def compute_day1(plan: PatientPlan, rng: random.Random) -> date:
    return plan.screen_date + timedelta(days=rng.randint(10, 20))


def build_patient_resources(plan: PatientPlan, study: StudyDefinition) -> list[dict]:
    """Every resource of one patient, in a stable order (Patient first)."""
    rng = random.Random(plan.seed)
    ctx = Ctx(plan=plan, study=study, cat=load_catalog(), rng=rng, patient_id=new_id(rng),
              tz=ZoneInfo(study.timezone), day1=plan.screen_date)
    ctx.day1 = compute_day1(plan, rng)
    build_patient(ctx)
    visits = compute_visit_dates(plan, study, ctx.day1, rng)
    ongoing = plan.enrolled and not plan.discontinue and len([v for v in visits if v[0] is not None]) < len(study.visits) - len(plan.missed)
    if ongoing:
        plan.tags.add("ongoing")
    end = visits[-1][1] if plan.enrolled else None
    consent = build_consent(ctx)
    subject_end = end if plan.enrolled and not ongoing else None
    subject = build_research_subject(ctx, consent, subject_end)
    if subject is not None and not plan.enrolled and len(visits) > 1:
        subject["period"]["start"] = ctx.day1.isoformat()
    if plan.consent == "missing" and subject is not None:
        ctx.resources.remove(consent)
        subject.pop("consent")
    build_coverage(ctx)
    build_conditions(ctx)
    build_allergies(ctx)
    build_procedures(ctx)
    build_immunizations(ctx)
    build_histology(ctx)
    build_background_medications(ctx)
    screen_when = ctx.when(plan.screen_date, 9, 15)
    build_reproductive_status(ctx, screen_when)
    build_alcohol(ctx, screen_when)
    build_investigator_judgements(ctx, screen_when)
    body = {"height": rng.randint(150, 185), "weight": rng.uniform(50, 90)}
    for index, (visit, day, label) in enumerate(visits):
        encounter = build_encounter(ctx, day, label)
        if index == 0:
            encounter["type"] = [concept(coding(fhir_codes()["encounter_type"], "screening", "Screening"))]
        if label == "Randomisation" and not plan.enrolled:
            build_instruments(ctx, visit, day, encounter, index)
            continue
        if visit is not None and visit.visit in VITALS_VISITS:
            build_vitals(ctx, day, encounter, index == 0, body)
        build_labs(ctx, visit, day, encounter, index == 0)
        if index > 0 and plan.study_key == "len-cle" and visit is not None and visit.visit in ("WEEK 4", "WEEK 12", "WEEK 24"):
            build_pregnancy_followup(ctx, day, encounter)
        build_instruments(ctx, visit, day, encounter, index)
    if plan.enrolled:
        build_study_drug(ctx, end, ongoing)
        build_adverse_events(ctx, end)
    return ctx.resources


def build_shared_resources(study: StudyDefinition) -> list[dict]:
    """ResearchStudy, Organizations and the study-drug Medications every patient refers to."""
    cat, ids, codes = load_catalog(), shared_ids(study), fhir_codes()
    hospital = {"len-cdm": "Jiangxi Provincial People's Hospital", "len-cle": "Hôpital Saint-Louis (AP-HP)"}[study.key]
    out = [
        {"resourceType": "Organization", "id": ids["Organization"], "active": True, "name": hospital},
        {"resourceType": "ResearchStudy", "id": ids["ResearchStudy"],
         "identifier": [{"system": study.research_study_system, "value": study.research_study_value}],
         "title": study.title, "status": "active",
         "sponsor": {"reference": f"Organization/{ids['Organization']}"},
         "arm": [{"name": a.armcd, "description": a.arm} for a in study.arms]},
    ]
    if study.key == "len-cle":
        out.append({"resourceType": "Organization", "id": ids["Payor"], "active": True,
                    "name": "Caisse Primaire d'Assurance Maladie de Paris"})
    for product in study.investigational:
        strength = 5 if product.name == "lenalidomide" else 2.5
        key = "Medication" if product.name == "lenalidomide" else "MedicationMTX"
        out.append({"resourceType": "Medication", "id": ids[key],
                    "code": concept(coding(RXNORM, cat.rxnorm(product.name), product.name), text=f"{product.name} {strength} mg"),
                    "form": concept(coding(SNOMED, codes["dose_forms"][product.dosfrm], product.dosfrm.lower())),
                    "ingredient": [{"itemCodeableConcept": concept(coding(RXNORM, cat.rxnorm(product.name), product.name)),
                                    "strength": {"numerator": quantity(strength, "mg"),
                                                 "denominator": {"value": 1, "unit": product.dosfrm.lower(),
                                                                 "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
                                                                 "code": "CAP" if product.dosfrm == "CAPSULE" else "TAB"}}}]})
    return out
