"""The input inventory: one entry per input resource, for the reconciliation report.

Counted: top-level resources and bundle entries (a Bundle is an envelope and is not counted; contained
resources belong to their container), including those that could not be read. Each entry says what
ingest did with it:

========== ===================================================================================
status     meaning
========== ===================================================================================
kept       grouped under ``patient`` (the Patient itself, or a resource that belongs to them)
shared     kept as shared reference data (``patient`` is None): Medication, Organization, ...
orphan     kept but belongs to no patient and is not shared reference data (``reason`` says why)
duplicate  dropped: another copy of the same key and version/content was kept (``reason``)
superseded dropped: a newer version of the same key was kept (``reason``)
conflict   dropped: another copy without version info was kept (``reason``)
unreadable dropped: not valid JSON/XML, not an object, no or unknown resourceType (``reason``)
========== ===================================================================================

The pipeline adds what the mappers did with the kept ones, so that per type
``input = mapped + evidence + unmapped`` (dropped/orphans counting as unmapped with their reason).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

DROPPED = frozenset({"duplicate", "superseded", "conflict", "unreadable"})


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    key: str | None              # canonical key ("Observation/123"); None when unreadable
    type: str | None             # resourceType; None when unreadable
    file: str
    entry: int | None            # bundle entry index (0-based) or NDJSON line (1-based)
    path: str | None             # entry path inside a nested bundle
    patient: str | None          # patient key it was grouped under
    status: str                  # see the module docstring
    reason: str | None = None

    @property
    def dropped(self) -> bool:
        return self.status in DROPPED

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Inventory:
    entries: list[InventoryEntry] = field(default_factory=list)

    def add(self, entry: InventoryEntry) -> None:
        self.entries.append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def counts_by_type(self) -> dict[str, dict[str, int]]:
        """resourceType (``"(unreadable)"`` when unknown) -> {"input": n, <status>: n, ...}.

        >>> inv = Inventory([InventoryEntry("Patient/1", "Patient", "f", 0, None, "Patient/1", "kept"),
        ...                  InventoryEntry("Patient/1", "Patient", "f", 1, None, "Patient/1", "duplicate")])
        >>> inv.counts_by_type()
        {'Patient': {'duplicate': 1, 'input': 2, 'kept': 1}}
        """
        out: dict[str, Counter] = {}
        for entry in self.entries:
            counter = out.setdefault(entry.type or "(unreadable)", Counter())
            counter["input"] += 1
            counter[entry.status] += 1
        return {t: dict(sorted(c.items())) for t, c in sorted(out.items())}

    def dropped(self) -> list[InventoryEntry]:
        """Entries dropped by ingest (duplicate, superseded, conflict, unreadable)."""
        return [e for e in self.entries if e.dropped]
