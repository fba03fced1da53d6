"""The benchmark command runs end to end on a small population (what it measures is not asserted: speed and
memory are measured in benchmarks/, never in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from benchmarks.workloads import parse_size, workload

REPO = Path(__file__).resolve().parent.parent


def test_workload_names():
    assert parse_size("10k") == 10_000 and parse_size("250") == 250
    w2 = workload("W2-101")
    assert [(c.study, c.patients) for c in w2.cohorts] == [("len-cdm", 50), ("len-cle", 51)] and w2.kind == "screen"
    with pytest.raises(ValueError, match="unknown workload"):
        workload("W3")


@pytest.mark.slow
def test_benchmark_command_writes_figures_for_a_small_population(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--workloads", "W2-30", "--workers", "2",
                           "--name", "smoke", "--data", str(tmp_path / "data"), "--results", str(tmp_path),
                           "--naive-limit", "300"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = orjson.loads((tmp_path / "smoke.json").read_bytes())
    [figures] = report["workloads"]
    generated = sum(len(path.read_bytes().splitlines()) for path in (tmp_path / "data" / "W2-30").rglob("*.ndjson"))
    assert figures["workload"] == "W2-30" and figures["patients"] == 30 and figures["workers"] == 2
    assert figures["resources"] == generated            # the floor parsed every generated line
    pipeline = figures["raw"]["pipeline"]
    assert pipeline["patients_screened"] == 30
    assert sum(pipeline["statuses"]["len-cdm"].values()) == sum(pipeline["statuses"]["len-cle"].values()) == 30
    assert figures["raw"]["naive"]["resources"] == 300 and figures["raw"]["naive"]["limited"] is True
    for key in ("wall_s", "resources_per_s", "patients_per_s", "peak_rss_main_mb", "peak_rss_worker_mb", "x_floor",
                "per_core_share_of_floor", "cpu_use", "naive_resources_per_s"):
        assert figures[key] > 0, key
    assert "W2-30: 30 patients" in done.stdout and "floor" in done.stdout
