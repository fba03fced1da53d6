"""The reconciliation report: every input resource ends up mapped, used as evidence, or unmapped with a reason.

Shape of ``reconciliation.json`` (part of our interface; integrators parse it)::

    {"by_type": {"Observation": {"input": n, "mapped": n, "evidence": n, "unmapped": n,
                                 "domains": {"LB": rows, ...}, "reasons": {"<reason>": n, ...}}, ...},
     "total": {"input": n, "mapped": n, "evidence": n, "unmapped": n},
     "unmapped": [{"resource": "Observation/1", "file": "...", "entry": 3, "reason": "..."}, ...]}

``input`` counts every resource read (top-level resources and bundle entries; contained resources belong to
their container); ``mapped + evidence + unmapped == input`` for every type. Dropped copies (duplicates,
superseded versions, unreadable entries) and orphans count as unmapped with ingest's reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

MAPPED, EVIDENCE, UNMAPPED = "mapped", "evidence", "unmapped"
SHARED_REASON = "shared reference data (resolved from other resources)"


def classify(entry, *, mapped: Mapping[str, Counter], evidence: set[str],
             unmapped: Mapping[str, str]) -> tuple[str, str | None, Counter | None]:
    """(status, reason, domains) of one inventory entry."""
    if entry.dropped or entry.status == "orphan":
        return UNMAPPED, entry.reason or entry.status, None
    if entry.key in mapped:
        return MAPPED, None, mapped[entry.key]
    if entry.key in evidence:
        return EVIDENCE, None, None
    if entry.status == "shared":
        return EVIDENCE, SHARED_REASON, None
    return UNMAPPED, unmapped.get(entry.key, "not read by any mapping"), None


def build_reconciliation(entries: Iterable, *, mapped: Mapping[str, Counter], evidence: set[str],
                         unmapped: Mapping[str, str], list_limit: int = 100_000) -> dict:
    """The reconciliation dict from ingest's inventory and what the mappers did with each key."""
    by_type: dict[str, dict] = {}
    listed = []
    for entry in entries:
        status, reason, domains = classify(entry, mapped=mapped, evidence=evidence, unmapped=unmapped)
        bucket = by_type.setdefault(entry.type or "(unreadable)", {
            "input": 0, MAPPED: 0, EVIDENCE: 0, UNMAPPED: 0, "domains": Counter(), "reasons": Counter()})
        bucket["input"] += 1
        bucket[status] += 1
        if domains:
            bucket["domains"].update(domains)
        if status == UNMAPPED:
            bucket["reasons"][reason] += 1
            if len(listed) < list_limit:
                listed.append({"resource": entry.key, "file": entry.file, "entry": entry.entry, "reason": reason})
    for bucket in by_type.values():
        bucket["domains"] = dict(sorted(bucket["domains"].items()))
        bucket["reasons"] = dict(sorted(bucket["reasons"].items()))
    total = {k: sum(b[k] for b in by_type.values()) for k in ("input", MAPPED, EVIDENCE, UNMAPPED)}
    listed.sort(key=lambda item: (str(item["resource"]), item["file"], item["entry"] or 0))
    return {"by_type": dict(sorted(by_type.items())), "total": total, "unmapped": listed}


def render_reconciliation(report: dict) -> str:
    """The readable summary of ``reconciliation.json`` (Markdown): counts per type and the reasons not mapped."""
    lines = ["# Reconciliation", "",
             "Every input resource (top-level resources and bundle entries) is mapped, used as evidence, or not mapped "
             "with the reason. Details per resource: reconciliation.json.", "",
             "| resource type | input | mapped | evidence | not mapped | mapped into |", "|---|---|---|---|---|---|"]
    for rtype, bucket in report["by_type"].items():
        domains = ", ".join(f"{d} ({n})" for d, n in bucket["domains"].items())
        lines.append(f"| {rtype} | {bucket['input']} | {bucket[MAPPED]} | {bucket[EVIDENCE]} | {bucket[UNMAPPED]} "
                     f"| {domains} |")
    total = report["total"]
    lines.append(f"| **total** | {total['input']} | {total[MAPPED]} | {total[EVIDENCE]} | {total[UNMAPPED]} | |")
    lines += ["", "## Not mapped, by reason", "", "| resource type | reason | count |", "|---|---|---|"]
    for rtype, bucket in report["by_type"].items():
        for reason, count in bucket["reasons"].items():
            lines.append(f"| {rtype} | {str(reason).replace('|', '/')} | {count} |")
    return "\n".join(lines) + "\n"
