"""cdisc.derive: --SEQ, --DY, VISIT/VISITNUM, EPOCH, --LOBXFL on small frames worked out by hand."""

from __future__ import annotations

import math

import pandas as pd

from cdisc.derive import derive_dy, derive_epoch, derive_lobxfl, derive_seq, derive_visit

DM = pd.DataFrame({"USUBJID": ["S1", "S2"], "RFSTDTC": ["2023-01-01", None],
                   "RFXSTDTC": ["2023-01-01T09:00", None]})
VISITS = pd.DataFrame({"visitnum": [1, 2, 3], "visit": ["SCREENING", "DAY 1", "WEEK 4"],
                       "window_lo": [-28, 1, 22], "window_hi": [-1, 1, 36]})


def test_seq_is_per_subject_and_independent_of_row_order():
    ae = pd.DataFrame({"USUBJID": ["S1", "S2", "S1", "S1"],
                       "AESTDTC": ["2023-03-01", "2023-01-01", "2023-01-05", "2023-01-05"],
                       "AETERM": ["RASH", "FEVER", "NAUSEA", "HEADACHE"]})
    first = derive_seq(ae, domain="AE", order_by=["AESTDTC"])
    assert first["AESEQ"].tolist() == [3, 1, 2, 1]          # same date: HEADACHE < NAUSEA as text
    shuffled = derive_seq(ae.iloc[[3, 1, 0, 2]], domain="AE", order_by=["AESTDTC"])
    assert shuffled.sort_index()["AESEQ"].tolist() == [3, 1, 2, 1]
    assert "AESEQ" not in ae.columns                          # input untouched


def test_seq_puts_missing_order_values_last():
    cm = pd.DataFrame({"USUBJID": ["S1", "S1"], "CMSTDTC": [None, "2022"], "CMTRT": ["A", "B"]})
    assert derive_seq(cm, domain="CM", order_by=["CMSTDTC"])["CMSEQ"].tolist() == [2, 1]


def test_dy_has_no_day_zero_and_needs_complete_dates():
    vs = pd.DataFrame({"USUBJID": ["S1", "S1", "S1", "S1", "S2"],
                       "VSDTC": ["2022-12-31", "2023-01-01T10:00", "2023-01-31", "2023-01", "2023-01-05"]})
    out = derive_dy(vs, DM, dtc="VSDTC", dy="VSDY")
    assert out["VSDY"].tolist()[:3] == [-1.0, 1.0, 31.0]
    assert math.isnan(out["VSDY"][3]) and math.isnan(out["VSDY"][4])   # partial date; no RFSTDTC


def test_visit_from_windows_and_unscheduled_numbering():
    lb = pd.DataFrame({"USUBJID": ["S1"] * 6,
                       "LBDTC": ["2022-12-20", "2023-01-01", "2023-01-10", "2023-01-10T08:00",
                                 "2023-01-15", "2023-01-29"]})
    out = derive_visit(lb, dtc="LBDTC", visits=VISITS, dm=DM)
    # days: -12 (screening), 1, 10 (unscheduled after DAY 1), 10 again (same visit), 15, 29 (week 4)
    assert out["VISITNUM"].tolist() == [1.0, 2.0, 2.01, 2.01, 2.02, 3.0]
    assert out["VISIT"].tolist() == ["SCREENING", "DAY 1", "UNSCHEDULED 2.01", "UNSCHEDULED 2.01",
                                     "UNSCHEDULED 2.02", "WEEK 4"]


def test_visit_before_first_window_and_kept_values():
    vs = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "VSDTC": ["2022-11-01", "2023-01-10", "2023-01-10"],
                       "VISITNUM": [None, 9.0, None], "VISIT": [None, "END OF STUDY", None]})
    out = derive_visit(vs, dtc="VSDTC", visits=VISITS, dm=DM)
    assert out["VISITNUM"].tolist()[:2] == [0.01, 9.0]
    assert out["VISIT"].tolist() == ["UNSCHEDULED 0.01", "END OF STUDY", None]   # S2 has no RFSTDTC
    assert math.isnan(out["VISITNUM"][2])


def test_unscheduled_numbers_agree_across_domains_with_subject_dates():
    all_dates = pd.DataFrame({"USUBJID": ["S1", "S1"], "DTC": ["2023-01-05", "2023-01-12"]})
    vs = pd.DataFrame({"USUBJID": ["S1"], "VSDTC": ["2023-01-12"]})
    alone = derive_visit(vs, dtc="VSDTC", visits=VISITS, dm=DM)
    together = derive_visit(vs, dtc="VSDTC", visits=VISITS, dm=DM, subject_dates=all_dates)
    assert alone["VISITNUM"].tolist() == [2.01]
    assert together["VISITNUM"].tolist() == [2.02]


def test_epoch_from_subject_elements():
    se = pd.DataFrame({"USUBJID": ["S1", "S1", "S1"], "ETCD": ["SCRN", "LEN", "FU"],
                       "SESTDTC": ["2022-12-15", "2023-01-01", "2023-06-18"],
                       "SEENDTC": ["2023-01-01", "2023-06-18", "2023-07-16"],
                       "EPOCH": ["SCREENING", "TREATMENT", "FOLLOW-UP"]})
    ae = pd.DataFrame({"USUBJID": ["S1", "S1", "S1", "S1", "S2"],
                       "AESTDTC": ["2022-12-20", "2023-01-01T07:00", "2023-07-16", "2023-08-01", "2023-01-02"]})
    assert derive_epoch(ae, se, dtc="AESTDTC")["EPOCH"].tolist() == [
        "SCREENING", "TREATMENT", "FOLLOW-UP", None, None]


def test_lobxfl_is_last_nonmissing_result_on_or_before_first_dose():
    lb = pd.DataFrame({"USUBJID": ["S1"] * 5 + ["S2"],
                       "LBTESTCD": ["HGB", "HGB", "HGB", "ALT", "ALT", "HGB"],
                       "LBDTC": ["2022-12-20", "2023-01-01", "2023-01-02", "2022-12-20", "2023-01-01T08:00",
                                 "2022-12-01"],
                       "LBORRES": ["12.0", "", "11.0", "30", "31", "10"]})
    out = derive_lobxfl(lb, DM, dtc="LBDTC", testcd="LBTESTCD", result="LBORRES", flag="LBLOBXFL")
    # HGB: the day-1 record has no result, so the screening one is baseline; ALT: day 1 08:00 <= 09:00
    assert out["LBLOBXFL"].tolist() == ["Y", None, None, None, "Y", None]


def test_derivations_keep_a_non_default_index_and_survive_empty_se():
    ae = pd.DataFrame({"USUBJID": ["S1", "S2"], "AESTDTC": ["2023-01-01", "2023-01-02"]}, index=[5, 7])
    empty_se = pd.DataFrame({"USUBJID": [], "SESTDTC": [], "SEENDTC": [], "EPOCH": []})
    assert derive_epoch(ae, empty_se, dtc="AESTDTC")["EPOCH"].tolist() == [None, None]
    out = derive_visit(ae, dtc="AESTDTC", visits=VISITS, dm=DM)
    assert out.index.tolist() == [5, 7]
    assert out.loc[5, "VISIT"] == "DAY 1" and out.loc[7, "VISIT"] is None
