"""The one entry point from FHIR files to per-patient records: :func:`open_inputs` -> :class:`Ingest`.

Usage (the pipeline)::

    from interop.normalize.inputs import open_inputs

    with open_inputs([Path("export/")], timezone=study.site.timezone) as ingest:
        for record in ingest.subjects():        # SubjectRecord, sorted by patient key; picklable
            ...                                 # per-patient work (a process pool is fine)
        ingest.issues                           # list[Issue]: FHIR001..FHIR022 (codes in interop/codes.py)
        ingest.inventory                        # Inventory: one entry per input resource (reconciliation)
        ingest.shared                           # dict key -> Resource: Medication, Organization, ...

What happens, in three steps:

1. **Read** (``interop.ingest``): every input resource is streamed, checked against the R4 structure
   and repaired (bad elements dropped and reported); dateTime/instant values with an offset are moved
   onto the site's clock (``interop.normalize.dates``); then prepared (``interop.normalize.prepared``:
   key, summary, references in canonical form where their form decides it, JSON encoding). The local
   and Spark engines do this in their workers (``interop.engines.reading``). Encoded resources are kept
   in memory up to ``spill_after``, then spilled to an NDJSON file in the work folder; the summaries,
   the key set and the inventory are rows of temporary SQLite databases
   (``interop.normalize.summaries``), so memory does not grow with the number of resources.
2. **Decide**: duplicates (same key; same versionId/lastUpdated or same content) are kept once, older
   versions are superseded by newer ones (versionId, else lastUpdated); each dropped copy is reported
   (FHIR012/013/014) and listed in the inventory. Each kept resource gets its owner: the Patient it
   refers to through ``patient``/``subject``/``beneficiary``/``individual``/``for`` (Consent.patient,
   ResearchSubject.individual, Coverage.beneficiary...), else the owner of the resource it refers to
   through ``encounter``/``context``/``basedOn``/``partOf``/``request``/``target``/``focus``; shared
   reference data (:data:`SHARED_TYPES`) has no owner; anything else is an orphan (FHIR015).
3. **Group**: references are settled to canonical keys (``settle_references``; FHIR011 when they do not
   resolve) and each patient's resources are written to a partition (a contiguous range of sorted
   patient keys, sized to about ``spill_after`` resources), with their references to shared resources.
   :meth:`Ingest.subjects` yields the records partition by partition; :meth:`Ingest.record_jobs` hands
   the partitions to an engine, whose workers build the records. Memory grows with one partition (at
   least the largest patient) and with the number of patients (a few dozen bytes each), not the input.

Known limit: a single JSON file (e.g. one huge Bundle) is parsed whole; NDJSON is read line by line.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from cdisc.issues import ConversionError, Issue, Location, issue
from interop import codes
from interop.ingest.readers import ReadItem, ReadOptions, read_inputs
from interop.ingest.validate import Limits
from interop.normalize.dates import convert_to_site_clock, to_instant
from interop.normalize.inventory import Inventory, InventoryEntry
from interop.normalize.record import Resource, SourceRef, SubjectRecord
from interop.normalize.prepared import INDIRECT_LINKS, PATIENT_LINKS, prepared_items, settle_references
from interop.normalize.summaries import Links, Summary, SummaryTable
from interop.normalize.references import ReferenceResolver, full_url_base

# Reference data used by many patients: never owned, reachable from every record's index.
SHARED_TYPES = frozenset({
    "Medication", "Organization", "Practitioner", "PractitionerRole", "Location", "Questionnaire",
    "ResearchStudy", "Group", "Substance", "Device", "HealthcareService", "Endpoint", "ValueSet",
    "CodeSystem", "ConceptMap", "StructureDefinition", "PlanDefinition", "ActivityDefinition", "Library",
    "MedicationKnowledge", "SearchParameter", "OperationDefinition", "CapabilityStatement", "NamingSystem",
})

DEFAULT_SPILL_AFTER = 50_000


class _SpillList:
    """Encoded resources (``bytes``, one per line) kept in memory up to ``limit``, then appended to a file."""

    def __init__(self, limit: int, folder_factory):
        self.limit = limit
        self.folder_factory = folder_factory
        self.memory: list[bytes] = []
        self.handle = None
        self.path: Path | None = None

    def append(self, encoded: bytes) -> None:
        if self.handle is None and len(self.memory) < self.limit:
            self.memory.append(encoded)
            return
        if self.handle is None:
            self.path = self.folder_factory() / "read.ndjson"
            self.handle = open(self.path, "wb")
        self.handle.write(encoded + b"\n")

    @property
    def spilled(self) -> bool:
        return self.handle is not None

    def __iter__(self) -> Iterator[bytes]:
        yield from self.memory
        if self.handle is not None:
            self.handle.flush()
            with open(self.path, "rb") as handle:
                for line in handle:
                    yield line[:-1]


def _version_rank(summary: Summary) -> tuple:
    """Sort key of a copy's version: numeric versionId, else lastUpdated (UTC)."""
    version = summary.version
    numeric = int(version) if isinstance(version, str) and version.isdigit() else None
    instant = to_instant(summary.last_updated)
    return (numeric is not None, numeric or 0, instant is not None, instant.timestamp() if instant else 0.0)


@dataclass(slots=True)
class Ingest:
    """The normalised inputs of one run. Create it with :func:`open_inputs`; close it (or use ``with``)
    to remove the spill files.

    Attributes
    ----------
    issues
        Every problem found while reading, deduplicating, resolving and grouping.
    inventory
        One :class:`~interop.normalize.inventory.InventoryEntry` per input resource.
    shared
        Shared reference resources (Medication, Organization, Questionnaire...) by canonical key.
    orphans
        Kept resources that belong to no patient and are not shared, by canonical key.
    patient_keys
        The canonical keys of the patients, in the order :meth:`subjects` yields them.
    """

    issues: list[Issue]
    inventory: Inventory
    shared: dict[str, Resource]
    orphans: dict[str, Resource]
    patient_keys: list[str]
    _partitions: list = field(default_factory=list)   # list of list[Resource] or Path
    _workdir: Path | None = None
    _own_workdir: bool = False

    def subjects(self) -> Iterator[SubjectRecord]:
        """Yield one :class:`SubjectRecord` per Patient, sorted by patient key (re-iterable)."""
        for job in self.record_jobs():
            yield from job.records()

    def record_jobs(self, batch: int = 8) -> Iterator["RecordJob"]:
        """The records as picklable jobs, in patient-key order, for an engine to build and use where it runs them.

        A spilled partition is one job that names its file: the worker reads it and builds the records, so the
        main process neither parses it nor pickles records. Partitions held in memory (small inputs) are built
        here and handed out ``batch`` records per job.
        """
        builder = RecordBuilder(self.shared)
        for partition in self._partitions:
            if isinstance(partition, Path):
                yield PartitionJob(partition, builder)
            else:
                records = builder.build_all(partition)
                for start in range(0, len(records), batch):
                    yield BuiltRecords(records[start:start + batch])

    def close(self) -> None:
        """Remove the spill files (and the work folder if this run created it)."""
        if self._workdir is None:
            return
        if self._own_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        else:
            for partition in self._partitions:
                if isinstance(partition, Path):
                    partition.unlink(missing_ok=True)
            (self._workdir / "read.ndjson").unlink(missing_ok=True)

    def __enter__(self) -> "Ingest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# (patient key, resource, its references to shared resources in walk order): one entry of a partition
OwnedResource = tuple[str, Resource, tuple[str, ...]]


@dataclass(slots=True)
class RecordBuilder:
    """Builds :class:`SubjectRecord` objects from a patient's resources and the run's shared resources.

    Picklable: an engine sends it with a :class:`PartitionJob` so records are built in the worker.
    """

    shared: dict[str, Resource]
    _shared_refs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # shared key -> its references

    def build_all(self, owned: Iterable[OwnedResource]) -> list[SubjectRecord]:
        """The records of ``(owner, resource, shared references)`` entries, sorted by patient key."""
        by_patient: dict[str, list[tuple[Resource, tuple[str, ...]]]] = defaultdict(list)
        for owner, resource, shared_refs in owned:
            by_patient[owner].append((resource, shared_refs))
        return [self.build(patient_key, by_patient[patient_key]) for patient_key in sorted(by_patient)]

    def build(self, patient_key: str, entries: list[tuple[Resource, tuple[str, ...]]]) -> SubjectRecord:
        """One record from the patient's resources, each with its references to shared resources (in the
        order a depth-first walk of the resource meets them; noted by the grouping step, so the resource is
        not walked again here)."""
        entries.sort(key=lambda e: (e[0].key, e[0].source.file, e[0].source.entry or 0))
        patient = next(r for r, _ in entries if r.key == patient_key)
        record = SubjectRecord(patient=patient)
        for resource, _ in entries:
            if resource is not patient:
                record.resources.setdefault(resource.type, []).append(resource)
            _index(record.index, resource)
        # shared resources reachable from the record's resources (transitively)
        pending = [refs for _, refs in entries]
        while pending:
            for ref in pending.pop():
                target_key = ref.split("#", 1)[0]
                if ref in record.index:
                    continue
                shared = self.shared.get(target_key)
                if shared is not None and target_key not in record.index:
                    _index(record.index, shared)
                    pending.append(self._references_of_shared(shared))
        return record

    def _references_of_shared(self, resource: Resource) -> tuple[str, ...]:
        """The references inside a shared resource (walked once per builder, not per record)."""
        refs = self._shared_refs.get(resource.key)
        if refs is None:
            refs = self._shared_refs[resource.key] = tuple(references_in(resource.data))
        return refs


@dataclass(frozen=True, slots=True)
class PartitionJob:
    """The records of one spilled partition, built when :meth:`records` runs (in a worker, typically)."""

    path: Path
    builder: RecordBuilder

    def records(self) -> list[SubjectRecord]:
        with gc_paused():
            return self.builder.build_all(_load_partition(self.path))


@dataclass(frozen=True, slots=True)
class BuiltRecords:
    """Records already built (from a partition held in memory)."""

    built: list[SubjectRecord]

    def records(self) -> list[SubjectRecord]:
        return self.built


RecordJob = PartitionJob | BuiltRecords


def _index(index: dict[str, Resource], resource: Resource) -> None:
    """Add a resource and its contained resources (``key#id``) to an index."""
    index[resource.key] = resource
    for contained in resource.data.get("contained") or []:
        if isinstance(contained, dict) and isinstance(contained.get("id"), str):
            key = f"{resource.key}#{contained['id']}"
            source = resource.source
            index[key] = Resource(contained, SourceRef(source.file, source.entry, key, source.version,
                                                       source.sha256, source.path))


def references_in(data) -> Iterator[str]:
    """Every ``reference`` string inside ``data``, depth first (last child first)."""
    stack = [data]
    pop = stack.pop
    push = stack.append
    while stack:
        value = pop()
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str):
                yield ref
            for child in value.values():
                if isinstance(child, (dict, list)):
                    push(child)
        elif isinstance(value, list):
            for child in value:
                if isinstance(child, (dict, list)):
                    push(child)


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while bulk-loading parsed JSON (restoring its previous state).

    Parsed JSON and the records built from it hold no reference cycles, so the collector finds nothing
    in them; but every few hundred new dicts it runs, and its full passes re-scan everything already
    loaded, which made loading a partition quadratic-ish in its size (profiled: 4.3 s of 1,000 patients'
    records, 1.5 s without it). Memory is still freed by reference counting as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_partition(path: Path) -> Iterator[OwnedResource]:
    with open(path, "rb") as handle:
        for line in handle:
            owner, source, data, shared_refs = orjson.loads(line)
            yield owner, Resource(data, SourceRef(*source)), tuple(shared_refs)


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone, or a ConversionError (FHIR-side configuration problem) if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConversionError(issue(codes.FHIR024, f"unknown time zone {name!r}: {type(exc).__name__}")) from exc


def open_inputs(paths: Iterable[Path], *, timezone: str, workdir: Path | None = None,
                spill_after: int = DEFAULT_SPILL_AFTER, limits: Limits = Limits(),
                validate_models: bool = False) -> Ingest:
    """Read, check, deduplicate, resolve and group all FHIR inputs (see the module docstring).

    Parameters
    ----------
    paths
        Files or folders (JSON resource or Bundle, NDJSON, Bulk Data export folder, XML, their .gz).
    timezone
        The site's IANA time zone (``StudyDefinition.site.timezone``), e.g. ``"Asia/Shanghai"``.
    workdir
        Folder for spill files; a temporary folder is created (and removed by :meth:`Ingest.close`)
        when None and spilling is needed.
    spill_after
        Resources kept in memory before spilling to disk; also the target partition size.
    limits
        Nesting depth and string length limits of the structural check.
    validate_models
        Also validate each resource with the ``fhir.resources.R4B`` models (slow; FHIR022 issues).

    Returns
    -------
    Ingest
    """
    zone = load_zone(timezone)
    items = read_on_site_clock(paths, zone=zone, limits=limits)
    return group_inputs(items, timezone=timezone, workdir=workdir, spill_after=spill_after,
                        validate_models=validate_models)


LocalTimes = tuple[str, ...]   # element paths of one item whose dateTime had no UTC offset


def read_on_site_clock(paths: Iterable[Path], *, zone: ZoneInfo,
                       limits: Limits = Limits()) -> Iterator[tuple[ReadItem, LocalTimes]]:
    """Step 1 (read): every input item, checked and moved onto the site clock, with its local-time elements.

    Yields ``(item, local_times)``: ``local_times`` lists the elements of the item whose dateTime/instant had no
    UTC offset (taken as site local time; counted into FHIR008 by :func:`group_inputs`).
    """
    pending_local: list[str] = []

    def on_datetime(value: str, kind: str, path: str) -> str:
        converted, had_offset = convert_to_site_clock(value, zone)
        if not had_offset:
            pending_local.append(path)
        return converted

    for item in read_inputs(list(paths), ReadOptions(limits=limits, on_datetime=on_datetime)):
        local_times = tuple(pending_local)
        pending_local.clear()
        yield item, local_times


def group_inputs(items: Iterable[tuple[ReadItem, LocalTimes]], *, timezone: str, workdir: Path | None = None,
                 spill_after: int = DEFAULT_SPILL_AFTER, validate_models: bool = False) -> Ingest:
    """Steps 2 and 3 (decide, group) over items read by :func:`read_on_site_clock` (in input order).

    The items may come from another reader of the same files (the Spark engine reads NDJSON in its
    executors): the result depends only on the items and their order.
    """
    with gc_paused():   # the reading and grouping build acyclic data only (see gc_paused)
        return _group_inputs(items, timezone=timezone, workdir=workdir, spill_after=spill_after,
                             validate_models=validate_models)


def _group_inputs(items: Iterable[tuple[ReadItem, LocalTimes]], *, timezone: str, workdir: Path | None,
                  spill_after: int, validate_models: bool) -> Ingest:
    issues: list[Issue] = []
    inventory = Inventory()
    state = {"workdir": workdir, "own": False}

    def folder() -> Path:
        if state["workdir"] is None:
            state["workdir"] = Path(tempfile.mkdtemp(prefix="fhir-ingest-"))
            state["own"] = True
        Path(state["workdir"]).mkdir(parents=True, exist_ok=True)
        return Path(state["workdir"])

    local_times: dict[str, list] = {}     # file -> [count, first resource key, first element]
    store = _SpillList(spill_after, folder)
    table = SummaryTable()
    resolver = ReferenceResolver()
    try:
        for item, pending_local in prepared_items(items, validate_models=validate_models):
            issues.extend(item.issues)
            if isinstance(item, ReadItem):   # unreadable (or not a resource: a problem listing the inputs)
                if item.is_resource:
                    inventory.add(InventoryEntry(key=None, type=None, file=item.file, entry=item.entry,
                                                 path=item.path, patient=None, status="unreadable",
                                                 reason=item.issues[0].message if item.issues else "unreadable"))
                continue
            summary = Summary.of(table.count, item)
            if pending_local:
                local_times.setdefault(item.file, [0, summary.key, _join_path(item.path, pending_local[0])])
                local_times[item.file][0] += len(pending_local)
            table.add(summary)
            store.append(item.encoded)
            if item.full_url:
                resolver.aliases.setdefault(item.full_url, summary.key)
                base = full_url_base(item.full_url)
                if base:
                    resolver.bases.add(base)
            for cid in item.contained_ids:
                table.add_contained(f"{summary.key}#{cid}")
        table.finish()
        resolver.keys = table.keys

        for file, (count, key, path) in sorted(local_times.items()):
            issues.append(issue(codes.FHIR008, f"{count} dateTime value(s) without UTC offset in this file were "
                                               f"taken as site local time ({timezone})",
                                Location(file=file, resource=key, element=path)))
        kept_of_repeated, dropped = _choose_copies(table.repeated_keys())
        for summary, status, reason, info in dropped:
            issues.append(issue(info, f"{summary.key} {reason}",
                                Location(file=summary.file, entry=summary.entry, resource=summary.key,
                                         element=summary.path)))
        owners = _Owners(table, kept_of_repeated, resolver)
        shared_keys = frozenset(table.keys_of_types(SHARED_TYPES))
        table.keys.known = owners.patients | shared_keys
        partition_of = _partition_patients(owners.patient_keys, owners.resources_per_patient(), spill_after)
        return _write_partitions(store, table, owners, partition_of, shared_keys, dropped, resolver, issues,
                                 inventory, folder, state)
    finally:
        table.close()
        if store.handle is not None:
            store.handle.close()


def _write_partitions(store: "_SpillList", table: SummaryTable, owners: "_Owners", partition_of: dict[str, int],
                      shared_keys: frozenset[str], dropped: list, resolver: ReferenceResolver, issues: list[Issue],
                      inventory: Inventory, folder, state: dict) -> Ingest:
    """Step 3: rewrite references and put each kept resource in its patient's partition (or shared/orphans)."""
    n_partitions = max(partition_of.values(), default=-1) + 1
    spill = store.spilled
    partitions: list = [[] for _ in range(n_partitions)] if not spill else []
    handles = []
    if spill:
        base = folder()
        for i in range(n_partitions):
            path = base / f"partition-{i:05d}.ndjson"
            partitions.append(path)
            handles.append(open(path, "wb"))
    shared: dict[str, Resource] = {}
    orphans: dict[str, Resource] = {}
    dropped_by_seq = {s.seq: (status, reason) for s, status, reason, _ in dropped}
    try:
        for encoded, summary in zip(store, table.in_order(), strict=True):
            if summary.seq in dropped_by_seq:
                status, reason = dropped_by_seq[summary.seq]
                inventory.add(_entry(summary, owners.owner_of_key(summary.key), status, reason))
                continue
            encoded, unresolved, targets = settle_references(summary.references, summary.key, encoded, resolver)
            for path, ref in unresolved:
                issues.append(issue(codes.FHIR011, f"reference {ref[:120]!r} does not resolve",
                                    Location(file=summary.file, entry=summary.entry, resource=summary.key,
                                             element=_join_path(summary.path, path))))
            source = SourceRef(summary.file, summary.entry, summary.key, summary.version,
                               None if summary.version else summary.sha256, summary.path)
            owner = owners.owner_of_kept(summary)
            if owner is not None:
                inventory.add(_entry(summary, owner, "kept", None))
                part = partition_of[owner]
                shared_refs = tuple(t for t in targets if t.split("#", 1)[0] in shared_keys)
                if spill:   # the line [owner, source, resource, shared refs], composed without decoding the resource
                    handles[part].write(b"[" + orjson.dumps(owner) + b"," + orjson.dumps(_source_tuple(source))
                                        + b"," + encoded + b"," + orjson.dumps(shared_refs) + b"]\n")
                else:
                    partitions[part].append((owner, Resource(orjson.loads(encoded), source), shared_refs))
            elif summary.rtype in SHARED_TYPES:
                inventory.add(_entry(summary, None, "shared", None))
                shared[summary.key] = Resource(orjson.loads(encoded), source)
            else:
                reason = _orphan_reason(summary, resolver)
                inventory.add(_entry(summary, None, "orphan", reason))
                issues.append(issue(codes.FHIR015, f"{summary.key} {reason}",
                                    Location(file=summary.file, entry=summary.entry, resource=summary.key)))
                orphans[summary.key] = Resource(orjson.loads(encoded), source)
    finally:
        for handle in handles:
            handle.close()
    return Ingest(issues=issues, inventory=inventory, shared=shared, orphans=orphans,
                  patient_keys=owners.patient_keys, _partitions=partitions,
                  _workdir=state["workdir"] if state["own"] or spill else None, _own_workdir=state["own"])


def _choose_copies(repeated: Iterable[list[Summary]]):
    """(key -> kept copy, [(dropped copy, status, reason, code)]) over the copies of each key read more than once."""
    kept_of: dict[str, Summary] = {}
    dropped = []
    for copies in repeated:
        key = copies[0].key
        newest = max(_version_rank(c) for c in copies)
        candidates = [c for c in copies if _version_rank(c) == newest]
        kept = candidates[0]
        kept_of[key] = kept
        for copy in copies:
            if copy is kept:
                continue
            where = f"{kept.file}" + (f" entry {kept.entry}" if kept.entry is not None else "")
            if _version_rank(copy) != newest:
                shown = kept.version or kept.last_updated
                dropped.append((copy, "superseded", f"superseded by version {shown} ({where})", codes.FHIR013))
            elif copy.sha256 == kept.sha256 or (copy.version or copy.last_updated):
                dropped.append((copy, "duplicate", f"duplicate of {key} ({where})", codes.FHIR012))
            else:
                dropped.append((copy, "conflict", f"conflicting copy of {key} without version; "
                                                  f"the first ({where}) was kept", codes.FHIR014))
    return kept_of, dropped


class _Owners:
    """The patient each kept resource belongs to.

    Direct owners (the Patient itself, or the Patient a ``PATIENT_LINKS`` element refers to) are a pure
    function of the resource's summary, recomputed when asked; only the resources owned *indirectly* (through
    an ``INDIRECT_LINKS`` element pointing at an owned resource) and the patients are held in memory.
    """

    def __init__(self, table: SummaryTable, kept_of_repeated: dict[str, Summary], resolver: ReferenceResolver):
        self.table, self.kept_of_repeated, self.resolver = table, kept_of_repeated, resolver
        self.patient_keys = table.keys_of_type("Patient")
        self.patients = frozenset(self.patient_keys)
        self.indirect: dict[str, str] = {}
        self._direct_counts: dict[str, int] = defaultdict(int)
        unowned: list[Links | Summary] = []
        for summary in self._kept_in_first_reading_order():
            owner = self.direct_owner(summary)
            if owner is not None:
                self._direct_counts[owner] += 1
            elif summary.rtype not in SHARED_TYPES:
                unowned.append(summary)
        self._resolve_indirect(unowned)

    def _kept_in_first_reading_order(self) -> Iterator[Links | Summary]:
        """The kept copy of every key (its links), keys in the order they were first read."""
        seen_repeated: set[str] = set()
        for summary in self.table.links_in_order():
            kept = self.kept_of_repeated.get(summary.key)
            if kept is not None:
                if summary.key in seen_repeated:
                    continue
                seen_repeated.add(summary.key)
                summary = kept
            yield summary

    def direct_owner(self, summary: Links | Summary) -> str | None:
        if summary.rtype == "Patient":
            return summary.key
        if summary.rtype in SHARED_TYPES:
            return None
        for ref in summary.links:
            target = self.resolver.target(ref, summary.key)
            if target in self.patients:   # a patient key is always in the inputs: no need to ask the key set
                return target
        return None

    def _resolve_indirect(self, unowned: list[Links | Summary]) -> None:
        """Owners through an owned resource (repeated until stable; chains are short)."""
        changed = True
        while changed:
            changed = False
            for summary in unowned:
                if summary.key in self.indirect:
                    continue
                for ref in summary.indirect + summary.links:
                    target, found = self.resolver.resolve(ref, summary.key)
                    owner = self.owner_of_key(target.split("#", 1)[0]) if found else None
                    if owner is not None:
                        self.indirect[summary.key] = owner
                        changed = True
                        break

    def owner_of_kept(self, summary: Summary) -> str | None:
        """The owner of a kept copy."""
        return self.direct_owner(summary) or self.indirect.get(summary.key)

    def owner_of_key(self, key: str) -> str | None:
        """The owner of whatever copy of ``key`` was kept (None when the key is unknown or unowned)."""
        if key in self.indirect:
            return self.indirect[key]
        kept = self.kept_of_repeated.get(key) or self.table.first_of(key)
        return self.direct_owner(kept) if kept is not None else None

    def resources_per_patient(self) -> dict[str, int]:
        counts = dict(self._direct_counts)
        for owner in self.indirect.values():
            counts[owner] = counts.get(owner, 0) + 1
        return counts


def _partition_patients(patient_keys: list[str], counts: dict[str, int], size: int) -> dict[str, int]:
    """Patient key -> partition number: contiguous runs of sorted patients of about ``size`` resources."""
    partition_of, current, filled = {}, 0, 0
    for key in patient_keys:
        if filled and filled + counts.get(key, 0) > size:
            current, filled = current + 1, 0
        partition_of[key] = current
        filled += counts.get(key, 0)
    return partition_of


def _orphan_reason(summary: Summary, resolver: ReferenceResolver) -> str:
    for ref in summary.links:
        target, found = resolver.resolve(ref, summary.key)
        if target.startswith("Patient/") and not found:
            return f"refers to {target}, which is not in the input"
    return "refers to no patient and is not shared reference data"


def _entry(summary: Summary, patient: str | None, status: str, reason: str | None) -> InventoryEntry:
    return InventoryEntry(key=summary.key, type=summary.rtype, file=summary.file, entry=summary.entry,
                          path=summary.path, patient=patient, status=status, reason=reason)


def _source_tuple(source: SourceRef) -> tuple:
    return (source.file, source.entry, source.key, source.version, source.sha256, source.path)


def _join_path(prefix: str | None, path: str) -> str:
    return f"{prefix}.resource.{path}" if prefix else path
