"""Session fixtures shared by several test files: both trials' sample packages, converted and validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from interop.pipeline import ConvertOptions, ConvertResult, convert

REPO = Path(__file__).resolve().parent.parent


def convert_sample(study: str, out: Path) -> ConvertResult:
    """The README's main job for one trial: the bundled NDJSON sample, validated with CORE and our checks."""
    return convert(ConvertOptions((REPO / "fhir_samples" / study / "ndjson",), study, out, validate=True))


@pytest.fixture(scope="session")
def cdm_result(tmp_path_factory) -> ConvertResult:
    return convert_sample("len-cdm", tmp_path_factory.mktemp("package") / "len-cdm")


@pytest.fixture(scope="session")
def cle_result(tmp_path_factory) -> ConvertResult:
    return convert_sample("len-cle", tmp_path_factory.mktemp("package") / "len-cle")


@pytest.fixture(scope="session")
def cdm_package(cdm_result) -> Path:
    return cdm_result.out


@pytest.fixture(scope="session")
def cle_package(cle_result) -> Path:
    return cle_result.out
