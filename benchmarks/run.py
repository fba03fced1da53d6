"""Run the benchmarks: ``python -m benchmarks.run --workloads W1,W2-10k,W2-100k [--workers N] [--name NAME]``.

Per workload: generate its data (cached in ``benchmarks/data/``), then measure, each in a fresh process
(:mod:`benchmarks.measure`): the floor (orjson parsing only), the naive path (every resource into a
``fhir.resources`` R4B model; at most ``--naive-limit`` resources, its rate extrapolated) and the pipeline.
Prints wall time, resources/s, patients/s, peak RSS (main process and largest worker), CPU use, and the
ratios against the floor and the naive path; writes ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import orjson

from benchmarks.workloads import DATA_DIR, ensure_generated, workload
from interop.engines import default_workers

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parent.parent


def run_mode(name: str, mode: str, *, workers: int, engine: str, data: Path, limit: int | None,
             profile: Path | None) -> dict:
    """One ``benchmarks.measure`` run in a fresh interpreter (clean peak-RSS counters)."""
    command = [sys.executable, "-m", "benchmarks.measure", name, mode, "--workers", str(workers),
               "--engine", engine, "--data", str(data)]
    if limit:
        command += ["--limit", str(limit)]
    if profile:
        command += ["--profile", str(profile)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} {mode} failed:\n{done.stderr[-3000:]}")
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def summarise(name: str, data_info: dict, floor: dict, naive: dict | None, pipeline: dict, cores: int) -> dict:
    """The figures of one workload, with the ratios of the issue's targets."""
    resources = floor["resources"]
    floor_rate = resources / floor["wall_s"]
    rate = resources / pipeline["wall_s"]
    summary = {
        "workload": name, "patients": data_info["patients"], "resources": resources, "input_mb":
        round(data_info["bytes"] / 2**20, 1), "workers": pipeline["workers"], "engine": pipeline["engine"],
        "wall_s": pipeline["wall_s"], "resources_per_s": round(rate), "patients_per_s":
        round(data_info["patients"] / pipeline["wall_s"], 1),
        "cpu_use": round(pipeline["cpu_s"] / (pipeline["wall_s"] * cores), 2),
        "peak_rss_main_mb": pipeline["peak_rss_main_mb"], "peak_rss_worker_mb": pipeline["peak_rss_worker_mb"],
        "floor_wall_s": floor["wall_s"], "floor_resources_per_s": round(floor_rate),
        "x_floor": round(pipeline["wall_s"] / floor["wall_s"], 1),
        "per_core_share_of_floor": round(rate / max(pipeline["workers"], 1) / floor_rate, 4),
        "raw": {"floor": floor, "naive": naive, "pipeline": pipeline},
    }
    if naive:
        naive_rate = naive["resources"] / naive["wall_s"]
        summary |= {"naive_resources_per_s": round(naive_rate), "naive_wall_s_estimated":
                    round(resources / naive_rate, 1), "naive_x_floor": round(floor_rate / naive_rate, 1),
                    "pipeline_vs_naive": round(rate / naive_rate, 2)}
    return summary


def render(summary: dict) -> str:
    lines = [f"{summary['workload']}: {summary['patients']} patients, {summary['resources']} resources "
             f"({summary['input_mb']} MB NDJSON), engine {summary['engine']}, {summary['workers']} worker(s)",
             f"  pipeline  {summary['wall_s']:9.2f} s  {summary['resources_per_s']:>9} resources/s  "
             f"{summary['patients_per_s']:>8} patients/s  cpu use {summary['cpu_use']:.0%}  peak RSS main "
             f"{summary['peak_rss_main_mb']} MB, worker {summary['peak_rss_worker_mb']} MB",
             f"  floor     {summary['floor_wall_s']:9.2f} s  {summary['floor_resources_per_s']:>9} resources/s"
             f"  -> pipeline = {summary['x_floor']}x the floor's time; per core "
             f"{summary['per_core_share_of_floor']:.2%} of the floor's throughput"]
    if "naive_resources_per_s" in summary:
        lines.append(f"  naive     {summary['naive_wall_s_estimated']:9.1f} s  {summary['naive_resources_per_s']:>9}"
                     f" resources/s (R4B models; {summary['naive_x_floor']}x the floor) -> pipeline is "
                     f"{summary['pipeline_vs_naive']}x the naive path's throughput")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W1,W2-10k")
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument("--engine", default="local", choices=("local", "spark"))
    parser.add_argument("--name", default=None, help="results file name (default: a timestamp)")
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder for <name>.json")
    parser.add_argument("--naive-limit", type=int, default=20_000)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also write cProfile tables of the pipeline")
    args = parser.parse_args(argv)
    workers = args.workers or default_workers()
    name = args.name or time.strftime("%Y%m%dT%H%M%S")
    results = args.results
    results.mkdir(parents=True, exist_ok=True)
    report = {"name": name, "machine": {"cores": default_workers(), "python": platform.python_version(),
                                        "platform": platform.platform(), "cpu": platform.processor()},
              "workloads": []}
    for item in args.workloads.split(","):
        work = workload(item.strip())
        started = time.perf_counter()
        info = ensure_generated(work, args.data)
        info["generate_s"] = round(time.perf_counter() - started, 1)
        common = {"workers": workers, "engine": args.engine, "data": args.data, "limit": None, "profile": None}
        floor = run_mode(work.name, "floor", **(common | {"workers": 1}))
        naive = None if args.skip_naive else run_mode(work.name, "naive", **(common | {
            "workers": 1, "limit": args.naive_limit}))
        profile = results / f"{name}-{work.name}.profile.txt" if args.profile else None
        pipeline = run_mode(work.name, "pipeline", **(common | {"profile": profile}))
        summary = summarise(work.name, info, floor, naive, pipeline, default_workers())
        summary["generate_s"] = info["generate_s"]
        report["workloads"].append(summary)
        print(render(summary), flush=True)
        (results / f"{name}.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"results: {results / f'{name}.json'}")


if __name__ == "__main__":
    main()
