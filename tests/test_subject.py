"""Subject context (mappings/subject.py): membership, SUBJID/USUBJID, status, arms, reference dates."""

from mappings.study import load_study
from mappings.subject import derive_subject_context
from tests.builders import (consent, encounter, medication_administration, medication_request, patient, record,
                            research_study, research_subject)

CLE = load_study("len-cle")
CDM = load_study("len-cdm")


def codes(issues):
    return [i.code for i in issues]


def test_enrolled_subject_gets_usubjid_arms_and_reference_dates():
    rec = record(patient(), research_study(),
                 research_subject(subject_id="007", assigned_arm="LEN5", start="2023-01-09", consent="c1"),
                 consent(date_time="2023-01-05"),
                 medication_administration("ma1", start="2023-01-10", end="2023-02-06"),
                 medication_administration("ma2", start="2023-02-07", end="2023-03-06"),
                 encounter("e9", start="2023-03-20"))
    ctx, issues = derive_subject_context(rec, study=CLE)
    assert (ctx.usubjid, ctx.subjid, ctx.status) == ("LEN-CLE-01-007", "007", "enrolled")
    assert (ctx.armcd, ctx.actarmcd) == ("LEN5", "LEN5")
    assert (ctx.rficdtc, ctx.rfstdtc, ctx.rfendtc) == ("2023-01-05", "2023-01-10", "2023-03-06")
    assert ctx.rfpendtc == "2023-03-20"          # no period.end: last encounter is the last contact
    assert ctx.randdtc == "2023-01-09"
    assert ctx.research_subject_key == "ResearchSubject/rs1"
    assert issues == []


def test_patient_without_research_subject_for_this_study_is_not_a_subject():
    rec = record(patient(), research_study("other", value="OTHER"), research_subject(study="other"))
    ctx, issues = derive_subject_context(rec, study=CLE)
    assert ctx is None
    assert codes(issues) == ["MAP001"]


def test_missing_identifier_uses_pseudonym_fallback_or_skips():
    rec = record(patient(), research_study(), research_subject(subject_id=None, assigned_arm="MTX"))
    ctx, issues = derive_subject_context(rec, study=CLE, subjid_fallback="P8F3")
    assert ctx.usubjid == "LEN-CLE-01-P8F3"
    assert "MAP002" in codes(issues)
    ctx, issues = derive_subject_context(rec, study=CLE)
    assert ctx is None and "MAP008" in codes(issues)


def test_screen_failure_has_no_arm():
    rec = record(patient(), research_study(), research_subject(status="ineligible", assigned_arm="LEN5",
                                                               end="2023-01-20"), consent())
    ctx, _ = derive_subject_context(rec, study=CLE)
    assert (ctx.status, ctx.armcd, ctx.actarmcd, ctx.rfstdtc) == ("screen-failure", None, None, None)
    assert ctx.rfpendtc == "2023-01-20"


def test_exposure_to_the_other_arm_product_sets_actual_arm_and_warns():
    rec = record(patient(), research_study(), research_subject(assigned_arm="LEN5", consent="c1"), consent(),
                 medication_administration(rxnorm="6851", dose=15, start="2023-01-10", end="2023-01-10"))
    ctx, issues = derive_subject_context(rec, study=CLE)
    assert (ctx.armcd, ctx.actarmcd) == ("LEN5", "MTX")
    assert "MAP012" in codes(issues)


def test_single_arm_study_without_assigned_arm_uses_the_only_arm():
    rec = record(patient(), research_study("len-cdm", value="LEN-CDM", arms=("LEN5",)),
                 research_subject(study="len-cdm", study_key="len-cdm", consent="c1"), consent())
    ctx, issues = derive_subject_context(rec, study=CDM)
    assert ctx.armcd == "LEN5" and ctx.actarmcd is None
    assert "MAP006" in codes(issues)


def test_reference_dates_from_prescription_when_no_administration():
    rec = record(patient(), research_study(), research_subject(assigned_arm="MTX", consent="c1"), consent(),
                 medication_request(rxnorm="6851", start="2023-01-12", end="2023-06-30"))
    ctx, _ = derive_subject_context(rec, study=CLE)
    assert (ctx.rfstdtc, ctx.rfendtc, ctx.actarmcd) == ("2023-01-12", "2023-06-30", "MTX")


def test_first_dose_before_consent_is_reported():
    rec = record(patient(), research_study(), research_subject(assigned_arm="LEN5", consent="c1"),
                 consent(date_time="2023-01-15"), medication_administration(start="2023-01-10"))
    _, issues = derive_subject_context(rec, study=CLE)
    assert "MAP018" in codes(issues)
