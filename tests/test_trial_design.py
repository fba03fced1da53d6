"""TA, TE, TV and TS built from the study definitions, checked row by row against values worked out by hand
from mappings/studies/*.yaml (SDTMIG 3.4 section 7: TA assumptions 2-4, TS assumptions 7-9)."""

from __future__ import annotations

import pytest

from cdisc.standards import load_ct
from mappings.study import load_study
from mappings.trial_design import build_ta, build_te, build_ts, build_tv, read_ts_value

CT = load_ct()


def ts_rows(key: str) -> dict[tuple[str, int], dict]:
    return {(r["TSPARMCD"], r["TSSEQ"]): r for r in build_ts(load_study(key), ct=CT, ct_version=CT.date)}


def test_ta_of_the_randomised_trial_branches_at_the_end_of_screening():
    rows = [(r["ARMCD"], r["TAETORD"], r["ETCD"], r["ELEMENT"], r["TABRANCH"], r["EPOCH"])
            for r in build_ta(load_study("len-cle"))]
    assert rows == [
        ("LEN5", 1, "SCRN", "Screening", "Randomized to Lenalidomide 5 mg/day", "SCREENING"),
        ("LEN5", 2, "LEN", "Lenalidomide 5 mg with low-dose aspirin", None, "TREATMENT"),
        ("MTX", 1, "SCRN", "Screening", "Randomized to Methotrexate weekly", "SCREENING"),
        ("MTX", 2, "MTX", "Methotrexate", None, "TREATMENT"),
    ]


def test_ta_of_the_single_arm_trial_has_no_branch():
    rows = [(r["ARMCD"], r["ARM"], r["TAETORD"], r["ETCD"], r["TABRANCH"]) for r in build_ta(load_study("len-cdm"))]
    assert rows == [("LEN5", "Lenalidomide 5 mg/day", 1, "SCRN", None), ("LEN5", "Lenalidomide 5 mg/day", 2, "LEN", None)]


def test_te_rows_carry_rules_and_planned_duration():
    rows = [(r["ETCD"], r["TESTRL"], r["TEENRL"], r["TEDUR"]) for r in build_te(load_study("len-cdm"))]
    assert rows == [("SCRN", "Informed consent", "First dose of lenalidomide", None),
                    ("LEN", "First dose of lenalidomide", "24 weeks of treatment or discontinuation", "P24W")]


def test_tv_has_one_row_per_planned_visit_with_its_target_day():
    rows = build_tv(load_study("len-cdm"))
    assert [(r["VISITNUM"], r["VISIT"], r["VISITDY"]) for r in rows] == [
        (1.0, "SCREENING", -14), (2.0, "DAY 1", 1), (3.0, "WEEK 4", 29), (4.0, "WEEK 8", 57),
        (5.0, "WEEK 12", 85), (6.0, "WEEK 16", 113), (7.0, "WEEK 20", 141), (8.0, "WEEK 24", 169)]
    assert rows[0]["TVSTRL"] == "Study day -28 to -1"
    assert rows[1]["TVSTRL"] == "Study day 1"


def test_ts_has_every_parameter_the_fda_conformance_guide_expects():
    expected = {"ADAPT", "ADDON", "AGEMAX", "AGEMIN", "COMPTRT", "CURTRT", "DCUTDESC", "DCUTDTC", "DOSE", "DOSFRM",
                "DOSFRQ", "DOSU", "EXTTIND", "FCNTRY", "HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "LENGTH", "NARMS",
                "OBJPRIM", "OBJSEC", "OUTMSPRI", "PCLAS", "PLANSUB", "RANDOM", "RDIND", "REGID", "ROUTE", "SDTIGVER",
                "SDTMVER", "SENDTC", "SEXPOP", "SPONSOR", "SSTDTC", "STOPRULE", "STYPE", "TBLIND", "TCNTRL", "TDIGRP",
                "TINDTP", "TITLE", "TPHASE", "TRT", "TTYPE"}
    for key in ("len-cdm", "len-cle"):
        assert expected <= {parmcd for parmcd, _ in ts_rows(key)}, key


def test_ts_rows_of_len_cdm_worked_by_hand():
    ts = ts_rows("len-cdm")
    # CT 2025-03-28: TTYPE EFFICACY C49666, SAFETY C49667; NY Y C49488 / N C49487; TBLIND OPEN LABEL C49659
    assert (ts["TTYPE", 1]["TSVAL"], ts["TTYPE", 1]["TSVALCD"]) == ("EFFICACY", "C49666")
    assert (ts["TTYPE", 2]["TSVAL"], ts["TTYPE", 2]["TSVALCD"]) == ("SAFETY", "C49667")
    assert (ts["ADDON", 1]["TSVALCD"], ts["RANDOM", 1]["TSVALCD"]) == ("C49488", "C49487")
    assert ts["TBLIND", 1]["TSVALCD"] == "C49659"
    assert {ts["TBLIND", 1]["TSVCDREF"], ts["TBLIND", 1]["TSVCDVER"]} == {"CDISC CT", "2025-03-28"}
    assert ts["TBLIND", 1]["TSPARM"] == "Trial Blinding Schema"
    # ISO 8601 values: reference ISO 8601, no code
    assert (ts["AGEMIN", 1]["TSVAL"], ts["AGEMIN", 1]["TSVCDREF"], ts["AGEMIN", 1]["TSVALCD"]) == ("P18Y", "ISO 8601", None)
    assert (ts["AGEMAX", 1]["TSVAL"], ts["SSTDTC", 1]["TSVAL"], ts["LENGTH", 1]["TSVAL"]) == ("P75Y", "2022-08-01", "P24W")
    # facts stated elsewhere in the study file, once
    assert ts["TITLE", 1]["TSVAL"] == load_study("len-cdm").title
    assert (ts["NARMS", 1]["TSVAL"], ts["FCNTRY", 1]["TSVALCD"], ts["FCNTRY", 1]["TSVCDREF"]) == ("1", "CHN", "ISO 3166")
    assert (ts["DOSE", 1]["TSVAL"], ts["DOSU", 1]["TSVAL"], ts["DOSFRQ", 1]["TSVALCD"]) == ("5", "mg", "C25473")
    assert ts["DOSE", 1]["TSGRPID"] is None
    # unknown and not applicable
    assert (ts["REGID", 1]["TSVAL"], ts["REGID", 1]["TSVALNF"]) == (None, "NI")
    assert (ts["COMPTRT", 1]["TSVAL"], ts["COMPTRT", 1]["TSVALNF"]) == (None, "NA")
    assert (ts["TRT", 1]["TSVAL"], ts["TRT", 1]["TSVALCD"], ts["TRT", 1]["TSVCDREF"]) == ("lenalidomide", "F0P408N6V4", "UNII")
    assert [ts["OUTMSSEC", n]["TSVAL"] for n in (1, 5)] == ["Change in CDASI activity score at 12 weeks",
                                                         "Adverse events over 24 weeks"]


def test_ts_of_len_cle_groups_doses_by_arm_and_has_no_upper_age():
    ts = ts_rows("len-cle")
    assert [(ts["DOSE", n]["TSGRPID"], ts["DOSE", n]["TSVAL"]) for n in (1, 2)] == [("LEN5", "5"), ("MTX", "15")]
    assert (ts["DOSFRQ", 2]["TSVAL"], ts["DOSFRQ", 2]["TSVALCD"]) == ("EVERY WEEK", "C67069")
    assert (ts["DOSFRM", 2]["TSVAL"], ts["DOSFRM", 2]["TSVALCD"]) == ("TABLET", "C42998")
    assert (ts["AGEMAX", 1]["TSVAL"], ts["AGEMAX", 1]["TSVALNF"]) == (None, "PINF")
    assert (ts["TCNTRL", 1]["TSVAL"], ts["TCNTRL", 1]["TSVALCD"]) == ("ACTIVE", "C49649")
    assert (ts["TPHASE", 1]["TSVAL"], ts["TPHASE", 1]["TSVALCD"]) == ("PHASE III TRIAL", "C15602")
    assert ts["NARMS", 1]["TSVAL"] == "2"


def test_every_ts_row_has_a_value_or_a_null_flavor_never_both():
    for key in ("len-cdm", "len-cle"):
        for row in build_ts(load_study(key), ct=CT, ct_version=CT.date):
            assert (row["TSVAL"] is None) != (row["TSVALNF"] is None), (key, row["TSPARMCD"])


def test_an_unknown_null_flavor_is_refused():
    with pytest.raises(ValueError):
        read_ts_value({"nf": "MAYBE"})
