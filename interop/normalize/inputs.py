"""The one entry point from FHIR files to per-patient records: :func:`open_inputs` -> :class:`Ingest`.

Usage (the pipeline)::

    from interop.normalize.inputs import open_inputs

    with open_inputs([Path("export/")], timezone=study.site.timezone) as ingest:
        for record in ingest.subjects():        # SubjectRecord, sorted by patient key; picklable
            ...                                 # per-patient work (a process pool is fine)
        ingest.issues                           # list[Issue]: FHIR001..FHIR026 (codes in interop/codes.py)
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
   patient keys, sized to about ``spill_after`` resources), with their references to shared resources
   (:func:`place`). A spilled input is placed by ``workers`` processes, one range of it each
   (:func:`place_range`); what they report is merged in reading order, so the result does not depend on
   ``workers``. :meth:`Ingest.subjects` yields the records partition by partition;
   :meth:`Ingest.record_jobs` hands the partitions to an engine, whose workers build the records. Memory
   grows with one partition (at least the largest patient) and with the number of patients (a few dozen
   bytes each), not with the number of resources.

Known limit: a single JSON file (e.g. one huge Bundle) is parsed whole; NDJSON is read line by line.
"""

from __future__ import annotations

import gc
import pickle
import shutil
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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
from interop.normalize.prepared import prepared_items, settle_references
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
OFFSET_EVERY = 10_000              # spilled lines between two recorded offsets (the grain of placement ranges)
PLACEMENT_JOBS_PER_WORKER = 4
SUMMARY_FILE = "summaries.sqlite"  # the summary table once the input spills (read by the placement workers)


class _SpillList:
    """Encoded resources (``bytes``, one per line) kept in memory up to ``limit``; past it, all of them (the
    ones in memory first) are in a file, with the byte offset of every :data:`OFFSET_EVERY`-th line so that
    workers can each read a range of it."""

    def __init__(self, limit: int, folder_factory):
        self.limit = limit
        self.folder_factory = folder_factory
        self.memory: list[bytes] = []
        self.handle = None
        self.path: Path | None = None
        self.count = 0
        self.offsets: list[int] = []     # offsets[i]: where line i * OFFSET_EVERY starts

    def append(self, encoded: bytes) -> None:
        if self.handle is None and len(self.memory) < self.limit:
            self.memory.append(encoded)
            self.count += 1
            return
        if self.handle is None:
            self.path = self.folder_factory() / "read.ndjson"
            self.handle = open(self.path, "wb")
            held, self.memory, self.count = self.memory, [], 0
            for line in held:
                self._write(line)
        self._write(encoded)

    def _write(self, encoded: bytes) -> None:
        if self.count % OFFSET_EVERY == 0:
            self.offsets.append(self.handle.tell())
        self.handle.write(encoded + b"\n")
        self.count += 1

    @property
    def spilled(self) -> bool:
        return self.handle is not None

    def finish(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def chunks(self, parts: int) -> list[tuple[int, int, int]]:
        """``(start, stop, byte offset)`` of about ``parts`` consecutive line ranges of the spilled file."""
        step = max(1, -(-len(self.offsets) // max(parts, 1))) * OFFSET_EVERY
        return [(start, min(start + step, self.count), self.offsets[start // OFFSET_EVERY])
                for start in range(0, self.count, step)]


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
    _partitions: list = field(default_factory=list)   # per partition: a list of entries, or its files (tuple)
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
            if isinstance(partition, tuple):
                yield PartitionJob(partition, builder)
            else:
                records = builder.build_all(partition)
                for start in range(0, len(records), batch):
                    yield BuiltRecords(records[start:start + batch])

    def close(self) -> None:
        """Remove the spill files (and the work folder if this run created it)."""
        _remove_spill(self._workdir, own=self._own_workdir)

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
    """The records of one spilled partition (its files), built when :meth:`records` runs (in a worker,
    typically)."""

    paths: tuple[Path, ...]
    builder: RecordBuilder

    def records(self) -> list[SubjectRecord]:
        with gc_paused():
            return self.builder.build_all(entry for path in self.paths for entry in _load_partition(path))


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
    options, pending_local = site_clock_options(zone, limits)
    for item in read_inputs(list(paths), options):
        local_times = tuple(pending_local)
        pending_local.clear()
        yield item, local_times


def site_clock_options(zone: ZoneInfo, limits: Limits) -> tuple[ReadOptions, list[str]]:
    """Reader options that move every dateTime/instant onto the site clock, and the list into which the
    element paths of those without a UTC offset are noted (the caller takes and clears it after each item)."""
    pending_local: list[str] = []

    def on_datetime(value: str, kind: str, path: str) -> str:
        converted, had_offset = convert_to_site_clock(value, zone)
        if not had_offset:
            pending_local.append(path)
        return converted

    return ReadOptions(limits=limits, on_datetime=on_datetime), pending_local


def group_inputs(items: Iterable[tuple[ReadItem, LocalTimes]], *, timezone: str, workdir: Path | None = None,
                 spill_after: int = DEFAULT_SPILL_AFTER, validate_models: bool = False, workers: int = 1) -> Ingest:
    """Steps 2 and 3 (decide, group) over items read by :func:`read_on_site_clock` (in input order).

    The items may come from another reader of the same files (the Spark engine reads NDJSON in its
    executors): the result depends only on the items and their order, not on ``workers`` (the processes
    that place a spilled input's resources into partitions, step 3).
    """
    with gc_paused():   # the reading and grouping build acyclic data only (see gc_paused)
        return _group_inputs(items, timezone=timezone, workdir=workdir, spill_after=spill_after,
                             validate_models=validate_models, workers=workers)


def _group_inputs(items: Iterable[tuple[ReadItem, LocalTimes]], *, timezone: str, workdir: Path | None,
                  spill_after: int, validate_models: bool, workers: int) -> Ingest:
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
            if pending_local:
                local_times.setdefault(item.file, [0, item.key, _join_path(item.path, pending_local[0])])
                local_times[item.file][0] += len(pending_local)
            table.add_prepared(item)
            store.append(item.encoded)
            if store.spilled and table.path is None:   # big input: the table moves to a file workers can read
                table.move_to(folder() / SUMMARY_FILE)
            if item.full_url:
                resolver.aliases.setdefault(item.full_url, item.key)
                base = full_url_base(item.full_url)
                if base:
                    resolver.bases.add(base)
            for cid in item.contained_ids:
                table.add_contained(f"{item.key}#{cid}")
        table.finish()
        store.finish()
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
        ownership, counts = compute_ownership(table, kept_of_repeated, resolver)
        shared_keys = frozenset(table.keys_of_types(SHARED_TYPES))
        table.keys.known = ownership.patients | shared_keys
        patient_keys = sorted(ownership.patients)
        rules = PlacementRules(ownership, _partition_patients(patient_keys, counts, spill_after), shared_keys,
                               {s.seq: (status, reason) for s, status, reason, _ in dropped})
        if store.spilled:
            partitions, shared, orphans = _place_spilled(store, table, resolver, rules, issues, inventory, workers)
        else:
            partitions, shared, orphans = _place_in_memory(store, table, resolver, rules, issues, inventory)
        return Ingest(issues=issues, inventory=inventory, shared=shared, orphans=orphans, patient_keys=patient_keys,
                      _partitions=partitions, _workdir=state["workdir"] if state["own"] or store.spilled else None,
                      _own_workdir=state["own"])
    except BaseException:
        _remove_spill(state["workdir"], own=state["own"])   # open files can go: the finally closes them
        raise
    finally:
        table.close()
        store.finish()


def _remove_spill(workdir: Path | None, *, own: bool) -> None:
    """Remove what a failed run spilled: the folder it created, or its files in the caller's folder."""
    if workdir is None:
        return
    if own:
        shutil.rmtree(workdir, ignore_errors=True)
        return
    for pattern in ("partition-*.ndjson", "placed-*.pickle"):
        for path in Path(workdir).glob(pattern):
            path.unlink(missing_ok=True)
    for name in ("read.ndjson", SUMMARY_FILE):
        (Path(workdir) / name).unlink(missing_ok=True)


@dataclass(slots=True)
class PlacementRules:
    """What step 3 needs besides a resource's summary: owners, partitions, shared keys, dropped copies."""

    ownership: "Ownership"
    partition_of: dict[str, int]
    shared_keys: frozenset[str]
    dropped_by_seq: dict[int, tuple[str, str]]

    @property
    def partitions(self) -> int:
        return max(self.partition_of.values(), default=-1) + 1


@dataclass(slots=True)
class Placed:
    """Where one resource goes (step 3): its inventory entry, its issues, and its destination."""

    entry: InventoryEntry
    issues: list[Issue]
    kind: str                        # dropped | kept | shared | orphan
    source: SourceRef | None = None
    encoded: bytes = b""
    partition: int | None = None
    line: bytes = b""                # kept: the partition line [owner, source, resource, shared refs]
    shared_refs: tuple[str, ...] = ()


def place(summary: Summary, encoded: bytes, resolver: ReferenceResolver, rules: PlacementRules) -> Placed:
    """Settle one resource's references and decide where it goes (pure apart from key lookups)."""
    ownership = rules.ownership
    if summary.seq in rules.dropped_by_seq:
        status, reason = rules.dropped_by_seq[summary.seq]
        return Placed(_entry(summary, ownership.owner_of_key(summary.key), status, reason), [], "dropped")
    encoded, unresolved, targets = settle_references(summary.references, summary.key, encoded, resolver)
    issues = [issue(codes.FHIR011, f"reference {ref[:120]!r} does not resolve",
                    Location(file=summary.file, entry=summary.entry, resource=summary.key,
                             element=_join_path(summary.path, path))) for path, ref in unresolved]
    source = SourceRef(summary.file, summary.entry, summary.key, summary.version,
                       None if summary.version else summary.sha256, summary.path)
    owner = ownership.owner_of_kept(summary)
    if owner is not None:
        shared_refs = tuple(t for t in targets if t.split("#", 1)[0] in rules.shared_keys)
        # the line [owner, source, resource, shared refs], composed without decoding the resource
        line = (b"[" + orjson.dumps(owner) + b"," + orjson.dumps(_source_tuple(source)) + b"," + encoded + b","
                + orjson.dumps(shared_refs) + b"]\n")
        return Placed(_entry(summary, owner, "kept", None), issues, "kept", source, encoded,
                      rules.partition_of[owner], line, shared_refs)
    if summary.rtype in SHARED_TYPES:
        return Placed(_entry(summary, None, "shared", None), issues, "shared", source, encoded)
    reason = _orphan_reason(summary, resolver)
    issues.append(issue(codes.FHIR015, f"{summary.key} {reason}",
                        Location(file=summary.file, entry=summary.entry, resource=summary.key)))
    return Placed(_entry(summary, None, "orphan", reason), issues, "orphan", source, encoded)


def _place_in_memory(store: "_SpillList", table: SummaryTable, resolver: ReferenceResolver, rules: PlacementRules,
                     issues: list[Issue], inventory: Inventory):
    """Step 3 for an input held in memory: partitions are lists of ``(owner, resource, shared refs)``."""
    partitions: list = [[] for _ in range(rules.partitions)]
    shared: dict[str, Resource] = {}
    orphans: dict[str, Resource] = {}
    for encoded, summary in zip(store.memory, table.in_order(), strict=True):
        placed = place(summary, encoded, resolver, rules)
        inventory.add(placed.entry)
        issues.extend(placed.issues)
        if placed.kind == "kept":
            resource = Resource(orjson.loads(placed.encoded), placed.source)
            partitions[placed.partition].append((placed.entry.patient, resource, placed.shared_refs))
        elif placed.kind in ("shared", "orphan"):
            (shared if placed.kind == "shared" else orphans)[summary.key] = Resource(orjson.loads(placed.encoded),
                                                                                     placed.source)
    return partitions, shared, orphans


@dataclass(frozen=True, slots=True)
class PlacementJob:
    """One range of a spilled input for :func:`place_range` (picklable: runs in a worker process)."""

    spill: Path
    table: Path
    start: int
    stop: int
    offset: int
    chunk: int
    aliases: dict[str, str]
    bases: frozenset[str]
    known: frozenset[str]
    rules: PlacementRules


@dataclass(slots=True)
class PlacedRange:
    """What :func:`place_range` gives back: the file of its inventory entries and issues (batches in reading
    order; a range is too big to send back whole), its shared and orphan resources (few), and the partition
    files it wrote (partition number -> file)."""

    placed: Path
    kept_apart: list[tuple[str, str, SourceRef, bytes]]   # (kind, key, source, encoded) of shared and orphans
    files: dict[int, Path]

    def batches(self) -> Iterator[tuple[list[InventoryEntry], list[Issue]]]:
        """The ``(entries, issues)`` batches of the range, in reading order; the file is removed after."""
        with open(self.placed, "rb") as handle:
            while True:
                try:
                    yield pickle.load(handle)
                except EOFError:
                    break
        self.placed.unlink(missing_ok=True)


PLACED_BATCH = 10_000     # resources per (entries, issues) batch a placement worker writes


def place_range(job: PlacementJob) -> PlacedRange:
    """Step 3 over one range of the spilled input: each partition's lines go to
    ``partition-<partition>-<chunk>.ndjson`` beside the spill file, entries and issues to
    ``placed-<chunk>.pickle`` in batches (so memory does not grow with the range)."""
    table = SummaryTable.reader(job.table)
    table.keys.known = job.known
    resolver = ReferenceResolver(table.keys, job.aliases, set(job.bases))
    rules = replace(job.rules, ownership=replace(job.rules.ownership, resolver=resolver, table=table))
    out = PlacedRange(job.spill.parent / f"placed-{job.chunk:05d}.pickle", [], {})
    handles: dict[int, object] = {}
    entries: list[InventoryEntry] = []
    issues: list[Issue] = []
    try:
        with gc_paused(), open(job.spill, "rb") as spill, open(out.placed, "wb") as placed_file:
            spill.seek(job.offset)
            for summary in table.in_order(job.start, job.stop):
                placed = place(summary, spill.readline()[:-1], resolver, rules)
                entries.append(placed.entry)
                issues.extend(placed.issues)
                if len(entries) >= PLACED_BATCH:
                    pickle.dump((entries, issues), placed_file, protocol=pickle.HIGHEST_PROTOCOL)
                    entries, issues = [], []
                if placed.kind == "kept":
                    handle = handles.get(placed.partition)
                    if handle is None:
                        out.files[placed.partition] = job.spill.parent / \
                            f"partition-{placed.partition:05d}-{job.chunk:05d}.ndjson"
                        handle = handles[placed.partition] = open(out.files[placed.partition], "wb")
                    handle.write(placed.line)
                elif placed.kind in ("shared", "orphan"):
                    out.kept_apart.append((placed.kind, summary.key, placed.source, placed.encoded))
            pickle.dump((entries, issues), placed_file, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for handle in handles.values():
            handle.close()
        table.close()
    return out


def _place_spilled(store: "_SpillList", table: SummaryTable, resolver: ReferenceResolver, rules: PlacementRules,
                   issues: list[Issue], inventory: Inventory, workers: int):
    """Step 3 for a spilled input: ranges of it placed by ``workers`` processes (this one when 1), each writing
    its own partition files; entries, issues and shared resources merged back in reading order."""
    from interop.engines.local import ordered_map   # the engines' pool; not at the top (engines import this)

    shipped = replace(rules, ownership=rules.ownership.shipped())
    jobs = [PlacementJob(store.path, table.path, start, stop, offset, chunk, dict(resolver.aliases),
                         frozenset(resolver.bases), table.keys.known, shipped)
            for chunk, (start, stop, offset) in enumerate(store.chunks(_placement_jobs(workers)))]
    files: list[list[Path]] = [[] for _ in range(rules.partitions)]
    shared: dict[str, Resource] = {}
    orphans: dict[str, Resource] = {}
    for placed in ordered_map(place_range, jobs, workers=workers, batch=1, window=2 * max(workers, 1)):
        for entries, batch_issues in placed.batches():
            for entry in entries:
                inventory.add(entry)
            issues.extend(batch_issues)
        for kind, key, source, encoded in placed.kept_apart:
            (shared if kind == "shared" else orphans)[key] = Resource(orjson.loads(encoded), source)
        for part, path in placed.files.items():
            files[part].append(path)
    return [tuple(paths) for paths in files], shared, orphans


def _placement_jobs(workers: int) -> int:
    """Ranges the spilled input is cut into: one in this process, a few per worker otherwise."""
    return 1 if workers <= 1 else PLACEMENT_JOBS_PER_WORKER * workers


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


@dataclass(slots=True)
class Ownership:
    """The patient each kept resource belongs to.

    Direct owners (the Patient itself, or the Patient a ``PATIENT_LINKS`` element refers to) are a pure
    function of the resource's summary, recomputed when asked; only the resources owned *indirectly* (through
    an ``INDIRECT_LINKS`` element pointing at an owned resource) and the patients are held in memory.
    ``resolver`` and ``table`` are live objects of the process using it (not shipped to workers).
    """

    patients: frozenset[str]
    indirect: dict[str, str]
    kept_of_repeated: dict[str, Summary]
    resolver: ReferenceResolver | None = None
    table: SummaryTable | None = None

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

    def owner_of_kept(self, summary: Summary) -> str | None:
        """The owner of a kept copy."""
        return self.direct_owner(summary) or self.indirect.get(summary.key)

    def owner_of_key(self, key: str) -> str | None:
        """The owner of whatever copy of ``key`` was kept (None when the key is unknown or unowned)."""
        if key in self.indirect:
            return self.indirect[key]
        kept = self.kept_of_repeated.get(key) or self.table.first_of(key)
        return self.direct_owner(kept) if kept is not None else None

    def shipped(self) -> "Ownership":
        """This ownership without its live objects (to send to a worker, which adds its own)."""
        return replace(self, resolver=None, table=None)


def compute_ownership(table: SummaryTable, kept_of_repeated: dict[str, Summary],
                      resolver: ReferenceResolver) -> tuple[Ownership, dict[str, int]]:
    """Every kept resource's owner, and the number of resources per patient (for sizing partitions)."""
    ownership = Ownership(frozenset(table.keys_of_type("Patient")), {}, kept_of_repeated, resolver, table)
    counts: dict[str, int] = defaultdict(int)
    unowned: list[Links | Summary] = []
    for summary in _kept_in_first_reading_order(table, kept_of_repeated):
        owner = ownership.direct_owner(summary)
        if owner is not None:
            counts[owner] += 1
        elif summary.rtype not in SHARED_TYPES:
            unowned.append(summary)
    _resolve_indirect(ownership, unowned)
    for owner in ownership.indirect.values():
        counts[owner] += 1
    return ownership, dict(counts)


def _kept_in_first_reading_order(table: SummaryTable, kept_of_repeated: dict[str, Summary]
                                 ) -> Iterator[Links | Summary]:
    """The kept copy of every key (its links), keys in the order they were first read."""
    seen_repeated: set[str] = set()
    for summary in table.links_in_order():
        kept = kept_of_repeated.get(summary.key)
        if kept is not None:
            if summary.key in seen_repeated:
                continue
            seen_repeated.add(summary.key)
            summary = kept
        yield summary


def _resolve_indirect(ownership: Ownership, unowned: list[Links | Summary]) -> None:
    """Owners through an owned resource (repeated until stable; chains are short)."""
    changed = True
    while changed:
        changed = False
        for summary in unowned:
            if summary.key in ownership.indirect:
                continue
            for ref in summary.indirect + summary.links:
                target, found = ownership.resolver.resolve(ref, summary.key)
                owner = ownership.owner_of_key(target.split("#", 1)[0]) if found else None
                if owner is not None:
                    ownership.indirect[summary.key] = owner
                    changed = True
                    break


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
