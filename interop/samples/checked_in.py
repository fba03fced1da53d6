"""The checked-in samples: ``fhir_samples/<key>/{bundles,ndjson}``, ``fhir_samples/stories.json`` and
``fhir_samples/README.md``, all written from the same plans for the fixed seeds below."""

from __future__ import annotations

import shutil
from pathlib import Path

from interop.samples.catalog import load_story_specs
from interop.samples.write import dumps, story_table, write_bundles, write_ndjson

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "fhir_samples"
FIXED_SEEDS = {"len-cdm": 20220815, "len-cle": 20240108}
REGENERATE = "interop samples --checked-in"


def sample_size(study_key: str) -> int:
    """Screened patients in the checked-in population (from the curated story file)."""
    return int(load_story_specs(study_key)["screened"])


def write_samples(root: Path = SAMPLES_DIR, seeds: dict[str, int] | None = None) -> list[dict]:
    """(Re)write every checked-in sample file under ``root`` (``questionnaires/`` is left alone)."""
    seeds = seeds or FIXED_SEEDS
    all_stories: list[dict] = []
    for key, seed in seeds.items():
        for sub in ("bundles", "ndjson"):
            target = root / key / sub
            if target.exists():
                shutil.rmtree(target)
        _, stories = write_bundles(key, sample_size(key), seed, root / key / "bundles", keep_stories=True)
        write_ndjson(key, sample_size(key), seed, root / key / "ndjson", keep_stories=False)
        all_stories.extend(stories)
    (root / "stories.json").write_text(dumps({"seeds": seeds, "semantics": STORY_SEMANTICS, "stories": all_stories})
                                       + "\n", encoding="utf-8")
    (root / "README.md").write_text(render_readme(all_stories, seeds), encoding="utf-8")
    return all_stories


STORY_SEMANTICS = (
    "verdict per criterion: met = the criterion's sentence is true of the patient (an exclusion that is met "
    "excludes); not-met; undetermined = the record cannot decide. outcome: ineligible if an inclusion is not-met "
    "or an exclusion is met, else needs-review if any criterion is undetermined, else eligible."
)


def render_readme(stories: list[dict], seeds: dict[str, int]) -> str:
    """fhir_samples/README.md: layout, seeds, how to regenerate, and the story table of each study."""
    parts = [
        "# FHIR R4 samples (generated; do not edit by hand)",
        "",
        "Synthetic hospital exports for the two trials, written by `interop.samples` (see docs/FHIR-INPUT.md for",
        "the conventions). All names, identifiers, addresses and phone numbers are made up.",
        "",
        "| path | what |",
        "|---|---|",
        "| `<study>/bundles/<sample>.json` | one `collection` Bundle per screened patient |",
        "| `<study>/bundles/shared.json` | ResearchStudy, Organizations, study-drug Medications |",
        "| `<study>/bundles/<sample>-resent.json` | resources sent a second time (duplicate-resource stories) |",
        "| `<study>/ndjson/<Type>.ndjson`, `manifest.json` | the same data as a Bulk Data `$export` |",
        "| `stories.json` | each patient's story, expected verdicts and tags (machine-readable) |",
        "| `questionnaires/` | the project's Questionnaire resources (owned by the instruments code) |",
        "",
        "## Regenerate",
        "",
        f"Fixed seeds: {', '.join(f'`{k}` = {v}' for k, v in seeds.items())}. Command (from the repo root):",
        "",
        "```",
        f".venv/bin/{REGENERATE}",
        "```",
        "",
        "Any cohort size: `interop samples --study len-cle --patients 100000 --seed 7 --format ndjson --out /tmp/cle`.",
        "",
        "## Stories",
        "",
        STORY_SEMANTICS[0].upper() + STORY_SEMANTICS[1:] + " Only verdicts other than inclusion met / exclusion",
        "not-met are listed; `stories.json` has every criterion.",
    ]
    for key in seeds:
        parts += ["", f"### {key}", "", story_table(s for s in stories if s["study"] == key)]
    return "\n".join(parts) + "\n"
