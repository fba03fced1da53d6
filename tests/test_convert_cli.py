"""`interop convert` as integrators run it: --format json keys, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "fhir_samples" / "len-cdm" / "ndjson"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interop", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=600)


def test_json_summary_and_clean_exit(tmp_path):
    done = run("convert", str(SAMPLE), "--study", "len-cdm", "--out", str(tmp_path / "pkg"), "--format", "json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == {"out", "rows", "subjects", "issues", "reconciliation", "validation"}
    assert summary["subjects"] == {"enrolled": 10, "screen-failure": 16, "not-a-subject": 2}
    assert summary["rows"]["DM"] == 26 and summary["issues"]["error"] == 0 and summary["validation"] is None
    total = summary["reconciliation"]["total"]
    assert total["input"] == total["mapped"] + total["evidence"] + total["unmapped"]


def test_warnings_fail_the_run_when_asked(tmp_path):
    done = run("convert", str(SAMPLE), "--study", "len-cdm", "--out", str(tmp_path / "pkg"), "--format", "json",
               "--fail-on", "warning")
    assert done.returncode == 1 and json.loads(done.stdout)["issues"]["warning"] > 0


def test_unknown_study_is_a_usage_error(tmp_path):
    done = run("convert", str(SAMPLE), "--study", "len-xyz", "--out", str(tmp_path / "pkg"))
    assert done.returncode == 2 and "unknown study" in done.stderr
    assert not (tmp_path / "pkg").exists()
