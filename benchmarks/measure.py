"""One measurement in a fresh process: ``python -m benchmarks.measure <workload> <mode> [--workers N]``.

Modes:
- ``floor``: read every NDJSON line of the workload and parse it with orjson, nothing else;
- ``naive``: the same, plus every resource validated into its ``fhir.resources.R4B`` model (``--limit``
  resources at most; the rate is what counts);
- ``pipeline``: the product: W1 converts each trial's package (``interop.pipeline.convert``, no validation);
  W2 screens every patient for both trials and writes the reports (``interop screen``'s
  :func:`interop.screening.run_screening`).

Prints one JSON object: wall and CPU seconds, resources, patients, peak RSS of this process and of its largest
worker (``getrusage``; kB on Linux).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson

from benchmarks.workloads import DATA_DIR, Workload, workload



def ndjson_files(work: Workload, root: Path) -> list[Path]:
    return sorted(work.folder(root).rglob("*.ndjson"))


def run_floor(work: Workload, root: Path, **_) -> dict:
    resources = 0
    for path in ndjson_files(work, root):
        with open(path, "rb") as handle:
            for line in handle:
                orjson.loads(line)
                resources += 1
    return {"resources": resources}


def run_naive(work: Workload, root: Path, limit: int | None = None, **_) -> dict:
    from fhir.resources.R4B import get_fhir_model_class

    resources, failed = 0, 0
    for path in ndjson_files(work, root):
        with open(path, "rb") as handle:
            for line in handle:
                data = orjson.loads(line)
                try:
                    get_fhir_model_class(data["resourceType"]).model_validate(data)
                except ValueError:   # pydantic.ValidationError is a ValueError: counted, not fatal
                    failed += 1
                resources += 1
                if limit and resources >= limit:
                    return {"resources": resources, "model_errors": failed, "limited": True}
    return {"resources": resources, "model_errors": failed, "limited": False}


def run_pipeline(work: Workload, root: Path, workers: int = 1, engine: str = "local", **_) -> dict:
    if work.kind == "convert":
        return convert_packages(work, root, workers=workers, engine=engine)
    return screen_population(work, root, workers=workers, engine=engine)


def convert_packages(work: Workload, root: Path, *, workers: int, engine: str) -> dict:
    from interop.pipeline import ConvertOptions, convert

    subjects = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for study, folder in work.inputs(root).items():
            result = convert(ConvertOptions(inputs=(folder,), study=study, out=Path(tmp) / study, workers=workers,
                                            created=datetime(2025, 6, 30), engine=engine, run_core=False))
            subjects.update(result.subjects)
    return {"subjects": dict(subjects)}


def screen_population(work: Workload, root: Path, *, workers: int, engine: str) -> dict:
    """W2 as a site runs it: ``interop screen``'s function (:func:`interop.screening.run_screening`), reports
    written; with ``--engine spark`` the same reading and per-patient screening on Spark, results counted."""
    from mappings.study import load_study

    studies = tuple(c.study for c in work.cohorts)
    inputs = list(work.inputs(root).values())
    if engine == "local":
        from interop.normalize.pseudonym import PseudonymKey
        from interop.screening import PseudonymNamer, run_screening

        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            namer = PseudonymNamer(PseudonymKey(b"benchmark pseudonym key (not a secret)", origin="benchmark"))
            summary = run_screening(inputs, studies=studies, namer=namer, out=Path(tmp) / "screening",
                                    workers=workers)
            report_mb = round(sum(p.stat().st_size for p in summary.files) / 2**20, 1)
        return {"patients_screened": next(iter(summary.studies.values())).screened,
                "statuses": {study: tally.counts() for study, tally in summary.studies.items()},
                "issues": len(summary.issues), "report_mb": report_mb}
    from interop.engines import open_engine
    from interop.engines.tasks import ScreenPatient

    runner = open_engine(engine)
    statuses: dict[str, Counter] = {s: Counter() for s in studies}
    patients = 0
    with runner.open(inputs, timezone=load_study(studies[0]).timezone) as ingest:
        for _key, results in runner.map_records(ScreenPatient(studies), ingest):
            patients += 1
            for study, result in zip(studies, results):
                statuses[study][result.status.value] += 1
        issues = len(ingest.issues)
    return {"patients_screened": patients, "statuses": {k: dict(v) for k, v in statuses.items()},
            "issues": issues}


MODES = {"floor": run_floor, "naive": run_naive, "pipeline": run_pipeline}


def measure(name: str, mode: str, *, root: Path = DATA_DIR, workers: int = 1, engine: str = "local",
            limit: int | None = None, profile: Path | None = None) -> dict:
    """Run one mode of one workload in this process and return its figures."""
    work = workload(name)
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    figures = MODES[mode](work, root, workers=workers, engine=engine, limit=limit)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - start
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        text.write("\n---- by own time ----\n")
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        profile.write_text(text.getvalue(), encoding="utf-8")
    return {"workload": name, "mode": mode, "workers": workers, "engine": engine, "wall_s": round(wall, 3),
            "cpu_s": round(own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 3),
            "peak_rss_main_mb": round(own.ru_maxrss / 1024, 1),
            "peak_rss_worker_mb": round(children.ru_maxrss / 1024, 1), **figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--engine", default="local")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile tables to this file")
    args = parser.parse_args(argv)
    figures = measure(args.workload, args.mode, root=args.data, workers=args.workers, engine=args.engine,
                      limit=args.limit, profile=args.profile)
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")


if __name__ == "__main__":
    main()
