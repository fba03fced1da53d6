"""The reconciliation ledger: every input resource ends up mapped, used as evidence, or unmapped with a reason.

Shape of ``reconciliation.json`` (part of our interface; integrators parse it)::

    {"by_type": {"Observation": {"input": n, "mapped": n, "evidence": n, "unmapped": n,
                                 "domains": {"LB": rows, ...}, "reasons": {"reason": n, ...}}, ...},
     "total": {"input": n, "mapped": n, "evidence": n, "unmapped": n},
     "unmapped": [{"resource": "Observation/1", "reason": "..."}, ...]}

``input`` counts every resource read (top-level resources and bundle entries; contained resources belong to
their container); ``mapped + evidence + unmapped == input`` for every type.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

MAPPED, EVIDENCE, UNMAPPED = "mapped", "evidence", "unmapped"
_RANK = {UNMAPPED: 0, EVIDENCE: 1, MAPPED: 2}


@dataclass(slots=True)
class Entry:
    resource_type: str
    status: str = UNMAPPED
    reason: str | None = "not read by any mapping"
    domains: Counter = field(default_factory=Counter)


@dataclass(slots=True)
class Ledger:
    """Accumulates the fate of each input resource, keyed by an input occurrence id.

    An occurrence id is unique per resource *read* (a duplicate copy in a second bundle is its own occurrence,
    recorded unmapped 'duplicate of ...'); the canonical resource key is what mappers report against.
    """

    entries: dict[str, Entry] = field(default_factory=dict)
    occurrences_by_key: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add_input(self, occurrence: str, key: str | None, resource_type: str, *, dropped_reason: str | None = None) -> None:
        entry = Entry(resource_type)
        if dropped_reason:
            entry.reason = dropped_reason
        else:
            if key is not None:
                self.occurrences_by_key[key].append(occurrence)
        self.entries[occurrence] = entry

    def _entries_for(self, key: str) -> list[Entry]:
        return [self.entries[o] for o in self.occurrences_by_key.get(key, ())]

    def mark_mapped(self, key: str, domain: str, rows: int = 1) -> None:
        for entry in self._entries_for(key):
            entry.status, entry.reason = MAPPED, None
            entry.domains[domain] += rows

    def mark_evidence(self, key: str, reason: str = "used as evidence") -> None:
        for entry in self._entries_for(key):
            if _RANK[entry.status] < _RANK[EVIDENCE]:
                entry.status, entry.reason = EVIDENCE, reason

    def mark_unmapped(self, key: str, reason: str) -> None:
        for entry in self._entries_for(key):
            if entry.status == UNMAPPED:
                entry.reason = reason

    def to_dict(self, *, list_limit: int = 10_000) -> dict:
        by_type: dict[str, dict] = {}
        unmapped_list = []
        for occurrence, entry in sorted(self.entries.items()):
            t = by_type.setdefault(entry.resource_type, {"input": 0, MAPPED: 0, EVIDENCE: 0, UNMAPPED: 0,
                                                          "domains": Counter(), "reasons": Counter()})
            t["input"] += 1
            t[entry.status] += 1
            t["domains"].update(entry.domains)
            if entry.status == UNMAPPED:
                t["reasons"][entry.reason] += 1
                if len(unmapped_list) < list_limit:
                    unmapped_list.append({"resource": occurrence, "reason": entry.reason})
            elif entry.status == EVIDENCE:
                t["reasons"][entry.reason] += 0  # keep reasons for unmapped only
        for t in by_type.values():
            t["domains"] = dict(sorted(t["domains"].items()))
            t["reasons"] = {k: v for k, v in sorted(t["reasons"].items()) if v}
        total = {k: sum(t[k] for t in by_type.values()) for k in ("input", MAPPED, EVIDENCE, UNMAPPED)}
        return {"by_type": dict(sorted(by_type.items())), "total": total, "unmapped": unmapped_list}
