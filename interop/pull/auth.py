"""Authentication: none, bearer token, HTTP basic, SMART Backend Services (client credentials + signed JWT).

SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html): the client signs a short
JWT (``iss`` = ``sub`` = client id, ``aud`` = token URL, ``jti``, ``exp`` <= 5 minutes) with its private key and
posts it to the token endpoint (``grant_type=client_credentials``,
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``). The access token is kept until
shortly before ``expires_in`` runs out, then fetched again; a 401 on a request refreshes it once more.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Generator

import httpx
import jwt

from cdisc.issues import ConversionError, Location, issue
from interop.pull import codes
from interop.pull.config import AuthConfig, AuthKind

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300          # seconds; the spec's maximum
REFRESH_MARGIN = 30               # refresh this many seconds before expiry (at most half the lifetime)


def build_client_assertion(client_id: str, token_url: str, private_key_pem: bytes, *, alg: str = "RS384",
                           kid: str | None = None, now: float | None = None) -> str:
    """The signed JWT a SMART backend client posts to the token endpoint.

    Parameters
    ----------
    client_id : the client id registered with the server (``iss`` and ``sub``).
    token_url : the token endpoint (``aud``).
    private_key_pem : the client's private key (PEM); RS384/ES384 per the SMART spec.
    alg, kid : JWS algorithm and key id (``kid`` header, so the server can pick the key from the JWKS).
    now : issue time in seconds since the epoch (default: the current time).
    """
    issued = int(now if now is not None else time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url, "jti": uuid.uuid4().hex,
              "iat": issued, "exp": issued + ASSERTION_LIFETIME}
    headers = {"typ": "JWT", **({"kid": kid} if kid else {})}
    return jwt.encode(claims, private_key_pem, algorithm=alg, headers=headers)


def read_private_key(path: Path) -> bytes:
    """The PEM private key file of a SMART backend client."""
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConversionError(issue(codes.PULL003, f"cannot read the private key file ({err.strerror})",
                                    Location(file=str(path)))) from None


def describe_token_error(response: httpx.Response) -> str:
    """The OAuth error of a failed token request (``error`` and ``error_description``), without secrets."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if isinstance(body, dict) and body.get("error"):
        detail = f": {body['error_description']}" if body.get("error_description") else ""
        return f"token endpoint answered {response.status_code} {body['error']}{detail}"
    return f"token endpoint answered {response.status_code}"


class BearerAuth(httpx.Auth):
    """A fixed bearer token."""

    def __init__(self, token: str):
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class SmartBackendAuth(httpx.Auth):
    """SMART Backend Services: a cached access token, refreshed before expiry and once on a 401."""

    requires_response_body = False          # downloads stream; only the token answer is read here

    def __init__(self, client_id: str, token_url: str, private_key_pem: bytes, *, scope: str, alg: str = "RS384",
                 kid: str | None = None, clock: Callable[[], float] = time.time):
        self.client_id = client_id
        self.token_url = token_url
        self.scope = scope
        self.alg = alg
        self.kid = kid
        self._key = private_key_pem
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def _token_request(self) -> httpx.Request:
        assertion = build_client_assertion(self.client_id, self.token_url, self._key, alg=self.alg, kid=self.kid,
                                           now=self._clock())
        return httpx.Request("POST", self.token_url, data={
            "grant_type": "client_credentials", "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})

    def _accept_token(self, response: httpx.Response) -> None:
        response.read()
        if response.status_code != 200:
            raise ConversionError(issue(codes.PULL003, describe_token_error(response),
                                        Location(resource=self.token_url)))
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise ConversionError(issue(codes.PULL003, "token endpoint answer has no access_token",
                                        Location(resource=self.token_url))) from None
        lifetime = float(body.get("expires_in") or ASSERTION_LIFETIME)
        self._token = token
        self._expires_at = self._clock() + lifetime - min(REFRESH_MARGIN, lifetime / 2)
        self.tokens_fetched += 1

    def _needs_token(self) -> bool:
        return self._token is None or self._clock() >= self._expires_at

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self._needs_token():
                self._accept_token((yield self._token_request()))
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            with self._lock:
                if self._token == token:            # nobody refreshed it meanwhile
                    self._accept_token((yield self._token_request()))
                token = self._token
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def discover_token_url(base: str, client: httpx.Client) -> str:
    """The token endpoint from ``<base>/.well-known/smart-configuration``."""
    url = f"{base.rstrip('/')}/.well-known/smart-configuration"
    try:
        response = client.get(url, headers={"Accept": "application/json"})
        endpoint = response.json().get("token_endpoint") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        endpoint = None
    if not endpoint:
        raise ConversionError(issue(codes.PULL003, "no token_endpoint in the server's smart-configuration; "
                                                   "pass --token-url", Location(resource=url)))
    return endpoint


def build_auth(config: AuthConfig, base: str, client: httpx.Client,
               clock: Callable[[], float] = time.time) -> httpx.Auth | None:
    """The httpx auth object for ``config`` (``None`` for no authentication)."""
    if config.kind is AuthKind.none:
        return None
    if config.kind is AuthKind.bearer:
        if config.token is None:
            raise ConversionError(issue(codes.PULL013, "bearer auth needs a token (--token-env or --token-file)"))
        return BearerAuth(config.token.reveal())
    if config.kind is AuthKind.basic:
        if not config.username or config.password is None:
            raise ConversionError(issue(codes.PULL013, "basic auth needs --user and a password "
                                                       "(--password-env or --password-file)"))
        return httpx.BasicAuth(config.username, config.password.reveal())
    if not config.client_id or config.private_key is None:
        raise ConversionError(issue(codes.PULL013, "SMART backend auth needs --client-id and --private-key"))
    token_url = config.token_url or discover_token_url(base, client)
    return SmartBackendAuth(config.client_id, token_url, read_private_key(config.private_key), scope=config.scope,
                            alg=config.alg, kid=config.kid, clock=clock)
