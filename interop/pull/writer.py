"""De-duplicated resources (across pages, patients and modes) written as one NDJSON file per type.

The same resource can arrive several times (a page boundary moved, ``$everything`` and a type search, a bulk
file and a fill search). One copy is kept per ``Type/id``: the newest by ``meta.versionId`` (numeric when it is),
then ``meta.lastUpdated``; on a tie the first copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson


def version_key(resource: dict) -> tuple:
    """Sort key of a resource's version: (numeric versionId, versionId text, lastUpdated)."""
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    version = str(meta.get("versionId") or "")
    return (int(version) if version.isdigit() else -1, version, str(meta.get("lastUpdated") or ""))


@dataclass
class ResourceStore:
    """Kept resources by ``(type, id)``, with where each came from (``bulk``, ``everything``, ``search:<Type>``)."""

    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    duplicates: int = 0

    def add(self, resource: dict, source: str) -> bool:
        """Keep ``resource`` unless a copy at least as new is kept; True when it was new (not a duplicate)."""
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str):
            return False
        key = (rtype, rid)
        kept = self.resources.get(key)
        if kept is not None:
            self.duplicates += 1
            if version_key(resource) > version_key(kept):
                self.resources[key] = resource
            return False
        self.resources[key] = resource
        self.sources[key] = source
        return True

    def has(self, rtype: str, rid: str) -> bool:
        return (rtype, rid) in self.resources

    def of_type(self, rtype: str) -> list[dict]:
        return [r for (t, _), r in self.resources.items() if t == rtype]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for rtype, _ in self.resources:
            out[rtype] = out.get(rtype, 0) + 1
        return dict(sorted(out.items()))

    def count_from(self, prefix: str) -> dict[str, int]:
        """Kept resources per type whose first copy came from a source starting with ``prefix``."""
        out: dict[str, int] = {}
        for (rtype, _), source in self.sources.items():
            if source.startswith(prefix):
                out[rtype] = out.get(rtype, 0) + 1
        return dict(sorted(out.items()))


def write_ndjson(store: ResourceStore, out: Path) -> dict[str, tuple[str, int]]:
    """Write ``<Type>.ndjson`` per type into ``out`` (sorted by id, so reruns give identical files).

    Each file is written beside its final name and renamed into place. Returns type -> (file name, count).
    """
    out.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[dict]] = {}
    for (rtype, _), resource in store.resources.items():
        by_type.setdefault(rtype, []).append(resource)
    written = {}
    for rtype in sorted(by_type):
        rows = sorted(by_type[rtype], key=lambda r: r["id"])
        name = f"{rtype}.ndjson"
        tmp = out / f".{name}.tmp"
        with tmp.open("wb") as handle:
            for resource in rows:
                handle.write(orjson.dumps(resource) + b"\n")
        os.replace(tmp, out / name)
        written[rtype] = (name, len(rows))
    return written
