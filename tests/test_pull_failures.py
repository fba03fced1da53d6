"""``interop pull`` against our own misbehaving server (tests/fhir_test_server/faulty.py): SMART auth and token
refresh, 429 + Retry-After, 5xx backoff, a dropped connection, an expired token, OperationOutcome text, resume of
an interrupted export, DELETE on abort, and no secret in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from interop.pull.config import AuthConfig, AuthKind, PullOptions, RetryPolicy, Secret
from interop.pull.run import PullProgress, run_pull
from mappings.study import load_study
from tests.fhir_test_server.faulty import FaultyFhirServer

pytestmark = pytest.mark.server

STUDY = load_study("len-cdm")
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.1, jitter=0.0)


def build_resources() -> list[dict]:
    """ResearchStudy, two study subjects (p1, p2) and one outsider (p3), their Observations and AdverseEvents."""
    study = {"resourceType": "ResearchStudy", "id": "rs1", "identifier": [
        {"system": STUDY.research_study_system, "value": STUDY.research_study_value}]}
    other_study = {"resourceType": "ResearchStudy", "id": "rs2", "identifier": [
        {"system": STUDY.research_study_system, "value": "OTHER"}]}
    out = [study, other_study]
    for pid, rs in (("p1", "rs1"), ("p2", "rs1"), ("p3", "rs2")):
        out.append({"resourceType": "Patient", "id": pid, "gender": "female"})
        out.append({"resourceType": "ResearchSubject", "id": f"sub-{pid}", "status": "on-study",
                    "study": {"reference": f"ResearchStudy/{rs}"}, "individual": {"reference": f"Patient/{pid}"}})
        for n in range(3):
            out.append({"resourceType": "Observation", "id": f"obs-{pid}-{n}", "status": "final",
                        "code": {"text": "x"}, "subject": {"reference": f"Patient/{pid}"},
                        "valueQuantity": {"value": n}})
        out.append({"resourceType": "AdverseEvent", "id": f"ae-{pid}", "actuality": "actual",
                    "subject": {"reference": f"Patient/{pid}"}})
    out.append({"resourceType": "MedicationAdministration", "id": "ma-p1", "status": "completed",
                "subject": {"reference": "Patient/p1"}, "medicationReference": {"reference": "Medication/m1"},
                "effectiveDateTime": "2025-01-01"})
    out.append({"resourceType": "Medication", "id": "m1", "code": {"text": "lenalidomide"}})
    return out


@pytest.fixture
def server():
    srv = FaultyFhirServer(build_resources()).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("keys")
    path = folder / "client.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, public


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def options(server: FaultyFhirServer, out: Path, **kw) -> PullOptions:
    settings = {"retry": FAST, "poll_default_delay": 0.01, "concurrency": 2, **kw}
    return PullOptions(server.base, "len-cdm", out, **settings)


def read_ids(folder: Path, rtype: str) -> list[str]:
    path = folder / f"{rtype}.ndjson"
    return sorted(json.loads(line)["id"] for line in path.read_text().splitlines()) if path.exists() else []


def codes_of(result) -> list[str]:
    return [i.code for i in result.issues]


def test_bulk_pull_keeps_study_patients_and_fills_adverse_events(server, tmp_path):
    sleeps = Sleeps()
    result = run_pull(options(server, tmp_path), sleep=sleeps)
    assert not result.partial and result.patients == 2
    assert read_ids(tmp_path, "Patient") == ["p1", "p2"]
    assert read_ids(tmp_path, "Observation") == [f"obs-p{p}-{n}" for p in (1, 2) for n in range(3)]
    # the export leaves AdverseEvent out: filled by a type search, the outsider's AE dropped
    assert read_ids(tmp_path, "AdverseEvent") == ["ae-p1", "ae-p2"]
    assert "PULL008" in codes_of(result) and "PULL009" in codes_of(result)
    assert read_ids(tmp_path, "Medication") == ["m1"]                       # referenced shared resource
    assert read_ids(tmp_path, "ResearchStudy") == ["rs1"]
    assert read_ids(tmp_path, "ResearchSubject") == ["sub-p1", "sub-p2"]
    # the export's error file is reported with its text
    assert any(i.code == "PULL004" and "Observation/bad1 skipped: invalid code" in i.message for i in result.issues)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {o["type"]: o["count"] for o in manifest["output"]}["Observation"] == 6
    assert manifest["extension"]["https://example.org/fhir2cdisc/pull"]["partial"] is False
    assert manifest["transactionTime"] == "2026-01-02T03:04:05Z"
    assert not (tmp_path / ".pull" / "export-state.json").exists()       # finished: nothing to resume
    assert sleeps == [1.0]                                                  # one 202 with Retry-After: 1


def test_429_with_retry_after_is_honoured(server, tmp_path):
    server.behaviour.kickoff_429_left = 2
    server.behaviour.retry_after = "2"
    sleeps = Sleeps()
    result = run_pull(options(server, tmp_path), sleep=sleeps)
    assert not result.partial
    assert server.count("GET", "$export") == 3
    assert sleeps[:2] == [2.0, 2.0]


def test_5xx_on_a_file_is_retried_with_exponential_backoff(server, tmp_path):
    server.behaviour.file_503_left = {"Observation.ndjson": 2}
    sleeps = Sleeps()
    result = run_pull(options(server, tmp_path, retry=RetryPolicy(attempts=4, base_delay=0.5, jitter=0.0)),
                      sleep=sleeps)
    assert not result.partial
    assert server.count("GET", "files/Observation.ndjson") == 3
    assert sleeps == [1.0, 0.5, 1.0]            # status Retry-After 1, then backoff 0.5 * 2**0, 0.5 * 2**1


def test_dropped_connection_mid_download_is_retried(server, tmp_path):
    server.behaviour.file_drop_left = {"Observation.ndjson": 1}
    result = run_pull(options(server, tmp_path), sleep=Sleeps())
    assert not result.partial
    assert server.count("GET", "files/Observation.ndjson") == 2
    assert len(read_ids(tmp_path, "Observation")) == 6
    assert not list((tmp_path / ".pull" / "files").glob("*.part"))


def test_interrupted_export_resumes_without_downloading_finished_files(server, tmp_path):
    server.behaviour.file_drop_left = {"Observation.ndjson": 3}             # more than the 3 attempts
    first = run_pull(options(server, tmp_path), sleep=Sleeps())
    assert first.partial and "PULL007" in codes_of(first)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["extension"]["https://example.org/fhir2cdisc/pull"]["partial"] is True
    assert read_ids(tmp_path, "Patient") == ["p1", "p2"]                    # what was fetched is kept
    state = json.loads((tmp_path / ".pull" / "export-state.json").read_text())
    assert len(state["done"]) == len(server.export_types())                 # every file but Observation + errors

    patient_downloads = server.count("GET", "files/Patient.ndjson")
    second = run_pull(options(server, tmp_path), sleep=Sleeps())
    assert not second.partial
    assert "PULL011" in codes_of(second)
    assert server.kickoffs == 1                                             # the same export, not a new one
    assert server.count("GET", "files/Patient.ndjson") == patient_downloads  # finished file not fetched again
    assert len(read_ids(tmp_path, "Observation")) == 6
    assert not (tmp_path / ".pull" / "export-state.json").exists()


def test_operation_outcome_text_is_reported(server, tmp_path):
    server.behaviour.kickoff_outcome = "_typeFilter Observation?foo=bar is not supported"
    result = run_pull(options(server, tmp_path), sleep=Sleeps())
    assert result.partial
    failure = next(i for i in result.issues if i.code == "PULL001")
    assert "answered 400" in failure.message
    assert "_typeFilter Observation?foo=bar is not supported" in failure.message
    assert failure.where.resource == "/fhir/Patient/$export"


def test_abort_cancels_the_export_with_delete(server, tmp_path):
    server.behaviour.status_polls = 5

    def interrupt(text: str) -> None:
        raise KeyboardInterrupt

    result = run_pull(options(server, tmp_path), sleep=Sleeps(), progress=PullProgress(status=interrupt))
    assert server.deleted == ["job1"]
    assert result.partial and "PULL010" in codes_of(result)
    assert not (tmp_path / ".pull" / "export-state.json").exists()


def test_smart_backend_auth_and_refresh_of_an_expired_token(server, tmp_path, rsa_key):
    key_path, public = rsa_key
    server.behaviour.auth = "smart"
    server.behaviour.public_key_pem = public
    server.behaviour.token_uses = 4                                         # the server expires tokens early
    auth = AuthConfig(AuthKind.smart, client_id="pull-test-client", private_key=key_path, scope="system/*.read")
    result = run_pull(options(server, tmp_path, auth=auth), sleep=Sleeps())
    assert not result.partial, result.issues
    assert server.count("POST", "token") >= 3                               # first token + refreshes on 401
    assert all(r.authorized for r in server.requests if "files/" in r.path)
    assert len(read_ids(tmp_path, "Observation")) == 6


def test_wrong_smart_key_is_an_authentication_error(server, tmp_path, rsa_key):
    key_path, _ = rsa_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server.behaviour.auth = "smart"
    server.behaviour.public_key_pem = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    auth = AuthConfig(AuthKind.smart, client_id="pull-test-client", private_key=key_path)
    result = run_pull(options(server, tmp_path, auth=auth), sleep=Sleeps())
    assert result.partial
    failure = next(i for i in result.issues if i.code == "PULL003")
    assert "invalid_client" in failure.message


def test_files_without_required_token_are_fetched_without_authorization(server, tmp_path):
    server.behaviour.auth = "bearer"
    server.behaviour.bearer_token = "s3cr3t-bearer-value"
    server.behaviour.requires_access_token = False
    auth = AuthConfig(AuthKind.bearer, token=Secret("s3cr3t-bearer-value"))
    result = run_pull(options(server, tmp_path, auth=auth), sleep=Sleeps())
    assert not result.partial
    assert not any(r.authorized for r in server.requests if "files/" in r.path)
    assert all(r.authorized for r in server.requests if "status/" in r.path)


def test_no_secret_in_manifest_issues_or_cli_output(server, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from interop.cli import app

    secret = "pa55-w0rd-never-shown"
    server.behaviour.auth = "basic"
    server.behaviour.basic = ("alice", "a-different-password")             # wrong password: errors are produced
    secret_file = tmp_path / "password.txt"
    secret_file.write_text(secret + "\n")
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["pull", "--base", server.base, "--study", "len-cdm", "--out", str(out),
                                 "--auth", "basic", "--user", "alice", "--password-file", str(secret_file),
                                 "--retries", "2", "--backoff", "0.01", "--format", "json"])
    assert result.exit_code == 1, result.output
    texts = [result.output, (out / "manifest.json").read_text()]
    texts += [p.read_text() for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".ndjson")]
    assert "PULL003" in result.output
    for text in texts:
        assert secret not in text
    # the same with a bearer token given through the environment
    monkeypatch.setenv("PULL_TEST_TOKEN", "tok-" + secret)
    result = runner.invoke(app, ["pull", "--base", server.base, "--study", "len-cdm", "--out", str(out),
                                 "--auth", "bearer", "--token-env", "PULL_TEST_TOKEN", "--retries", "2",
                                 "--backoff", "0.01"])
    assert result.exit_code == 1
    assert secret not in result.output and secret not in (out / "manifest.json").read_text()
