"""DS (mappings/ds.py): consent, randomisation (len-cle), completion/discontinuation with the NCOMPLT reason."""

from mappings.ds import map_ds
from mappings.study import load_study
from mappings.subject import derive_subject_context
from tests.builders import consent, encounter, patient, record, research_study, research_subject

CLE, CDM = load_study("len-cle"), load_study("len-cdm")


def ds(*resources, study=CLE):
    rec = record(patient(), consent(date_time="2023-01-05"), *resources)
    ctx, _ = derive_subject_context(rec, study=study)
    return map_ds(rec, study=study, subject=ctx)


def test_discontinuation_for_adverse_event_with_consent_and_randomisation():
    result = ds(research_study(), research_subject(assigned_arm="LEN5", consent="c1", status="off-study",
                                                   start="2023-01-09", end="2023-03-15",
                                                   discontinuation=("C41331", "ADVERSE EVENT")))
    assert result.rows == [
        {"DSTERM": "INFORMED CONSENT OBTAINED", "DSDECOD": "INFORMED CONSENT OBTAINED", "DSCAT": "PROTOCOL MILESTONE",
         "DSSTDTC": "2023-01-05", "_src": ("Consent/c1",), "_rule": "DS.informed-consent"},
        {"DSTERM": "RANDOMIZED", "DSDECOD": "RANDOMIZED", "DSCAT": "PROTOCOL MILESTONE", "DSSTDTC": "2023-01-09",
         "_src": ("ResearchSubject/rs1",), "_rule": "DS.randomized"},
        {"DSTERM": "ADVERSE EVENT", "DSDECOD": "ADVERSE EVENT", "DSCAT": "DISPOSITION EVENT",
         "DSSCAT": "STUDY PARTICIPATION", "DSSTDTC": "2023-03-15", "_src": ("ResearchSubject/rs1",),
         "_rule": "DS.participation-event"},
    ]
    assert result.issues == []


def test_completed_single_arm_study_has_no_randomisation():
    result = ds(research_study("len-cdm", value="LEN-CDM", arms=("LEN5",)),
                research_subject(study="len-cdm", study_key="len-cdm", status="off-study", start="2023-01-09",
                                 end="2023-06-30"), study=CDM)
    assert [r["DSDECOD"] for r in result.rows] == ["INFORMED CONSENT OBTAINED", "COMPLETED"]
    assert result.rows[1]["DSSTDTC"] == "2023-06-30"


def test_screen_failure_event():
    result = ds(research_study(), research_subject(status="ineligible", end="2023-01-20"))
    assert [(r["DSDECOD"], r["DSCAT"]) for r in result.rows] == [
        ("INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE"), ("SCREEN FAILURE", "DISPOSITION EVENT")]


def test_ongoing_subject_has_no_disposition_event():
    result = ds(research_study(), research_subject(status="on-study", assigned_arm="MTX", start="2023-01-09"))
    assert [r["DSDECOD"] for r in result.rows] == ["INFORMED CONSENT OBTAINED", "RANDOMIZED"]


def test_reason_outside_ncomplt_is_reported():
    result = ds(research_study(), research_subject(status="off-study", discontinuation=("C99999", "BORED")))
    assert "MAP013" in [i.code for i in result.issues]
    assert all(r["DSCAT"] != "DISPOSITION EVENT" for r in result.rows)


def test_screen_failure_without_period_end_is_dated_at_the_end_of_participation():
    # no ResearchSubject.period.end: the last encounter (RFPENDTC) dates the SCREEN FAILURE event
    result = ds(research_study(), research_subject(status="ineligible", end=None),
                encounter("e1", start="2023-01-07T08:30:00", end="2023-01-07T11:45:00"))
    assert [(r["DSDECOD"], r["DSSTDTC"]) for r in result.rows] == [
        ("INFORMED CONSENT OBTAINED", "2023-01-05"), ("SCREEN FAILURE", "2023-01-07T11:45:00")]
