"""Pure parts of ``interop.pull``: SMART client assertion and token refresh (with a fake clock), Retry-After,
backoff, OperationOutcome text, de-duplication by version, references, secrets that never print."""

from __future__ import annotations

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cdisc.issues import ConversionError
from interop.pull.auth import SmartBackendAuth, build_client_assertion
from interop.pull.client import FhirClient, describe_outcome, parse_retry_after
from interop.pull.config import AuthConfig, AuthKind, RetryPolicy, Secret
from interop.pull.scope import patient_of, reference_id, shared_references
from interop.pull.writer import ResourceStore, version_key

TOKEN_URL = "https://auth.example/token"


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def test_client_assertion_has_the_smart_backend_claims(key_pair):
    private, public = key_pair
    token = build_client_assertion("etl", TOKEN_URL, private, kid="k1", now=1_700_000_000)
    claims = jwt.decode(token, public, algorithms=["RS384"], audience=TOKEN_URL,
                        options={"verify_exp": False, "verify_iat": False})
    assert (claims["iss"], claims["sub"], claims["aud"]) == ("etl", "etl", TOKEN_URL)
    assert claims["exp"] - claims["iat"] == 300 and claims["iat"] == 1_700_000_000
    assert jwt.get_unverified_header(token) == {"alg": "RS384", "kid": "k1", "typ": "JWT"}
    assert build_client_assertion("etl", TOKEN_URL, private, now=1) != build_client_assertion(
        "etl", TOKEN_URL, private, now=1)                                   # a fresh jti each time


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def smart_transport(log: list[str], expires_in: int = 120):
    issued = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            issued.append(f"t{len(issued) + 1}")
            log.append("token")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": expires_in})
        log.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer revoked":
            return httpx.Response(401)
        return httpx.Response(200, json={"resourceType": "Patient", "id": "p"})
    return httpx.MockTransport(handler)


def test_token_is_reused_until_near_expiry_then_refreshed(key_pair):
    clock, log = FakeClock(), []
    auth = SmartBackendAuth("etl", "https://h.example/token", key_pair[0], scope="system/*.read", clock=clock)
    with httpx.Client(transport=smart_transport(log), auth=auth) as http:
        http.get("https://h.example/fhir/Patient/p")
        clock.now += 80                      # 120 s lifetime, refreshed 30 s before: still valid at +80
        http.get("https://h.example/fhir/Patient/p")
        clock.now += 15                      # +95: inside the 30 s margin
        http.get("https://h.example/fhir/Patient/p")
    assert log == ["token", "Bearer t1", "Bearer t1", "token", "Bearer t2"]
    assert auth.tokens_fetched == 2


def test_a_401_refreshes_the_token_once_and_repeats_the_request(key_pair):
    clock, log = FakeClock(), []
    auth = SmartBackendAuth("etl", "https://h.example/token", key_pair[0], scope="system/*.read", clock=clock)
    auth._token, auth._expires_at = "revoked", clock.now + 1000  # a token the server has expired early
    with httpx.Client(transport=smart_transport(log), auth=auth) as http:
        response = http.get("https://h.example/fhir/Patient/p")
    assert response.status_code == 200
    assert log == ["Bearer revoked", "token", "Bearer t1"]


def test_refused_token_request_names_the_oauth_error_not_the_assertion(key_pair):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_scope", "error_description": "system/*.write"})
    auth = SmartBackendAuth("etl", "https://h.example/token", key_pair[0], scope="system/*.write")
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as http:
        with pytest.raises(ConversionError) as caught:
            http.get("https://h.example/fhir/Patient/p")
    assert caught.value.issue.code == "PULL003"
    assert caught.value.issue.message == "token endpoint answered 400 invalid_scope: system/*.write"


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0   # 07:27:50 -> 10 s
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_doubles_up_to_the_cap_and_jitter_adds_at_most_its_share():
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    jittered = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    assert all(2.0 <= jittered.delay(2) <= 3.0 for _ in range(50))
    assert policy.delay(3, retry_after=12.0) == 12.0                       # the server's wait wins


def test_operation_outcome_text_joins_every_issue():
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": "bad _type"},
        {"severity": "warning", "code": "not-supported", "details": {"text": "_typeFilter ignored"}}]}
    assert describe_outcome(outcome) == "error invalid: bad _type; warning not-supported: _typeFilter ignored"
    assert describe_outcome({"resourceType": "Patient"}) is None


def test_client_retries_503_then_reports_pull002_without_query_or_headers():
    calls, sleeps = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)
    http = httpx.Client(transport=httpx.MockTransport(handler), headers={"Authorization": "Bearer hidden"})
    client = FhirClient("https://h.example/fhir", http, retry=RetryPolicy(attempts=3, base_delay=0.5, jitter=0.0),
                        sleep=sleeps.append)
    with pytest.raises(ConversionError) as caught:
        client.get_json("Observation", {"code": "x"})
    assert len(calls) == 3 and sleeps == [0.5, 1.0]
    assert caught.value.issue.code == "PULL002"
    assert caught.value.issue.message == "GET /fhir/Observation failed 3 times (last: HTTP 503)"


def test_store_keeps_the_newest_version_once():
    store = ResourceStore()
    assert store.add({"resourceType": "Observation", "id": "o", "meta": {"versionId": "2"}, "v": 2}, "bulk")
    assert not store.add({"resourceType": "Observation", "id": "o", "meta": {"versionId": "10"}, "v": 10}, "search")
    assert not store.add({"resourceType": "Observation", "id": "o", "meta": {"versionId": "3"}, "v": 3}, "search")
    assert store.resources[("Observation", "o")]["v"] == 10 and store.duplicates == 2
    assert version_key({"meta": {"lastUpdated": "2025-01-01"}}) < version_key({"meta": {"versionId": "1"}})


def test_references_and_patient_links():
    assert reference_id("https://h/fhir/Patient/7/_history/2", "Patient") == "7"
    assert reference_id("Patient/7", "Group") is None
    assert patient_of({"resourceType": "Consent", "patient": {"reference": "Patient/a"}}) == "a"
    assert patient_of({"resourceType": "ResearchSubject", "individual": {"reference": "Patient/b"}}) == "b"
    assert patient_of({"resourceType": "Medication", "id": "m"}) is None
    administration = {"resourceType": "MedicationAdministration", "subject": {"reference": "Patient/a"},
                      "medicationReference": {"reference": "Medication/m"},
                      "performer": [{"actor": {"reference": "Practitioner/d"}}],
                      "contained": [{"reference": "#x"}]}
    assert shared_references([administration]) == {("Medication", "m"), ("Practitioner", "d")}


def test_secrets_never_print():
    secret = Secret("hunter2")
    config = AuthConfig(AuthKind.basic, username="u", password=secret)
    assert "hunter2" not in repr(config) and "hunter2" not in str(secret)
    assert config.secrets() == ("hunter2",) and secret.reveal() == "hunter2"
