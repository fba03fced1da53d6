"""cdisc.datasetjson: Dataset-JSON 1.1 from the same frames; XPT and JSON round-trip to the same data."""

from __future__ import annotations

from datetime import datetime

import orjson
import pandas as pd
import pytest

from cdisc.datasetjson import DatasetJsonInfo, SourceSystem, read_dataset_json, write_dataset_json
from cdisc.issues import ConversionError
from cdisc.shape import shape_domain
from cdisc.standards import load_sdtmig
from cdisc.xpt import read_xpt, write_xpt

AE = load_sdtmig().domain("AE")
INFO = DatasetJsonInfo(created=datetime(2025, 3, 28, 9, 5, 0), study_oid="LEN-CDM",
                       source_system=SourceSystem("fhir2cdisc", "0.1.0"))


def small_ae() -> pd.DataFrame:
    raw = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "AESEQ": [1, 2, 1],
                        "AETERM": ["RASH", "NAUSEA", "FEVER"], "AEDECOD": ["Rash", "Nausea", "Pyrexia"],
                        "AESTDTC": ["2023-01-05", "2023-02", None], "AESTDY": [5, None, None],
                        "AESER": ["N", "N", "Y"], "AEDUR": [None, None, None]})
    return shape_domain(raw, AE, studyid="LEN-CDM").frame


def test_document_has_dataset_json_1_1_layout(tmp_path):
    path = tmp_path / "ae.json"
    assert write_dataset_json(small_ae(), path, spec=AE, info=INFO) == []
    document = orjson.loads(path.read_bytes())
    assert document["datasetJSONVersion"] == "1.1.0"
    assert document["datasetJSONCreationDateTime"] == "2025-03-28T09:05:00"
    assert (document["itemGroupOID"], document["name"], document["label"], document["records"]) == (
        "IG.AE", "AE", "Adverse Events", 3)
    columns = {c["name"]: c for c in document["columns"]}
    assert columns["USUBJID"] == {"itemOID": "IT.AE.USUBJID", "name": "USUBJID",
                                  "label": "Unique Subject Identifier", "dataType": "string", "length": 2,
                                  "keySequence": 2}
    assert columns["AESEQ"]["dataType"] == "integer" and "length" not in columns["AESEQ"]
    seq = [c["name"] for c in document["columns"]].index("AESTDY")
    # rows in AE key order: USUBJID, AEDECOD (Nausea < Rash), ...
    assert [row[seq] for row in document["rows"]] == [None, 5, None]
    assert document["rows"][0][:3] == ["LEN-CDM", "AE", "S1"]


def test_xpt_and_dataset_json_round_trip_to_identical_data(tmp_path):
    frame = small_ae()
    write_xpt(frame, tmp_path / "ae.xpt", spec=AE, created=INFO.created)
    write_dataset_json(frame, tmp_path / "ae.json", spec=AE, info=INFO)
    from_xpt = read_xpt(tmp_path / "ae.xpt").frame
    from_json = read_dataset_json(tmp_path / "ae.json").frame
    pd.testing.assert_frame_equal(from_xpt, from_json)
    assert from_json["AESTDTC"].tolist() == ["2023-02", "2023-01-05", None]


def test_same_frame_gives_same_bytes(tmp_path):
    write_dataset_json(small_ae(), tmp_path / "a.json", spec=AE, info=INFO)
    write_dataset_json(small_ae(), tmp_path / "b.json", spec=AE, info=INFO)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_unshaped_frame_is_refused(tmp_path):
    frame = small_ae().assign(_src_ref="AdverseEvent/1")
    issues = write_dataset_json(frame, tmp_path / "ae.json", spec=AE, info=INFO)
    assert [(i.code, i.where.variable) for i in issues] == [("DJSON001", "_src_ref")]
    assert not (tmp_path / "ae.json").exists()


def test_truncated_file_is_reported(tmp_path):
    path = tmp_path / "ae.json"
    write_dataset_json(small_ae(), path, spec=AE, info=INFO)
    document = orjson.loads(path.read_bytes())
    document["rows"] = document["rows"][:2]
    path.write_bytes(orjson.dumps(document))
    with pytest.raises(ConversionError) as caught:
        read_dataset_json(path)
    assert caught.value.issue.code == "DJSON001"
