"""The sample generator: FHIR validity, determinism, checked-in samples = generator output (issue 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from interop.samples import FIXED_SEEDS, write_bundles, write_ndjson, write_samples
from interop.samples.plan import iter_plans
from mappings.study import load_study

SAMPLES = Path(__file__).resolve().parents[1] / "fhir_samples"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "questionnaires" not in p.parts}


@pytest.mark.parametrize("study", ["len-cdm", "len-cle"])
def test_every_ndjson_resource_parses_with_r4b_models(study):
    count = 0
    for path in sorted((SAMPLES / study / "ndjson").glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            count += 1
    assert count > 1000


@pytest.mark.parametrize("study", ["len-cdm", "len-cle"])
def test_every_bundle_parses_as_an_r4b_collection_bundle(study):
    paths = sorted((SAMPLES / study / "bundles").glob("*.json"))
    for path in paths:
        bundle = get_fhir_model_class("Bundle").model_validate_json(path.read_bytes())
        assert bundle.type == "collection"
    assert len(paths) > 20


def test_ndjson_manifest_lists_every_file_with_its_line_count():
    for study in ("len-cdm", "len-cle"):
        folder = SAMPLES / study / "ndjson"
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        listed = {o["url"]: o["count"] for o in manifest["output"]}
        on_disk = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*.ndjson")}
        assert listed == on_disk


@pytest.mark.parametrize("writer", [write_bundles, write_ndjson])
def test_same_seed_gives_same_bytes(tmp_path, writer):
    writer("len-cle", 12, 99, tmp_path / "a")
    writer("len-cle", 12, 99, tmp_path / "b")
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first and first == second


def test_another_seed_gives_other_data(tmp_path):
    write_ndjson("len-cdm", 5, 1, tmp_path / "a")
    write_ndjson("len-cdm", 5, 2, tmp_path / "b")
    assert (tmp_path / "a" / "Patient.ndjson").read_bytes() != (tmp_path / "b" / "Patient.ndjson").read_bytes()


def test_checked_in_samples_equal_the_generator_output_for_the_fixed_seeds(tmp_path):
    write_samples(tmp_path, FIXED_SEEDS)
    assert _files(tmp_path) == _files(SAMPLES)


def test_bundles_and_ndjson_hold_the_same_resources():
    for study in ("len-cdm", "len-cle"):
        from_bundles = set()
        for path in (SAMPLES / study / "bundles").glob("*.json"):
            for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
                from_bundles.add((entry["resource"]["resourceType"], entry["resource"]["id"]))
        from_ndjson = set()
        for path in (SAMPLES / study / "ndjson").glob("*.ndjson"):
            for line in path.read_text(encoding="utf-8").splitlines():
                r = json.loads(line)
                from_ndjson.add((r["resourceType"], r["id"]))
        assert from_bundles == from_ndjson


def test_large_cohorts_reuse_the_curated_stories_and_stay_in_the_recruitment_period():
    study = load_study("len-cle")
    plans = list(iter_plans(study, 400, 3))
    assert [p.sample_id for p in plans[:2]] == ["CLE-S001", "CLE-S002"]
    assert plans[-1].sample_id == "CLE-S400"
    assert max(p.screen_date for p in plans) < plans[0].data_cutoff


def test_sample_folder_stays_under_20_mb():
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 20_000_000


def test_cli_writes_an_ndjson_cohort_and_refuses_an_unknown_study(tmp_path):
    from typer.testing import CliRunner

    from interop.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["samples", "--study", "len-cdm", "--patients", "3", "--seed", "5",
                                 "--format", "ndjson", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "Patient.ndjson").read_text(encoding="utf-8").splitlines()) == 3
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["transactionTime"] == "2025-06-30T00:00:00Z"
    bad = runner.invoke(app, ["samples", "--study", "len-xyz", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
