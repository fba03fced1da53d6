"""Write a cohort as per-patient collection bundles or as a Bulk Data (``$export``) NDJSON folder, streaming
patient by patient, plus ``stories.json`` and the README story table from the same plans.

Output is byte-for-byte deterministic for a seed: compact JSON, keys in insertion order, no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from interop.samples.build import build_patient_resources, build_shared_resources, fhir_codes, urn_for
from interop.samples.plan import PatientPlan, compute_outcome, iter_plans
from mappings.study import StudyDefinition, load_study

# A fixed transaction time for the $export manifest (no clock: the same seed gives the same bytes).
EXPORT_TIME = "2025-06-30T00:00:00Z"


def dumps(value) -> str:
    """Compact JSON, UTF-8 characters kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---- references inside bundles ------------------------------------------------------------------------------

def rewrite_references(node, mapping: dict[str, str]):
    """A copy of ``node`` with every ``reference`` found in ``mapping`` replaced (contained '#id' untouched)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in mapping:
                out[key] = mapping[value]
            else:
                out[key] = rewrite_references(value, mapping)
        return out
    if isinstance(node, list):
        return [rewrite_references(v, mapping) for v in node]
    return node


def full_url(resource: dict, style: str, base: str) -> str:
    if style == "urn":
        return urn_for(resource["resourceType"], resource["id"])
    return f"{base}/{resource['resourceType']}/{resource['id']}"


def make_bundle(resources: list[dict], style: str, base: str, bundle_id: str) -> dict:
    """A ``collection`` bundle; references between its own resources follow ``style``
    (urn -> urn:uuid, relative -> Type/id, absolute -> base/Type/id); references to shared resources stay relative."""
    mapping = {}
    if style != "relative":
        mapping = {f"{r['resourceType']}/{r['id']}": full_url(r, style, base) for r in resources}
    entries = [{"fullUrl": full_url(r, style, base), "resource": rewrite_references(r, mapping)} for r in resources]
    return {"resourceType": "Bundle", "id": bundle_id, "type": "collection", "entry": entries}


# ---- stories -------------------------------------------------------------------------------------------------

def story_record(plan: PatientPlan) -> dict:
    """The machine-readable story of one patient (an entry of stories.json)."""
    return {
        "sample_id": plan.sample_id, "study": plan.study_key, "subjid": plan.subjid, "enrolled": plan.enrolled,
        "arm": plan.arm, "outcome": compute_outcome(plan.verdicts),
        "verdicts": dict(sorted(plan.verdicts.items())), "tags": sorted(plan.tags), "story": plan.story,
        "discontinuation": plan.discontinue[0] if plan.discontinue else None,
    }


def story_table(stories: Iterable[dict]) -> str:
    """Markdown table of stories: non-default verdicts only (inclusion met / exclusion not met are not listed)."""
    lines = ["| sample | subject | enrolled (arm) | outcome | criteria exercised | story |", "|---|---|---|---|---|---|"]
    for s in stories:
        special = [f"{c} {v}" for c, v in s["verdicts"].items()
                   if not ((c.startswith("INCL") and v == "met") or (c.startswith("EXCL") and v == "not-met"))]
        enrolled = f"yes ({s['arm']})" if s["enrolled"] else "no"
        lines.append(f"| {s['sample_id']} | {s['subjid'] or '-'} | {enrolled} | {s['outcome']} | "
                     f"{', '.join(special) or '-'} | {s['story']} |")
    return "\n".join(lines)


# ---- writers -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WriteSummary:
    study: str
    patients: int
    resources: int
    files: int


def iter_patients(study: StudyDefinition, patients: int, seed: int) -> Iterator[tuple[PatientPlan, list[dict]]]:
    """(plan, resources) of each patient in screening order; one patient in memory at a time."""
    for plan in iter_plans(study, patients, seed):
        yield plan, build_patient_resources(plan, study)


def write_bundles(study_key: str, patients: int, seed: int, out_dir: Path,
                  keep_stories: bool = False) -> tuple[WriteSummary, list[dict]]:
    """One collection bundle per patient (``<sample id>.json``) + ``shared.json``; a patient with the
    ``duplicate`` story also appears in ``<sample id>-resent.json`` with some of its resources again."""
    study = load_study(study_key)
    base = fhir_codes()["hospital_base"][study.key]
    out_dir.mkdir(parents=True, exist_ok=True)
    shared = build_shared_resources(study)
    (out_dir / "shared.json").write_text(dumps(make_bundle(shared, "relative", base, f"{study.key}-shared")), encoding="utf-8")
    stories, count, files, n_patients = [], len(shared), 1, 0
    for plan, resources in iter_patients(study, patients, seed):
        bundle = make_bundle(resources, plan.refs, base, plan.sample_id)
        (out_dir / f"{plan.sample_id}.json").write_text(dumps(bundle), encoding="utf-8")
        files += 1
        count += len(resources)
        if plan.duplicate:
            resent = [r for r in resources if r["resourceType"] in ("Patient", "Encounter")][:3]
            (out_dir / f"{plan.sample_id}-resent.json").write_text(
                dumps(make_bundle(resent, plan.refs, base, f"{plan.sample_id}-resent")), encoding="utf-8")
            files += 1
        n_patients += 1
        if keep_stories:
            stories.append(story_record(plan))
    return WriteSummary(study.key, n_patients, count, files), stories


class NdjsonSink:
    """One open file per resource type, created on first use (memory independent of the cohort size)."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.handles: dict[str, object] = {}
        self.counts: dict[str, int] = {}

    def write(self, resource: dict) -> None:
        rtype = resource["resourceType"]
        if rtype not in self.handles:
            self.handles[rtype] = (self.out_dir / f"{rtype}.ndjson").open("w", encoding="utf-8", newline="\n")
            self.counts[rtype] = 0
        self.handles[rtype].write(dumps(resource) + "\n")
        self.counts[rtype] += 1

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def export_manifest(study: StudyDefinition, counts: dict[str, int]) -> dict:
    """The Bulk Data ``$export`` completion manifest for the files written."""
    base = fhir_codes()["hospital_base"][study.key]
    return {
        "transactionTime": EXPORT_TIME,
        "request": f"{base}/$export?_type=" + ",".join(sorted(counts)),
        "requiresAccessToken": False,
        "output": [{"type": t, "url": f"{t}.ndjson", "count": counts[t]} for t in sorted(counts)],
        "error": [],
    }


def write_ndjson(study_key: str, patients: int, seed: int, out_dir: Path,
                 keep_stories: bool = False) -> tuple[WriteSummary, list[dict]]:
    """Bulk Data export layout: ``<Type>.ndjson`` per resource type + ``manifest.json``."""
    study = load_study(study_key)
    out_dir.mkdir(parents=True, exist_ok=True)
    sink = NdjsonSink(out_dir)
    stories, n_patients = [], 0
    try:
        for resource in build_shared_resources(study):
            sink.write(resource)
        for plan, resources in iter_patients(study, patients, seed):
            for resource in resources:
                sink.write(resource)
            n_patients += 1
            if keep_stories:
                stories.append(story_record(plan))
    finally:
        sink.close()
    (out_dir / "manifest.json").write_text(dumps(export_manifest(study, sink.counts)), encoding="utf-8")
    return WriteSummary(study.key, n_patients, sum(sink.counts.values()), len(sink.counts) + 1), stories


def write_cohort(study_key: str, patients: int, seed: int, fmt: str, out_dir: Path) -> WriteSummary:
    """Generate ``patients`` patients of a study into ``out_dir`` as ``bundle`` or ``ndjson`` (streaming).

    Stories are not kept (memory stays flat for any cohort size); :mod:`interop.samples.checked_in` writes the
    checked-in samples with their stories.
    """
    if fmt not in ("bundle", "ndjson"):
        raise ValueError(f"unknown format '{fmt}' (bundle | ndjson)")
    writer = write_bundles if fmt == "bundle" else write_ndjson
    summary, _ = writer(study_key, patients, seed, Path(out_dir))
    return summary
