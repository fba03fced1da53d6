"""End to end on the bundled len-cdm sample: XPTs read back and checked against values worked out by hand from the
FHIR input (fhir_samples/len-cdm/ndjson; stories in fhir_samples/README.md)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cdisc.xpt import read_xpt


@pytest.fixture(scope="module")
def xpt(cdm_package):
    return lambda name: read_xpt(cdm_package / f"{name}.xpt").frame


def one(frame: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    rows = frame[mask]
    assert len(rows) == 1, (where, len(rows))
    return rows.iloc[0]


def test_haemoglobin_sent_in_g_per_dl_is_standardised_to_g_per_l(xpt):
    # CDM-S02 (subject 001), Observation db328af08b59f829: 718-7 = 14.5 g/dL, range 12-17 g/dL, on 2022-08-26
    hgb = one(xpt("lb"), USUBJID="LEN-CDM-01-001", LBTESTCD="HGB", VISIT="SCREENING")
    assert (hgb["LBORRES"], hgb["LBORRESU"], hgb["LBORNRLO"], hgb["LBORNRHI"]) == ("14.5", "g/dL", "12", "17")
    assert (hgb["LBSTRESN"], hgb["LBSTRESC"], hgb["LBSTRESU"]) == (145.0, "145", "g/L")       # x 10
    assert (hgb["LBSTNRLO"], hgb["LBSTNRHI"], hgb["LBLOBXFL"]) == (120.0, 170.0, "Y")


def test_creatinine_in_mg_per_dl_uses_the_explicit_factor(xpt):
    # 0.81 mg/dL x 88.42 = 71.6202 umol/L (mappings/terminology/unit_conversions.csv)
    creat = one(xpt("lb"), USUBJID="LEN-CDM-01-001", LBTESTCD="CREAT", VISIT="SCREENING")
    assert (creat["LBORRES"], creat["LBSTRESN"], creat["LBSTRESU"]) == ("0.81", 71.6202, "umol/L")


def test_study_day_counts_from_the_first_dose_without_day_zero(xpt):
    # subject 001: first dose 2022-09-11T11:30; screening CBC 2022-08-26 is 16 days before -> LBDY -16
    dm = one(xpt("dm"), USUBJID="LEN-CDM-01-001")
    assert dm["RFSTDTC"] == "2022-09-11T11:30:00"
    assert one(xpt("lb"), USUBJID="LEN-CDM-01-001", LBTESTCD="HGB", VISIT="SCREENING")["LBDY"] == -16
    sv = xpt("sv")
    days = sv[sv["USUBJID"] == "LEN-CDM-01-004"].set_index("VISIT")["SVSTDY"]
    assert (days["SCREENING"], days["DAY 1"]) == (-12, 1)        # 2022-09-29 and 2022-10-11 (first dose)


def test_unscheduled_visit_on_day_40_and_missed_week_16(xpt):
    # CDM-S06 (subject 004): an extra encounter on day 40, between WEEK 4 (3) and WEEK 8 (4); week 16 missed
    sv = xpt("sv")
    sv = sv[sv["USUBJID"] == "LEN-CDM-01-004"]
    extra = one(sv, SVSTDY=40.0)
    assert (extra["VISITNUM"], extra["VISIT"], extra["SVPRESP"]) == (3.01, "UNSCHEDULED 3.01", None)
    assert "WEEK 16" not in set(sv["VISIT"])


def test_partial_onset_date_stays_partial(xpt):
    # CDM-S06 sends its dermatomyositis onset to the month only
    mh = one(xpt("mh"), USUBJID="LEN-CDM-01-004", MHTERM="Dermatomyositis")
    assert mh["MHSTDTC"] == "2014-10"


def test_serious_adverse_event_flags(xpt):
    # CDM-S10 (subject 008): pneumonia, serious (hospitalisation), severe, CTCAE 3, possible, drug withdrawn
    ae = one(xpt("ae"), USUBJID="LEN-CDM-01-008", AEDECOD="Pneumonia")
    assert (ae["AESER"], ae["AESHOSP"], ae["AESDTH"], ae["AESLIFE"]) == ("Y", "Y", "N", "N")
    assert (ae["AESEV"], ae["AETOXGR"], ae["AEREL"], ae["AEACN"]) == ("SEVERE", "3", "RELATED", "DRUG WITHDRAWN")
    assert (ae["AEOUT"], ae["AESTDTC"], ae["AEENDTC"]) == ("RECOVERED/RESOLVED", "2023-01-27T14:00:00", "2023-02-01")


def test_reconciliation_accounts_for_every_input_resource(cdm_package):
    from tests.conftest import REPO

    inputs = sum(sum(1 for _ in p.open()) for p in (REPO / "fhir_samples" / "len-cdm" / "ndjson").glob("*.ndjson"))
    report = json.loads((cdm_package / "reconciliation.json").read_text())
    assert report["total"]["input"] == inputs
    for rtype, bucket in report["by_type"].items():
        assert bucket["input"] == bucket["mapped"] + bucket["evidence"] + bucket["unmapped"], rtype


def test_readable_reconciliation_summary_matches_the_json(cdm_package):
    report = json.loads((cdm_package / "reconciliation.json").read_text())
    summary = (cdm_package / "reconciliation.md").read_text()
    total = report["total"]
    assert (f"| **total** | {total['input']} | {total['mapped']} | {total['evidence']} | {total['unmapped']} |"
            in summary)
    observation = report["by_type"]["Observation"]
    assert f"| Observation | {observation['input']} | {observation['mapped']} |" in summary


def test_package_screening_page_names_patients_by_usubjid(cdm_package):
    page = (cdm_package / "screening" / "len-cdm" / "screening.html").read_text(encoding="utf-8")
    assert "named by USUBJID" in page and "LEN-CDM-01-001" in page and "named by pseudonym" not in page
