"""Shared helpers of the trust tests (issue #8), and tests of the helpers themselves.

The trust tests (``tests/test_trust_*.py``, ``tests/test_fuzz_*.py``) run the real ``interop`` command as a
subprocess or :func:`interop.pipeline.convert` in process, over cohorts written by ``interop.samples``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
INTEROP = Path(sys.executable).parent / "interop"


def run_interop(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the ``interop`` CLI of this venv as a subprocess; stdout and stderr captured as bytes."""
    inherited = {k: v for k, v in os.environ.items() if k != "FHIR2CDISC_PSEUDONYM_KEY"}
    full_env = {**inherited, **(env or {})}
    return subprocess.run([str(INTEROP), *args], capture_output=True, timeout=timeout, env=full_env, cwd=REPO)


def generate_cohort(study: str, patients: int, seed: int, out: Path) -> Path:
    """A deterministic synthetic NDJSON export (``interop samples``), written to ``out``."""
    from interop.samples.write import write_cohort

    write_cohort(study, patients, seed, "ndjson", out)
    return out


def read_ndjson(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def write_ndjson(path: Path, resources: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))


def package_files(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def searchable_forms(value: str) -> set[bytes]:
    """The byte forms in which ``value`` could appear in an output file.

    UTF-8 as is, lower/upper/case-folded (SDTM upper-cases many values), Latin-1 (XPT is single-byte),
    JSON ``\\uXXXX``-escaped, and the XPT cell form (space padding removed from neither end: a value
    padded to the column width is found by its unpadded bytes; a value split into 200-byte SUPP chunks
    is found by its first 8 characters, which is why the PHI strings here are distinctive from their start).
    """
    texts = {value, value.lower(), value.upper(), value.casefold()}
    forms: set[bytes] = set()
    for text in texts:
        forms.add(text.encode("utf-8"))
        forms.add(json.dumps(text, ensure_ascii=True)[1:-1].encode("ascii"))
        try:
            forms.add(text.encode("latin-1"))
        except UnicodeEncodeError:
            pass
        if len(text) > 8:
            forms.add(text[:8].encode("utf-8"))
    return forms


def find_leaks(secrets: dict[str, str], blobs: dict[str, bytes]) -> list[tuple[str, str, bytes]]:
    """(secret label, blob name, form found) for every form of every secret found in any blob."""
    found = []
    for label, secret in secrets.items():
        for form in searchable_forms(secret):
            for name, blob in blobs.items():
                if form in blob:
                    found.append((label, name, form))
    return found


# ---- tests of the helpers (a leak search that cannot find anything would prove nothing) ----------------------

def test_find_leaks_sees_upper_cased_and_escaped_and_split_values():
    blobs = {"dm.xpt": b"HEADER ZORBLAXIA QUENTWORTH   ", "x.json": b'{"a": "Ren\\u00e9e Quix"}',
             "suppqs.xpt": b"Qxnotes1" + b" " * 192}
    secrets = {"name": "Zorblaxia Quentworth", "given": "Renée Quix", "note": "Qxnotes1 long text over 200"}
    labels = {(label, name) for label, name, _ in find_leaks(secrets, blobs)}
    assert labels == {("name", "dm.xpt"), ("given", "x.json"), ("note", "suppqs.xpt")}


def test_find_leaks_is_silent_on_clean_output():
    assert find_leaks({"mrn": "MRN-QX7Z3"}, {"dm.xpt": b"LEN-CDM-01-001   ", "log": b"ok"}) == []
