"""The local engine: ordered, bounded, and the same package bytes for any number of workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from interop.engines import LocalEngine, open_engine, ordered_map
from interop.engines.tasks import ScreenPatient
from interop.normalize import inputs as ingest_module
from interop.normalize.inputs import PartitionJob, open_inputs
from interop.pipeline import ConvertOptions, convert

SAMPLES = Path(__file__).resolve().parent.parent / "fhir_samples"


def _square(x: int) -> int:
    return x * x


def test_ordered_map_keeps_input_order_across_workers():
    assert list(ordered_map(_square, range(50), workers=2, batch=3, window=2)) == [x * x for x in range(50)]


def test_ordered_map_reads_at_most_the_window_ahead():
    consumed = []

    def items():
        for i in range(1000):
            consumed.append(i)
            yield i

    results = ordered_map(_square, items(), workers=2, batch=4, window=3)
    assert next(results) == 0
    # the window (3 batches of 4) is filled before the first result is taken: 12 items, not 1000
    assert len(consumed) == 12
    results.close()


def test_one_worker_runs_in_process_without_pickling():
    assert list(ordered_map(lambda x: x + 1, [1, 2, 3], workers=1)) == [2, 3, 4]


def test_open_engine_names():
    assert open_engine("local", workers=3) == LocalEngine(workers=3)
    with pytest.raises(ValueError, match="unknown engine 'dask'"):
        open_engine("dask")


def test_screening_in_a_pool_equals_screening_in_process():
    engine_1, engine_2 = LocalEngine(workers=1), LocalEngine(workers=2, batch=5)
    task = ScreenPatient(("len-cdm", "len-cle"))
    with engine_1.open([SAMPLES / "len-cdm" / "ndjson"], timezone="Asia/Shanghai") as ingest:
        alone = [(key, [r.to_dict() if hasattr(r, "to_dict") else repr(r) for r in results])
                 for key, results in engine_1.map(task, ingest.subjects())]
    with engine_2.open([SAMPLES / "len-cdm" / "ndjson"], timezone="Asia/Shanghai") as ingest:
        pooled = [(key, [r.to_dict() if hasattr(r, "to_dict") else repr(r) for r in results])
                  for key, results in engine_2.map(task, ingest.subjects())]
    assert len(alone) == 28                      # fhir_samples/len-cdm: 28 screened patients
    assert [key for key, _ in alone] == sorted(key for key, _ in alone)
    assert pooled == alone


def _screened(pairs) -> list:
    return [(key, [(r.status, r.screening_date, r.verdicts(), r.issues) for r in results]) for key, results in pairs]


def test_records_of_spilled_partitions_are_built_in_the_workers_with_the_same_results(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "OFFSET_EVERY", 100)     # placement ranges of 100s of resources, not 10,000s
    task = ScreenPatient(("len-cdm",))
    inputs = [SAMPLES / "len-cdm" / "ndjson"]
    with open_inputs(inputs, timezone="Asia/Shanghai") as ingest:
        in_process = _screened(map(task, ingest.subjects()))
        expected = (ingest.issues, list(ingest.inventory), ingest.shared, ingest.orphans, ingest.patient_keys)
    engine = LocalEngine(workers=2)
    with engine.open(inputs, timezone="Asia/Shanghai", workdir=tmp_path, spill_after=300) as ingest:
        jobs = list(ingest.record_jobs())
        # 1,910 resources in partitions of about 300, placed by 2 workers in ranges: every job names its
        # partition's files (one per range that had some of its resources), none carries records
        assert len(jobs) >= 6 and all(isinstance(job, PartitionJob) for job in jobs)
        assert max(len(job.paths) for job in jobs) > 1
        assert sum(len(job.records()) for job in jobs) == 28
        assert (ingest.issues, list(ingest.inventory), ingest.shared, ingest.orphans, ingest.patient_keys) == expected
        pooled = _screened(engine.map_records(task, ingest))
    assert len(in_process) == 28
    assert pooled == in_process
    assert sorted(p.name for p in tmp_path.iterdir()) == []      # closing removed every spill file


def package_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_package_is_the_same_bytes_with_one_or_two_workers(tmp_path):
    packages = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        convert(ConvertOptions(inputs=(SAMPLES / "len-cdm" / "ndjson",), study="len-cdm", out=out, workers=workers))
        packages[workers] = package_files(out)
    assert "dm.xpt" in packages[1] and "reviewer-notes.md" in packages[1]
    assert packages[2].keys() == packages[1].keys()
    assert [name for name in packages[1] if packages[1][name] != packages[2][name]] == []
