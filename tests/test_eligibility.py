"""Eligibility engine: each criterion both ways and undetermined, unusual but valid codings, patient status.

Every record has Consent 2023-01-05 (the screening date) unless said otherwise; the assessment window is
2022-12-08 .. 2023-02-02 (criteria files, ``windows.assessment`` = [-28, 28]).
"""

from __future__ import annotations

from datetime import date

import pytest

from interop.normalize.record import ICD10, ICD10CM, SNOMED
from mappings.eligibility import PatientStatus, Verdict, load_criteria_set, screen_subject
from mappings.eligibility.criteria import IETEST_MAX
from mappings.eligibility.valuesets import load_valueset
from mappings.instruments.definitions import load_instruments
from tests.builders import (EX, allergy_intolerance, condition, consent, coverage, diagnostic_report,
                            elig_observation, immunization, medication_statement, observation, patient, procedure,
                            questionnaire_response, record, research_study, research_subject)

MET, NOT_MET, UNDET, REVIEW = Verdict.MET, Verdict.NOT_MET, Verdict.UNDETERMINED, Verdict.REVIEW
VTE_PROVOKED = f"{EX}/StructureDefinition/vte-provoked"


def screen(study: str, *resources, gender: str = "female", birth: str = "1970-05-15", consent_date="2023-01-05",
           as_of=None):
    base = [patient("p1", gender=gender, birth_date=birth)]
    if consent_date:
        base.append(consent("c1", date_time=consent_date))
    return screen_subject(record(*base, *resources), study=study, as_of=as_of)


def verdict(study: str, criterion: str, *resources, **kwargs) -> Verdict:
    return screen(study, *resources, **kwargs).result(criterion).verdict


def cbc(wbc=6.0, neut=3.0, hgb=130, plt=250, hgb_unit="g/L", day="2023-01-05"):
    return [observation("wbc", code="6690-2", value=wbc, unit="10*9/L", effective=day),
            observation("neut", code="751-8", value=neut, unit="10*9/L", effective=day),
            observation("hgb", code="718-7", value=hgb, unit=hgb_unit, effective=day),
            observation("plt", code="777-3", value=plt, unit="10*9/L", effective=day)]


def _answers(instrument: str, chosen: dict[str, int]) -> dict:
    items = load_instruments()[instrument].items_feeding("activity")
    values = {i.link_id: (False if i.type == "boolean" else 0) for i in items}
    values.update(chosen)
    return values


def cdasi(qr_id="qr-cdasi", authored="2023-01-05", erythema_areas=4):
    """CDASI v2 with ``erythema_areas`` areas at erythema 3 and every other activity item 0: activity =
    3 x areas (cdasi.md, Scoring algorithm: activity is the sum of the activity items; no Gottron papules)."""
    chosen = dict(zip(["CDASI101", "CDASI106", "CDASI111", "CDASI121"][:erythema_areas], [3] * erythema_areas))
    return questionnaire_response(qr_id, questionnaire=f"{EX}/Questionnaire/cdasi|2.0", authored=authored,
                                  answers=_answers("CDASI", chosen))


def clasi(qr_id="qr-clasi", authored="2023-01-05", scalp=3, ears=3, ears_scale=2):
    """CLASI with scalp erythema, ears erythema, ears scale set, all else 0: CLASI-A = their sum (clasi.md,
    Structure: CLASI-A = sum of zone erythema + scale + mucous + hair loss + alopecia)."""
    chosen = {"CLASI101": scalp, "CLASI103": ears, "CLASI104": ears_scale}
    return questionnaire_response(qr_id, questionnaire=f"{EX}/Questionnaire/clasi|1.0", authored=authored,
                                  answers=_answers("CLASI", chosen))


# ---- criteria files -------------------------------------------------------------------------------

@pytest.mark.parametrize("study, inclusions, exclusions", [("len-cdm", 5, 15), ("len-cle", 7, 9)])
def test_criteria_are_numbered_in_protocol_order(study, inclusions, exclusions):
    criteria = load_criteria_set(study).criteria
    assert [c.id for c in criteria] == ([f"INCL{i:02d}" for i in range(1, inclusions + 1)]
                                        + [f"EXCL{i:02d}" for i in range(1, exclusions + 1)])
    assert all(len(c.ietest) <= IETEST_MAX and len(c.id) <= 8 for c in criteria)


def test_icd10_family_matches_both_icd_systems_by_prefix():
    zoster = load_valueset("herpes-zoster")
    assert zoster.contains(ICD10, "B02.9") and zoster.contains(ICD10CM, "B029") and zoster.contains(ICD10, "B02")
    assert not zoster.contains(ICD10, "B01.9") and not zoster.contains(SNOMED, "B02.9")


def test_drug_class_valueset_comes_from_drugs_table():
    steroids = load_valueset("class:corticosteroid")
    assert steroids.contains("http://www.nlm.nih.gov/research/umls/rxnorm", "8640")     # prednisone
    assert not steroids.contains("http://www.nlm.nih.gov/research/umls/rxnorm", "6851")  # methotrexate


# ---- demographics, consent, coverage --------------------------------------------------------------

@pytest.mark.parametrize("birth, expected", [
    ("1970-05-15", MET),       # 52 on 2023-01-05
    ("2005-01-05", MET),       # 18 that day
    ("2005-01-06", NOT_MET),   # 17
    ("1947-01-06", MET),       # 75
    ("1947-01-05", NOT_MET),   # 76 that day
    ("2005", UNDET),           # 17 or 18
])
def test_cdm_age_18_to_75_at_consent(birth, expected):
    assert verdict("len-cdm", "INCL02", birth=birth) is expected


def test_age_undetermined_without_screening_date_and_decided_with_as_of():
    assert verdict("len-cle", "INCL01", consent_date=None) is UNDET
    assert verdict("len-cle", "INCL01", consent_date=None, as_of=date(2023, 1, 5)) is MET


def test_consent_met_refused_or_missing():
    assert verdict("len-cdm", "INCL05") is MET
    assert verdict("len-cdm", "INCL05", consent("c2", status="rejected"), consent_date=None) is NOT_MET
    assert verdict("len-cdm", "INCL05", consent_date=None) is UNDET


def test_french_social_security_coverage():
    assert verdict("len-cle", "INCL02", coverage()) is MET
    assert verdict("len-cle", "INCL02", coverage(type_code="PRIVATE")) is NOT_MET
    assert verdict("len-cle", "INCL02", coverage(end="2022-06-30")) is NOT_MET
    assert verdict("len-cle", "INCL02") is UNDET


# ---- pregnancy, breastfeeding, contraception, alcohol ---------------------------------------------

def test_male_is_neither_pregnant_nor_nursing():
    result = screen("len-cdm", gender="male")
    assert result.result("INCL01").verdict is MET


def test_non_pregnant_non_nursing_female_meets_cdm_incl01():
    resources = [observation("preg", code="82810-3", value_code="60001007", category=None),
                 elig_observation("bf", "breastfeeding", value=False)]
    assert verdict("len-cdm", "INCL01", *resources) is MET


def test_positive_hcg_fails_incl01_and_meets_excl01():
    result = screen("len-cdm", observation("hcg", code="2106-3", value_code="10828004"))
    assert result.result("INCL01").verdict is NOT_MET
    assert result.result("EXCL01").verdict is MET
    assert result.result("EXCL01").outcome.evidence[0].resource == "Observation/hcg"


def test_pregnancy_unknown_is_undetermined():
    assert verdict("len-cdm", "INCL01") is UNDET


def test_wish_to_conceive_meets_cle_excl08_even_for_a_man():
    assert verdict("len-cle", "EXCL08", elig_observation("int", "pregnancy-intention", value=True), gender="male") is MET
    assert verdict("len-cle", "EXCL08", elig_observation("int", "pregnancy-intention", value=False), gender="male") is NOT_MET


@pytest.mark.parametrize("method, start, expected", [("iud", "2022-10-01", MET), ("iud", "2022-12-20", NOT_MET),
                                                      ("no-childbearing-potential", "2022-12-30", MET),
                                                      ("iud", "2022-12", UNDET)])
def test_contraception_for_at_least_4_weeks(method, start, expected):
    # 4 weeks before 2023-01-05 = 2022-12-08; '2022-12' may start before or after it
    obs = elig_observation("contra", "contraception", method=method, start=start)
    assert verdict("len-cle", "INCL07", obs) is expected


def test_contraception_missing_is_undetermined():
    assert verdict("len-cle", "INCL07") is UNDET


def _alcohol(week, day, free):
    return [elig_observation("a1", "alcohol-drinks-per-week", value=week),
            elig_observation("a2", "alcohol-max-drinks-per-day", value=day),
            elig_observation("a3", "alcohol-free-days-per-week", value=free)]


@pytest.mark.parametrize("week, day, free, expected", [(12, 2, 3, MET), (8, 3, 3, MET), (8, 2, 1, MET),
                                                       (10, 2, 2, NOT_MET)])
def test_cle_alcohol_limits(week, day, free, expected):
    assert verdict("len-cle", "EXCL02", *_alcohol(week, day, free)) is expected


def test_cle_alcohol_partly_reported_is_undetermined():
    assert verdict("len-cle", "EXCL02", *_alcohol(8, 2, 3)[:2]) is UNDET


# ---- labs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, expected", [
    ({}, NOT_MET),
    ({"wbc": 2.9}, MET), ({"wbc": 3.0}, NOT_MET),
    ({"neut": 1.4}, MET), ({"plt": 99}, MET), ({"plt": 100}, NOT_MET),
    ({"hgb": 85}, MET), ({"hgb": 86}, NOT_MET),
    ({"hgb": 8.5, "hgb_unit": "g/dL"}, MET),      # 8.5 g/dL x 10 = 85 g/L <= 85
    ({"hgb": 8.6, "hgb_unit": "g/dL"}, NOT_MET),  # 86 g/L
])
def test_cdm_myelosuppression_thresholds(changes, expected):
    assert verdict("len-cdm", "EXCL03", *cbc(**changes)) is expected


def test_lab_in_other_units_is_converted_and_shown():
    result = screen("len-cdm", *cbc(hgb=8.0, hgb_unit="g/dL"))
    facts = [e.fact for e in result.result("EXCL03").outcome.evidence]
    assert facts == ["HGB 80 g/L (sent 8.0 g/dL); threshold <= 85"]


def test_missing_or_unconvertible_lab_is_undetermined_with_issue():
    labs = cbc()[:3] + [observation("plt", code="777-3", value=250, unit="mmol/L", effective="2023-01-05")]
    result = screen("len-cdm", *labs)
    assert result.result("EXCL03").verdict is UNDET
    assert [(i.code, i.where.resource) for i in result.issues] == [("ELIG001", "Observation/plt")]


def test_latest_lab_in_window_decides_and_old_results_are_ignored():
    labs = cbc() + [observation("wbc-old", code="6690-2", value=2.0, unit="10*9/L", effective="2022-11-01"),
                    observation("wbc-earlier", code="6690-2", value=2.0, unit="10*9/L", effective="2022-12-20")]
    assert verdict("len-cdm", "EXCL03", *labs) is NOT_MET


# ---- scores and treatment history --------------------------------------------------------------------

def _steroid(start="2022-06-01"):
    return medication_statement("ms-pred", rxnorm="8640", start=start)


@pytest.mark.parametrize("areas, expected", [(4, MET), (3, NOT_MET)])
def test_cdm_cdasi_at_least_12(areas, expected):
    # 4 areas x erythema 3 = 12 (met); 3 areas = 9 (not met); prednisone for 7 months
    assert verdict("len-cdm", "INCL04", cdasi(erythema_areas=areas), _steroid()) is expected


@pytest.mark.parametrize("start, expected", [("2022-06-01", MET), ("2022-11-01", NOT_MET), ("2022-09", MET),
                                             ("2022-10", UNDET)])
def test_cdm_treatment_more_than_3_months(start, expected):
    # 3 months before 2023-01-05 = 2022-10-05 (92 days); '2022-09' -> 97-126 days; '2022-10' -> 66-96 days
    assert verdict("len-cdm", "INCL04", cdasi(), _steroid(start)) is expected


def test_cdm_cdasi_missing_is_undetermined():
    assert verdict("len-cdm", "INCL04", _steroid()) is UNDET


def test_cdasi_with_a_missing_item_is_not_scored_and_reported():
    qr = cdasi()
    qr["item"] = qr["item"][1:]
    result = screen("len-cdm", qr, _steroid())
    assert result.result("INCL04").verdict is UNDET
    assert [i.code for i in result.issues] == ["ELIG004"]


def test_cle_clasi_before_randomisation_cannot_be_determined():
    result = screen("len-cle", clasi())                           # 3 + 3 + 2 = 8 at screening
    assert result.result("INCL05").verdict is UNDET
    assert result.result("INCL05").outcome.missing == ("CLASI activity at randomisation (not randomised)",)
    assert verdict("len-cle", "INCL05", clasi(ears_scale=1)) is NOT_MET   # 7 at screening


def test_cle_clasi_at_screening_and_randomisation_are_two_responses():
    study = [research_study(), research_subject(start="2023-01-20")]
    assert verdict("len-cle", "INCL05", clasi(authored="2023-01-19"), *study) is UNDET   # one response only
    both = [clasi(), clasi("qr-rand", authored="2023-01-19", scalp=1), *study]     # 1 + 3 + 2 = 6 at randomisation
    assert verdict("len-cle", "INCL05", *both) is NOT_MET
    both[1] = clasi("qr-rand", authored="2023-01-19")
    assert verdict("len-cle", "INCL05", *both) is MET


def test_cle_histology_concluding_otherwise_is_not_met():
    report = diagnostic_report(conclusion=(ICD10, "L40.0"))
    assert verdict("len-cle", "INCL04", report, condition(code="L93.0", system=ICD10)) is NOT_MET


# ---- diagnoses --------------------------------------------------------------------------------------

@pytest.mark.parametrize("system, code", [(SNOMED, "396230008"), (ICD10, "M33.1"), (ICD10CM, "M33.13")])
def test_dermatomyositis_in_any_coding(system, code):
    assert verdict("len-cdm", "INCL03", condition(code=code, system=system)) is MET


def test_provisional_dermatomyositis_does_not_satisfy_classification():
    assert verdict("len-cdm", "INCL03", condition(code="396230008", verification_status="provisional")) is NOT_MET


def test_heart_failure_needs_nyha_class():
    hf = condition("hf", code="I50.9", system=ICD10CM)
    assert verdict("len-cdm", "EXCL03", hf, *cbc()) is UNDET
    staged = dict(hf, stage=[{"summary": {"coding": [{"system": SNOMED, "code": "420913000"}]}}])
    assert verdict("len-cdm", "EXCL03", staged, *cbc()) is MET


@pytest.mark.parametrize("onset, abatement, status, expected", [
    ("2022-11-01", "2022-11-20", "resolved", MET),       # within 90 days (from 2022-10-07)
    ("2022-01-01", "2022-02-01", "resolved", NOT_MET),   # one old episode
    ("2022-10", None, "resolved", UNDET),                # October: may be before or after 2022-10-07
])
def test_cdm_herpes_zoster_within_90_days(onset, abatement, status, expected):
    zoster = condition("hz", code="B02.9", system=ICD10, onset=onset, abatement=abatement, clinical_status=status)
    assert verdict("len-cdm", "EXCL09", zoster) is expected


def test_recurrent_herpes_zoster():
    episodes = [condition(f"hz{i}", code="4740000", onset=f"20{y}-03-01", abatement=f"20{y}-04-01",
                          clinical_status="resolved") for i, y in enumerate((15, 19))]
    assert verdict("len-cdm", "EXCL09", *episodes) is MET


def test_refuted_hiv_is_ignored():
    hiv = condition("hiv", code="B20", system=ICD10, verification_status="refuted")
    assert verdict("len-cdm", "EXCL10", hiv) is NOT_MET
    assert verdict("len-cdm", "EXCL10", condition("hiv", code="86406008")) is MET


# ---- vaccines, surgery, malignancy, thrombosis, allergy ------------------------------------------------

@pytest.mark.parametrize("cvx, day, expected", [("03", "2022-12-20", MET), ("03", "2022-11-01", NOT_MET),
                                                ("141", "2022-12-20", NOT_MET), ("03", "2022-12", UNDET)])
def test_cdm_live_vaccine_within_4_weeks(cvx, day, expected):
    # window 2022-12-08 .. 2023-01-05; CVX 141 = inactivated influenza
    assert verdict("len-cdm", "EXCL14", immunization(cvx=cvx, date=day)) is expected


@pytest.mark.parametrize("performed, status, expected", [("2022-12-01", "completed", MET),
                                                          ("2022-10-01", "completed", NOT_MET),
                                                          (None, "preparation", MET)])
def test_cdm_major_surgery_within_8_weeks_or_planned(performed, status, expected):
    # 8 weeks before 2023-01-05 = 2022-11-10
    assert verdict("len-cdm", "EXCL13", procedure(performed=performed, status=status)) is expected


@pytest.mark.parametrize("system, code, abatement, status, expected", [
    (ICD10, "C50.9", "2022-10-01", "remission", MET),        # stable < 6 months (since 2022-07-05 needed)
    (ICD10, "C50.9", "2021-06-01", "remission", NOT_MET),    # stable > 6 months: can be enrolled
    (ICD10CM, "C50.911", None, "active", MET),               # ongoing
    (ICD10, "C50.9", "2016-06-01", "resolved", NOT_MET),     # more than 5 years ago
    (SNOMED, "363346000", None, "active", MET),              # SNOMED only
])
def test_cdm_malignancy_within_5_years_unless_stable(system, code, abatement, status, expected):
    cancer = condition("ca", code=code, system=system, onset="2015-01-01", abatement=abatement, clinical_status=status)
    assert verdict("len-cdm", "EXCL15", cancer) is expected


def _dvt(onset="2020-05-01", provoked=None):
    extra = {} if provoked is None else {"extension": [{"url": VTE_PROVOKED, "valueBoolean": provoked}]}
    return condition("dvt", code="128053003", onset=onset, clinical_status="resolved", abatement="2020-08-01", **extra)


@pytest.mark.parametrize("event, expected", [
    (_dvt(provoked=False), MET), (_dvt(provoked=True), NOT_MET), (_dvt(), UNDET),
    (_dvt(onset="2017-01-01", provoked=False), NOT_MET),   # more than 5 years before 2023-01-05
    (condition("mi", code="I21.4", system=ICD10, onset="2021-02-01"), MET),
])
def test_cle_arterial_or_unprovoked_vte_within_5_years(event, expected):
    assert verdict("len-cle", "EXCL07", event) is expected


def test_cle_antiphospholipid_syndrome_on_vka_is_not_excluded_and_noted():
    aps = condition("aps", code="D68.61", system=ICD10CM, onset="2012-01-01")
    warfarin = medication_statement("ms-warf", rxnorm="11289", start="2012-02-01")
    result = screen("len-cle", aps, warfarin).result("EXCL07")
    assert result.verdict is NOT_MET
    assert any("vitamin K antagonist" in n for n in result.outcome.notes)


def test_cdm_thalidomide_allergy():
    assert verdict("len-cdm", "EXCL06", allergy_intolerance()) is MET
    assert verdict("len-cdm", "EXCL06") is NOT_MET


def test_cle_aspirin_contraindication_by_active_ulcer_only():
    ulcer = condition("ulc", code="K25.3", system=ICD10, clinical_status="active")
    healed = condition("ulc", code="K25.3", system=ICD10, clinical_status="resolved", abatement="2020-01-01")
    assert verdict("len-cle", "EXCL06", ulcer) is MET
    assert verdict("len-cle", "EXCL06", healed) is NOT_MET


@pytest.mark.parametrize("conclusion, expected", [((ICD10, "L93.0"), MET), ((SNOMED, "200938002"), MET),
                                                  ((ICD10, "L40.0"), NOT_MET)])
def test_cle_histology(conclusion, expected):
    assert verdict("len-cle", "INCL04", diagnostic_report(conclusion=conclusion)) is expected


def test_cle_diagnosis_without_histology_is_undetermined():
    assert verdict("len-cle", "INCL04", condition(code="L93.1", system=ICD10CM)) is UNDET


# ---- investigator judgement and patient status ---------------------------------------------------------

def test_investigator_items_need_review_unless_assessed():
    assert verdict("len-cle", "EXCL09") is REVIEW
    assessed = elig_observation("inv", "len-cle/EXCL09", value=False)
    assert verdict("len-cle", "EXCL09", assessed) is NOT_MET
    assert verdict("len-cle", "EXCL09", elig_observation("inv", "len-cle/EXCL09", value=True)) is MET


def _eligible_cdm_patient():
    return [observation("preg", code="82810-3", value_code="60001007", category=None),
            elig_observation("bf", "breastfeeding", value=False),
            elig_observation("int", "pregnancy-intention", value=False),
            condition("dm", code="M33.13", system=ICD10CM, onset="2021-03"),
            cdasi(), _steroid(), *cbc(),
            elig_observation("inv7", "len-cdm/EXCL07", value=False),
            elig_observation("inv11", "len-cdm/EXCL11", value=False)]


def test_cdm_patient_meeting_everything_is_eligible():
    result = screen("len-cdm", *_eligible_cdm_patient())
    assert {k: v for k, v in result.verdicts().items() if v not in ("met", "not met")} == {}
    assert result.status is PatientStatus.ELIGIBLE and result.reasons == ()
    assert (result.screening_date, result.screening_date_source) == ("2023-01-05", "consent")


def test_one_failing_criterion_makes_the_patient_ineligible_with_reason():
    result = screen("len-cdm", *_eligible_cdm_patient(), immunization(cvx="21", date="2022-12-30"))
    assert result.status is PatientStatus.INELIGIBLE and result.reasons == ("EXCL14",)


def test_open_criteria_make_the_patient_need_review():
    result = screen("len-cdm", *_eligible_cdm_patient()[:-1])
    assert result.status is PatientStatus.NEEDS_REVIEW and result.reasons == ("EXCL11",)


def test_screening_date_falls_back_to_screening_encounter():
    visit = {"resourceType": "Encounter", "id": "scr", "status": "finished",
             "type": [{"coding": [{"system": f"{EX}/CodeSystem/encounter-type", "code": "screening"}]}],
             "subject": {"reference": "Patient/p1"}, "period": {"start": "2023-02-01T09:00"}}
    result = screen("len-cle", visit, consent_date=None)
    assert (result.screening_date, result.screening_date_source) == ("2023-02-01", "screening-encounter")


def test_no_screening_date_is_reported():
    result = screen("len-cle", consent_date=None)
    assert result.screening_date is None and "ELIG002" in [i.code for i in result.issues]
