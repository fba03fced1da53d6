"""IE (criteria not met by trial subjects) and TI (all criteria) rows (SDTMIG 3.4 IE, TI)."""

from __future__ import annotations

from mappings.eligibility import load_criteria_set
from mappings.ie import map_ie
from mappings.study import load_study
from mappings.ti import build_ti
from tests.builders import consent, immunization, patient, record, subject_context


def test_ti_lists_every_criterion_in_protocol_order():
    rows = build_ti(load_study("len-cle"))
    assert len(rows) == 16
    assert rows[0] == {"STUDYID": "LEN-CLE", "DOMAIN": "TI", "IETESTCD": "INCL01",
                       "IETEST": "Patients of at least 18 years of age", "IECAT": "INCLUSION", "TIVERS": "1"}
    assert [r["IETESTCD"] for r in rows][-1] == "EXCL09"


def test_ie_has_inclusion_not_met_as_n_and_exclusion_met_as_y():
    rec = record(patient("p1"), consent("c1"), immunization("i1", cvx="03", date="2022-12-30"))
    result = map_ie(rec, study=load_study("len-cdm"), subject=subject_context())
    by_test = {r["IETESTCD"]: r for r in result.rows}
    assert by_test["EXCL14"]["IEORRES"] == by_test["EXCL14"]["IESTRESC"] == "Y"
    assert by_test["EXCL14"]["IECAT"] == "EXCLUSION" and by_test["EXCL14"]["IEDTC"] == "2023-01-05"
    assert by_test["EXCL14"]["_src"] == ("Immunization/i1",)
    assert by_test["INCL03"]["IEORRES"] == "N" and by_test["INCL03"]["IECAT"] == "INCLUSION"
    assert by_test["INCL03"]["IETEST"] == load_criteria_set("len-cdm").criterion("INCL03").ietest
    # open criteria (pregnancy unknown, investigator items) give no row but an ELIG006 issue each
    assert "INCL01" not in by_test and "EXCL07" not in by_test
    assert {i.where.variable for i in result.issues if i.code == "ELIG006"} >= {"INCL01", "EXCL07", "EXCL11"}


def test_ie_is_empty_for_a_patient_who_is_not_a_subject():
    rec = record(patient("p1"), consent("c1"), immunization("i1", cvx="03", date="2022-12-30"))
    assert map_ie(rec, study=load_study("len-cdm"), subject=subject_context(status="not-a-subject")).rows == []
