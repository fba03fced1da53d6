"""VS from vital-sign Observations (mappings/vs.py docstring for the rules)."""

from tests.builders import LOINC, SNOMED, observation, patient, record, subject_context
from mappings.study import load_study
from mappings.vs import BODY_POSITION, map_vs

STUDY = load_study("len-cdm")


def run(*observations):
    return map_vs(record(patient(), *observations), study=STUDY, subject=subject_context())


def visible(row):
    return {k: v for k, v in row.items() if not k.startswith("_")}


def component(code, value):
    return {"code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}


def test_blood_pressure_panel_gives_one_row_per_component_with_position():
    bp = observation("bp", code="85354-9", category="vital-signs", effective="2023-01-10T09:00",
                     components=[component("8480-6", 128), component("8462-4", 82)],
                     extension=[{"url": BODY_POSITION, "valueCodeableConcept": {
                         "coding": [{"system": SNOMED, "code": "33586001"}]}}])
    result = run(bp)
    common = {"VSDTC": "2023-01-10T09:00", "VSPOS": "SITTING", "VSORRESU": "mmHg", "VSSTRESU": "mmHg"}
    assert [visible(r) for r in result.rows] == [
        {"VSTESTCD": "SYSBP", "VSTEST": "Systolic Blood Pressure", "VSORRES": "128", "VSSTRESC": "128",
         "VSSTRESN": 128.0, **common},
        {"VSTESTCD": "DIABP", "VSTEST": "Diastolic Blood Pressure", "VSORRES": "82", "VSSTRESC": "82",
         "VSSTRESN": 82.0, **common}]
    assert [r["_src"] for r in result.rows] == [("Observation/bp",), ("Observation/bp",)]
    assert result.issues == []


def test_respiratory_rate_per_minute_is_breaths_per_minute():
    row = run(observation("rr", code="9279-1", category="vital-signs", value=16, unit="/min")).rows[0]
    assert (row["VSTESTCD"], row["VSORRESU"], row["VSSTRESU"]) == ("RESP", "breaths/min", "breaths/min")


def test_weight_in_pounds_is_standardised_to_kg():
    row = run(observation("w", code="29463-7", category="vital-signs", value=150, unit="[lb_av]")).rows[0]
    assert (row["VSORRES"], row["VSORRESU"], row["VSSTRESC"], row["VSSTRESN"], row["VSSTRESU"]) == \
        ("150", "LB", "68.0388555", 68.0388555, "kg")


def test_temperature_in_fahrenheit_is_kept_and_reported_not_converted():
    result = run(observation("t", code="8310-5", category="vital-signs", value=98.6, unit="[degF]"))
    row = result.rows[0]
    assert (row["VSORRES"], row["VSORRESU"]) == ("98.6", "F") and "VSSTRESN" not in row
    assert [i.code for i in result.issues] == ["MAP061"]


def test_unknown_vital_sign_is_unmapped_with_its_code():
    result = run(observation("x", code="12345-6", category="vital-signs", value=1, unit="kg"))
    assert result.unmapped == {"Observation/x": f"unknown vital sign ({LOINC}|12345-6)"}
    assert [i.code for i in result.issues] == ["MAP060"]


def test_laboratory_observations_are_not_vital_signs():
    assert run(observation("hb", value=11.2, unit="g/dL")).rows == []


def test_every_variable_set_is_a_vs_variable():
    from cdisc.standards import load_sdtmig

    result = run(observation("p", code="8867-4", category="vital-signs", value=72, unit="/min"),
                 observation("nd", code="8310-5", category="vital-signs", status="cancelled",
                             dataAbsentReason={"text": "refused"}))
    assert {k for r in result.rows for k in r if not k.startswith("_")} - set(load_sdtmig().domain("VS").names) == set()
    assert (result.rows[0]["VSORRESU"], result.rows[1]["VSSTAT"], result.rows[1]["VSREASND"]) == \
        ("beats/min", "NOT DONE", "refused")
