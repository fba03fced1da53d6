"""DM (mappings/dm.py): values worked out by hand for records built with tests/builders.py."""

import csv
from pathlib import Path

from mappings.dm import map_dm
from mappings.study import load_study, parse_study
from mappings.subject import derive_subject_context
from tests.builders import (consent, medication_administration, patient, record, research_study,
                            research_subject)

CLE = load_study("len-cle")
SHARED_CT = Path(__file__).resolve().parents[2] / "shared" / "cdisc" / "ct" / "sdtm_ct.tsv"


def dm_row(*resources, study=CLE):
    rec = record(*resources)
    ctx, _ = derive_subject_context(rec, study=study)
    result = map_dm(rec, study=study, subject=ctx)
    assert len(result.rows) == 1
    return result.rows[0], result


def treated(**patient_args):
    return (patient(**patient_args), research_study(),
            research_subject(assigned_arm="LEN5", consent="c1", start="2023-01-09", end="2023-06-30"),
            consent(date_time="2023-05-14"),
            medication_administration(start="2023-05-20", end="2023-06-20"))


def test_treated_subject_full_row():
    row, result = dm_row(*treated(birth_date="1970-05-15", gender="female", deceased="2023-07-02"))
    expected = {
        "SUBJID": "001", "RFSTDTC": "2023-05-20", "RFENDTC": "2023-06-20", "RFXSTDTC": "2023-05-20",
        "RFXENDTC": "2023-06-20", "RFICDTC": "2023-05-14", "RFPENDTC": "2023-06-30", "DTHDTC": "2023-07-02",
        "DMDTC": "2023-05-14", "DTHFL": "Y", "SITEID": "01", "AGE": 52, "AGEU": "YEARS", "SEX": "F",
        "RACE": "NOT REPORTED", "ARMCD": "LEN5", "ARM": "Lenalidomide 5 mg/day",
        "ACTARMCD": "LEN5", "ACTARM": "Lenalidomide 5 mg/day", "COUNTRY": "FRA",
        "_src": ("Patient/p1", "ResearchSubject/rs1"), "_rule": "DM.from-patient",
    }
    assert row == expected
    assert "BRTHDTC" not in row          # len-cle: brthdtc none


def test_age_at_consent_across_the_birthday():
    # born 1970-05-15: consent 2023-05-14 -> 52 (birthday not reached), 2023-05-15 -> 53
    before, _ = dm_row(patient(birth_date="1970-05-15"), research_study(), research_subject(consent="c1"),
                       consent(date_time="2023-05-14"))
    on, _ = dm_row(patient(birth_date="1970-05-15"), research_study(), research_subject(consent="c1"),
                   consent(date_time="2023-05-15T09:30"))
    assert (before["AGE"], on["AGE"]) == (52, 53)


def test_age_from_a_birth_year_is_the_minimum_possible_age():
    # consent 2023-05-14; born some day in 1970 -> 52 (born 1970-12-31) or 53: AGE 52, reported
    row, result = dm_row(*treated(birth_date="1970"))
    assert (row["AGE"], row["AGEU"]) == (52, "YEARS")
    assert [i.code for i in result.issues] == ["MAP022"]


def test_age_at_first_dose_when_consent_date_is_missing():
    rec = (patient(birth_date="1970-05-15"), research_study(),
           research_subject(assigned_arm="LEN5", start="2023-01-09", end="2023-06-30"),
           medication_administration(start="2023-05-20", end="2023-06-20"))
    row, result = dm_row(*rec)
    assert row["AGE"] == 53 and "MAP022" in [i.code for i in result.issues]


def test_no_age_without_birth_date():
    row, result = dm_row(*treated(birth_date=None))
    assert "AGE" not in row and "AGEU" not in row
    assert "MAP010" in [i.code for i in result.issues]


def test_ethnicity_absent_is_null_not_not_reported():
    row, _ = dm_row(*treated())
    assert "ETHNIC" not in row and row["RACE"] == "NOT REPORTED"


def test_sex_policy_birth_sex_first_then_gender():
    # policy [us-core-birthsex, gender]: birth sex M wins over gender female
    row, _ = dm_row(*treated(gender="female", birthsex="M"))
    assert row["SEX"] == "M"
    # no birth sex: gender male
    row, _ = dm_row(*treated(gender="male"))
    assert row["SEX"] == "M"
    # birth sex unknown gives way to gender female
    row, _ = dm_row(*treated(gender="female", birthsex="UNK"))
    assert row["SEX"] == "F"


def test_sex_policy_gender_only_ignores_birth_sex():
    data = dict(CLE.raw)
    data["subject"] = {**CLE.raw["subject"], "sex_policy": ["gender"]}
    gender_only = parse_study(data)
    row, _ = dm_row(*treated(gender="female", birthsex="M"), study=gender_only)
    assert row["SEX"] == "F"
    row, result = dm_row(*treated(gender=None, birthsex="M"), study=gender_only)
    assert row["SEX"] == "U"
    assert "MAP011" in [i.code for i in result.issues]


def test_multiple_races_give_multiple_and_suppdm():
    row, _ = dm_row(*treated(races=(("2106-3", "White"), ("2028-9", "Asian")), ethnicity=("2186-5", "Not Hispanic")))
    assert row["RACE"] == "MULTIPLE"
    assert row["_supp"] == {"RACE1": "WHITE", "RACE2": "ASIAN"}
    assert row["ETHNIC"] == "NOT HISPANIC OR LATINO"


def test_single_race():
    row, _ = dm_row(*treated(races=(("2054-5", "Black or African American"),)))
    assert row["RACE"] == "BLACK OR AFRICAN AMERICAN" and "_supp" not in row


def test_screen_failure_has_armnrs_and_no_arm():
    row, _ = dm_row(patient(), research_study(),
                    research_subject(status="ineligible", consent="c1", end="2023-01-20"), consent())
    assert row["ARMNRS"] == "SCREEN FAILURE"
    for var in ("ARMCD", "ARM", "ACTARMCD", "ACTARM", "RFSTDTC", "RFXSTDTC"):
        assert var not in row
    assert row["RFPENDTC"] == "2023-01-20"


def test_assigned_not_treated():
    row, _ = dm_row(patient(), research_study(), research_subject(assigned_arm="MTX", consent="c1"), consent())
    assert (row["ARMCD"], row["ARMNRS"]) == ("MTX", "ASSIGNED, NOT TREATED")
    assert "ACTARMCD" not in row


def test_brthdtc_year_when_configured():
    data = dict(CLE.raw)
    data["subject"] = {**CLE.raw["subject"], "brthdtc": "year"}
    row, _ = dm_row(*treated(birth_date="1970-05-15"), study=parse_study(data))
    assert row["BRTHDTC"] == "1970"


def test_dm_ct_values_are_cdisc_submission_values():
    with SHARED_CT.open(encoding="utf-8") as handle:
        terms = {(r["Codelist Code"], r["CDISC Submission Value"]) for r in csv.DictReader(handle, delimiter="\t")}
    row, _ = dm_row(*treated(races=(("2106-3", "White"),), ethnicity=("2186-5", "Not Hispanic or Latino")))
    for var, codelist in (("SEX", "C66731"), ("RACE", "C74457"), ("ETHNIC", "C66790"), ("AGEU", "C66781")):
        assert (codelist, row[var]) in terms
    screen, _ = dm_row(patient(), research_study(), research_subject(status="ineligible"), consent())
    assert ("C142179", screen["ARMNRS"]) in terms


def test_assigned_not_treated_has_no_reference_period():
    # SDTMIG 3.4 DM: ARMNRS set, RFSTDTC/RFENDTC/RFXSTDTC/RFXENDTC null (CORE-000192, CORE-000758)
    rec = (patient(), research_study(),
           research_subject(assigned_arm="LEN5", consent="c1", start="2023-01-09", end="2023-02-01"), consent())
    row, _ = dm_row(*rec)
    assert not {"RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC"} & set(row)
    assert (row["ARM"], row["ARMNRS"]) == ("Lenalidomide 5 mg/day", "ASSIGNED, NOT TREATED")
