"""AE from AdverseEvent (rules in the mappings/ae.py docstring); values worked out by hand."""

from pathlib import Path

from tests.builders import (adverse_event, medication, medication_administration, patient, record,
                            subject_context)
from mappings.ae import map_ae
from mappings.meddra import load_meddra
from mappings.study import load_study

STUDY = load_study("len-cdm")             # 28-day post-treatment window
MEDDRA = load_meddra(Path(__file__).resolve().parent / "data" / "meddra")[0]
SUBJECT = subject_context()               # first dose 2023-01-10, last 2023-06-30, end of participation 2023-07-28


def run(*resources, meddra=None, subject=SUBJECT):
    return map_ae(record(patient(), *resources), study=STUDY, subject=subject, meddra=meddra)


def visible(row):
    return {k: v for k, v in row.items() if not k.startswith("_")}


def test_serious_event_has_flags_for_given_criteria_and_n_for_the_others():
    ae = adverse_event("ae1", text="DVT left calf", serious=True, criteria=("hospitalization", "life-threatening"),
                       severity="severe", grade=3, outcome="recovering", date="2023-03-02",
                       action=("C49501", "DRUG INTERRUPTED"))
    result = run(ae)
    row = result.rows[0]
    assert {k: row[k] for k in ("AESER", "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")} == \
        {"AESER": "Y", "AESDTH": "N", "AESLIFE": "Y", "AESHOSP": "Y", "AESDISAB": "N", "AESCONG": "N", "AESMIE": "N"}
    assert (row["AESEV"], row["AETOXGR"], row["AEOUT"], row["AEACN"]) == \
        ("SEVERE", "3", "RECOVERING/RESOLVING", "DRUG INTERRUPTED")
    # no end date, still recovering: ongoing at the end of participation
    assert (row["AEENRTPT"], row["AEENTPT"]) == ("ONGOING", "2023-07-28")
    assert row["_supp"] == {"AETRTEM": "Y"} and row["_src"] == ("AdverseEvent/ae1",)


def test_non_serious_event_leaves_criteria_empty():
    row = run(adverse_event(serious=False, outcome="resolved", end="2023-02-10")).rows[0]
    assert row["AESER"] == "N" and "AESHOSP" not in row and "AEENRTPT" not in row
    assert (row["AEOUT"], row["AEENDTC"]) == ("RECOVERED/RESOLVED", "2023-02-10")


def test_serious_without_criterion_is_reported():
    result = run(adverse_event(serious=True))
    assert [i.code for i in result.issues if i.code == "MAP055"] == ["MAP055"]


def test_causality_to_the_study_drug_maps_to_related_and_other_drugs_are_ignored():
    len_admin = medication_administration("ma1", rxnorm="342369")
    pred = medication("pred", rxnorm="8640")
    ae = adverse_event(suspect="MedicationAdministration/ma1", causality="Possible")
    ae["suspectEntity"].append({"instance": {"reference": "Medication/pred"}, "causality": [{"assessment": {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess",
                    "code": "Certain"}]}}]})
    assert run(len_admin, pred, ae).rows[0]["AEREL"] == "RELATED"
    unlikely = adverse_event("ae2", suspect="MedicationAdministration/ma1", causality="Unlikely")
    assert run(len_admin, unlikely).rows[0]["AEREL"] == "NOT RELATED"
    unassessable = adverse_event("ae3", suspect="MedicationAdministration/ma1", causality="Unassessable-Unclassifiable")
    assert run(len_admin, unassessable).rows[0]["AEREL"] == "UNKNOWN"


def test_uncoded_event_coded_from_the_dictionary_by_verbatim_term():
    result = run(adverse_event(text="Itchy rash", meddra=None), meddra=MEDDRA)
    assert {k: v for k, v in visible(result.rows[0]).items() if k.startswith(("AEL", "AED", "AEP", "AEH", "AEB", "AESO"))} == {
        "AELLT": "Itchy rash", "AELLTCD": 95000001, "AEDECOD": "Rash", "AEPTCD": 94000001,
        "AEHLT": "Rashes, eruptions and exanthems NEC", "AEHLTCD": 93000001,
        "AEHLGT": "Epidermal and dermal conditions", "AEHLGTCD": 92000001,
        "AEBODSYS": "Skin and subcutaneous tissue disorders", "AEBDSYCD": 91000001,
        "AESOC": "Skin and subcutaneous tissue disorders", "AESOCCD": 91000001}
    assert result.rows[0]["AETERM"] == "Itchy rash"
    assert [i.code for i in result.issues] == []


def test_sent_meddra_pt_without_dictionary_fills_decod_only_and_says_so():
    ae = adverse_event(meddra="10037844", text="itchy rash on trunk")
    ae["event"]["coding"][0]["display"] = "Rash"
    result = run(ae)
    row = result.rows[0]
    assert (row["AETERM"], row["AEDECOD"], row["AEPTCD"]) == ("itchy rash on trunk", "Rash", 10037844)
    assert "AEBODSYS" not in row and [i.code for i in result.issues] == ["MAP058"]


def test_term_not_in_dictionary_is_reported_uncoded():
    result = run(adverse_event(text="strange feeling"), meddra=MEDDRA)
    assert "AEDECOD" not in result.rows[0] and [i.code for i in result.issues] == ["MAP052"]


def test_partial_onset_kept_partial_and_flagged_treatment_emergent_with_a_note():
    result = run(adverse_event(date="2023-01", severity="mild"))
    row = result.rows[0]
    assert row["AESTDTC"] == "2023-01" and row["_supp"]["AETRTEM"] == "Y"   # January spans first dose 2023-01-10
    assert "MAP057" in [i.code for i in result.issues]


def test_treatment_emergent_window_ends_28_days_after_last_dose():
    on_day_28 = run(adverse_event(date="2023-07-28")).rows[0]
    after = run(adverse_event(date="2023-07-29")).rows[0]
    before = run(adverse_event(date="2023-01-09")).rows[0]
    assert [r["_supp"]["AETRTEM"] for r in (on_day_28, after, before)] == ["Y", "N", "N"]


def test_potential_event_and_event_without_term_are_unmapped():
    potential = adverse_event("p", actuality="potential")
    nameless = adverse_event("n", text=None)
    result = run(potential, nameless)
    assert result.rows == []
    assert set(result.unmapped) == {"AdverseEvent/p", "AdverseEvent/n"}
    assert sorted(i.code for i in result.issues) == ["MAP053", "MAP056"]


def test_unknown_severity_code_is_reported():
    result = run(adverse_event(severity="catastrophic"), meddra=MEDDRA)        # "Rash" codes: no MAP052
    assert "AESEV" not in result.rows[0] and [i.code for i in result.issues] == ["MAP021"]


def test_every_variable_set_is_an_ae_variable():
    from cdisc.standards import load_sdtmig

    ae = adverse_event(text="Itchy rash", serious=True, criteria=("death",), grade=5, outcome="ongoing",
                       suspect="MedicationAdministration/ma1", causality="Certain", action=("C49502", "DRUG WITHDRAWN"))
    row = run(medication_administration("ma1"), ae, meddra=MEDDRA).rows[0]
    assert {k for k in row if not k.startswith("_")} - set(load_sdtmig().domain("AE").names) == set()
    assert (row["AESDTH"], row["AETOXGR"], row["AEREL"], row["AEACN"]) == ("Y", "5", "RELATED", "DRUG WITHDRAWN")
