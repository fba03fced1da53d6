"""Every story of fhir_samples/stories.json gets its expected verdict for every criterion (issue #5, Done when).

Known defects of the generated samples (they contradict docs/FHIR-INPUT.md, Eligibility-specific data) are listed
with the reason and expected to fail strictly, so the test says when the samples are fixed.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from interop.normalize.inputs import open_inputs
from mappings.eligibility import screen_subject

SAMPLES = Path(__file__).resolve().parent.parent / "fhir_samples"
VERDICT_NAMES = {"met": "met", "not met": "not-met", "cannot be determined": "undetermined",
                 "needs review": "undetermined"}
OUTCOME_NAMES = {"eligible": "eligible", "ineligible": "ineligible", "needs review": "needs-review"}
SAMPLE_DEFECTS: dict[tuple[str, str], str] = {}   # (sample id, criterion) -> why the sample contradicts the docs


def _stories() -> list[dict]:
    path = SAMPLES / "stories.json"
    return json.loads(path.read_text(encoding="utf-8"))["stories"] if path.is_file() else []


@lru_cache(maxsize=None)
def screened(study: str) -> dict[str, object]:
    """sample id (bundle file name) -> ScreeningResult, for every patient of the study's bundles."""
    with open_inputs([SAMPLES / study / "bundles"], timezone="UTC") as ingest:
        return {Path(r.patient.source.file).stem.removesuffix("-resent"): screen_subject(r, study=study)
                for r in ingest.subjects()}


CASES = [pytest.param(s["study"], s["sample_id"], cid, want,
                      marks=[pytest.mark.xfail(strict=True, reason=SAMPLE_DEFECTS[(s["sample_id"], cid)])]
                      if (s["sample_id"], cid) in SAMPLE_DEFECTS else [], id=f"{s['sample_id']}-{cid}")
         for s in _stories() for cid, want in sorted(s["verdicts"].items())]


@pytest.mark.skipif(not CASES, reason="fhir_samples/stories.json not generated")
@pytest.mark.parametrize("study, sample, criterion, expected", CASES)
def test_story_verdict(study, sample, criterion, expected):
    result = screened(study)[sample]
    assert VERDICT_NAMES[result.result(criterion).verdict.value] == expected


@pytest.mark.skipif(not CASES, reason="fhir_samples/stories.json not generated")
def test_story_outcomes_apart_from_sample_defects():
    defective = {sample for sample, _ in SAMPLE_DEFECTS}
    wrong = [(s["sample_id"], s["outcome"]) for s in _stories() if s["sample_id"] not in defective
             and OUTCOME_NAMES[screened(s["study"])[s["sample_id"]].status.value] != s["outcome"]]
    assert wrong == []
