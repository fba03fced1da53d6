"""The len-cdm samples give the same SubjectRecords from bundles and from NDJSON (STYLE 4: parametrize
over interchangeable inputs). Skipped until `interop samples` has written fhir_samples/len-cdm."""

from __future__ import annotations

from pathlib import Path

import pytest

from interop.normalize.inputs import open_inputs

SAMPLES = Path(__file__).resolve().parents[1] / "fhir_samples" / "len-cdm"


def _files(suffix: str) -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name.removesuffix(".gz").endswith(suffix))


def _records(paths: list[Path]) -> list[tuple[str, list[tuple[str, dict]]]]:
    with open_inputs(paths, timezone="Asia/Shanghai") as ingest:
        return [(r.key, [(x.key, x.data) for x in r.all_resources()]) for r in ingest.subjects()]


@pytest.mark.slow
@pytest.mark.skipif(not (_files(".json") and _files(".ndjson")) if SAMPLES.is_dir() else True,
                    reason="fhir_samples/len-cdm with both bundle and NDJSON forms not generated yet")
def test_bundles_and_ndjson_of_the_samples_give_the_same_records():
    bundles = [p for p in _files(".json") if "manifest" not in p.name]
    from_bundles = _records(bundles)
    from_ndjson = _records(_files(".ndjson"))
    assert from_bundles and from_bundles == from_ndjson
