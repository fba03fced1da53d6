"""SE (mappings/se.py): actual elements from consent, randomisation / first dose and end of participation."""

from mappings.se import map_se
from mappings.study import load_study
from mappings.subject import derive_subject_context
from tests.builders import (consent, encounter, medication_administration, patient, record, research_study,
                            research_subject)

CLE, CDM = load_study("len-cle"), load_study("len-cdm")


def se(*resources, study=CLE):
    rec = record(patient(), consent(date_time="2023-01-02"), *resources)
    ctx, _ = derive_subject_context(rec, study=study)
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in map_se(rec, study=study, subject=ctx).rows]


def test_len_cdm_treatment_starts_at_first_dose():
    rows = se(research_study("len-cdm", value="LEN-CDM", arms=("LEN5",)),
              research_subject(study="len-cdm", study_key="len-cdm", consent="c1", end="2023-06-30"),
              medication_administration(start="2023-01-10", end="2023-06-25"), study=CDM)
    assert rows == [
        {"ETCD": "SCRN", "ELEMENT": "Screening", "EPOCH": "SCREENING", "TAETORD": 1, "SESTDTC": "2023-01-02", "SEENDTC": "2023-01-10"},
        {"ETCD": "LEN", "ELEMENT": "Lenalidomide 5 mg", "EPOCH": "TREATMENT", "TAETORD": 2, "SESTDTC": "2023-01-10", "SEENDTC": "2023-06-30"},
    ]


def test_len_cle_treatment_starts_at_randomisation_in_the_actual_arm():
    rows = se(research_study(), research_subject(assigned_arm="MTX", consent="c1", start="2023-01-08", end="2023-06-30"),
              medication_administration(rxnorm="6851", dose=15, effective="2023-01-09"))
    assert [(r["ETCD"], r["SESTDTC"], r["SEENDTC"]) for r in rows] == [
        ("SCRN", "2023-01-02", "2023-01-08"), ("MTX", "2023-01-08", "2023-06-30")]


def test_screen_failure_has_screening_only():
    rows = se(research_study(), research_subject(status="ineligible", consent="c1", end="2023-01-20"))
    assert rows == [{"ETCD": "SCRN", "ELEMENT": "Screening", "EPOCH": "SCREENING", "SESTDTC": "2023-01-02",
                     "SEENDTC": "2023-01-20"}]


def test_screening_starts_at_the_first_encounter_without_a_consent_date():
    rec = record(patient(), research_study(), research_subject(status="ineligible", end="2023-01-20"),
                 encounter("e2", start="2023-01-09T08:30:00"), encounter("e1", start="2023-01-03T08:30:00"))
    ctx, _ = derive_subject_context(rec, study=CLE)
    rows = map_se(rec, study=CLE, subject=ctx).rows
    assert [(r["ETCD"], r["SESTDTC"], r["SEENDTC"]) for r in rows] == [("SCRN", "2023-01-03T08:30:00", "2023-01-20")]
