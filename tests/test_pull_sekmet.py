"""``interop pull`` against a real FHIR server: the pinned ``sekmet-fhir``, started on 127.0.0.1 for this module
and loaded with a part of the len-cdm samples (every patient with an adverse event, the two pre-screened patients
who never became subjects, two screen failures). Pull + convert must give the SDTM datasets of converting the
same samples directly."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from interop.cli import app
from interop.pipeline import ConvertOptions, convert
from interop.pull.config import ExportLevel, Mode, PullOptions, RetryPolicy
from interop.pull.run import run_pull
from interop.pull.scope import patient_of
from tests.fhir_test_server.sekmet_server import load_ndjson, start_sekmet

pytestmark = pytest.mark.server

SAMPLES = Path(__file__).resolve().parent.parent / "fhir_samples" / "len-cdm" / "ndjson"
CREATED = datetime(2026, 1, 2, 3, 4, 5)
FAST = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2, jitter=0.0)


def read_samples() -> list[dict]:
    return [json.loads(line) for path in sorted(SAMPLES.glob("*.ndjson")) for line in path.read_text().splitlines()
            if line.strip()]


def choose_patients(resources: list[dict]) -> set[str]:
    """Every patient with an AdverseEvent, every patient without a ResearchSubject, two screen failures."""
    with_ae = {patient_of(r) for r in resources if r["resourceType"] == "AdverseEvent"}
    subjects = {patient_of(r): r["status"] for r in resources if r["resourceType"] == "ResearchSubject"}
    outsiders = {r["id"] for r in resources if r["resourceType"] == "Patient" and r["id"] not in subjects}
    failures = sorted(p for p, status in subjects.items() if status == "ineligible" and p not in with_ae)[:2]
    return with_ae | outsiders | set(failures)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict:
    """The chosen part of the samples as an NDJSON folder (same file layout as the samples)."""
    resources = read_samples()
    chosen = choose_patients(resources)
    kept = [r for r in resources if patient_of(r) in chosen or patient_of(r) is None]
    folder = tmp_path_factory.mktemp("samples")
    for rtype in sorted({r["resourceType"] for r in kept}):
        (folder / f"{rtype}.ndjson").write_text(
            "".join(json.dumps(r) + "\n" for r in kept if r["resourceType"] == rtype))
    subjects = {patient_of(r) for r in kept if r["resourceType"] == "ResearchSubject"}
    return {"folder": folder, "resources": kept, "subjects": subjects, "outsiders": chosen - subjects}


@pytest.fixture(scope="module")
def sekmet(samples, tmp_path_factory):
    server = start_sekmet(tmp_path_factory.mktemp("sekmet"))
    try:
        load_ndjson(server.base, samples["folder"])
        yield server
    finally:
        server.stop()


def pulled_keys(folder: Path) -> set[tuple[str, str]]:
    keys = set()
    for path in folder.glob("*.ndjson"):
        keys |= {(r["resourceType"], r["id"]) for r in map(json.loads, path.read_text().splitlines())}
    return keys


def expected_keys(samples: dict) -> set[tuple[str, str]]:
    """The subjects' resources and the shared resources they refer to (all of them in the samples)."""
    return {(r["resourceType"], r["id"]) for r in samples["resources"]
            if patient_of(r) in samples["subjects"] or patient_of(r) is None}


def read_xpt_frames(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.name: pyreadstat.read_xport(str(p))[0] for p in sorted(folder.glob("*.xpt"))}


@pytest.fixture(scope="module")
def bulk_pull(sekmet, tmp_path_factory) -> Path:
    """The pull through the command line, Bulk mode (the default)."""
    out = tmp_path_factory.mktemp("bulk")
    result = CliRunner().invoke(app, ["pull", "--base", sekmet.base, "--study", "len-cdm", "--out", str(out),
                                      "--retries", "3", "--backoff", "0.05", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])
    assert summary["partial"] is False
    return out


def test_everything_and_patient_export_of_sekmet_leave_out_adverse_events(sekmet, samples):
    """The premise of the fill: the server's own $everything has no AdverseEvent for a patient who has some."""
    patient = next(patient_of(r) for r in samples["resources"] if r["resourceType"] == "AdverseEvent")
    bundle = httpx.get(f"{sekmet.base}/Patient/{patient}/$everything", timeout=30).json()
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert "Observation" in types and "AdverseEvent" not in types


def test_bulk_pull_gets_every_subject_resource_and_every_adverse_event(bulk_pull, samples):
    assert pulled_keys(bulk_pull) == expected_keys(samples)
    sample_aes = sorted(r["id"] for r in samples["resources"] if r["resourceType"] == "AdverseEvent")
    assert sorted(k[1] for k in pulled_keys(bulk_pull) if k[0] == "AdverseEvent") == sample_aes
    assert len(sample_aes) == 18
    outsiders = samples["outsiders"]
    assert outsiders and not any(k in pulled_keys(bulk_pull) for k in (("Patient", p) for p in outsiders))
    manifest = json.loads((bulk_pull / "manifest.json").read_text())
    extension = manifest["extension"]["https://example.org/fhir2cdisc/pull"]
    assert extension["filledByTypeSearch"]["AdverseEvent"] == 18
    assert extension["patients"] == len(samples["subjects"])


def test_pull_then_convert_gives_the_same_sdtm_datasets_as_the_samples(bulk_pull, samples, tmp_path):
    direct = convert(ConvertOptions((samples["folder"],), "len-cdm", tmp_path / "direct", created=CREATED))
    pulled = convert(ConvertOptions((bulk_pull,), "len-cdm", tmp_path / "pulled", created=CREATED))
    assert pulled.rows == direct.rows
    assert pulled.rows["AE"] == 18 and pulled.rows["DM"] == len(samples["subjects"])
    frames_direct, frames_pulled = read_xpt_frames(tmp_path / "direct"), read_xpt_frames(tmp_path / "pulled")
    assert set(frames_pulled) == set(frames_direct) and "ae.xpt" in frames_direct
    for name, frame in frames_direct.items():
        pd.testing.assert_frame_equal(frames_pulled[name], frame, obj=name)


def test_rest_pull_gets_the_same_resources_as_bulk(sekmet, samples, bulk_pull, tmp_path):
    result = run_pull(PullOptions(sekmet.base, "len-cdm", tmp_path, mode=Mode.rest, count=50, retry=FAST))
    assert not result.partial
    assert pulled_keys(tmp_path) == pulled_keys(bulk_pull) == expected_keys(samples)
    assert any(i.code == "PULL008" and "AdverseEvent" in i.message for i in result.issues)


def test_group_export_pulls_only_the_group_members(sekmet, samples, tmp_path):
    members = sorted(samples["subjects"])[:2]
    group = {"resourceType": "Group", "id": "prescreen-1", "type": "person", "actual": True,
             "member": [{"entity": {"reference": f"Patient/{p}"}} for p in members]}
    httpx.put(f"{sekmet.base}/Group/prescreen-1", json=group, timeout=30).raise_for_status()
    result = run_pull(PullOptions(sekmet.base, "len-cdm", tmp_path, level=ExportLevel.group, group="prescreen-1",
                                  retry=FAST, poll_default_delay=0.2))
    assert not result.partial
    owners = {patient_of(r) for path in tmp_path.glob("*.ndjson")
              for r in map(json.loads, path.read_text().splitlines())}
    assert owners - {None} == set(members)
    assert result.counts["Patient"] == 2 and result.counts["ResearchSubject"] == 2


def test_since_after_the_load_returns_no_clinical_data(sekmet, tmp_path):
    result = run_pull(PullOptions(sekmet.base, "len-cdm", tmp_path, since="2999-01-01T00:00:00Z", retry=FAST,
                                  poll_default_delay=0.2))
    assert not result.partial
    assert "Observation" not in result.counts and "AdverseEvent" not in result.counts
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "_since=2999-01-01T00%3A00%3A00Z" in manifest["request"]
