"""The Spark engine (local mode) gives the local engine's output on the samples, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyspark")

from interop.engines import LocalEngine, open_engine  # noqa: E402
from interop.engines.tasks import ScreenPatient  # noqa: E402
from interop.pipeline import ConvertOptions, convert  # noqa: E402
from tests.test_engines import package_files  # noqa: E402

pytestmark = pytest.mark.spark
SAMPLES = Path(__file__).resolve().parent.parent / "fhir_samples"


@pytest.fixture(scope="module")
def spark_engine():
    engine = open_engine("spark", master="local[2]", batch=10)
    yield engine
    engine.stop()


def test_spark_ingest_equals_local_ingest(spark_engine):
    inputs = [SAMPLES / "len-cle" / "ndjson"]
    with LocalEngine(workers=1).open(inputs, timezone="Europe/Paris") as local, \
            spark_engine.open(inputs, timezone="Europe/Paris") as spark:
        assert spark.patient_keys == local.patient_keys
        assert [i.to_dict() for i in spark.issues] == [i.to_dict() for i in local.issues]
        assert list(spark.inventory) == list(local.inventory)
        first_local, first_spark = next(local.subjects()), next(spark.subjects())
        assert first_spark == first_local          # same resources, same SourceRef (file, NDJSON line)
        assert first_spark.patient.source.entry >= 1


def test_spark_screening_equals_local_screening(spark_engine):
    task = ScreenPatient(("len-cdm",))
    inputs = [SAMPLES / "len-cdm" / "ndjson"]
    with LocalEngine(workers=1).open(inputs, timezone="Asia/Shanghai") as ingest:
        local = [(k, [repr(r) for r in rs]) for k, rs in LocalEngine(workers=1).map(task, ingest.subjects())]
    with spark_engine.open(inputs, timezone="Asia/Shanghai") as ingest:
        spark = [(k, [repr(r) for r in rs]) for k, rs in spark_engine.map(task, ingest.subjects())]
    assert len(spark) == 28 and spark == local


def test_spark_package_is_the_local_package(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_MASTER", "local[2]")
    packages = {}
    for engine in ("local", "spark"):
        out = tmp_path / engine
        convert(ConvertOptions(inputs=(SAMPLES / "len-cdm" / "ndjson",), study="len-cdm", out=out, workers=1,
                               engine=engine))
        packages[engine] = package_files(out)
    assert "dm.xpt" in packages["local"]
    assert packages["spark"].keys() == packages["local"].keys()
    assert [name for name in packages["local"] if packages["local"][name] != packages["spark"][name]] == []


def test_screening_reports_on_spark_are_the_local_reports(spark_engine, tmp_path, monkeypatch):
    from interop.normalize.pseudonym import PseudonymKey
    from interop.screening import PseudonymNamer, run_screening

    monkeypatch.setenv("SPARK_MASTER", "local[2]")
    namer = PseudonymNamer(PseudonymKey(b"test key", origin="test"))
    inputs = [SAMPLES / "len-cdm" / "ndjson"]
    local = run_screening(inputs, studies=("len-cdm", "len-cle"), namer=namer, out=tmp_path / "local", workers=2)
    spark = run_screening(inputs, studies=("len-cdm", "len-cle"), namer=namer, out=tmp_path / "spark",
                          engine="spark")
    assert local.studies["len-cdm"].counts() == spark.studies["len-cdm"].counts()
    assert local.studies["len-cdm"].screened == 28
    assert [p.read_bytes() for p in spark.files] == [p.read_bytes() for p in local.files]
