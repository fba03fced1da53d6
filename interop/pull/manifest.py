"""The pull's ``manifest.json``: a Bulk Data export manifest (so ``convert``/``screen`` read the folder as any
export) with what was asked, when, and what came back in ``extension`` (key :data:`EXTENSION_KEY`).

It never holds a secret: the request is described by its options (auth kind only), and every text is passed
through :func:`scrub` with the run's secret values as a last line of defence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import orjson

from cdisc.issues import Issue
from interop.pull.config import PullOptions

EXTENSION_KEY = "https://example.org/fhir2cdisc/pull"
MANIFEST_NAME = "manifest.json"


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def describe_request(options: PullOptions, kickoff: str | None, params: list[tuple[str, str]]) -> str:
    """The request as a URL-like string (kick-off URL with its parameters, or the REST operations used)."""
    base = options.base.rstrip("/")
    if kickoff:
        return f"{base}/{kickoff}" + (f"?{urlencode(params)}" if params else "")
    return f"{base}/Patient/[id]/$everything + type searches"


@dataclass(frozen=True, slots=True)
class ManifestFacts:
    """Everything the manifest records beyond the output files."""

    request: str
    transaction_time: str
    started: str
    finished: str
    patients: int
    partial: bool
    filled: dict[str, int]
    dropped_outside: int
    duplicates: int
    issues: tuple[Issue, ...]


def build_manifest(options: PullOptions, written: dict[str, tuple[str, int]], facts: ManifestFacts) -> dict:
    """The manifest as a dict (see the module docstring)."""
    secrets = options.auth.secrets()
    asked = {
        "base": options.base, "study": options.study, "mode": options.mode.value,
        "level": options.level.value if options.mode.value == "bulk" else None, "group": options.group,
        "patients": list(options.patients), "identifiers": list(options.identifiers),
        "types": list(options.types), "since": options.since, "typeFilter": list(options.type_filters),
        "fillTypes": list(options.fill_types), "auth": options.auth.kind.value,
    }
    return {
        "transactionTime": facts.transaction_time,
        "request": scrub(facts.request, secrets),
        "requiresAccessToken": False,
        "output": [{"type": rtype, "url": name, "count": count} for rtype, (name, count) in written.items()],
        "error": [],
        "extension": {EXTENSION_KEY: {
            "asked": orjson.loads(scrub(orjson.dumps(asked).decode(), secrets)),
            "started": facts.started, "finished": facts.finished, "patients": facts.patients,
            "partial": facts.partial, "filledByTypeSearch": facts.filled,
            "droppedOutsideSelection": facts.dropped_outside, "duplicatesDropped": facts.duplicates,
            "issues": [orjson.loads(scrub(orjson.dumps(i.to_dict()).decode(), secrets)) for i in facts.issues],
        }},
    }


def write_manifest(out: Path, manifest: dict) -> Path:
    """Write ``manifest.json`` into ``out`` (atomically)."""
    path = out / MANIFEST_NAME
    tmp = out / f".{MANIFEST_NAME}.tmp"
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)
    return path
