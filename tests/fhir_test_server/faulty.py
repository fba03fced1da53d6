"""A small FHIR server of our own that misbehaves on purpose (test-only; never imported by product code).

It serves a handful of resources for search/read, a Bulk ``$export`` (kick-off, status, files, DELETE) and a SMART
Backend Services token endpoint, and can be told to: answer 429 with Retry-After, answer 503, drop the connection
in the middle of a file, let tokens expire after some uses (401), refuse the kick-off with an OperationOutcome.
Every request is recorded (method, path, whether it carried a token) so tests can check what the client did.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt


@dataclass
class Behaviour:
    """What the server does; counters (``*_left``) go down as the failures are served."""

    auth: str = "none"                       # none | bearer | basic | smart
    bearer_token: str | None = None
    basic: tuple[str, str] | None = None
    client_id: str = "pull-test-client"
    public_key_pem: bytes | None = None
    token_expires_in: int = 300
    token_uses: int | None = None            # a token is refused (401) after this many uses
    kickoff_429_left: int = 0
    retry_after: str = "2"
    kickoff_outcome: str | None = None       # refuse the kick-off with 400 + this OperationOutcome text
    status_polls: int = 1                    # 202 answers before the manifest
    file_503_left: dict[str, int] = field(default_factory=dict)
    file_drop_left: dict[str, int] = field(default_factory=dict)
    export_types: tuple[str, ...] | None = None   # types the export includes (None: all but AdverseEvent)
    requires_access_token: bool = True


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    authorized: bool


class FaultyFhirServer:
    """Start with :meth:`start` (127.0.0.1, a free port), stop with :meth:`stop`. ``base`` is the FHIR base."""

    def __init__(self, resources: list[dict], behaviour: Behaviour | None = None):
        self.resources = resources
        self.behaviour = behaviour or Behaviour()
        self.requests: list[Recorded] = []
        self.tokens: dict[str, int] = {}          # issued token -> uses left (or -1 unlimited)
        self.deleted: list[str] = []
        self.polls = 0
        self.kickoffs = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> "FaultyFhirServer":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/fhir"

    def count(self, method: str, path_part: str) -> int:
        return sum(1 for r in self.requests if r.method == method and path_part in r.path)

    # ---- data --------------------------------------------------------------------------------------------
    def of_type(self, rtype: str) -> list[dict]:
        return [r for r in self.resources if r["resourceType"] == rtype]

    def export_types(self) -> list[str]:
        present = sorted({r["resourceType"] for r in self.resources})
        chosen = self.behaviour.export_types
        return [t for t in present if (t in chosen if chosen is not None else t != "AdverseEvent")]

    def ndjson(self, rtype: str) -> bytes:
        return b"".join(json.dumps(r).encode() + b"\n" for r in self.of_type(rtype))

    # ---- tokens ------------------------------------------------------------------------------------------
    def issue_token(self) -> str:
        with self.lock:
            token = f"access-{len(self.tokens) + 1}-{threading.get_ident() % 997}"
            self.tokens[token] = self.behaviour.token_uses if self.behaviour.token_uses is not None else -1
        return token

    def accept_token(self, token: str) -> bool:
        with self.lock:
            left = self.tokens.get(token)
            if left is None or left == 0:
                return False
            if left > 0:
                self.tokens[token] = left - 1
            return True


def _outcome(text: str, severity: str = "error", code: str = "processing") -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


def _handler_for(server: FaultyFhirServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:       # keep test output quiet
            return

        # ---- plumbing ---------------------------------------------------------------------------------
        def _send(self, status: int, body: object = None, headers: dict | None = None,
                  content_type: str = "application/fhir+json") -> None:
            data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if data:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _drop_mid_body(self, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+ndjson")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: max(1, len(data) // 2)])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def _authorized(self) -> bool:
            b = server.behaviour
            header = self.headers.get("Authorization") or ""
            if b.auth == "none":
                return True
            if b.auth == "basic":
                import base64
                expected = "Basic " + base64.b64encode(f"{b.basic[0]}:{b.basic[1]}".encode()).decode()
                return header == expected
            if not header.startswith("Bearer "):
                return False
            token = header[len("Bearer "):]
            return token == b.bearer_token if b.auth == "bearer" else server.accept_token(token)

        def _record(self, parts) -> None:
            with server.lock:
                server.requests.append(Recorded(self.command, parts.path, parse_qs(parts.query),
                                                bool(self.headers.get("Authorization"))))

        # ---- verbs --------------------------------------------------------------------------------------
        def do_GET(self) -> None:
            self._route("GET")

        def do_DELETE(self) -> None:
            self._route("DELETE")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            self._record(parts)
            path = parts.path.removeprefix("/fhir").strip("/")
            query = parse_qs(parts.query)
            if path == ".well-known/smart-configuration":
                return self._send(200, {"token_endpoint": f"{server.base}/token",
                                        "grant_types_supported": ["client_credentials"]},
                                  content_type="application/json")
            if path == "token" and method == "POST":
                return self._token()
            if path.startswith("files/") and not server.behaviour.requires_access_token:
                return self._file(path.split("/", 1)[1])
            if not self._authorized():
                return self._send(401, _outcome("token expired or invalid", code="login"))
            if path.endswith("$export"):
                return self._kickoff()
            if path.startswith("status/"):
                return self._status(method, path.split("/", 1)[1])
            if path.startswith("files/"):
                return self._file(path.split("/", 1)[1])
            pieces = path.split("/")
            if len(pieces) == 1:
                return self._search(pieces[0], query)
            if len(pieces) == 2:
                found = next((r for r in server.of_type(pieces[0]) if r["id"] == pieces[1]), None)
                return self._send(200, found) if found else self._send(404, _outcome("not found", code="not-found"))
            return self._send(404, _outcome(f"unknown path {path}", code="not-found"))

        def _token(self) -> None:
            b = server.behaviour
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            assertion = (form.get("client_assertion") or [""])[0]
            try:
                claims = jwt.decode(assertion, b.public_key_pem, algorithms=["RS384", "ES384"],
                                    audience=f"{server.base}/token", issuer=b.client_id)
                ok = claims["sub"] == b.client_id and (form.get("grant_type") or [""])[0] == "client_credentials"
            except jwt.PyJWTError:
                ok = False
            if not ok:
                return self._send(401, {"error": "invalid_client", "error_description": "assertion rejected"},
                                  content_type="application/json")
            self._send(200, {"access_token": server.issue_token(), "token_type": "bearer",
                             "expires_in": b.token_expires_in, "scope": (form.get("scope") or [""])[0]},
                       content_type="application/json")

        def _kickoff(self) -> None:
            b = server.behaviour
            if b.kickoff_429_left > 0:
                b.kickoff_429_left -= 1
                return self._send(429, _outcome("slow down", code="throttled"), {"Retry-After": b.retry_after})
            if b.kickoff_outcome:
                return self._send(400, _outcome(b.kickoff_outcome, code="invalid"))
            if "respond-async" not in (self.headers.get("Prefer") or ""):
                return self._send(400, _outcome("Prefer: respond-async required", code="invalid"))
            server.kickoffs += 1
            self._send(202, None, {"Content-Location": f"{server.base}/status/job{server.kickoffs}"})

        def _status(self, method: str, job: str) -> None:
            if method == "DELETE":
                server.deleted.append(job)
                return self._send(202, _outcome("export cancelled", severity="information", code="informational"))
            server.polls += 1
            if server.polls <= server.behaviour.status_polls:
                return self._send(202, None, {"X-Progress": f"{server.polls * 10}% done", "Retry-After": "1"})
            types = server.export_types()
            self._send(200, {
                "transactionTime": "2026-01-02T03:04:05Z", "request": f"{server.base}/Patient/$export",
                "requiresAccessToken": server.behaviour.requires_access_token,
                "output": [{"type": t, "url": f"{server.base}/files/{t}.ndjson"} for t in types],
                "error": [{"type": "OperationOutcome", "url": f"{server.base}/files/errors.ndjson"}],
            }, content_type="application/json")

        def _file(self, name: str) -> None:
            b = server.behaviour
            if b.file_503_left.get(name, 0) > 0:
                b.file_503_left[name] -= 1
                return self._send(503, _outcome("busy", code="transient"))
            if name == "errors.ndjson":
                return self._send(200, json.dumps(_outcome("Observation/bad1 skipped: invalid code",
                                                           severity="warning")).encode() + b"\n",
                                  content_type="application/fhir+ndjson")
            data = server.ndjson(name.removesuffix(".ndjson"))
            if b.file_drop_left.get(name, 0) > 0:
                b.file_drop_left[name] -= 1
                return self._drop_mid_body(data)
            self._send(200, data, content_type="application/fhir+ndjson")

        def _search(self, rtype: str, query: dict) -> None:
            matches = server.of_type(rtype)
            count = int((query.get("_count") or ["2"])[0])
            offset = int((query.get("_offset") or ["0"])[0])
            page = matches[offset:offset + count]
            entries = [{"resource": r, "search": {"mode": "match"}} for r in page]
            links = [{"relation": "self", "url": f"{server.base}/{rtype}?_offset={offset}"}]
            if offset + count < len(matches):
                links.append({"relation": "next", "url": f"{server.base}/{rtype}?_count={count}"
                                                         f"&_offset={offset + count}"})
            self._send(200, {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "link": links,
                             "entry": entries})

    return Handler
