"""Outcome table from QS (and LB for the IMACS muscle enzyme), written to CSV and PNG and read back."""

from __future__ import annotations

import pandas as pd

from mappings.outcomes import derive_outcome_table, write_outcomes
from mappings.study import load_study

VISITS = {1: "SCREENING", 2: "DAY 1", 5: "WEEK 12", 8: "WEEK 24"}


def _qs(rows):
    return pd.DataFrame([{"USUBJID": u, "VISITNUM": float(v), "VISIT": VISITS[v], "QSTESTCD": t, "QSSTRESN": x,
                          "QSDRVFL": "Y"} for u, v, t, x in rows])


def _lb(rows):
    return pd.DataFrame([{"USUBJID": u, "VISITNUM": float(v), "LBTESTCD": t, "LBSTRESN": x, "LBSTNRHI": hi}
                         for u, v, t, x, hi in rows])


QS = _qs([
    ("S1", 2, "CDASI182", 24), ("S1", 5, "CDASI182", 18), ("S1", 8, "CDASI182", 10),
    ("S1", 2, "DLQI111", 12), ("S1", 8, "DLQI111", 5),
    ("S2", 2, "CDASI182", 15), ("S2", 5, "CDASI182", 16),
    # IMACS core set, S1: day 1 and week 24
    ("S1", 2, "MYGA101", 6), ("S1", 2, "MYGA103", 6), ("S1", 2, "MYGA105", 4), ("S1", 2, "MMT8116", 60),
    ("S1", 2, "HAQ01DI", 1.5),
    ("S1", 8, "MYGA101", 4.5), ("S1", 8, "MYGA103", 4.5), ("S1", 8, "MYGA105", 4), ("S1", 8, "MMT8116", 68),
    ("S1", 8, "HAQ01DI", 1.5),
])
LB = _lb([("S1", 2, "CK", 1000, 200), ("S1", 2, "AST", 60, 40), ("S1", 8, "CK", 1000, 200), ("S1", 8, "AST", 20, 40)])


def test_cdasi_change_from_baseline_for_two_subjects():
    table = derive_outcome_table(QS, study=load_study("len-cdm"), lb=LB)
    s1 = table[table.USUBJID == "S1"].set_index("VISIT")
    assert list(s1.index) == ["DAY 1", "WEEK 12", "WEEK 24"]
    assert s1.loc["WEEK 12", "CDASI_A_CHG"] == -6 and s1.loc["WEEK 24", "CDASI_A_CHG"] == -14
    assert s1.loc["WEEK 24", "DLQI_CHG"] == -7 and pd.isna(s1.loc["WEEK 12", "DLQI"])
    s2 = table[table.USUBJID == "S2"].set_index("VISIT")
    assert s2.loc["WEEK 12", "CDASI_A_CHG"] == 1 and s2.loc["DAY 1", "CDASI_A_BL"] == 15


def test_imacs_tis_uses_most_abnormal_enzyme_at_baseline():
    table = derive_outcome_table(QS, study=load_study("len-cdm"), lb=LB)
    w24 = table[(table.USUBJID == "S1") & (table.VISIT == "WEEK 24")].iloc[0]
    # imacs.md TIS table: physician 15 % -> 7.5, patient 15 % -> 2.5, MMT 10 % -> 10, HAQ 0, extramuscular 0;
    # enzyme CK (1000/200 = 5x ULN, more abnormal than AST 1.5x) unchanged -> 0 (AST's fall is not used). TIS 20.
    assert w24.IMACS_TIS == 20 and w24.IMACS_CATEGORY == "minimal"
    no_lb = derive_outcome_table(QS, study=load_study("len-cdm"))
    row = no_lb[(no_lb.USUBJID == "S1") & (no_lb.VISIT == "WEEK 24")].iloc[0]
    assert pd.isna(row.IMACS_TIS) and "enzyme" in row.IMACS_REASON


def test_clasi_table_for_len_cle():
    qs = _qs([("C1", 2, "CLASI158", 12), ("C1", 8, "CLASI158", 5)])
    table = derive_outcome_table(qs, study=load_study("len-cle"))
    assert list(table["CLASI_A_CHG"]) == [0, -7] and "IMACS_TIS" not in table


def test_write_outcomes_reads_back_and_png_is_deterministic(tmp_path):
    table = derive_outcome_table(QS, study=load_study("len-cdm"), lb=LB)
    paths = write_outcomes(table, tmp_path / "a")
    again = write_outcomes(table, tmp_path / "b")
    back = pd.read_csv(tmp_path / "a" / "outcomes.csv")
    assert back.loc[(back.USUBJID == "S1") & (back.VISIT == "WEEK 24"), "CDASI_A_CHG"].item() == -14
    assert sorted(p.name for p in paths) == ["S1.png", "S2.png", "outcomes.csv"]
    for p, q in zip(paths, again):
        assert p.read_bytes() == q.read_bytes()
    assert (tmp_path / "a" / "S1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_drawn_in_worker_processes_are_the_same_bytes(tmp_path):
    # one figure per batch, reused across subjects: a plot must not depend on the process or on earlier plots
    from functools import partial

    from interop.engines import LocalEngine

    table = derive_outcome_table(QS, study=load_study("len-cdm"), lb=LB)
    alone = write_outcomes(table, tmp_path / "one")
    pooled = write_outcomes(table, tmp_path / "pool", mapper=partial(LocalEngine(workers=2).map, batch=1))
    assert [p.name for p in pooled] == [p.name for p in alone] == ["outcomes.csv", "S1.png", "S2.png"]
    assert [p.read_bytes() for p in pooled] == [p.read_bytes() for p in alone]
    assert (tmp_path / "one" / "S1.png").read_bytes() != (tmp_path / "one" / "S2.png").read_bytes()
