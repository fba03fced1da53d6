"""cdisc.xpt: strict, reproducible SAS V5 transport; read back with two independent readers."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyreadstat

from cdisc.shape import shape_domain
from cdisc.standards import load_sdtmig
from cdisc.xpt import read_xpt, write_xpt

DM = load_sdtmig().domain("DM")
CREATED = datetime(2025, 3, 28, 9, 5, 0)
PILOT = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "cdiscpilot01"


def small_dm() -> pd.DataFrame:
    raw = pd.DataFrame({"USUBJID": ["LEN-CDM-001", "LEN-CDM-002", "LEN-CDM-003"],
                        "SUBJID": ["001", "002", "003"], "RFSTDTC": ["2023-01-10", "2023-02", None],
                        "SITEID": ["01", "01", "02"], "AGE": [54, 61.0, None], "AGEU": ["YEARS"] * 3,
                        "SEX": ["F", "M", "F"], "RACE": ["WHITE", "ASIAN", "WHITE"],
                        "ETHNIC": ["NOT HISPANIC OR LATINO"] * 3, "ARMCD": ["LEN"] * 3,
                        "ARM": ["Lenalidomide"] * 3, "ACTARMCD": ["LEN"] * 3, "ACTARM": ["Lenalidomide"] * 3,
                        "COUNTRY": ["USA"] * 3})
    return shape_domain(raw, DM, studyid="LEN-CDM").frame


def test_written_file_reads_back_with_pyreadstat_and_pandas(tmp_path):
    frame = small_dm()
    path = tmp_path / "dm.xpt"
    assert [i.code for i in write_xpt(frame, path, spec=DM, created=CREATED)] == []
    back = read_xpt(path)
    assert back.name == "DM" and back.label == "Demographics"
    assert list(back.frame.columns) == list(frame.columns)
    assert back.labels["RFSTDTC"] == "Subject Reference Start Date/Time"
    assert back.frame["RFSTDTC"].tolist() == ["2023-01-10", "2023-02", None]
    assert back.frame["AGE"][:2].tolist() == [54.0, 61.0] and math.isnan(back.frame["AGE"][2])
    assert back.widths["USUBJID"] == 11 and back.widths["AGE"] == 8
    sas = pd.read_sas(path, format="xport", encoding="ascii")
    assert sas["USUBJID"].tolist() == ["LEN-CDM-001", "LEN-CDM-002", "LEN-CDM-003"]
    assert sas["ETHNIC"][0] == "NOT HISPANIC OR LATINO" and sas["AGE"][1] == 61.0


def test_same_input_gives_same_bytes_and_header_has_given_timestamp(tmp_path):
    frame = small_dm()
    write_xpt(frame, tmp_path / "a.xpt", spec=DM, created=CREATED)
    write_xpt(frame, tmp_path / "b.xpt", spec=DM, created=CREATED)
    content = (tmp_path / "a.xpt").read_bytes()
    assert content == (tmp_path / "b.xpt").read_bytes()
    assert content.count(b"28MAR25:09:05:00") == 4
    write_xpt(frame, tmp_path / "c.xpt", spec=DM, created=datetime(2024, 12, 1, 23, 59, 1))
    assert (tmp_path / "c.xpt").read_bytes().count(b"01DEC24:23:59:01") == 4


def test_all_problems_are_reported_together_and_nothing_written(tmp_path):
    frame = small_dm()
    frame["SEX"] = frame["SEX"].astype(object)
    frame.loc[0, "ARM"] = "x" * 201
    frame["AGE"] = frame["AGE"].map(lambda v: None if math.isnan(v) else str(v))   # wrong type
    frame["LONGNAME9"] = ["a", "b", "c"]
    path = tmp_path / "dm.xpt"
    issues = write_xpt(frame, path, spec=DM, created=CREATED)
    assert sorted(i.code for i in issues) == ["XPT001", "XPT003", "XPT006", "XPT007"]
    assert next(i for i in issues if i.code == "XPT003").where.usubjid == "LEN-CDM-001"
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_non_ascii_is_transliterated_and_reported(tmp_path):
    frame = small_dm()
    frame.loc[1, "ARM"] = "Lénalidomide"
    issues = write_xpt(frame, tmp_path / "dm.xpt", spec=DM, created=CREATED)
    assert [(i.code, i.where.variable) for i in issues] == [("XPT004", "ARM")]
    assert read_xpt(tmp_path / "dm.xpt").frame["ARM"][1] == "Lenalidomide"


def test_pilot_dm_shape_gives_their_variable_order_and_labels(tmp_path):
    pilot = read_xpt(PILOT / "dm.xpt", encoding="cp1252")
    shaped = shape_domain(pilot.frame, DM).frame
    # SDTMIG 3.4 adds two Expected variables the 3.1.2-era pilot lacks (ARMNRS, ACTARMUD)
    added = [c for c in shaped.columns if c not in pilot.frame.columns]
    assert added == ["ARMNRS", "ACTARMUD"]
    assert [c for c in shaped.columns if c not in added] == list(pilot.frame.columns)
    write_xpt(shaped, tmp_path / "dm.xpt", spec=DM, created=CREATED)
    ours = read_xpt(tmp_path / "dm.xpt")
    assert {k: v for k, v in ours.labels.items() if k not in added} == pilot.labels
    pd.testing.assert_frame_equal(ours.frame.drop(columns=added), pilot.frame)


def test_a_reader_that_opens_theirs_opens_ours(tmp_path):
    theirs, _ = pyreadstat.read_xport(str(PILOT / "dm.xpt"), encoding="cp1252")
    write_xpt(small_dm(), tmp_path / "dm.xpt", spec=DM, created=CREATED)
    for path in (PILOT / "dm.xpt", tmp_path / "dm.xpt"):
        frame = pd.read_sas(path, format="xport", encoding="cp1252")
        assert list(frame.columns[:3]) == ["STUDYID", "DOMAIN", "USUBJID"]
    ours, meta = pyreadstat.read_xport(str(tmp_path / "dm.xpt"), encoding="cp1252")
    assert len(ours) == 3 and len(theirs) == 306 and meta.table_name == "DM"


def test_header_timestamp_offsets_match_sas_written_files():
    import re

    from cdisc.xpt import HEADER_TIMESTAMPS
    msg = PILOT.parents[1] / "cdisc" / "reference-submission" / "sdtm-msg-v2.0-cdiscpilot01"
    stamp = re.compile(rb"^\d{2}[A-Z]{3}\d{2}:\d{2}:\d{2}:\d{2}$")
    for path in (msg / "dm.xpt", msg / "ae.xpt", PILOT / "dm.xpt"):
        header = path.read_bytes()[:560]
        assert all(stamp.match(header[o:o + 16]) for o in HEADER_TIMESTAMPS), path.name
