"""LB from laboratory Observations: values worked out by hand (mappings/lb.py docstring for the rules)."""

from tests.builders import LOINC, observation, patient, record, subject_context
from mappings.lb import map_lb
from mappings.study import load_study

STUDY = load_study("len-cle")


def run(*observations):
    return map_lb(record(patient(), *observations), study=STUDY, subject=subject_context())


def visible(row):
    return {k: v for k, v in row.items() if not k.startswith("_")}


def test_haemoglobin_in_g_per_dl_is_standardised_to_g_per_l():
    result = run(observation("hb", code="718-7", value=11.2, unit="g/dL", low=12.0, high=16.0,
                             interpretation="L", effective="2023-01-10T08:30"))
    assert [visible(r) for r in result.rows] == [{
        "LBTESTCD": "HGB", "LBTEST": "Hemoglobin", "LBCAT": "HEMATOLOGY", "LBSPEC": "BLOOD", "LBLOINC": "718-7",
        "LBDTC": "2023-01-10T08:30", "LBORRES": "11.2", "LBORRESU": "g/dL",
        "LBSTRESC": "112", "LBSTRESN": 112.0, "LBSTRESU": "g/L",
        "LBORNRLO": "12", "LBORNRHI": "16", "LBSTNRLO": 120.0, "LBSTNRHI": 160.0, "LBNRIND": "LOW"}]
    assert result.rows[0]["_src"] == ("Observation/hb",)
    assert result.issues == [] and result.unmapped == {}


def test_platelets_in_10_3_per_ul_are_10_9_per_l_in_both_original_and_standard_units():
    row = run(observation("plt", code="777-3", value=250, unit="10*3/uL")).rows[0]
    assert (row["LBORRES"], row["LBORRESU"], row["LBSTRESC"], row["LBSTRESN"], row["LBSTRESU"]) == \
        ("250", "10^9/L", "250", 250.0, "10^9/L")


def test_creatinine_mg_per_dl_becomes_79_578_umol_per_l():
    row = run(observation("cr", code="2160-0", value=0.9, unit="mg/dL", high=1.2)).rows[0]
    assert (row["LBSTRESC"], row["LBSTRESN"], row["LBSTRESU"]) == ("79.578", 79.578, "umol/L")
    assert (row["LBORNRHI"], row["LBSTNRHI"]) == ("1.2", 106.104)       # 1.2 x 88.42
    assert "LBORNRLO" not in row and "LBNRIND" not in row


def test_lab_not_done_has_status_and_reason_and_no_result():
    obs = observation("nd", code="751-8", status="cancelled",
                      dataAbsentReason={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                                    "code": "not-performed"}], "text": "Sample haemolysed"})
    result = run(obs)
    assert [visible(r) for r in result.rows] == [{
        "LBTESTCD": "NEUT", "LBTEST": "Neutrophils", "LBCAT": "HEMATOLOGY", "LBSPEC": "BLOOD", "LBLOINC": "751-8",
        "LBDTC": "2023-01-10", "LBSTAT": "NOT DONE", "LBREASND": "Sample haemolysed"}]


def test_unknown_loinc_is_unmapped_and_reported_with_its_code():
    result = run(observation("x", code="99999-9", value=1, unit="g/L"))
    assert result.rows == []
    assert result.unmapped == {"Observation/x": f"unknown laboratory test ({LOINC}|99999-9)"}
    assert [(i.code, i.where.resource, i.where.element) for i in result.issues] == [("MAP060", "Observation/x", "code")]
    assert "99999-9" in result.issues[0].message


def test_unit_without_conversion_keeps_the_original_and_is_reported():
    result = run(observation("hb2", code="718-7", value=7.0, unit="mmol/L"))
    row = result.rows[0]
    assert (row["LBORRES"], row["LBORRESU"]) == ("7", "mmol/L")
    assert "LBSTRESN" not in row and "LBSTRESC" not in row
    assert [(i.code, i.where.element) for i in result.issues] == [("MAP061", "valueQuantity.code")]


def test_coded_negative_pregnancy_test_with_neg_interpretation_has_no_range_indicator():
    result = run(observation("hcg", code="2106-3", value_code="260385009", interpretation="NEG"))
    row = result.rows[0]
    assert (row["LBTESTCD"], row["LBSPEC"], row["LBORRES"], row["LBSTRESC"]) == ("HCG", "URINE", "NEGATIVE", "NEGATIVE")
    assert "LBNRIND" not in row and result.issues == []


def test_other_language_text_kept_in_orres_and_reported():
    result = run(observation("hcg2", code="2118-8", value_string="négatif"))
    row = result.rows[0]
    assert (row["LBORRES"], row["LBSTRESC"]) == ("négatif", "NEGATIVE")
    assert [i.code for i in result.issues] == ["MAP063"]


def test_unrecognised_text_kept_and_reported_without_standard_result():
    result = run(observation("hcg3", code="2118-8", value_string="douteux"))
    assert result.rows[0]["LBORRES"] == "douteux" and "LBSTRESC" not in result.rows[0]
    assert [i.code for i in result.issues] == ["MAP062"]


def test_comparator_result_has_character_standard_result_only():
    row = run(observation("b", code="1975-2", valueQuantity={"value": 0.1, "comparator": "<", "unit": "mg/dL",
                                                              "system": "http://unitsofmeasure.org",
                                                              "code": "mg/dL"})).rows[0]
    assert (row["LBORRES"], row["LBSTRESC"]) == ("<0.1", "<1.71")
    assert "LBSTRESN" not in row


def test_result_missing_is_unmapped_and_other_categories_ignored():
    result = run(observation("empty", code="718-7"), observation("vs", code="8867-4", category="vital-signs",
                                                                  value=70, unit="/min"))
    assert result.rows == [] and result.unmapped == {"Observation/empty": "no result and not marked not done"}
    assert [i.code for i in result.issues] == ["MAP064"]


def test_panel_is_evidence():
    panel = observation("cbc", code="58410-2", hasMember=[{"reference": "Observation/hb"}])
    result = run(panel, observation("hb", value=135, unit="g/L"))
    assert result.evidence == {"Observation/cbc"} and len(result.rows) == 1


def test_every_variable_set_is_an_lb_variable():
    from cdisc.standards import load_sdtmig

    result = run(observation("hb", value=11.2, unit="g/dL", low=12, high=16, interpretation="L"),
                 observation("nd", code="751-8", status="cancelled", dataAbsentReason={"text": "lost"}),
                 observation("q", code="2118-8", value_string="positive", referenceRange=[{"text": "negative"}]))
    names = set(load_sdtmig().domain("LB").names)
    assert {k for r in result.rows for k in r if not k.startswith("_")} - names == set()
    assert result.rows[2]["LBSTNRC"] == "negative"
