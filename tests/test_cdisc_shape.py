"""cdisc.shape: SDTMIG order/types/core, SUPP-- building, long text split (SDTMIG 4.5.3, 8.4)."""

from __future__ import annotations

import math

import pandas as pd

from cdisc.shape import Qualifier, build_supp, shape_domain, split_long_text
from cdisc.standards import load_sdtmig

AE = load_sdtmig().domain("AE")
DM = load_sdtmig().domain("DM")


def test_shape_orders_types_and_drops_empty_perm():
    raw = pd.DataFrame({
        "AETERM": ["RASH", "FEVER"], "USUBJID": ["S1", "S2"], "AESEQ": ["1", 2.0],
        "AESTDTC": ["2023-01", None], "AESEV": [None, None],            # AESEV is Perm and all null
        "AEDECOD": ["Rash", "Pyrexia"], "_src_ref": ["AdverseEvent/1", "AdverseEvent/2"],
    })
    frame, provenance, issues = shape_domain(raw, AE, studyid="LEN-CDM")
    assert list(frame.columns[:6]) == ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AELLT"]
    assert "AESEV" not in frame.columns
    assert frame["AESEQ"].dtype == "float64" and frame["AESEQ"].tolist() == [1.0, 2.0]
    assert frame["AESTDTC"].tolist() == ["2023-01", None]
    assert frame["DOMAIN"].tolist() == ["AE", "AE"]
    assert provenance["_src_ref"].tolist() == ["AdverseEvent/1", "AdverseEvent/2"]
    assert {i.code for i in issues} == {"SHAPE004"}             # Exp AELLT, AEPTCD ... all null


def test_null_required_and_unknown_and_non_numeric_are_reported():
    raw = pd.DataFrame({"USUBJID": ["S1", None], "AETERM": ["RASH", "X"], "AESEQ": [1, 2],
                        "AEDUR": ["P2D", "P1D"], "AESTDY": ["three", 4], "AEFOO": [1, 2]})
    frame, _, issues = shape_domain(raw, AE, studyid="S")
    codes = [(i.code, i.where.variable) for i in issues if i.code != "SHAPE004"]
    assert ("SHAPE002", "AEFOO") in codes
    assert ("SHAPE003", "AESTDY") in codes
    assert ("SHAPE001", "USUBJID") in codes
    by_term = frame.set_index("AETERM")["AESTDY"]
    assert math.isnan(by_term["RASH"]) and by_term["X"] == 4.0
    assert "AEFOO" not in frame.columns


def test_char_values_never_become_nan_strings():
    raw = pd.DataFrame({"USUBJID": ["S1", "S2"], "AGE": [34, None], "SEX": ["F", math.nan],
                        "SITEID": [101.0, 7.5]})
    frame, _, _ = shape_domain(raw, DM, studyid="S")
    assert frame["SEX"].tolist() == ["F", None]
    assert frame["SITEID"].tolist() == ["101", "7.5"]


def test_build_supp_links_on_seq_and_labels_from_qualifier_table():
    ae = pd.DataFrame({"STUDYID": ["S", "S"], "USUBJID": ["S1", "S1"], "AESEQ": [1.0, 2.0],
                       "_supp": [{"AETRTEM": "Y", "AEXTRA": "z"}, {"AETRTEM": None}]})
    supp, issues = build_supp(ae, domain="AE",
                              qualifiers=[Qualifier("AETRTEM", "Treatment Emergent Flag", "Derived")])
    assert supp[["IDVAR", "IDVARVAL", "QNAM", "QVAL", "QLABEL"]].values.tolist() == [
        ["AESEQ", "1", "AETRTEM", "Y", "Treatment Emergent Flag"],
        ["AESEQ", "1", "AEXTRA", "z", None]]
    assert [(i.code, i.where.dataset) for i in issues] == [("SHAPE006", "SUPPAE")]


def test_suppdm_has_blank_idvar():
    dm = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S1"], "_supp": [{"RACEOTH": "MAORI"}]})
    supp, _ = build_supp(dm, domain="DM", qualifiers={"RACEOTH": Qualifier("RACEOTH", "Race, Other")})
    assert supp[["RDOMAIN", "IDVAR", "IDVARVAL", "QVAL"]].values.tolist() == [["DM", None, None, "MAORI"]]


def test_long_text_is_split_into_200_character_pieces_and_supp():
    text = ("word " * 90).strip()                                   # 449 characters
    ae = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S1"], "AESEQ": [1.0], "AETERM": [text]})
    out, qualifiers, issues = split_long_text(ae, AE, variable="AETERM")
    head = out["AETERM"][0]
    rest = out["_supp"][0]
    assert len(head) <= 200 and head + rest["AETERM1"] + rest["AETERM2"] == text
    assert [q.qnam for q in qualifiers] == ["AETERM1", "AETERM2"]
    assert qualifiers[0].qlabel == "Reported Term for the Adverse Event 1"
    assert [i.code for i in issues] == ["SHAPE005"]
    supp, supp_issues = build_supp(out, domain="AE", qualifiers=qualifiers)
    assert supp["QNAM"].tolist() == ["AETERM1", "AETERM2"] and supp_issues == []


def test_rows_come_out_in_key_order_with_provenance_alongside():
    raw = pd.DataFrame({"USUBJID": ["S2", "S1", "S1"], "AESEQ": [1, 2, 1], "AETERM": ["A", "B", "C"],
                        "AEDECOD": ["A", "B", "C"], "_src_ref": ["AdverseEvent/a", "AdverseEvent/b",
                                                                 "AdverseEvent/c"]})
    frame, provenance, issues = shape_domain(raw, AE, studyid="S")
    # AE keys: STUDYID, USUBJID, AEDECOD, AESTDTC, then AESEQ
    assert frame[["USUBJID", "AEDECOD"]].values.tolist() == [["S1", "B"], ["S1", "C"], ["S2", "A"]]
    assert provenance["_src_ref"].tolist() == ["AdverseEvent/b", "AdverseEvent/c", "AdverseEvent/a"]
    assert "SHAPE007" not in {i.code for i in issues}


def test_duplicate_seq_is_reported():
    raw = pd.DataFrame({"USUBJID": ["S1", "S1"], "AESEQ": [1, 1], "AETERM": ["A", "A"], "AEDECOD": ["A", "A"]})
    _, _, issues = shape_domain(raw, AE, studyid="S")
    assert [(i.code, i.where.usubjid) for i in issues if i.code == "SHAPE007"] == [("SHAPE007", "S1")]


def test_supp_rows_sort_numerically_on_idvarval():
    supp = pd.DataFrame({"STUDYID": ["S"] * 2, "RDOMAIN": ["AE"] * 2, "USUBJID": ["S1"] * 2,
                         "IDVAR": ["AESEQ"] * 2, "IDVARVAL": ["10", "2"], "QNAM": ["AETRTEM"] * 2,
                         "QLABEL": ["Treatment Emergent Flag"] * 2, "QVAL": ["Y", "N"], "QORIG": ["Derived"] * 2})
    frame, _, _ = shape_domain(supp, load_sdtmig().domain("SUPPAE"))
    assert frame["IDVARVAL"].tolist() == ["2", "10"]
