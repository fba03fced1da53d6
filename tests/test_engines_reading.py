"""Reading NDJSON in worker processes gives the single-process reader's items, in its order."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from interop import codes
from interop.engines import LocalEngine
from interop.engines.reading import read_parallel
from interop.normalize.inputs import load_zone, open_inputs, read_on_site_clock
from interop.normalize.prepared import PreparedItem, prepared_items

SAMPLES = Path(__file__).resolve().parent.parent / "fhir_samples"
LEN_CDM_EXPORT = SAMPLES / "len-cdm" / "ndjson"     # a Bulk Data export folder with a manifest
ZONE = "Asia/Shanghai"


def single_process(paths: list[Path]) -> list:
    """The single-process reader's items, prepared as the grouping step prepares them."""
    return list(prepared_items(read_on_site_clock(paths, zone=load_zone(ZONE))))


def two_workers(paths: list[Path], batch_lines: int) -> list:
    """The pool's items (NDJSON prepared in the workers; others prepared here, as the grouping step would)."""
    return list(prepared_items(read_parallel(paths, timezone=ZONE, workers=2, batch_lines=batch_lines)))


def fields(pair) -> tuple:
    """Everything the grouping step reads from one item."""
    item, local_times = pair
    if isinstance(item, PreparedItem):
        return (*(getattr(item, name) for name in item.__slots__), local_times)
    return (item.data, item.file, item.entry, item.path, item.full_url, item.issues, item.is_resource,
            item.sha256, local_times)


def test_parallel_reading_of_the_len_cdm_export_equals_single_process_reading():
    alone = single_process([LEN_CDM_EXPORT])
    pooled = two_workers([LEN_CDM_EXPORT], batch_lines=7)      # Observation.ndjson is 1420 lines: many batches
    assert len(alone) == 1910                                   # the manifest's counts add up to 1910
    assert [fields(p) for p in pooled] == [fields(p) for p in alone]
    assert alone[0][0].file.endswith("AdverseEvent.ndjson") and alone[0][0].entry == 1


def patient(number: int, birth_date_time: str = "1970-01-01T08:00:00+00:00") -> dict:
    return {"resourceType": "Patient", "id": f"p{number}",
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                           "valueDateTime": birth_date_time}]}


def write_mixed_folder(folder: Path) -> None:
    """NDJSON with every kind of line, a Bundle between NDJSON files, a gz copy, a truncated gz, a stray file."""
    lines = [orjson.dumps(patient(1)), b"", b"{not json", b"[1, 2]",
             orjson.dumps({"resourceType": "Observation", "id": "o1", "status": "final",
                           "code": {"text": "weight"}, "subject": {"reference": "Patient/p1"},
                           "effectiveDateTime": "2024-03-01T10:00:00"}),   # no offset: site local time
             b"   ", orjson.dumps(patient(2))]
    ndjson = b"\n".join(lines) + b"\n"
    (folder / "a.ndjson").write_bytes(ndjson)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": "urn:uuid:1", "resource": patient(3, "1980-05-05T12:00:00")}, {"nope": 1}]}
    (folder / "b-bundle.json").write_bytes(orjson.dumps(bundle))
    (folder / "c.ndjson.gz").write_bytes(gzip.compress(ndjson))
    many = b"".join(orjson.dumps(patient(n)) + b"\n" for n in range(100, 400))
    compressed = gzip.compress(many)
    (folder / "d-truncated.ndjson.gz").write_bytes(compressed[: len(compressed) // 2])
    (folder / "notes.txt").write_text("not FHIR")


def test_parallel_reading_of_a_mixed_folder_equals_single_process_reading(tmp_path):
    write_mixed_folder(tmp_path)
    alone = single_process([tmp_path])
    pooled = two_workers([tmp_path], batch_lines=2)
    assert [fields(p) for p in pooled] == [fields(p) for p in alone]
    # what the folder holds, in order: the stray file first, then a.ndjson, the Bundle, its gz copy, the cut gz
    codes_seen = [(Path(item.file).name, item.entry, [i.code for i in item.issues]) for item, _ in alone]
    expected_ndjson = [(1, []), (3, [codes.FHIR001.code]), (4, [codes.FHIR002.code]), (5, []), (7, [])]
    assert codes_seen[0] == ("notes.txt", None, [codes.FHIR021.code])
    assert codes_seen[1:6] == [("a.ndjson", entry, found) for entry, found in expected_ndjson]
    assert codes_seen[6:8] == [("b-bundle.json", 0, []), ("b-bundle.json", 1, [codes.FHIR005.code])]
    assert codes_seen[8:13] == [("c.ndjson.gz", entry, found) for entry, found in expected_ndjson]
    truncated = [entry for name, entry, _ in codes_seen if name == "d-truncated.ndjson.gz"]
    assert 0 < len(truncated) - 1 < 300 and codes_seen[-1][2] == [codes.FHIR018.code]
    assert truncated[-1] == truncated[-2] + 1          # FHIR018 on the line after the last one read
    assert alone[4][1] == ("effectiveDateTime",)       # the dateTime without offset, on the site clock
    assert orjson.loads(alone[4][0].encoded)["effectiveDateTime"] == "2024-03-01T10:00:00"


def test_one_worker_reads_in_process(tmp_path):
    write_mixed_folder(tmp_path)
    assert [fields(p) for p in prepared_items(read_parallel([tmp_path], timezone=ZONE, workers=1))] == \
        [fields(p) for p in single_process([tmp_path])]


def test_the_local_engine_with_two_workers_opens_what_open_inputs_opens():
    with open_inputs([LEN_CDM_EXPORT], timezone=ZONE) as expected, \
            LocalEngine(workers=2).open([LEN_CDM_EXPORT], timezone=ZONE) as pooled:
        assert len(expected.patient_keys) == 28
        assert [r.key for r in pooled.subjects()] == [r.key for r in expected.subjects()]
        assert [(i.code, i.message, i.where) for i in pooled.issues] == \
            [(i.code, i.message, i.where) for i in expected.issues]
        assert list(pooled.inventory) == list(expected.inventory)
        assert len(list(expected.inventory)) == 1910
        assert next(pooled.subjects()) == next(expected.subjects())
