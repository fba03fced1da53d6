"""Bad input at the ingest level (issue #8): property-based tests with hypothesis, many fast cases.

Each case writes one input file (NDJSON, Bundle JSON or FHIR XML) holding a fuzzed resource *and* a valid
sentinel Patient, runs the whole ingest step (:func:`interop.normalize.inputs.open_inputs`, then every
``subjects()`` record), and checks:

- no exception and no hang (each case runs under a hard SIGALRM deadline, :data:`CASE_SECONDS`);
- every issue names the input file; every problem with a resource's content names the resource and element;
- a wrong-typed, unknown or impossible-date element is reported on exactly that element (FHIR005/6/7);
- the sentinel Patient is still read and grouped (the rest converts).

Examples per property: ``FUZZ_EXAMPLES`` (default 60; the figures in docs/TRUST.md come from a run with more).
"""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdisc.issues import Severity
from interop.normalize.inputs import open_inputs

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
CASE_SECONDS = 20
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("FUZZ_RANDOM") is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
SENTINEL = {"resourceType": "Patient", "id": "sentinel-ok", "gender": "female", "birthDate": "1970"}

# realistic resources to mutate (shapes of docs/FHIR-INPUT.md)
TEMPLATES = [
    {"resourceType": "Observation", "id": "obs-1", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                               "code": "laboratory"}]}],
     "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]}, "subject": {"reference": "Patient/p1"},
     "effectiveDateTime": "2023-03-01T09:30:00+08:00",
     "valueQuantity": {"value": 182, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"},
     "referenceRange": [{"low": {"value": 30}, "high": {"value": 200}}]},
    {"resourceType": "AdverseEvent", "id": "ae-1", "actuality": "actual", "subject": {"reference": "Patient/p1"},
     "event": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/mdr", "code": "10037087"}],
               "text": "itchy rash"}, "date": "2023-04-02",
     "seriousness": {"coding": [{"code": "non-serious"}]}},
    {"resourceType": "Condition", "id": "c-1", "subject": {"reference": "Patient/p1"},
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "396230008"}]}, "onsetDateTime": "2019-05"},
    {"resourceType": "MedicationStatement", "id": "ms-1", "status": "active", "subject": {"reference": "Patient/p1"},
     "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                               "code": "6809"}]},
     "effectivePeriod": {"start": "2022-11"}, "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 10}}]}]},
    {"resourceType": "QuestionnaireResponse", "id": "qr-1", "status": "completed",
     "questionnaire": "https://example.org/fhir2cdisc/Questionnaire/dlqi|1.0", "subject": {"reference": "Patient/p1"},
     "authored": "2023-03-01", "item": [{"linkId": "DLQI101", "answer": [{"valueCoding": {"code": "a-lot"}}]}]},
    {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1960-02-29",
     "name": [{"family": "Test"}]},
]
# element -> (kind, an example of it) where a wrong value must be reported on exactly that element
TYPED_ELEMENTS = {
    "Observation": {"status": "code", "effectiveDateTime": "dateTime", "subject": "object", "code": "object"},
    "AdverseEvent": {"date": "dateTime", "actuality": "code", "event": "object"},
    "Condition": {"onsetDateTime": "dateTime", "code": "object", "subject": "object"},
    "MedicationStatement": {"status": "code", "effectivePeriod": "object"},
    "QuestionnaireResponse": {"authored": "dateTime", "status": "code", "item": "array"},
    "Patient": {"birthDate": "date", "gender": "code", "name": "array"},
}


@contextmanager
def hard_deadline(seconds: int):
    """Fail the case (instead of hanging the suite) if it runs longer than ``seconds``."""
    def on_alarm(_signum, _frame):
        raise TimeoutError(f"case exceeded {seconds} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def ingest_file(path: Path):
    """(issues, inventory, patient keys of the records) of one input file."""
    with hard_deadline(CASE_SECONDS), open_inputs([path], timezone="Asia/Shanghai") as ingest:
        keys = [record.key for record in ingest.subjects()]
        return list(ingest.issues), list(ingest.inventory), keys


def check_issues_name_their_place(issues, path: Path) -> None:
    for problem in issues:
        assert problem.where.file == str(path), problem
        assert problem.code.startswith("FHIR"), problem
        if problem.code in ("FHIR005", "FHIR006", "FHIR007", "FHIR009", "FHIR010"):
            assert problem.where.element is not None, problem      # "" is a legal (if odd) element name
            assert problem.where.resource or problem.where.entry is not None, problem  # no resource: its entry
        assert len(problem.message) < 2000, problem.code   # bounded: no value echoed whole


# ---- strategies ----------------------------------------------------------------------------------------------

weird_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text(st.characters(max_codepoint=0x1F), max_size=10),           # control characters
    st.sampled_from(["", " ", "\u200b", "é", "\U0001F600", "\u202e", "null", "<script>", "Patient/../../x"]),
)
dateish = st.one_of(
    st.sampled_from(["2023-02-30", "2023-13-01", "2023-00-10", "2023-1-5", "23-01-01", "2023/01/01", "0000",
                     "2023-02-29", "1900-02-29", "2023-01-01T24:00:00Z", "2023-01-01T10:00", "2023-01-01T10:00:00",
                     "2023-01-01T10:00:00+15:00", "2023-01-01T10:00:00.123456789Z", "2023-06", "2023", "99999",
                     "2023-01-01 10:00:00", "T10:00:00", "-2023-01-01", "２０２３-01-01"]),
    st.dates().map(str), weird_text)
huge_number = st.one_of(st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                        st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, -0.0, 1e308, 5e-324]))
json_leaf = st.one_of(st.none(), st.booleans(), huge_number, weird_text)
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(weird_text, inner, max_size=4)),
                          max_leaves=20)
codings = st.fixed_dictionaries({"coding": st.lists(st.fixed_dictionaries(
    {"system": st.sampled_from(["http://loinc.org", "http://snomed.info/sct", "urn:unknown", ""]),
     "code": weird_text}), max_size=2)})
units = st.fixed_dictionaries({"value": huge_number, "unit": weird_text,
                               "system": st.just("http://unitsofmeasure.org"), "code": weird_text})


DEEP = "__deep_placeholder__"


def nested_json(depth: int, shape: str) -> bytes:
    """JSON text nesting ``depth`` objects (built as text: serialisers stop at a few hundred levels)."""
    opening, closing = {"extension": (b'{"url":"x","extension":[', b"]}"),
                        "item": (b'{"linkId":"g","item":[', b"]}"),
                        "object": (b'{"a":', b"}")}[shape]
    inner = opening * depth + b'{"url":"x","valueString":"deep"}' + closing * depth
    return inner if shape == "object" else b"[" + inner + b"]"


def encode_case(resource: dict) -> bytes:
    """One NDJSON line; a ``DEEP`` marker value ``[placeholder, depth, shape]`` becomes deep JSON text."""
    try:
        raw = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:          # lone surrogates: escaped (the reader then reports invalid JSON)
        raw = json.dumps(resource, separators=(",", ":")).encode("ascii")
    marker = resource.get("_deep")
    if isinstance(marker, list) and marker[:1] == [DEEP]:
        raw = raw.replace(json.dumps(marker, separators=(",", ":")).encode(), nested_json(marker[1], marker[2]))
    return raw


@st.composite
def mutated_resources(draw) -> dict:
    """A template resource with one to three of: an element replaced by junk, removed, or re-coded."""
    resource = orjson.loads(orjson.dumps(draw(st.sampled_from(TEMPLATES))))
    deep = None
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "delete", "date", "code", "unit", "deep", "huge", "new"]))
        keys = [k for k in resource if k != "resourceType"] or ["id"]
        key = draw(st.sampled_from(keys))
        if action == "replace":
            resource[key] = draw(json_value)
        elif action == "delete":
            resource.pop(draw(st.sampled_from(list(resource))), None)
        elif action == "date":
            resource[draw(st.sampled_from(["effectiveDateTime", "date", "onsetDateTime", "authored", "birthDate"]))] \
                = draw(dateish)
        elif action == "code":
            resource["code"] = draw(codings)
        elif action == "unit":
            resource["valueQuantity"] = draw(units)
        elif action == "deep":    # at, around and far past the structural limit and the parser's
            deep = [DEEP, draw(st.sampled_from([10, 47, 49, 130, 300, 600, 1100])),
                                 draw(st.sampled_from(["extension", "item", "object"]))]
        elif action == "huge":
            resource[key] = "x" * draw(st.sampled_from([10_000, 2_000_001]))
        else:
            resource[draw(weird_text)] = draw(json_value)
    if deep is not None:
        resource.pop("extension" if deep[2] == "extension" else "item" if deep[2] == "item" else "_status", None)
        resource["_deep"] = deep
    return resource


def write_ndjson_case(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines + [orjson.dumps(SENTINEL)]) + b"\n")


def assert_sentinel_read(keys: list[str], inventory) -> None:
    assert "Patient/sentinel-ok" in keys
    assert any(e.key == "Patient/sentinel-ok" and e.status == "kept" for e in inventory)


# ---- properties ----------------------------------------------------------------------------------------------

def draw_deep_place(resource: dict) -> bytes:
    """Where a deep value goes: ``extension`` for extension chains, ``item`` for items, else a companion."""
    shape = resource["_deep"][2]
    return {"extension": b'"extension"', "item": b'"item"', "object": b'"_status"'}[shape]


@FUZZ
@given(resource=mutated_resources())
def test_mutated_resource_is_survived_and_reported_in_place(resource, tmp_path_factory):
    path = tmp_path_factory.mktemp("case") / "input.ndjson"
    line = encode_case(resource)
    if resource.get("_deep"):   # the deep value sits in a primitive's companion, or in the element itself
        line = line.replace(b'"_deep"', draw_deep_place(resource), 1)
    write_ndjson_case(path, [line])
    issues, inventory, keys = ingest_file(path)
    check_issues_name_their_place(issues, path)
    assert_sentinel_read(keys, inventory)
    assert len(inventory) >= 1 + (resource.get("id") != "sentinel-ok")


@FUZZ
@given(data=st.data())
def test_wrong_json_type_or_bad_date_is_reported_on_that_element(data, tmp_path_factory):
    resource = orjson.loads(orjson.dumps(data.draw(st.sampled_from(TEMPLATES))))
    element = data.draw(st.sampled_from(sorted(TYPED_ELEMENTS[resource["resourceType"]])))
    kind = TYPED_ELEMENTS[resource["resourceType"]][element]
    if kind in ("date", "dateTime"):
        bad = data.draw(st.sampled_from(["2023-02-30", "2023-13-01", "2023/01/01", "01-02-2023", "2023-1-5", "", "x"]))
        expected_codes = {"FHIR007"}
    else:
        wrong = {"code": st.one_of(huge_number, st.booleans(), st.lists(st.text(), max_size=2)),
                 "object": st.one_of(huge_number, weird_text, st.booleans()),
                 "array": st.one_of(huge_number, weird_text, st.booleans())}[kind]
        bad = data.draw(wrong)
        expected_codes = {"FHIR005", "FHIR007"}
    resource[element] = bad
    path = tmp_path_factory.mktemp("case") / "input.ndjson"
    write_ndjson_case(path, [encode_case(resource)])
    issues, inventory, keys = ingest_file(path)
    here = [i for i in issues if i.where.element == element and i.where.resource == f"{resource['resourceType']}/"
            f"{resource['id']}"]
    if kind == "array" and isinstance(bad, list):
        return
    if any(i.code == "FHIR001" for i in issues):      # a number past 64 bits makes the whole line unreadable
        assert [i.where.entry for i in issues if i.code == "FHIR001"] == [1]
        return
    assert {i.code for i in here} & expected_codes, (element, bad, [i.to_dict() for i in issues])
    assert_sentinel_read(keys, inventory)


@FUZZ
@given(raw=st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"{", b"[1,2", b'{"resourceType": "Patient", "id": "x",}', b"\xef\xbb\xbf{}", b"null",
                     b'{"resourceType": 42}', b'{"resourceType": "NotAType"}', b'"just a string"', b"[]",
                     b'{"resourceType": "Patient", "id": "p", "gender": "\x00"}', b"[" * 5000 + b"]" * 5000,
                     b'{"a": 1' + b"0" * 500 + b"}", b'{"resourceType":"Patient","id":"dup","id":"dup2"}']),
))
def test_invalid_json_line_is_reported_with_its_line_number(raw, tmp_path_factory):
    path = tmp_path_factory.mktemp("case") / "input.ndjson"
    raw = raw.replace(b"\n", b" ").replace(b"\r", b" ")
    write_ndjson_case(path, [raw])
    issues, inventory, keys = ingest_file(path)
    check_issues_name_their_place(issues, path)
    assert_sentinel_read(keys, inventory)
    if raw.strip() and not issues:
        assert any(e.entry == 1 for e in inventory)       # it was a readable resource after all
    for problem in issues:
        if problem.code == "FHIR001":
            assert problem.where.entry == 1


@FUZZ
@given(entries=st.lists(st.one_of(mutated_resources().map(lambda r: {"resource": r}), json_value,
                                  st.just({"request": {"method": "DELETE", "url": "Patient/gone"}}),
                                  mutated_resources().map(lambda r: {"resource": {
                                      "resourceType": "Bundle", "type": "collection", "entry": [{"resource": r}]}})),
                        max_size=5),
       bundle_type=st.sampled_from(["collection", "transaction", "searchset", "history", "weird", 7]))
def test_fuzzed_bundle_entries_are_survived(entries, bundle_type, tmp_path_factory):
    path = tmp_path_factory.mktemp("case") / "bundle.json"
    bundle = {"resourceType": "Bundle", "type": bundle_type, "entry": entries + [{"resource": SENTINEL}]}
    path.write_bytes(encode_case(bundle))
    issues, inventory, keys = ingest_file(path)
    check_issues_name_their_place(issues, path)
    assert_sentinel_read(keys, inventory)


XML_ATTACKS = {
    "external entity": b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       b'<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><gender value="&x;"/></Patient>',
    "entity expansion": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                        + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10)
                                   for i in range(9))
                        + b']><Patient xmlns="http://hl7.org/fhir"><id value="&j;"/></Patient>',
    "dtd only": b'<!DOCTYPE Patient SYSTEM "http://example.invalid/fhir.dtd">'
                b'<Patient xmlns="http://hl7.org/fhir"><id value="p1"/></Patient>',
    "parameter entity": b'<!DOCTYPE d [<!ENTITY % r SYSTEM "http://example.invalid/x.dtd"> %r;]>'
                        b'<Patient xmlns="http://hl7.org/fhir"/>',
    "lowercase doctype": b'<!doctype Patient><Patient xmlns="http://hl7.org/fhir"/>',
    "xinclude": b'<Patient xmlns="http://hl7.org/fhir" xmlns:xi="http://www.w3.org/2001/XInclude">'
                b'<id value="p1"/><xi:include href="file:///etc/passwd" parse="text"/></Patient>',
}


@pytest.mark.parametrize("attack", sorted(XML_ATTACKS))
def test_hostile_xml_is_refused_or_inert(attack, tmp_path):
    path = tmp_path / "input.xml"
    path.write_bytes(XML_ATTACKS[attack])
    (tmp_path / "sentinel.ndjson").write_bytes(orjson.dumps(SENTINEL) + b"\n")
    with hard_deadline(CASE_SECONDS), open_inputs([tmp_path], timezone="Europe/Paris") as ingest:
        keys = [record.key for record in ingest.subjects()]
        issues = list(ingest.issues)
        dumped = orjson.dumps([r.data for r in ingest.shared.values()] + [r.data for r in ingest.orphans.values()])
    assert "Patient/sentinel-ok" in keys
    assert b"root:" not in dumped
    refused = [i for i in issues if i.where.file == str(path) and i.code in ("FHIR016", "FHIR017", "FHIR006")]
    assert refused and all(i.severity in (Severity.ERROR, Severity.WARNING) for i in refused)


xml_values = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@FUZZ
@given(gender=xml_values, birth=xml_values, tail=st.sampled_from(["", "<unknownThing value='1'/>", "<name><given/></name>",
                                                                  "<active value='maybe'/>", "<id value='2'/>"]))
def test_fuzzed_fhir_xml_values_are_survived(gender, birth, tail, tmp_path_factory):
    from xml.sax.saxutils import quoteattr

    folder = tmp_path_factory.mktemp("case")
    body = (f"<Patient xmlns='http://hl7.org/fhir'><id value='x1'/><gender value={quoteattr(gender)}/>"
            f"<birthDate value={quoteattr(birth)}/>{tail}</Patient>")
    path = folder / "input.xml"
    path.write_bytes(body.encode("utf-8"))
    (folder / "sentinel.ndjson").write_bytes(orjson.dumps(SENTINEL) + b"\n")
    with hard_deadline(CASE_SECONDS), open_inputs([folder], timezone="Europe/Paris") as ingest:
        keys = [record.key for record in ingest.subjects()]
        issues = list(ingest.issues)
    assert "Patient/sentinel-ok" in keys
    for problem in issues:
        assert problem.where.file in (str(path), str(folder / "sentinel.ndjson")), problem
