"""MH from Conditions before consent; the MH/AE split by the consent date (mappings/mh.py docstring)."""

from pathlib import Path

from tests.builders import adverse_event, condition, patient, record, subject_context
from mappings.meddra import load_meddra
from mappings.mh import map_mh
from mappings.study import load_study

STUDY = load_study("len-cle")
SUBJECT = subject_context(rficdtc="2023-01-05")


def run(*resources, subject=SUBJECT, meddra=None):
    return map_mh(record(patient(), *resources), study=STUDY, subject=subject, meddra=meddra)


def visible(row):
    return {k: v for k, v in row.items() if not k.startswith("_")}


def test_condition_before_consent_is_history_and_ongoing_at_consent():
    result = run(condition("c1", code="55464009", text="Systemic lupus erythematosus", onset="2015-03",
                           recorded_date="2023-01-05"))
    assert [visible(r) for r in result.rows] == [{
        "MHTERM": "Systemic lupus erythematosus", "MHSTDTC": "2015-03", "MHENRTPT": "ONGOING",
        "MHENTPT": "2023-01-05", "MHDTC": "2023-01-05"}]
    assert result.issues == []


def test_resolved_condition_has_end_date_and_no_ongoing():
    row = run(condition("c1", text="Herpes zoster", onset="2019-06-01", abatement="2019-07",
                        clinical_status="resolved")).rows[0]
    assert (row["MHSTDTC"], row["MHENDTC"]) == ("2019-06-01", "2019-07") and "MHENRTPT" not in row


def test_condition_after_consent_without_adverse_event_is_unmapped_with_the_reason():
    result = run(condition("late", text="Headache", onset="2023-01-05"))
    assert result.rows == []
    assert result.unmapped == {"Condition/late": "onset on or after RFICDTC; not recorded as an AdverseEvent"}
    assert [(i.code, i.where.resource, i.where.element) for i in result.issues] == \
        [("MAP080", "Condition/late", "onsetDateTime")]


def test_condition_after_consent_named_by_an_adverse_event_is_evidence():
    ae = adverse_event("ae1", resultingCondition=[{"reference": "Condition/late"}])
    result = run(condition("late", text="Rash", onset="2023-02-01"), ae)
    assert result.rows == [] and result.evidence == {"Condition/late"} and result.unmapped == {}


def test_partial_onset_in_the_consent_month_kept_as_history_with_a_warning():
    result = run(condition("c1", text="Cough", onset="2023-01"))
    assert result.rows[0]["MHSTDTC"] == "2023-01"
    assert [i.code for i in result.issues] == ["MAP081"]


def test_partial_onset_in_the_previous_month_is_surely_before():
    result = run(condition("c1", text="Cough", onset="2022-12"))
    assert len(result.rows) == 1 and result.issues == []


def test_no_onset_kept_as_history_and_refuted_not_mapped():
    result = run(condition("c1", text="Asthma"), condition("c2", text="Psoriasis", verification_status="refuted"))
    assert [r["MHTERM"] for r in result.rows] == ["Asthma"]
    assert result.unmapped == {"Condition/c2": "refuted or entered in error"}
    assert sorted(i.code for i in result.issues) == ["MAP082", "MAP084"]


def test_without_consent_the_first_dose_date_splits_and_it_is_said():
    result = run(condition("c1", text="Cough", onset="2023-01-07"), subject=subject_context(rficdtc=None))
    assert len(result.rows) == 1                                  # before first dose 2023-01-10
    assert [i.code for i in result.issues] == ["MAP085"]


def test_mhdecod_from_the_meddra_dictionary():
    meddra = load_meddra(Path(__file__).resolve().parent / "data" / "meddra")[0]
    row = run(condition("c1", code=None, text="Deep vein thrombosis", onset="2020"), meddra=meddra).rows[0]
    assert (row["MHDECOD"], row["MHBODSYS"]) == ("Deep vein thrombosis", "Vascular disorders")


def test_every_variable_set_is_an_mh_variable():
    from cdisc.standards import load_sdtmig

    row = run(condition("c1", text="Asthma", onset="2010", abatement="2012", recorded_date="2023-01-05")).rows[0]
    assert {k for k in row if not k.startswith("_")} - set(load_sdtmig().domain("MH").names) == set()
