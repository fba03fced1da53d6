"""Bad input through the whole convert path (issue #8): fewer, slower cases over a small base cohort.

Each case takes one clinical resource of an enrolled subject in a small generated cohort, mutates it with the
strategies of ``test_fuzz_ingest`` (junk values, deletions, impossible/partial dates, unknown codes and units,
deep nesting, huge strings, control and non-ASCII characters), runs :func:`interop.pipeline.convert` under a
hard deadline, and checks: no exception; a complete package; the reconciliation still balances per type; every
(dataset, source) pair of the base run not coming from the mutated resource is still there (the rest converts);
each issue about the mutated resource names its file and resource.

Examples: ``FUZZ_CONVERT_EXAMPLES`` (default 12).
"""

from __future__ import annotations

import os
import shutil

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interop.pipeline import ConvertOptions, convert
from tests.test_fuzz_ingest import encode_case, hard_deadline, mutated_resources
from tests.test_trust_support import generate_cohort, read_ndjson
from tests.test_trust_traceability import read_provenance

STUDY = "len-cdm"
EXAMPLES = int(os.environ.get("FUZZ_CONVERT_EXAMPLES", "12"))
TARGET_TYPES = ("Observation", "AdverseEvent", "Condition", "MedicationStatement", "QuestionnaireResponse",
                "Encounter", "MedicationAdministration", "Consent")
SHAPE_DEPENDENT = {"SE", "SV", "DS", "EX", "IE"}   # rows derived from the subject's dates as a whole


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzbase")
    export = generate_cohort(STUDY, 4, 3, root / "export")
    convert(ConvertOptions((export,), STUDY, root / "pkg"))
    pairs = {(line["dataset"], pin.split("@")[0]) for line in read_provenance(root / "pkg")
             for pin in line["sources"].split(";")}
    subjects = {r["individual"]["reference"] for r in read_ndjson(export / "ResearchSubject.ndjson")}
    targets = []
    for rtype in TARGET_TYPES:
        path = export / f"{rtype}.ndjson"
        if path.exists():
            for line_no, resource in enumerate(read_ndjson(path), start=1):
                owner = (resource.get("subject") or resource.get("patient") or {}).get("reference")
                if owner in subjects:
                    targets.append((rtype, line_no, resource["id"]))
    return export, pairs, targets


def mutate_field(resource: dict, mutation: dict) -> dict:
    """The real resource with the mutated template's fields laid over it (keeping its type, id and subject)."""
    out = dict(resource)
    for key, value in mutation.items():
        if key not in ("resourceType", "id", "subject", "patient"):
            out[key] = value
    for key in [k for k in resource if k not in mutation and k not in ("resourceType", "id", "subject", "patient")]:
        if len(key) % 3 == 0:                 # deterministic partial deletion of the real resource's elements
            out.pop(key)
    return out


@settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("FUZZ_RANDOM") is None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data(), mutation=mutated_resources())
def test_a_mutated_resource_never_stops_the_conversion(base, data, mutation, tmp_path_factory):
    export, base_pairs, targets = base
    rtype, line_no, rid = data.draw(st.sampled_from(targets))
    case = tmp_path_factory.mktemp("fuzzconv")
    shutil.copytree(export, case / "export")
    path = case / "export" / f"{rtype}.ndjson"
    lines = path.read_bytes().splitlines()
    resource = orjson.loads(lines[line_no - 1])
    lines[line_no - 1] = encode_case(mutate_field(resource, mutation))
    path.write_bytes(b"\n".join(lines) + b"\n")
    with hard_deadline(180):
        result = convert(ConvertOptions((case / "export",), STUDY, case / "pkg"))
    out = case / "pkg"
    assert (out / "manifest.json").exists() and (out / "dm.xpt").exists()
    for rtype_, bucket in result.reconciliation["by_type"].items():
        assert bucket["input"] == bucket["mapped"] + bucket["evidence"] + bucket["unmapped"], rtype_
    pairs = {(line["dataset"], pin.split("@")[0]) for line in read_provenance(out)
             for pin in line["sources"].split(";")}
    key = f"{rtype}/{rid}"
    kept = {p for p in base_pairs if p[1] != key and p[0] not in SHAPE_DEPENDENT}
    assert kept - pairs == set()
    for problem in result.issues:
        if problem.where.resource == key:
            assert problem.where.file is None or problem.where.file.endswith(f"{rtype}.ndjson"), problem


def test_control_character_in_a_unit_code_is_reported_not_a_crash(base, tmp_path):
    """The falsifying case of the random run: a CK lab (LOINC 2157-6) whose UCUM code holds control characters."""
    export, _pairs, _targets = base
    shutil.copytree(export, tmp_path / "export")
    path = tmp_path / "export" / "Observation.ndjson"
    resources = read_ndjson(path)
    index = next(i for i, r in enumerate(resources) if r["id"] == "f14037dec599e846")
    mutation = {"resourceType": "Observation", "id": "obs-1", "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]},
                "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2023-03-01T09:30:00+08:00",
                "valueQuantity": {"value": 0, "unit": "", "system": "http://unitsofmeasure.org",
                                  "code": "\u00f38\u0094*,\u0082\u0003\u0012\u00f48\u000c"},
                "referenceRange": [{"low": {"value": 30}, "high": {"value": 200}}]}
    resources[index] = mutate_field(resources[index], mutation)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    with hard_deadline(180):
        result = convert(ConvertOptions((tmp_path / "export",), STUDY, tmp_path / "pkg"))
    assert any(i.where.resource == "Observation/f14037dec599e846" for i in result.issues)
    assert any(i.code == "FHIR025" and i.where.element == "valueQuantity.code" for i in result.issues)
