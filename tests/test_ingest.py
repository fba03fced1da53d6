"""Readers: every input form gives the same resources, each tagged with where it was read."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from interop.ingest.readers import read_inputs
from interop.ingest.xml import read_xml_resource
from interop.normalize.inputs import open_inputs


def patient(pid: str, **extra) -> dict:
    return {"resourceType": "Patient", "id": pid, **extra}


def observation(oid: str, subject: str, **extra) -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final", "code": {"text": "weight"},
            "subject": {"reference": subject}, **extra}


def bundle(*resources, type_: str = "collection", full_urls: list[str] | None = None) -> dict:
    entries = []
    for i, resource in enumerate(resources):
        entry = {"resource": resource}
        if full_urls:
            entry["fullUrl"] = full_urls[i]
        entries.append(entry)
    return {"resourceType": "Bundle", "type": type_, "link": [{"relation": "next", "url": "http://h/p2"}],
            "entry": entries}


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data))
    return path


def write_ndjson(path: Path, resources) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


def keys(items) -> list[str]:
    return [f"{i.data['resourceType']}/{i.data['id']}" for i in items if i.data is not None]


RESOURCES = [patient("p1"), observation("o1", "Patient/p1")]


def test_single_resource_file_is_read_with_no_entry(tmp_path):
    items = list(read_inputs([write_json(tmp_path / "p.json", patient("p1"))]))
    assert keys(items) == ["Patient/p1"] and items[0].entry is None


@pytest.mark.parametrize("type_", ["collection", "transaction", "batch", "searchset"])
def test_bundle_of_any_type_yields_entries_with_their_index(tmp_path, type_):
    items = list(read_inputs([write_json(tmp_path / "b.json", bundle(*RESOURCES, type_=type_))]))
    assert keys(items) == ["Patient/p1", "Observation/o1"]
    assert [i.entry for i in items] == [0, 1]


def test_nested_bundle_entries_carry_outer_index_and_inner_path(tmp_path):
    inner = bundle(observation("o2", "Patient/p1"))
    items = list(read_inputs([write_json(tmp_path / "b.json", bundle(patient("p1"), inner))]))
    assert keys(items) == ["Patient/p1", "Observation/o2"]
    assert (items[1].entry, items[1].path) == (1, "entry[0]")


def test_folder_is_read_recursively_in_path_order(tmp_path):
    write_json(tmp_path / "b" / "deep" / "o.json", observation("o1", "Patient/p1"))
    write_json(tmp_path / "a.json", patient("p1"))
    assert keys(read_inputs([tmp_path])) == ["Patient/p1", "Observation/o1"]


def test_ndjson_lines_are_numbered_from_one(tmp_path):
    items = list(read_inputs([write_ndjson(tmp_path / "x.ndjson", RESOURCES)]))
    assert [i.entry for i in items] == [1, 2]


def test_manifest_limits_the_folder_to_the_files_it_lists(tmp_path):
    write_ndjson(tmp_path / "Patient.ndjson", [patient("p1")])
    write_ndjson(tmp_path / "Stray.ndjson", [patient("p9")])
    write_json(tmp_path / "manifest.json", {"transactionTime": "2024-01-01T00:00:00Z", "request": "x",
                                            "output": [{"type": "Patient",
                                                        "url": "https://h/bulk/Patient.ndjson"}]})
    assert keys(read_inputs([tmp_path])) == ["Patient/p1"]


@pytest.mark.parametrize("name", ["b.json.gz", "b.ndjson.gz"])
def test_gzip_of_json_and_ndjson(tmp_path, name):
    if name.startswith("b.json"):
        raw = orjson.dumps(bundle(*RESOURCES))
    else:
        raw = b"".join(orjson.dumps(r) + b"\n" for r in RESOURCES)
    (tmp_path / name).write_bytes(gzip.compress(raw))
    assert keys(read_inputs([tmp_path / name])) == ["Patient/p1", "Observation/o1"]


XML_BUNDLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>
 <entry><fullUrl value="urn:uuid:aa"/><resource><Patient><id value="p1"/>
   <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">hi</div></text>
   <name><given value="A"/><given value="B"/></name>
   <birthDate value="1970-03"><extension url="http://x/e"><valueBoolean value="true"/></extension></birthDate>
 </Patient></resource></entry>
 <entry><resource><Observation><id value="o1"/><status value="final"/><code><text value="w"/></code>
   <subject><reference value="urn:uuid:aa"/></subject><effectiveDateTime value="2023-05-01T23:30:00Z"/>
   <valueQuantity><value value="70.5"/><unit value="kg"/></valueQuantity></Observation></resource></entry>
</Bundle>"""


def test_xml_bundle_converts_to_the_json_form(tmp_path):
    (tmp_path / "b.xml").write_bytes(XML_BUNDLE)
    items = list(read_inputs([tmp_path / "b.xml"]))
    assert keys(items) == ["Patient/p1", "Observation/o1"]
    p, o = items[0].data, items[1].data
    assert p["name"] == [{"given": ["A", "B"]}]
    assert p["birthDate"] == "1970-03"
    assert p["_birthDate"] == {"extension": [{"url": "http://x/e", "valueBoolean": True}]}
    assert p["text"]["div"].startswith("<div") and "hi" in p["text"]["div"]
    assert o["valueQuantity"] == {"value": 70.5, "unit": "kg"}
    assert items[0].full_url == "urn:uuid:aa" and items[0].issues == [] and items[1].issues == []


@pytest.mark.parametrize("value", ["NaN", "inf", "1e999", "1_000", "\u0663", "01"])
def test_xml_numbers_outside_the_fhir_grammar_are_reported_not_carried(tmp_path, value):
    # Python would read these as numbers; FHIR does not, and JSON could not write them back (NaN -> null)
    (tmp_path / "o.xml").write_text(
        '<Observation xmlns="http://hl7.org/fhir"><id value="o1"/><status value="final"/><code><text value="x"/>'
        f'</code><valueQuantity><value value="{value}"/><unit value="kg"/></valueQuantity></Observation>',
        encoding="utf-8")
    [item] = list(read_inputs([tmp_path / "o.xml"]))
    assert item.data["valueQuantity"] == {"unit": "kg"}
    assert [(i.code, i.where.element) for i in item.issues] == [("FHIR005", "valueQuantity.value")]


@pytest.mark.parametrize("declaration", [
    b'<!DOCTYPE Patient [<!ENTITY x "a">]>',
    b'<!DOCTYPE Patient SYSTEM "http://evil.example/p.dtd">',
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>',
])
def test_xml_with_doctype_or_entities_is_refused(declaration):
    raw = b'<?xml version="1.0"?>' + declaration + b'<Patient xmlns="http://hl7.org/fhir"><id value="p"/></Patient>'
    data, problems = read_xml_resource(raw, file="x.xml")
    assert data is None and [p.code for p in problems] == ["FHIR016"]


def test_bad_entry_does_not_stop_the_rest_of_the_bundle(tmp_path):
    b = bundle(patient("p1"), "not an object", {"id": "x"}, observation("o1", "Patient/p1"))
    items = list(read_inputs([write_json(tmp_path / "b.json", b)]))
    assert keys(items) == ["Patient/p1", "Observation/o1"]
    assert [(i.entry, [p.code for p in i.issues]) for i in items if i.data is None] == [
        (1, ["FHIR002"]), (2, ["FHIR003"])]


def test_forms_agree_bundle_ndjson_xml_give_same_records(tmp_path):
    write_json(tmp_path / "json" / "b.json", bundle(*RESOURCES))
    write_ndjson(tmp_path / "nd" / "x.ndjson", RESOURCES)
    (tmp_path / "xml").mkdir()
    (tmp_path / "xml" / "b.xml").write_bytes(
        b'<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><resource><Patient>'
        b'<id value="p1"/></Patient></resource></entry><entry><resource><Observation><id value="o1"/>'
        b'<status value="final"/><code><text value="weight"/></code><subject><reference value="Patient/p1"/>'
        b'</subject></Observation></resource></entry></Bundle>')
    datas = []
    for form in ("json", "nd", "xml"):
        with open_inputs([tmp_path / form], timezone="UTC") as ingest:
            datas.append([(r.key, [x.data for x in r.all_resources()]) for r in ingest.subjects()])
    assert datas[0] == datas[1] == datas[2]
