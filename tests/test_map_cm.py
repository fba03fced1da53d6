"""CM (mappings/cm.py): non-study medicines with decoded ingredient, class, dose, frequency and dates."""

from interop.normalize.record import ICD10, SNOMED
from mappings.cm import map_cm
from mappings.study import load_study
from mappings.subject import derive_subject_context
from tests.builders import (consent, medication_administration, medication_request, medication_statement, patient,
                            record, research_study, research_subject)

CLE = load_study("len-cle")


def cm(*resources):
    rec = record(patient(), research_study(), research_subject(assigned_arm="LEN5", consent="c1"), consent(),
                 *resources)
    ctx, _ = derive_subject_context(rec, study=CLE)
    return map_cm(rec, study=CLE, subject=ctx)


def test_ongoing_prednisone_with_partial_start():
    result = cm(medication_statement("ms1", rxnorm="8640", text="Cortancyl 5 mg", start="2022-06", dose=5,
                                     frequency=1, period=1, period_unit="d", route="26643006",
                                     reason=(ICD10, "L93.1", "Subacute cutaneous lupus erythematosus")))
    assert result.rows == [{
        "CMTRT": "Cortancyl 5 mg", "CMDECOD": "PREDNISONE", "CMINDC": "Subacute cutaneous lupus erythematosus",
        "CMCLAS": "CORTICOSTEROID", "CMDOSE": 5, "CMDOSU": "mg", "CMDOSFRQ": "QD", "CMROUTE": "ORAL",
        "CMSTDTC": "2022-06", "CMENRTPT": "ONGOING", "CMENTPT": "END OF STUDY",
        "_src": ("MedicationStatement/ms1",), "_rule": "CM.from-statement",
    }]
    assert result.issues == []


def test_completed_statement_with_partial_end_is_not_ongoing():
    result = cm(medication_statement("ms1", rxnorm="5521", text="Plaquenil", start="2019", end="2022-11",
                                     status="completed"))
    row = result.rows[0]
    assert (row["CMDECOD"], row["CMCLAS"], row["CMSTDTC"], row["CMENDTC"]) == \
        ("HYDROXYCHLOROQUINE", "ANTIMALARIAL", "2019", "2022-11")
    assert "CMENRTPT" not in row


def test_weekly_folic_acid_request_and_aspirin():
    result = cm(medication_request("mr1", rxnorm="4511", text="Speciafoldine", dose=5, frequency=1, period=1,
                                   period_unit="wk", start="2023-01-10"),
                medication_statement("ms2", rxnorm="1191", text="Kardegic 75", start="2023-01-10",
                                     reason=(SNOMED, "438773007", "Prophylaxis of thrombosis")))
    assert sorted((r["CMDECOD"], r.get("CMDOSFRQ") or "") for r in result.rows) == [("ASPIRIN", ""), ("FOLIC ACID", "EVERY WEEK")]


def test_study_drug_is_left_to_ex_and_unknown_drug_is_reported():
    result = cm(medication_administration("ma1"), medication_statement("ms1", rxnorm="999999", text="Herbal tea"))
    assert [r["CMTRT"] for r in result.rows] == ["Herbal tea"]
    assert "CMDECOD" not in result.rows[0]
    assert [i.code for i in result.issues] == ["MAP014"]
    assert result.unmapped == {}


def test_not_taken_statement_is_unmapped():
    result = cm(medication_statement("ms1", status="not-taken"))
    assert result.rows == [] and "MedicationStatement/ms1" in result.unmapped


def test_route_and_frequency_tables_hold_cdisc_submission_values():
    import csv
    from pathlib import Path

    shared = Path(__file__).resolve().parents[2] / "shared" / "cdisc" / "ct" / "sdtm_ct.tsv"
    with shared.open(encoding="utf-8") as handle:
        terms = {(r["Codelist Code"], r["Code"], r["CDISC Submission Value"])
                 for r in csv.DictReader(handle, delimiter="\t")}
    tables = Path(__file__).resolve().parents[1] / "mappings" / "terminology"
    for name, codelist in (("routes.csv", "C66729"), ("frequencies.csv", "C71113")):
        with (tables / name).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                assert (codelist, row["nci_code"], row["cdisc"]) in terms, (name, row)
