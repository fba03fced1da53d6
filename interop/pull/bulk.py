"""Bulk Data ``$export`` (https://hl7.org/fhir/uv/bulkdata/export.html): kick-off, poll, download, resume, cancel.

Kick-off: ``GET [base]/Patient/$export`` (or ``Group/<id>/$export``, ``$export``) with ``Prefer: respond-async``;
the server answers 202 with the status URL in ``Content-Location``. Polling honours ``Retry-After`` and shows
``X-Progress``; 200 gives the manifest. Each ``output[].url`` is downloaded (``Authorization`` sent only when
the manifest says ``requiresAccessToken``). ``DELETE`` on the status URL cancels.

Resume: the state of a running export (the request, its status URL, the manifest and the files finished, with
their SHA-256) lives in ``<out>/.pull/export-state.json``. A new run with the same request picks up the same
export and skips every finished file whose bytes still match.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson

from cdisc.issues import ConversionError, Issue, Location, issue
from interop.pull import codes
from interop.pull.client import FhirClient, describe_outcome, parse_retry_after, path_of
from interop.pull.config import ExportLevel, PullOptions

STATE_DIR = ".pull"
STATE_FILE = "export-state.json"


def kickoff_path(level: ExportLevel, group: str | None) -> str:
    """The kick-off path for an export level (relative to the base)."""
    if level is ExportLevel.group:
        if not group:
            raise ConversionError(issue(codes.PULL013, "a Group-level export needs --group"))
        return f"Group/{group}/$export"
    return "Patient/$export" if level is ExportLevel.patient else "$export"


def kickoff_params(options: PullOptions, types: tuple[str, ...]) -> list[tuple[str, str]]:
    """Query parameters of the kick-off: ``_type``, ``_since``, ``_typeFilter`` (NDJSON output)."""
    params = [("_outputFormat", "application/fhir+ndjson")]
    if types:
        params.append(("_type", ",".join(types)))
    if options.since:
        params.append(("_since", options.since))
    params.extend(("_typeFilter", f) for f in options.type_filters)
    return params


@dataclass
class ExportState:
    """What is known of one export, saved after every step so an interrupted pull can resume."""

    request: str
    status_url: str | None = None
    manifest: dict | None = None
    done: dict[str, dict] = field(default_factory=dict)      # output url -> {"file", "sha256", "lines"}

    def to_json(self) -> bytes:
        return orjson.dumps({"request": self.request, "status_url": self.status_url, "manifest": self.manifest,
                             "done": self.done}, option=orjson.OPT_INDENT_2)


def state_path(out: Path) -> Path:
    return out / STATE_DIR / STATE_FILE


def load_state(out: Path, request: str) -> ExportState | None:
    """The saved state of an earlier run of the same request, if any."""
    path = state_path(out)
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("request") != request:
        return None
    return ExportState(data["request"], data.get("status_url"), data.get("manifest"), dict(data.get("done") or {}))


def save_state(out: Path, state: ExportState) -> None:
    path = state_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(state.to_json())
    os.replace(tmp, path)


def clear_state(out: Path) -> None:
    state_path(out).unlink(missing_ok=True)


def file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def start_export(client: FhirClient, path: str, params: list[tuple[str, str]]) -> str:
    """Kick off an export; the status URL from ``Content-Location``."""
    response = client.send("GET", path, params=params, headers={"Prefer": "respond-async"}, ok=(202,))
    status_url = response.headers.get("Content-Location")
    response.close()
    if not status_url:
        raise ConversionError(issue(codes.PULL001, f"GET {path}: 202 without Content-Location",
                                    Location(resource=path)))
    return client.url(status_url)


def poll_export(client: FhirClient, status_url: str, *, max_wait: float, default_delay: float,
                on_progress: Callable[[str], None] = lambda text: None,
                clock: Callable[[], float] = time.monotonic) -> dict | None:
    """Poll the status URL until the manifest (200); None when the server no longer knows the export (404/410).

    ``Retry-After`` sets the wait (else ``default_delay``); ``X-Progress`` goes to ``on_progress``.
    """
    started = clock()
    while True:
        response = client.send("GET", status_url, ok=(200, 202, 404, 410))
        if response.status_code in (404, 410):
            response.close()
            return None
        if response.status_code == 200:
            manifest = client.read_json(response, status_url)
            if not isinstance(manifest.get("output"), list):
                raise ConversionError(issue(codes.PULL014, f"GET {path_of(status_url)}: manifest without output",
                                            Location(resource=path_of(status_url))))
            return manifest
        on_progress(response.headers.get("X-Progress") or "in progress")
        wait = parse_retry_after(response.headers.get("Retry-After"))
        response.close()
        if clock() - started > max_wait:
            raise ConversionError(issue(codes.PULL002, f"export not finished after {max_wait:.0f} s",
                                        Location(resource=path_of(status_url))))
        client.sleep(default_delay if wait is None else wait)


def cancel_export(client: FhirClient, status_url: str) -> Issue:
    """DELETE the export on the server (best effort: the outcome is reported, never raised)."""
    try:
        response = client.send("DELETE", status_url, ok=(200, 202, 204, 404))
        response.close()
        return issue(codes.PULL010, f"DELETE {path_of(status_url)} answered {response.status_code}",
                     Location(resource=path_of(status_url)))
    except ConversionError as err:
        return issue(codes.PULL010, f"DELETE {path_of(status_url)} failed: {err.issue.message}",
                     Location(resource=path_of(status_url)))


def output_file_name(index: int, item: dict) -> str:
    """Local name of the ``index``-th output file: ``0003-Observation.ndjson`` (types repeat across files)."""
    rtype = str(item.get("type") or "Resource").replace("/", "_")
    return f"{index:04d}-{rtype}.ndjson"


def download_outputs(client: FhirClient, state: ExportState, folder: Path, out: Path, *, concurrency: int,
                     on_file: Callable[[str], None] = lambda name: None) -> tuple[list[Path], list[Issue]]:
    """Download every output (and error) file of the manifest not finished before; save state after each.

    Returns the local files in manifest order and the issues (PULL011 for files kept, PULL007 for failures).
    """
    manifest = state.manifest or {}
    items = [(i, item, "output") for i, item in enumerate(manifest.get("output") or [])]
    items += [(len(items) + i, item, "error") for i, item in enumerate(manifest.get("error") or [])]
    headers_ok = bool(manifest.get("requiresAccessToken", True))
    issues: list[Issue] = []
    kept = 0
    todo = []
    for index, item, kind in items:
        url = client.url(str(item.get("url") or ""))
        name = output_file_name(index, item) if kind == "output" else f"error-{output_file_name(index, item)}"
        done = state.done.get(url)
        if done and file_sha256(folder / done["file"]) == done["sha256"]:
            kept += 1
            continue
        todo.append((url, name))
    if kept:
        issues.append(issue(codes.PULL011, f"{kept} finished file(s) of the export kept, {len(todo)} to fetch"))

    lock = threading.Lock()

    def fetch(url: str, name: str) -> None:
        got = client.download(url, folder / name, with_auth=headers_ok)
        with lock:
            state.done[url] = {"file": name, "sha256": got.sha256, "lines": got.lines}
            save_state(out, state)
            on_file(name)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [(url, pool.submit(fetch, url, name)) for url, name in todo]
        for url, future in futures:
            try:
                future.result()
            except ConversionError as err:
                issues.append(issue(codes.PULL007, err.issue.message, Location(resource=path_of(url))))
    files = [folder / state.done[client.url(str(item.get("url") or ""))]["file"]
             for _, item, kind in items if kind == "output" and client.url(str(item.get("url") or "")) in state.done]
    return files, issues


def read_error_files(state: ExportState, folder: Path) -> list[Issue]:
    """The OperationOutcomes of the manifest's ``error`` files, as PULL004 warnings with their text."""
    found = []
    names = {v["file"] for v in state.done.values() if v["file"].startswith("error-")}
    for name in sorted(names):
        for line in (folder / name).read_bytes().splitlines():
            try:
                outcome = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            text = describe_outcome(outcome)
            if text:
                found.append(issue(codes.PULL004, f"export error file: {text}", Location(file=name)))
    return found
