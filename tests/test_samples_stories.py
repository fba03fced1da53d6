"""The stories of fhir_samples/stories.json match the data: one test per story category (issue 2)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from mappings.instruments.definitions import load_instruments
from mappings.study import load_study

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fhir_samples"
LOINC = "http://loinc.org"
SNOMED_POSITIVE = "10828004"
NCOMPLT = "C66727"
ELIG = "https://example.org/fhir2cdisc/CodeSystem/eligibility"


@lru_cache(maxsize=1)
def stories() -> list[dict]:
    return json.loads((SAMPLES / "stories.json").read_text(encoding="utf-8"))["stories"]


def tagged(tag: str) -> list[dict]:
    found = [s for s in stories() if tag in s["tags"]]
    assert found, f"no story tagged {tag}"
    return found


@lru_cache(maxsize=None)
def bundle(sample_id: str) -> dict:
    study = "len-cdm" if sample_id.startswith("CDM") else "len-cle"
    return json.loads((SAMPLES / study / "bundles" / f"{sample_id}.json").read_text(encoding="utf-8"))


def resources(sample_id: str, rtype: str | None = None) -> list[dict]:
    return [e["resource"] for e in bundle(sample_id)["entry"] if rtype in (None, e["resource"]["resourceType"])]


def lab_code(loinc: str) -> str:
    with (ROOT / "mappings" / "terminology" / "labs.csv").open(encoding="utf-8") as fh:
        return {r["loinc"]: r["lbtestcd"] for r in csv.DictReader(fh)}[loinc]


def screening_labs(sample_id: str, lbtestcd: str) -> list[dict]:
    """Observations of one test on the first day with labs (the screening visit)."""
    labs = [o for o in resources(sample_id, "Observation")
            if o["code"]["coding"][0]["system"] == LOINC and o["code"]["coding"][0]["code"] in LAB_LOINCS
            and lab_code(o["code"]["coding"][0]["code"]) == lbtestcd]
    first_day = min(o["effectiveDateTime"][:10] for o in resources(sample_id, "Observation")
                    if o.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "laboratory")
    return [o for o in labs if o["effectiveDateTime"][:10] == first_day]


with (ROOT / "mappings" / "terminology" / "labs.csv").open(encoding="utf-8") as _fh:
    LAB_LOINCS = {r["loinc"] for r in csv.DictReader(_fh)}


def study_of(story: dict):
    return load_study(story["study"])


def research_subject(sample_id: str) -> dict | None:
    found = resources(sample_id, "ResearchSubject")
    return found[0] if found else None


# ---- populations -------------------------------------------------------------------------------------------

def test_cdm_population_has_about_25_screened_and_10_enrolled():
    cdm = [s for s in stories() if s["study"] == "len-cdm"]
    assert 24 <= len(cdm) <= 30
    assert sum(s["enrolled"] for s in cdm) == 10


def test_cle_population_has_about_160_screened_and_122_randomised_61_61():
    cle = [s for s in stories() if s["study"] == "len-cle"]
    assert 155 <= len(cle) <= 165
    assert Counter(s["arm"] for s in cle if s["enrolled"]) == {"LEN5": 61, "MTX": 61}


@pytest.mark.parametrize("study,n_incl,n_excl", [("len-cdm", 5, 15), ("len-cle", 7, 9)])
def test_every_criterion_is_exercised_met_and_not_met_and_some_are_undetermined(study, n_incl, n_excl):
    expected = [f"INCL{i:02d}" for i in range(1, n_incl + 1)] + [f"EXCL{i:02d}" for i in range(1, n_excl + 1)]
    seen: dict[str, set] = {}
    for s in stories():
        if s["study"] == study:
            assert list(s["verdicts"]) == sorted(expected)
            for criterion, verdict in s["verdicts"].items():
                seen.setdefault(criterion, set()).add(verdict)
    assert all({"met", "not-met"} <= seen[c] for c in expected), seen
    assert sum("undetermined" in v for v in seen.values()) >= 4


def test_outcome_follows_the_verdicts():
    for s in stories():
        failing = any((c.startswith("INCL") and v == "not-met") or (c.startswith("EXCL") and v == "met")
                      for c, v in s["verdicts"].items())
        undecided = "undetermined" in s["verdicts"].values()
        assert s["outcome"] == ("ineligible" if failing else "needs-review" if undecided else "eligible")


def test_no_enrolled_subject_is_ineligible():
    assert all(s["outcome"] != "ineligible" for s in stories() if s["enrolled"])


# ---- study membership ------------------------------------------------------------------------------------------

def test_enrolled_subjects_have_an_enrolled_research_subject_with_their_arm():
    for s in stories():
        rs = research_subject(s["sample_id"])
        if s["enrolled"]:
            assert rs["status"] in study_of(s).enrolled_statuses
            assert rs["assignedArm"] == rs["actualArm"] == s["arm"]
            assert rs["identifier"][0]["value"] == s["subjid"]


def test_consented_screen_failures_are_ineligible_research_subjects():
    for s in tagged("screen-failure"):
        assert research_subject(s["sample_id"])["status"] == "ineligible"


def test_pre_screened_patients_have_no_research_subject_and_a_rejected_consent():
    for s in tagged("pre-screened"):
        assert research_subject(s["sample_id"]) is None
        assert [c["status"] for c in resources(s["sample_id"], "Consent")] == ["rejected"]
        assert s["verdicts"][{"len-cdm": "INCL05", "len-cle": "INCL03"}[s["study"]]] == "not-met"


def test_consent_missing_stories_have_no_consent_and_an_undetermined_consent_criterion():
    for s in tagged("consent-missing"):
        assert resources(s["sample_id"], "Consent") == []
        assert "consent" not in research_subject(s["sample_id"])
        assert s["verdicts"][{"len-cdm": "INCL05", "len-cle": "INCL03"}[s["study"]]] == "undetermined"


def test_every_discontinued_story_has_a_research_subject_end_and_an_ncomplt_reason():
    ncit_codes = {}
    for line in (ROOT.parent / "shared" / "cdisc" / "ct" / "sdtm_ct.tsv").read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) > 4 and cols[1] == NCOMPLT:
            ncit_codes[cols[4]] = cols[0]
    for s in tagged("discontinued"):
        rs = research_subject(s["sample_id"])
        assert rs["status"] == "off-study" and rs["period"]["end"]
        reason = rs["extension"][0]["valueCoding"]
        assert reason["display"] == s["discontinuation"]
        assert ncit_codes[reason["display"]] == reason["code"]


def test_ongoing_subjects_have_no_end_date_and_an_open_administration():
    for s in tagged("ongoing"):
        rs = research_subject(s["sample_id"])
        assert rs["status"] == "on-study" and "end" not in rs["period"]
        for ma in resources(s["sample_id"], "MedicationAdministration"):
            assert ma["status"] == "in-progress" and "end" not in ma["effectivePeriod"]


# ---- labs ----------------------------------------------------------------------------------------------------

def si_value(obs: dict) -> float:
    q = obs["valueQuantity"]
    return q["value"] * (10 if q["code"] == "g/dL" else 1)


def test_platelet_stories_have_platelets_below_100_in_the_screening_cbc():
    for s in tagged("lab-plat-abnormal"):
        (plat,) = screening_labs(s["sample_id"], "PLAT")
        assert si_value(plat) < 100
        assert plat["interpretation"][0]["coding"][0]["code"] == "L"


def test_haemoglobin_story_has_hgb_at_most_85_g_per_l_sent_in_g_per_dl():
    for s in tagged("lab-hgb-abnormal"):
        (hgb,) = screening_labs(s["sample_id"], "HGB")
        assert hgb["valueQuantity"]["code"] == "g/dL" and si_value(hgb) <= 85


def test_other_abnormal_lab_stories_carry_the_value_of_their_story():
    expected = {"lab-gfrbsa-abnormal": ("GFRBSA", 24), "lab-alt-abnormal": ("ALT", 168), "lab-creat-abnormal": ("CREAT", 265)}
    for tag, (testcd, value) in expected.items():
        for s in tagged(tag):
            (obs,) = screening_labs(s["sample_id"], testcd)
            assert si_value(obs) == value


def test_lab_not_done_stories_have_a_cancelled_lab_with_a_reason_and_no_value():
    for s in tagged("lab-not-done"):
        cancelled = [o for o in resources(s["sample_id"], "Observation") if o["status"] == "cancelled"]
        assert cancelled and all("dataAbsentReason" in o and "valueQuantity" not in o for o in cancelled)


def test_conventional_unit_stories_mix_g_per_dl_at_screening_with_g_per_l_later():
    for s in tagged("lab-g/dL"):
        units = {o["valueQuantity"]["code"] for o in resources(s["sample_id"], "Observation")
                 if o.get("valueQuantity") and o["code"]["coding"][0]["code"] == "718-7"}
        assert "g/dL" in units and ("g/L" in units or not s["enrolled"])
        assert any(o.get("valueQuantity", {}).get("code") == "10*3/uL" for o in resources(s["sample_id"], "Observation"))


def test_positive_serology_stories_have_a_positive_result():
    for tag, loinc in (("positive-hbsag", "5196-1"), ("positive-hiv12ag", "56888-1")):
        for s in tagged(tag):
            results = [o["valueCodeableConcept"]["coding"][0]["code"] for o in resources(s["sample_id"], "Observation")
                       if o["code"]["coding"][0]["code"] == loinc]
            assert results == [SNOMED_POSITIVE]


def test_pregnancy_stories_have_a_positive_hcg_and_no_test_stories_have_none():
    hcg = {"2106-3", "2118-8", "21198-7", "82810-3"}
    for s in tagged("pregnant"):
        assert any(o["code"]["coding"][0]["code"] == "2118-8" and o["valueCodeableConcept"]["coding"][0]["code"] == SNOMED_POSITIVE
                   for o in resources(s["sample_id"], "Observation"))
    for s in tagged("no-pregnancy-test"):
        assert not any(o["code"]["coding"][0]["code"] in hcg for o in resources(s["sample_id"], "Observation"))
        assert resources(s["sample_id"], "Patient")[0]["gender"] == "female"


# ---- conditions, history --------------------------------------------------------------------------------------

def test_condition_stories_have_the_condition_with_its_codes():
    with (ROOT / "interop" / "samples" / "data" / "conditions.csv").open(encoding="utf-8") as fh:
        table = {r["key"]: r for r in csv.DictReader(fh)}
    for s in stories():
        for tag in s["tags"]:
            if tag.startswith("condition-"):
                row = table[tag[len("condition-"):]]
                codes = {c["code"] for r in resources(s["sample_id"], "Condition") for c in r["code"]["coding"]}
                assert codes & {row["snomed"], row["icd10"], row["icd10cm"]} - {""}, (s["sample_id"], tag)


def test_histology_stories():
    for s in tagged("histology-none"):
        assert resources(s["sample_id"], "DiagnosticReport") == []
    for s in tagged("histology-other"):
        (report,) = resources(s["sample_id"], "DiagnosticReport")
        assert not report["conclusionCode"][0]["coding"][0]["code"].startswith("L93")


def test_review_criteria_follow_the_investigator_observation():
    for s in stories():
        judged = {o["code"]["coding"][0]["code"].split("/")[1]: o["valueBoolean"]
                  for o in resources(s["sample_id"], "Observation") if o["code"]["coding"][0]["system"] == ELIG
                  and "/" in o["code"]["coding"][0]["code"]}
        for criterion, value in judged.items():
            verdict = s["verdicts"][criterion]
            assert verdict == ("met" if value else "not-met") or (criterion == "EXCL01" and verdict == "met"), (s["sample_id"], criterion)
        if "no-investigator-judgement" in s["tags"]:
            assert "undetermined" in s["verdicts"].values()


def test_activity_score_stories_have_the_item_sum_below_the_threshold():
    instruments = load_instruments()
    for s in tagged("low-activity-score"):
        key, threshold = ("CDASI", 12) if s["study"] == "len-cdm" else ("CLASI", 8)
        activity_ids = {i.link_id for i in instruments[key].items_feeding("activity")}
        totals = [sum(a["answer"][0].get("valueInteger", 0) for a in qr["item"] if a["linkId"] in activity_ids)
                  for qr in resources(s["sample_id"], "QuestionnaireResponse")]
        assert totals and min(totals) < threshold


def test_eligible_stories_have_activity_at_or_above_the_threshold_at_screening():
    instruments = load_instruments()
    for s in stories():
        if s["outcome"] != "eligible":
            continue
        key, threshold = ("CDASI", 12) if s["study"] == "len-cdm" else ("CLASI", 8)
        activity_ids = {i.link_id for i in instruments[key].items_feeding("activity")}
        first = min((qr for qr in resources(s["sample_id"], "QuestionnaireResponse") if key.lower() in qr["questionnaire"]),
                    key=lambda qr: qr["authored"])
        assert sum(a["answer"][0].get("valueInteger", 0) for a in first["item"] if a["linkId"] in activity_ids) >= threshold


# ---- the mess ----------------------------------------------------------------------------------------------------

def test_partial_date_stories_have_a_year_or_year_month_date():
    for s in tagged("partial-date"):
        dates = [r.get("onsetDateTime") for r in resources(s["sample_id"], "Condition")]
        dates += [r.get("effectivePeriod", {}).get("start") for r in resources(s["sample_id"], "MedicationStatement")]
        dates += [r.get("birthDate") for r in resources(s["sample_id"], "Patient")]
        assert any(d and len(d) in (4, 7) for d in dates), s["sample_id"]


def test_unscheduled_and_missed_visits():
    for s in tagged("unscheduled-visit"):
        assert any(t.get("text") == "Unscheduled" for e in resources(s["sample_id"], "Encounter") for t in e.get("type", []))
    for s in tagged("missed-visit"):
        assert len(resources(s["sample_id"], "Encounter")) < len(study_of(s).visits) + 1


def test_out_of_window_visit_lies_outside_every_window():
    from datetime import date
    for s in tagged("out-of-window"):
        day1 = date.fromisoformat(research_subject(s["sample_id"])["period"]["start"])
        days = [(date.fromisoformat(e["period"]["start"][:10]) - day1).days + 1 for e in resources(s["sample_id"], "Encounter")]
        assert 68 in days and study_of(s).visit_for_day(68) is None


def test_utc_stories_send_times_with_z_and_others_with_an_offset():
    for s in tagged("tz-utc"):
        assert all(e["period"]["start"].endswith("Z") for e in resources(s["sample_id"], "Encounter"))
    for s in stories():
        if "tz-utc" not in s["tags"]:
            assert all(e["period"]["start"][-6] in "+-" for e in resources(s["sample_id"], "Encounter"))


def test_reference_styles_of_bundles():
    for s in tagged("refs-urn"):
        entries = bundle(s["sample_id"])["entry"]
        assert all(e["fullUrl"].startswith("urn:uuid:") for e in entries)
        assert resources(s["sample_id"], "Encounter")[0]["subject"]["reference"].startswith("urn:uuid:")
    for s in tagged("refs-absolute"):
        assert resources(s["sample_id"], "Encounter")[0]["subject"]["reference"].startswith("https://")
    for s in tagged("refs-relative"):
        assert resources(s["sample_id"], "Encounter")[0]["subject"]["reference"].startswith("Patient/")


def test_duplicate_stories_resend_identical_resources_in_a_second_bundle():
    for s in tagged("duplicate-resource"):
        study = s["study"]
        resent = json.loads((SAMPLES / study / "bundles" / f"{s['sample_id']}-resent.json").read_text(encoding="utf-8"))
        originals = {(r["resourceType"], r["id"]): r for r in resources(s["sample_id"])}
        for entry in resent["entry"]:
            r = entry["resource"]
            assert originals[(r["resourceType"], r["id"])] == r


def test_contained_and_request_only_stories():
    for s in tagged("contained-resource"):
        assert any(r.get("contained") for r in resources(s["sample_id"]))
    for s in tagged("study-drug-request-only"):
        assert resources(s["sample_id"], "MedicationAdministration") == []
        assert resources(s["sample_id"], "MedicationRequest")


def test_partial_dlqi_and_form_answered_twice_on_one_day():
    for s in tagged("dlqi-partial"):
        dlqi = [qr for qr in resources(s["sample_id"], "QuestionnaireResponse") if "/dlqi|" in qr["questionnaire"]]
        assert any(any("answer" not in i for i in qr["item"]) for qr in dlqi)
    for s in tagged("form-twice"):
        days = Counter((qr["questionnaire"], qr["authored"][:10]) for qr in resources(s["sample_id"], "QuestionnaireResponse"))
        assert max(days.values()) == 2


def test_serious_ae_stories_have_a_serious_event_with_criterion_grade_causality_and_action():
    for s in tagged("serious-ae"):
        serious = [a for a in resources(s["sample_id"], "AdverseEvent")
                   if a["seriousness"]["coding"][0]["code"] == "serious"]
        assert serious
        urls = {e["url"].rsplit("/", 1)[1] for e in serious[0]["extension"]}
        assert {"ae-serious-criterion", "ctcae-grade", "ae-action-taken"} <= urls
        assert serious[0]["suspectEntity"][0]["causality"][0]["assessment"]["coding"][0]["code"]


def test_adverse_events_come_with_and_without_meddra_coding():
    coded = uncoded = 0
    for s in stories():
        for ae in resources(s["sample_id"], "AdverseEvent"):
            if ae["event"].get("coding"):
                coded += 1
            else:
                uncoded += 1
    assert coded and uncoded


def test_every_patient_carries_phi_and_some_carry_race_and_ethnicity():
    with_race = 0
    for s in stories():
        (patient,) = resources(s["sample_id"], "Patient")
        assert patient["name"] and patient["address"] and patient["telecom"]
        assert {i["system"].rsplit("/", 1)[-1] for i in patient["identifier"]} >= {"mrn"}
        assert len(patient["identifier"]) == 2
        assert ("birthDate" in patient) == ("no-birthdate" not in s["tags"])
        with_race += "extension" in patient
    assert 0 < with_race < len(stories())


def test_coverage_stories():
    for s in tagged("coverage-foreign"):
        (coverage,) = resources(s["sample_id"], "Coverage")
        assert coverage["type"]["coding"][0]["code"] != "FR-AMO"
    for s in tagged("coverage-none"):
        assert resources(s["sample_id"], "Coverage") == []
    for s in stories():
        if s["study"] == "len-cle" and s["verdicts"]["INCL02"] == "met":
            assert [c["type"]["coding"][0]["code"] for c in resources(s["sample_id"], "Coverage")] == ["FR-AMO"]


def test_unprovoked_thrombosis_story_says_so():
    for s in tagged("condition-pe"):
        (pe,) = [c for c in resources(s["sample_id"], "Condition") if c["code"]["coding"][0]["code"] == "59282003"]
        assert pe["extension"][0]["url"].endswith("/vte-provoked") and pe["extension"][0]["valueBoolean"] is False
