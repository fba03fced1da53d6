"""What ingest remembers about every input resource between reading and grouping, kept in SQLite.

Deciding duplicates, owners and references needs, for every input resource, a few facts (key, version,
content hash, the references of its patient links) and the set of every key. At a hospital's scale
(100,000 patients, about 8 million resources) those facts are gigabytes as Python objects, so they are rows
of a private temporary SQLite database instead: SQLite keeps up to :data:`CACHE_KIB` of it in memory and the
rest in a temporary file it deletes itself when the connection closes. Memory then stays flat as the input
grows; what remains in memory grows with the number of *patients* (a few dozen bytes each).

Usage (by :func:`interop.normalize.inputs.group_inputs`)::

    table = SummaryTable()
    table.add(summary)                         # in reading order (summary.seq = 0, 1, 2, ...)
    table.add_contained("MedicationRequest/1#med")
    table.finish()                             # builds the key index; no adds after this
    "Patient/p1" in table.keys                 # membership, for reference resolution
    for copies in table.repeated_keys(): ...   # every key read more than once, with all its copies
    for summary in table.in_order(): ...       # everything, in reading order
    table.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import NamedTuple

import orjson

CACHE_KIB = 64 * 1024          # SQLite page cache per table; beyond it, pages go to SQLite's temporary file
INSERT_BATCH = 10_000          # rows buffered in Python before one executemany
KEY_LOOKUP_CACHE = 1 << 16     # recent key-membership answers kept (references repeat within a patient)

_COLUMNS = "seq, key, rtype, file, entry, path, version, last_updated, sha256, links, indirect, refs"
_SCHEMA = f"""
CREATE TABLE summary ({_COLUMNS.replace("seq", "seq INTEGER PRIMARY KEY")});
CREATE TABLE contained (key TEXT NOT NULL);
"""


@dataclass(slots=True)
class Summary:
    """The facts kept per input resource (one row of the table)."""

    seq: int
    key: str
    rtype: str
    file: str
    entry: int | None
    path: str | None
    version: str | None
    last_updated: str | None
    sha256: str
    links: tuple[str, ...]       # raw references of the direct patient-link elements
    indirect: tuple[str, ...]    # raw references of the indirect-link elements
    references: tuple = ()       # ReferenceNote of every reference (interop.normalize.prepared)

    def to_row(self) -> tuple:
        return (self.seq, self.key, self.rtype, self.file, self.entry, self.path, self.version, self.last_updated,
                self.sha256, pack(self.links), pack(self.indirect), pack(self.references))

    @classmethod
    def from_row(cls, row: tuple) -> "Summary":
        return cls(*row[:9], _unpack(row[9]), _unpack(row[10]), _unpack(row[11]))


class Links(NamedTuple):
    """The part of a :class:`Summary` that decides its owner."""

    seq: int
    key: str
    rtype: str
    links: tuple[str, ...]
    indirect: tuple[str, ...]


def pack(references: tuple) -> bytes | None:
    """References as one JSON array (None when there are none, the common case for ``indirect``).
    Nested tuples come back as lists.

    >>> _unpack(pack(("Patient/1", "Group/g"))), _unpack(pack(()))
    (('Patient/1', 'Group/g'), ())
    """
    return orjson.dumps(references) if references else None


def _unpack(packed: bytes | None) -> tuple[str, ...]:
    return tuple(orjson.loads(packed)) if packed else ()


class KeySet:
    """Read-only membership in the table's keys (resource keys and contained keys ``X/1#c``).

    Stands in for ``set[str]`` in :class:`~interop.normalize.references.ReferenceResolver`. Keys in ``known``
    (the patients and shared resources, which most references point at) are answered from memory; others
    from SQLite, with the most recent :data:`KEY_LOOKUP_CACHE` answers cached.
    """

    def __init__(self, db: sqlite3.Connection):
        self._db = db
        self._cached = lru_cache(maxsize=KEY_LOOKUP_CACHE)(self._lookup)
        self.known: frozenset[str] = frozenset()   # keys known to be present, answered without SQLite

    def _lookup(self, key: str) -> bool:
        table = "contained" if "#" in key else "summary"
        return self._db.execute(f"SELECT 1 FROM {table} WHERE key = ? LIMIT 1", (key,)).fetchone() is not None

    def __contains__(self, key: str) -> bool:
        return key in self.known or self._cached(key)


def _connect(name: str) -> sqlite3.Connection:
    """A connection tuned for one writer that needs no crash safety (the data is rebuilt by rerunning)."""
    db = sqlite3.connect(name, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}", "temp_store = FILE"):
        db.execute(f"PRAGMA {pragma}")
    return db


class SummaryTable:
    """The summaries of one ingest run (see the module docstring)."""

    def __init__(self) -> None:
        # "" = a private temporary on-disk database, deleted by SQLite when the connection closes
        self._db = _connect("")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")
        self._rows: list[tuple] = []
        self._contained: list[tuple] = []
        self.count = 0
        self.keys: KeySet | None = None
        self.path: Path | None = None      # set by move_to: a file other processes can read

    def move_to(self, path: Path) -> None:
        """Carry on in a database file at ``path`` (before :meth:`finish`), so that worker processes can read
        it (:meth:`reader`). Ingest moves there when it starts spilling: a small run never touches the disk."""
        self._flush()
        self._db.execute("COMMIT")
        target = sqlite3.connect(str(path))
        self._db.backup(target)
        target.close()
        self._db.close()
        self._db = _connect(str(path))
        self._db.execute("BEGIN")
        self.path = path

    @classmethod
    def reader(cls, path: Path) -> "SummaryTable":
        """A read-only view of a finished table's file (in another process); :meth:`add` is not available."""
        table = cls.__new__(cls)
        table._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        table._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        table._rows, table._contained, table.path = [], [], path
        table.count = table._db.execute("SELECT COUNT(*) FROM summary").fetchone()[0]
        table.keys = KeySet(table._db)
        return table

    def add(self, summary: Summary) -> None:
        self._add_row(summary.to_row())

    def add_prepared(self, prepared) -> int:
        """Add the summary of a :class:`~interop.normalize.prepared.PreparedItem` (its reference lists come
        packed from the worker, so no :class:`Summary` is built here); returns its ``seq``."""
        seq = self.count
        self._add_row((seq, prepared.key, prepared.rtype, prepared.file, prepared.entry, prepared.path,
                       prepared.version, prepared.last_updated, prepared.sha256, prepared.links, prepared.indirect,
                       prepared.references))
        return seq

    def _add_row(self, row: tuple) -> None:
        self._rows.append(row)
        self.count += 1
        if len(self._rows) >= INSERT_BATCH:
            self._flush()

    def add_contained(self, key: str) -> None:
        self._contained.append((key,))

    def _flush(self) -> None:
        self._db.executemany(f"INSERT INTO summary ({_COLUMNS}) VALUES ({', '.join('?' * 12)})", self._rows)
        self._db.executemany("INSERT INTO contained (key) VALUES (?)", self._contained)
        self._rows.clear()
        self._contained.clear()

    def finish(self) -> None:
        """End of reading: write what is buffered and index the keys (one sort, faster than a live index)."""
        self._flush()
        self._db.execute("COMMIT")
        self._db.execute("CREATE INDEX summary_key ON summary (key)")
        self._db.execute("CREATE INDEX contained_key ON contained (key)")
        self.keys = KeySet(self._db)

    def repeated_keys(self) -> Iterator[list[Summary]]:
        """All copies of each key read more than once: keys in order of first reading, copies in reading order."""
        rows = self._db.execute(
            f"SELECT {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))} FROM summary AS s "
            "JOIN (SELECT key, MIN(seq) AS first FROM summary GROUP BY key HAVING COUNT(*) > 1) AS d "
            "ON s.key = d.key ORDER BY d.first, s.seq")
        for _key, copies in groupby(map(Summary.from_row, rows), key=lambda s: s.key):
            yield list(copies)

    def links_in_order(self) -> Iterator[Links]:
        """The key, type and link references of every summary in reading order (lighter than :meth:`in_order`)."""
        for seq, key, rtype, links, indirect in self._db.execute(
                "SELECT seq, key, rtype, links, indirect FROM summary ORDER BY seq"):
            yield Links(seq, key, rtype, _unpack(links), _unpack(indirect))

    def in_order(self, start: int = 0, stop: int | None = None) -> Iterator[Summary]:
        """The summaries with ``start <= seq < stop`` (default: all) in reading order (streamed)."""
        stop = self.count if stop is None else stop
        for row in self._db.execute(f"SELECT {_COLUMNS} FROM summary WHERE seq >= ? AND seq < ? ORDER BY seq",
                                    (start, stop)):
            yield Summary.from_row(row)

    def keys_of_type(self, rtype: str) -> list[str]:
        """The distinct keys of one resource type, sorted."""
        return self.keys_of_types((rtype,))

    def keys_of_types(self, rtypes) -> list[str]:
        """The distinct keys of the given resource types, sorted."""
        rtypes = tuple(rtypes)
        query = f"SELECT DISTINCT key FROM summary WHERE rtype IN ({', '.join('?' * len(rtypes))}) ORDER BY key"
        return [key for (key,) in self._db.execute(query, rtypes)]

    def first_of(self, key: str) -> Summary | None:
        """The first-read copy of ``key`` (the kept one when the key was read once)."""
        row = self._db.execute(f"SELECT {_COLUMNS} FROM summary WHERE key = ? ORDER BY seq LIMIT 1",
                               (key,)).fetchone()
        return Summary.from_row(row) if row else None

    def close(self) -> None:
        self._db.close()
