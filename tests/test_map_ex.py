"""EX (mappings/ex.py): from MedicationAdministration, and from MedicationRequest when that is all there is."""

from mappings.ex import map_ex
from mappings.study import load_study
from mappings.subject import derive_subject_context
from tests.builders import (SUBCUTANEOUS, consent, medication, medication_administration, medication_request,
                            medication_statement, patient, record, research_study, research_subject)

CLE = load_study("len-cle")


def ex(*resources):
    rec = record(patient(), research_study(), research_subject(assigned_arm="LEN5", consent="c1"), consent(),
                 *resources)
    ctx, _ = derive_subject_context(rec, study=CLE)
    return map_ex(rec, study=CLE, subject=ctx)


def codes(result):
    return [i.code for i in result.issues]


def test_administration_gives_one_row_per_interval_with_product_defaults():
    result = ex(medication_administration("ma1", start="2023-01-10", end="2023-02-06", dose=5),
                medication_administration("ma2", start="2023-02-07T08:00", end="2023-03", dose=2.5))
    assert result.rows == [
        {"EXTRT": "LENALIDOMIDE", "EXDOSE": 5, "EXDOSU": "mg", "EXROUTE": "ORAL", "EXSTDTC": "2023-01-10",
         "EXENDTC": "2023-02-06", "EXDOSFRM": "CAPSULE", "EXDOSFRQ": "QD",
         "_src": ("MedicationAdministration/ma1",), "_rule": "EX.from-administration"},
        {"EXTRT": "LENALIDOMIDE", "EXDOSE": 2.5, "EXDOSU": "mg", "EXROUTE": "ORAL", "EXSTDTC": "2023-02-07T08:00",
         "EXENDTC": "2023-03", "EXDOSFRM": "CAPSULE", "EXDOSFRQ": "QD",
         "_src": ("MedicationAdministration/ma2",), "_rule": "EX.from-administration"},
    ]
    # dose form and frequency from the study product, said once per variable
    assert codes(result) == ["MAP017", "MAP017"]


def test_administration_single_time_and_referenced_medication():
    result = ex(medication("m9", rxnorm="342369"),
                medication_administration("ma1", medication_ref="m9", effective="2023-01-10T09:15",
                                          route=SUBCUTANEOUS))
    row = result.rows[0]
    assert (row["EXSTDTC"], row["EXENDTC"], row["EXROUTE"]) == ("2023-01-10T09:15", "2023-01-10T09:15", "SUBCUTANEOUS")


def test_weekly_methotrexate_frequency_from_request_timing_is_every_week():
    # C71113 term C67069 submission value EVERY WEEK (QS is only a synonym in CT 2025-03-28)
    result = ex(medication_request("mr1", rxnorm="6851", frequency=1, period=1, period_unit="wk"),
                medication_administration("ma1", rxnorm="6851", dose=15, effective="2023-01-10", request="mr1"))
    assert result.rows[0]["EXDOSFRQ"] == "EVERY WEEK"
    assert result.rows[0]["EXTRT"] == "METHOTREXATE"
    assert result.evidence == {"MedicationRequest/mr1"}


def test_weekly_methotrexate_default_frequency_from_study_is_every_week():
    result = ex(medication_administration("ma1", rxnorm="6851", dose=15, effective="2023-01-10"))
    assert result.rows[0]["EXDOSFRQ"] == "EVERY WEEK"     # study product frequency "QS" recoded via CT synonym


def test_request_only_gives_ex_with_the_period_and_an_info_issue():
    result = ex(medication_request("mr1", rxnorm="6851", dose=15, start="2023-01-12", end="2023-06-30"))
    assert result.rows == [
        {"EXTRT": "METHOTREXATE", "EXDOSE": 15, "EXDOSU": "mg", "EXDOSFRQ": "EVERY WEEK", "EXROUTE": "ORAL",
         "EXSTDTC": "2023-01-12", "EXENDTC": "2023-06-30", "EXDOSFRM": "TABLET",
         "_src": ("MedicationRequest/mr1",), "_rule": "EX.from-request"},
    ]
    assert "MAP009" in codes(result)


def test_request_without_period_starts_at_authored_on():
    result = ex(medication_request("mr1", rxnorm="6851", authored_on="2023-01-11"))
    assert result.rows[0]["EXSTDTC"] == "2023-01-11" and "EXENDTC" not in result.rows[0]


def test_prescription_is_unmapped_when_administrations_exist():
    result = ex(medication_request("mr1", rxnorm="342369", frequency=1, period=1, period_unit="d"),
                medication_administration("ma1", start="2023-01-10"))
    assert [r["_src"] for r in result.rows] == [("MedicationAdministration/ma1",)]
    assert "MedicationRequest/mr1" in result.unmapped


def test_not_done_administration_is_unmapped_and_other_drugs_ignored():
    result = ex(medication_administration("ma1", status="not-done"),
                medication_statement("ms1", rxnorm="8640"))
    assert result.rows == []
    assert result.unmapped == {"MedicationAdministration/ma1": "study drug administration with status 'not-done' (not given)"}
    assert "MedicationStatement/ms1" not in result.unmapped      # CM's


def test_start_after_end_is_reported():
    result = ex(medication_administration("ma1", start="2023-03-01", end="2023-02-01"))
    assert "MAP015" in codes(result)


def test_bad_date_is_reported_and_not_mapped():
    result = ex(medication_administration("ma1", start="2023-01-10", end="2023-02-30"))
    assert "EXENDTC" not in result.rows[0]
    assert "DTC001" in codes(result)
