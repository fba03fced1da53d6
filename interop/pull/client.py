"""HTTP to a FHIR server: retries with backoff and jitter, Retry-After, OperationOutcome text, streamed downloads.

Every failure becomes a :class:`~cdisc.issues.ConversionError` carrying a PULL issue that names the method and
the path (never a header, token or query secret). Warnings the server sends back inside a searchset
(``entry.search.mode = outcome``) are collected as PULL004 in :attr:`FhirClient.issues`.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

from cdisc.issues import ConversionError, Issue, Location, issue
from interop.pull import codes
from interop.pull.config import RetryPolicy

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FHIR_JSON = "application/fhir+json"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date (RFC 9110 10.2.3).

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def describe_outcome(body: object) -> str | None:
    """The issue text of an OperationOutcome: ``severity code: diagnostics/details`` joined by ``; ``."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    parts = []
    for item in body.get("issue") or []:
        if not isinstance(item, dict):
            continue
        text = item.get("diagnostics") or (item.get("details") or {}).get("text") or ""
        head = " ".join(str(x) for x in (item.get("severity"), item.get("code")) if x)
        parts.append(f"{head}: {text}" if text else head)
    return "; ".join(p for p in parts if p) or "OperationOutcome without issue text"


def path_of(url: str) -> str:
    """The path of a URL, for messages (query strings may be long; they never carry our secrets)."""
    return urlsplit(url).path or url


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    lines: int
    sha256: str
    size: int


class FhirClient:
    """One FHIR server: ``get_json``, ``search`` (follows ``next``), ``download`` (NDJSON to a file), ``delete``.

    Parameters
    ----------
    base : the server's FHIR base URL.
    http : the httpx client (auth, TLS, timeouts configured by the caller).
    retry : the retry policy.
    sleep : how to wait (tests pass a recorder).
    """

    def __init__(self, base: str, http: httpx.Client, *, retry: RetryPolicy,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.base = base.rstrip("/") + "/"
        self.http = http
        self.retry = retry
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.issues: list[Issue] = []
        self._lock = threading.Lock()
        self.requests = 0

    def url(self, path_or_url: str) -> str:
        return urljoin(self.base, path_or_url)

    def note(self, found: Issue) -> None:
        with self._lock:
            self.issues.append(found)

    # ---- one request, with retries -------------------------------------------------------------------------
    def send(self, method: str, url: str, *, params=None, headers=None, json=None, data=None,
             ok: tuple[int, ...] = (200,), stream: bool = False, with_auth: bool = True) -> httpx.Response:
        """Send with retries on 429/5xx/connection errors; any other status outside ``ok`` raises PULL001/003."""
        url = self.url(url)
        headers = {"Accept": FHIR_JSON, **(headers or {})}
        last = ""
        for attempt in range(1, self.retry.attempts + 1):
            self.requests += 1
            try:
                request = self.http.build_request(method, url, params=params, headers=headers, json=json, data=data)
                response = self.http.send(request, stream=stream, **({} if with_auth else {"auth": None}))
            except httpx.TransportError as err:
                last = f"{type(err).__name__}"
                wait = self.retry.delay(attempt, rng=self.rng)
            else:
                if response.status_code in ok:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise ConversionError(self._error_issue(method, url, response))
                last = f"HTTP {response.status_code}"
                wait = self.retry.delay(attempt, parse_retry_after(response.headers.get("Retry-After")), self.rng)
                response.close()
            if attempt < self.retry.attempts:
                self.sleep(wait)
        raise ConversionError(issue(codes.PULL002, f"{method} {path_of(url)} failed {self.retry.attempts} times "
                                                   f"(last: {last})", Location(resource=path_of(url))))

    def _error_issue(self, method: str, url: str, response: httpx.Response) -> Issue:
        response.read()
        try:
            text = describe_outcome(response.json())
        except ValueError:
            text = None
        code = codes.PULL003 if response.status_code in (401, 403) else codes.PULL001
        detail = f": {text}" if text else ""
        return issue(code, f"{method} {path_of(url)} answered {response.status_code}{detail}",
                     Location(resource=path_of(url)))

    def get_json(self, url: str, params=None, headers=None) -> dict:
        response = self.send("GET", url, params=params, headers=headers)
        return self.read_json(response, url)

    def read_json(self, response: httpx.Response, url: str) -> dict:
        try:
            body = orjson.loads(response.read())
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            raise ConversionError(issue(codes.PULL014, f"GET {path_of(url)}: the answer is not a JSON object",
                                        Location(resource=path_of(url))))
        return body

    # ---- searches ----------------------------------------------------------------------------------------
    def search(self, url: str, params=None) -> Iterator[dict]:
        """Every resource of a search or operation Bundle, following ``next`` links; outcomes noted as PULL004."""
        page = self.get_json(url, params)
        seen_pages = set()
        while True:
            yield from self._page_resources(page, url)
            nxt = next((link.get("url") for link in page.get("link") or [] if link.get("relation") == "next"), None)
            if not nxt or nxt in seen_pages:
                return
            seen_pages.add(nxt)
            page = self.get_json(nxt)

    def _page_resources(self, page: dict, url: str) -> Iterator[dict]:
        if page.get("resourceType") == "OperationOutcome":
            self.note(issue(codes.PULL004, f"GET {path_of(url)}: {describe_outcome(page)}",
                            Location(resource=path_of(url))))
            return
        for entry in page.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            if (entry.get("search") or {}).get("mode") == "outcome" or (
                    resource.get("resourceType") == "OperationOutcome"):
                self.note(issue(codes.PULL004, f"GET {path_of(url)}: {describe_outcome(resource)}",
                                Location(resource=path_of(url))))
                continue
            yield resource

    # ---- files -------------------------------------------------------------------------------------------
    def download(self, url: str, dest: Path, *, headers=None, with_auth: bool = True) -> Download:
        """Stream an NDJSON file to ``dest`` (via ``dest.part``; renamed only when complete).

        A connection dropped mid-body counts as a failed attempt: the partial file is discarded and the download
        retried under the retry policy.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        headers = {"Accept": "application/fhir+ndjson", **(headers or {})}
        last = ""
        for attempt in range(1, self.retry.attempts + 1):
            response = self.send("GET", url, headers=headers, stream=True, with_auth=with_auth)
            digest, lines, size = hashlib.sha256(), 0, 0
            try:
                with part.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        handle.write(chunk)
                        digest.update(chunk)
                        lines += chunk.count(b"\n")
                        size += len(chunk)
            except httpx.TransportError as err:
                last = type(err).__name__
                part.unlink(missing_ok=True)
                if attempt < self.retry.attempts:
                    self.sleep(self.retry.delay(attempt, rng=self.rng))
                continue
            finally:
                response.close()
            os.replace(part, dest)
            return Download(dest, lines, digest.hexdigest(), size)
        raise ConversionError(issue(codes.PULL007, f"GET {path_of(url)}: connection dropped during the download "
                                                   f"{self.retry.attempts} times (last: {last})",
                                    Location(resource=path_of(url))))
