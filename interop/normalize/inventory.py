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

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

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


_FIELDS = ("key", "type", "file", "entry", "path", "patient", "status", "reason")
_INSERT_BATCH = 10_000


class Inventory:
    """The entries of one run, in the order they were added.

    They are rows of a private temporary SQLite database (SQLite keeps a few MB in memory and the rest in
    a temporary file it removes itself), so a hospital-sized input does not hold millions of entries in
    memory. The database goes when the inventory is dropped (or :meth:`close`), so it stays readable after
    the ingest run is closed.
    """

    def __init__(self, entries: Iterable[InventoryEntry] = ()):
        self._db = sqlite3.connect("", isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -8192"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(f"CREATE TABLE entry ({', '.join(_FIELDS)})")
        self._pending: list[tuple] = []
        self._count = 0
        for entry in entries:
            self.add(entry)

    def add(self, entry: InventoryEntry) -> None:
        self._pending.append((entry.key, entry.type, entry.file, entry.entry, entry.path, entry.patient,
                              entry.status, entry.reason))
        self._count += 1
        if len(self._pending) >= _INSERT_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany(f"INSERT INTO entry VALUES ({', '.join('?' * len(_FIELDS))})", self._pending)
            self._pending.clear()

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[InventoryEntry]:
        self._flush()
        for row in self._db.execute(f"SELECT {', '.join(_FIELDS)} FROM entry ORDER BY rowid"):
            yield InventoryEntry(*row)

    def counts_by_type(self) -> dict[str, dict[str, int]]:
        """resourceType (``"(unreadable)"`` when unknown) -> {"input": n, <status>: n, ...}.

        >>> inv = Inventory([InventoryEntry("Patient/1", "Patient", "f", 0, None, "Patient/1", "kept"),
        ...                  InventoryEntry("Patient/1", "Patient", "f", 1, None, "Patient/1", "duplicate")])
        >>> inv.counts_by_type()
        {'Patient': {'duplicate': 1, 'input': 2, 'kept': 1}}
        """
        self._flush()
        out: dict[str, Counter] = {}
        for rtype, status, count in self._db.execute("SELECT type, status, COUNT(*) FROM entry GROUP BY type, status"):
            counter = out.setdefault(rtype or "(unreadable)", Counter())
            counter["input"] += count
            counter[status] += count
        return {t: dict(sorted(c.items())) for t, c in sorted(out.items())}

    def dropped(self) -> list[InventoryEntry]:
        """Entries dropped by ingest (duplicate, superseded, conflict, unreadable), in order."""
        self._flush()
        marks = ", ".join("?" * len(DROPPED))
        rows = self._db.execute(f"SELECT {', '.join(_FIELDS)} FROM entry WHERE status IN ({marks}) ORDER BY rowid",
                                sorted(DROPPED))
        return [InventoryEntry(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
