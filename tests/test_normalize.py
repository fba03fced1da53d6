"""Normalisation: references, duplicates, site clock, grouping per patient (in memory and spilled),
inventory and pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import pickle
from pathlib import Path

import pytest

from cdisc.issues import ConversionError
from interop.normalize.inputs import open_inputs
from interop.normalize.pseudonym import PseudonymKey, compute_pseudonym, load_pseudonym_key
from tests.test_ingest import bundle, observation, patient, write_json, write_ndjson


def ingest_of(tmp_path: Path, data, *, timezone="Asia/Shanghai", **options):
    write_json(tmp_path / "in" / "b.json", data)
    return open_inputs([tmp_path / "in"], timezone=timezone, **options)


def test_reference_forms_are_rewritten_to_canonical_keys(tmp_path):
    mr = {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
          "subject": {"reference": "http://h/fhir/Patient/p1"},
          "contained": [{"resourceType": "Medication", "id": "m"}],
          "medicationReference": {"reference": "#m"}, "requester": {"reference": "urn:uuid:dr"}}
    b = bundle(patient("p1"), observation("o1", "urn:uuid:pp"), {"resourceType": "Practitioner", "id": "d1"}, mr,
               full_urls=["urn:uuid:pp", "urn:uuid:oo", "urn:uuid:dr", "http://h/fhir/MedicationRequest/mr1"])
    with ingest_of(tmp_path, b) as ingest:
        [record] = list(ingest.subjects())
        med_req = record.of_type("MedicationRequest")[0].data
        assert record.of_type("Observation")[0].data["subject"] == {"reference": "Patient/p1"}
        assert med_req["subject"] == {"reference": "Patient/p1"}
        assert med_req["medicationReference"] == {"reference": "MedicationRequest/mr1#m"}
        assert med_req["requester"] == {"reference": "Practitioner/d1"}
        assert record.resolve(med_req["medicationReference"]).data == {"resourceType": "Medication", "id": "m"}
        assert record.resolve(med_req["requester"]).key == "Practitioner/d1"
        assert [i.code for i in ingest.issues] == []


def test_a_fullurl_alias_wins_over_the_relative_form_of_the_same_string(tmp_path):
    # a (non-conformant) relative fullUrl "Patient/p9" on the entry whose id is p1: "Patient/p9" means Patient/p1
    b = bundle(patient("p1"), observation("o1", "Patient/p9"), observation("o2", "Patient/p1/_history/4"),
               full_urls=["Patient/p9", "urn:uuid:o1", "urn:uuid:o2"])
    with ingest_of(tmp_path, b) as ingest:
        [record] = list(ingest.subjects())
        subjects = {r.key: r.data["subject"]["reference"] for r in record.of_type("Observation")}
        assert subjects == {"Observation/o1": "Patient/p1", "Observation/o2": "Patient/p1"}
        assert [i.code for i in ingest.issues] == []


def test_duplicates_kept_once_and_older_version_superseded(tmp_path):
    v1 = observation("o1", "Patient/p1", meta={"versionId": "1"}, valueString="old")
    v2 = observation("o1", "Patient/p1", meta={"versionId": "2"}, valueString="new")
    write_ndjson(tmp_path / "in" / "a.ndjson", [patient("p1"), v2, patient("p1")])
    write_ndjson(tmp_path / "in" / "b.ndjson", [v1])
    with open_inputs([tmp_path / "in"], timezone="UTC") as ingest:
        [record] = list(ingest.subjects())
        assert [r.data["valueString"] for r in record.of_type("Observation")] == ["new"]
        dropped = [(e.key, e.status, Path(e.file).name, e.entry) for e in ingest.inventory.dropped()]
        assert dropped == [("Patient/p1", "duplicate", "a.ndjson", 3), ("Observation/o1", "superseded", "b.ndjson", 1)]
        assert "superseded by version 2" in ingest.inventory.dropped()[1].reason


def test_last_updated_decides_when_there_is_no_version_id(tmp_path):
    old = patient("p1", meta={"lastUpdated": "2024-01-02T00:00:00+08:00"}, gender="male")
    new = patient("p1", meta={"lastUpdated": "2024-01-01T17:00:00Z"}, gender="female")  # later in UTC
    with ingest_of(tmp_path, bundle(new, old)) as ingest:
        [record] = list(ingest.subjects())
        assert record.patient.data["gender"] == "female"
        assert [i.code for i in ingest.issues] == ["FHIR013"]


def test_times_with_offset_move_to_the_site_clock_partial_dates_stay(tmp_path):
    o = observation("o1", "Patient/p1", effectiveDateTime="2023-05-01T23:30:00Z", issued="2023-05-01T23:30:00.123+02:00")
    p = patient("p1", birthDate="1970-05")
    o2 = observation("o2", "Patient/p1", effectiveDateTime="2023-05")
    with ingest_of(tmp_path, bundle(p, o, o2)) as ingest:
        [record] = list(ingest.subjects())
        obs = {r.id: r.data for r in record.of_type("Observation")}
        assert obs["o1"]["effectiveDateTime"] == "2023-05-02T07:30:00"
        assert obs["o1"]["issued"] == "2023-05-02T05:30:00.123"
        assert obs["o2"]["effectiveDateTime"] == "2023-05"
        assert record.patient.data["birthDate"] == "1970-05"
        assert ingest.issues == []


def test_time_without_offset_is_local_and_reported_once_per_file(tmp_path):
    obs = [observation(f"o{i}", "Patient/p1", effectiveDateTime="2023-05-01T08:00:00") for i in range(3)]
    with ingest_of(tmp_path, bundle(patient("p1"), *obs)) as ingest:
        [record] = list(ingest.subjects())
        assert {r.data["effectiveDateTime"] for r in record.of_type("Observation")} == {"2023-05-01T08:00:00"}
        [problem] = ingest.issues
        assert (problem.code, problem.where.resource, problem.where.element) == \
            ("FHIR008", "Observation/o0", "effectiveDateTime")
        assert problem.message.startswith("3 ")


def test_grouping_links_patient_resources_and_shared_data(tmp_path):
    resources = [
        patient("p2"), patient("p1"),
        {"resourceType": "ResearchSubject", "id": "rs1", "status": "on-study", "study": {"reference": "ResearchStudy/s"},
         "individual": {"reference": "Patient/p1"}},
        {"resourceType": "ResearchStudy", "id": "s", "status": "active"},
        {"resourceType": "Consent", "id": "c1", "status": "active", "scope": {"text": "research"},
         "category": [{"text": "x"}], "patient": {"reference": "Patient/p2"}},
        {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
         "subject": {"reference": "Patient/p1"}},
        {"resourceType": "QuestionnaireResponse", "id": "q1", "status": "completed",
         "encounter": {"reference": "Encounter/e1"}},   # no subject: belongs through its encounter
        {"resourceType": "Coverage", "id": "cov", "status": "active", "beneficiary": {"reference": "Patient/p2"},
         "payor": [{"reference": "Organization/org"}]},
        {"resourceType": "Organization", "id": "org"},
        {"resourceType": "Organization", "id": "unused"},
    ]
    write_ndjson(tmp_path / "in" / "all.ndjson", resources)
    with open_inputs([tmp_path / "in"], timezone="UTC") as ingest:
        records = list(ingest.subjects())
        assert [r.key for r in records] == ["Patient/p1", "Patient/p2"]
        p1, p2 = records
        assert {t: [r.key for r in v] for t, v in p1.resources.items()} == {
            "Encounter": ["Encounter/e1"], "QuestionnaireResponse": ["QuestionnaireResponse/q1"],
            "ResearchSubject": ["ResearchSubject/rs1"]}
        assert sorted(p2.resources) == ["Consent", "Coverage"]
        assert "ResearchStudy/s" in p1.index and "Organization/org" not in p1.index
        assert "Organization/org" in p2.index and "Organization/unused" not in p2.index
        assert sorted(ingest.shared) == ["Organization/org", "Organization/unused", "ResearchStudy/s"]
        patients = {e.key: e.patient for e in ingest.inventory}
        assert patients["QuestionnaireResponse/q1"] == "Patient/p1" and patients["ResearchStudy/s"] is None
        assert pickle.loads(pickle.dumps(p1)) == p1


def test_spilled_run_gives_the_same_records_as_in_memory(tmp_path):
    resources = []
    for n in range(7):
        resources.append(patient(f"p{n}"))
        resources += [observation(f"o{n}-{k}", f"Patient/p{n}") for k in range(3)]
    resources.reverse()
    write_ndjson(tmp_path / "in" / "all.ndjson", resources)
    with open_inputs([tmp_path / "in"], timezone="UTC") as memory:
        expected = list(memory.subjects())
        assert memory._workdir is None
    work = tmp_path / "work"
    with open_inputs([tmp_path / "in"], timezone="UTC", workdir=work, spill_after=5) as spilled:
        partitions = sorted(p.name for p in work.iterdir() if p.name.startswith("partition"))
        assert len(partitions) == 7          # 4 resources per patient, 5 per partition
        assert list(spilled.subjects()) == expected
    assert [p.name for p in work.iterdir()] == []
    assert [r.key for r in expected] == [f"Patient/p{n}" for n in range(7)]
    assert [r.key for r in expected[0].of_type("Observation")] == ["Observation/o0-0", "Observation/o0-1",
                                                                   "Observation/o0-2"]


def test_a_run_that_fails_while_reading_removes_what_it_spilled(tmp_path, monkeypatch):
    import tempfile

    from interop.normalize.inputs import group_inputs, read_on_site_clock, load_zone

    write_ndjson(tmp_path / "in" / "all.ndjson", [patient(f"p{n}") for n in range(20)])

    def failing_after_ten():
        for n, item in enumerate(read_on_site_clock([tmp_path / "in"], zone=load_zone("UTC"))):
            if n == 10:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with pytest.raises(KeyboardInterrupt):
        group_inputs(failing_after_ten(), timezone="UTC", spill_after=3)
    assert list((tmp_path / "tmp").iterdir()) == []
    given = tmp_path / "work"
    with pytest.raises(KeyboardInterrupt):
        group_inputs(failing_after_ten(), timezone="UTC", spill_after=3, workdir=given)
    assert list(given.iterdir()) == []


def test_inventory_counts_every_input_resource(tmp_path):
    write_ndjson(tmp_path / "in" / "a.ndjson", [patient("p1"), patient("p1"), observation("o1", "Patient/zz")])
    (tmp_path / "in" / "a.ndjson").open("ab").write(b"{broken\n")
    with open_inputs([tmp_path / "in"], timezone="UTC") as ingest:
        assert ingest.inventory.counts_by_type() == {
            "(unreadable)": {"input": 1, "unreadable": 1},
            "Observation": {"input": 1, "orphan": 1},
            "Patient": {"duplicate": 1, "input": 2, "kept": 1}}


def test_unknown_timezone_is_a_conversion_error(tmp_path):
    with pytest.raises(ConversionError) as caught:
        ingest_of(tmp_path, patient("p1"), timezone="Nowhere/City")
    assert caught.value.issue.code == "FHIR024"


# ---- pseudonyms (issue #8) ---------------------------------------------------------------------

def test_pseudonym_is_hmac_sha256_truncated_hex():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    key = PseudonymKey(b"Jefe", "test")
    assert compute_pseudonym("what do ya want for nothing?", key, length=64) == \
        "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"


def test_same_patient_same_key_same_pseudonym_other_key_differs():
    a, b = PseudonymKey(b"k1", "t"), PseudonymKey(b"k2", "t")
    assert compute_pseudonym("Patient/p1", a) == compute_pseudonym("Patient/p1", a)
    assert compute_pseudonym("Patient/p1", a) != compute_pseudonym("Patient/p1", b)
    assert compute_pseudonym("Patient/p1", a) != compute_pseudonym("Patient/p2", a)


def test_secret_from_file_or_env_and_never_in_repr(tmp_path, monkeypatch):
    (tmp_path / "key").write_text("file-secret\n")
    from_file = load_pseudonym_key(file=tmp_path / "key", env="X_UNSET_FOR_TEST")
    monkeypatch.setenv("X_KEY_FOR_TEST", "env-secret")
    from_env = load_pseudonym_key(env="X_KEY_FOR_TEST")
    assert (from_file.secret, from_env.secret) == (b"file-secret", b"env-secret")
    assert "file-secret" not in repr(from_file) and "env-secret" not in repr(from_env)
    expected = hmac.new(b"env-secret", b"Patient/p1", hashlib.sha256).hexdigest()[:16].upper()
    assert compute_pseudonym("Patient/p1", from_env) == expected


def test_missing_secret_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("X_UNSET_FOR_TEST", raising=False)
    with pytest.raises(ConversionError) as caught:
        load_pseudonym_key(env="X_UNSET_FOR_TEST")
    assert caught.value.issue.code == "FHIR023" and "X_UNSET_FOR_TEST" in caught.value.issue.message
