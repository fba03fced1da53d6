"""One pull, start to end: :func:`run_pull` (options in, a Bulk-style folder and a :class:`PullResult` out).

Steps: select the patients (the study's ResearchSubjects, given ids/identifiers, or a Group's members) ->
fetch (Bulk ``$export`` or ``Patient/$everything``) -> keep only the selected patients' resources ->
fill the types the server left out with type searches (always for ``fill_types``, e.g. AdverseEvent) ->
fetch referenced shared resources (Medication, Organization...) -> write ``<Type>.ndjson`` + ``manifest.json``.

A failure stops the step it happens in; everything fetched so far is still written and the manifest says
``partial``. A Bulk export interrupted by a failure is resumed by the next run with the same options; an abort
(Ctrl-C) cancels it on the server (DELETE).
"""

from __future__ import annotations

import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import httpx
import orjson

from cdisc.issues import ConversionError, Issue, Location, Severity, issue, worst
from interop.pull import bulk, codes, rest
from interop.pull.auth import build_auth
from interop.pull.client import FhirClient
from interop.pull.config import ExportLevel, Mode, PullOptions
from interop.pull.manifest import ManifestFacts, build_manifest, describe_request, write_manifest
from interop.pull.scope import STUDY_TYPES, is_shared, patient_of, shared_references
from interop.pull.writer import ResourceStore, write_ndjson
from mappings.study import StudyDefinition, load_study

USER_AGENT = "fhir2cdisc-pull/0.1"


@dataclass
class PullProgress:
    """Callbacks for a progress display (all optional): a stage name, a unit total, one unit done, a status."""

    stage: Callable[[str], None] = lambda text: None
    total: Callable[[int], None] = lambda n: None
    advance: Callable[[], None] = lambda: None
    status: Callable[[str], None] = lambda text: None


@dataclass
class PullResult:
    out: Path
    manifest: Path
    counts: dict[str, int]
    patients: int
    partial: bool
    issues: list[Issue] = field(default_factory=list)

    @property
    def worst(self) -> Severity | None:
        return worst(self.issues)

    @property
    def failures(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]


@dataclass
class _Run:
    """Mutable state of one run (kept inside this module)."""

    options: PullOptions
    study: StudyDefinition
    client: FhirClient
    progress: PullProgress
    store: ResourceStore = field(default_factory=ResourceStore)
    patient_ids: list[str] = field(default_factory=list)
    selected: set[str] = field(default_factory=set)
    issues: list[Issue] = field(default_factory=list)
    partial: bool = False
    dropped_outside: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    request: str = ""
    transaction_time: str = ""
    status_url: str | None = None


def unique_issues(issues: list[Issue]) -> list[Issue]:
    """Issues once each (a warning repeated on every page of a search is reported once), order kept."""
    return list(dict.fromkeys(issues))


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def open_http(options: PullOptions, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The httpx client: TLS verified by default (or with the given CA bundle), timeouts, redirects followed."""
    verify: bool | ssl.SSLContext = options.verify
    if options.ca_bundle is not None:
        verify = ssl.create_default_context(cafile=str(options.ca_bundle))
    return httpx.Client(timeout=httpx.Timeout(options.timeout), verify=verify, follow_redirects=True,
                        transport=transport, headers={"User-Agent": USER_AGENT},
                        limits=httpx.Limits(max_connections=max(2, options.concurrency + 1)))


def check_options(options: PullOptions) -> None:
    """Refuse contradictory options (PULL013) before any request."""
    problems = []
    if not options.base.startswith(("http://", "https://")):
        problems.append("--base must be an http(s) URL")
    if options.level is ExportLevel.group and not options.group:
        problems.append("--level group needs --group")
    if options.count < 1 or options.concurrency < 1 or options.retry.attempts < 1:
        problems.append("--count, --concurrency and --retries must be at least 1")
    if problems:
        raise ConversionError(issue(codes.PULL013, "; ".join(problems)))


# ---- patients -------------------------------------------------------------------------------------------------
def select_patients(run: _Run) -> None:
    """Fill ``run.patient_ids`` (and keep the ResearchStudy and the selected patients' ResearchSubjects)."""
    options, client = run.options, run.client
    run.progress.stage("finding patients")
    research_study = None
    try:
        research_study = rest.find_research_study(client, run.study)
        run.store.add(research_study, "selection")
    except ConversionError as err:
        if err.issue.code != codes.PULL005.code or not (options.patients or options.identifiers or options.group):
            raise
    if options.group:
        ids = rest.group_patient_ids(client, options.group)
    elif options.patients or options.identifiers:
        ids = sorted(set(options.patients) | set(rest.find_patients_by_identifier(client, options.identifiers)))
    else:
        ids = []
    if research_study is not None:
        subjects = rest.find_research_subjects(client, research_study)
        if not ids and not options.group and not options.patients and not options.identifiers:
            ids = rest.subject_patient_ids(subjects)
        wanted = set(ids)
        for subject in subjects:
            if patient_of(subject) in wanted:
                run.store.add(subject, "selection")
    run.patient_ids = ids
    if not ids:
        run.issues.append(issue(codes.PULL006, f"no patients selected for study {run.study.key}"))


def keep_resource(run: _Run, resource: dict, source: str) -> bool:
    """Add a resource if it belongs to a selected patient (or to none: shared/indirect); count the others."""
    owner = patient_of(resource)
    if owner is not None and owner not in run.selected:
        run.dropped_outside += 1
        return False
    return run.store.add(resource, source)


# ---- bulk -----------------------------------------------------------------------------------------------------
def pull_bulk(run: _Run, types: tuple[str, ...]) -> None:
    """Kick off (or resume) the export, poll, download, and keep the selected patients' resources."""
    options, client = run.options, run.client
    path = bulk.kickoff_path(options.level, options.group)
    params = bulk.kickoff_params(options, types)
    run.request = describe_request(options, path, params)
    state = bulk.load_state(options.out, run.request)
    if state is None or not state.status_url:
        state = bulk.ExportState(run.request)
    else:
        run.issues.append(issue(codes.PULL011, "resuming the export started by an earlier run"))
    folder = options.out / bulk.STATE_DIR / "files"
    while state.manifest is None:
        if not state.status_url:
            run.progress.stage("starting export")
            state.status_url = bulk.start_export(client, path, params)
            bulk.save_state(options.out, state)
        run.status_url = state.status_url
        run.progress.stage("waiting for export")
        manifest = bulk.poll_export(client, state.status_url, max_wait=options.poll_max_wait,
                                    default_delay=options.poll_default_delay, on_progress=run.progress.status)
        if manifest is None:
            run.issues.append(issue(codes.PULL015, "the server no longer knows the earlier export"))
            state = bulk.ExportState(run.request)
            continue
        state.manifest = manifest
        bulk.save_state(options.out, state)
    run.status_url = state.status_url
    run.transaction_time = str(state.manifest.get("transactionTime") or utc_now())
    run.progress.stage("downloading")
    run.progress.total(len(state.manifest.get("output") or []) + len(state.manifest.get("error") or []))
    files, issues = bulk.download_outputs(client, state, folder, options.out, concurrency=options.concurrency,
                                          on_file=lambda name: run.progress.advance())
    run.issues.extend(issues)
    run.issues.extend(bulk.read_error_files(state, folder))
    if any(i.code == codes.PULL007.code for i in issues):
        run.partial = True
    shared: dict[tuple[str, str], dict] = {}
    for file in files:
        read_ndjson_into(run, file, shared)
    keep_referenced_shared(run, shared)


def keep_referenced_shared(run: _Run, shared: dict[tuple[str, str], dict]) -> None:
    """Keep the exported shared resources (Medication, Organization...) that kept resources refer to.

    A system- or Group-level export holds reference data of the whole server; only what the selected patients'
    resources point to (directly or through other kept shared resources) is kept.
    """
    while True:
        wanted = [k for k in shared_references(run.store.resources.values()) if k in shared]
        if not wanted:
            return
        for key in wanted:
            run.store.add(shared.pop(key), "bulk")


def read_ndjson_into(run: _Run, file: Path, shared: dict[tuple[str, str], dict]) -> None:
    """Keep each resource of a downloaded NDJSON file (bad lines reported as PULL014); shared ones aside."""
    with file.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                resource = orjson.loads(line)
            except orjson.JSONDecodeError:
                run.issues.append(issue(codes.PULL014, "NDJSON line is not JSON", Location(file=file.name,
                                                                                           entry=number)))
                continue
            if not isinstance(resource, dict):
                continue
            if is_shared(str(resource.get("resourceType"))) and isinstance(resource.get("id"), str):
                shared.setdefault((resource["resourceType"], resource["id"]), resource)
            else:
                keep_resource(run, resource, "bulk")


# ---- REST -----------------------------------------------------------------------------------------------------
def pull_everything(run: _Run) -> None:
    """``Patient/$everything`` for each selected patient (bounded concurrency)."""
    options = run.options
    run.request = describe_request(options, None, [])
    run.transaction_time = utc_now()
    run.progress.stage("Patient/$everything")
    run.progress.total(len(run.patient_ids))

    def one(patient_id: str) -> list[dict]:
        found = list(rest.fetch_everything(run.client, patient_id, since=options.since, count=options.count))
        run.progress.advance()
        return found

    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        for patient_id, future in [(p, pool.submit(one, p)) for p in run.patient_ids]:
            try:
                for resource in future.result():
                    keep_resource(run, resource, "everything")
            except ConversionError as err:
                run.issues.append(err.issue)
                run.partial = True


def fill_types(run: _Run, types: tuple[str, ...]) -> None:
    """Type searches for the types the main fetch did not return, and always for ``fill_types``."""
    options = run.options
    seen = set(run.store.counts())
    wanted = [t for t in types if not is_shared(t) and (t in options.fill_types or t not in seen)]
    if not run.patient_ids or not wanted:
        return
    run.progress.stage("type searches")
    run.progress.total(len(wanted))
    filters = {f.partition("?")[0]: f for f in options.type_filters}
    for rtype in wanted:
        try:
            found = rest.search_type_for_patients(run.client, rtype, run.patient_ids, since=options.since,
                                                  count=options.count, type_filter=filters.get(rtype))
        except ConversionError as err:
            run.issues.append(err.issue)
            run.partial = True
            continue
        run.dropped_outside += found.outside
        added = sum(run.store.add(r, f"search:{rtype}") for r in found.resources)
        if added:
            run.filled[rtype] = added
            run.issues.append(issue(codes.PULL008, f"{added} {rtype} resource(s) fetched by type search that the "
                                                   f"{options.mode.value} fetch did not return",
                                    Location(resource=rtype)))
        run.progress.advance()


def fill_references(run: _Run) -> None:
    """Fetch the shared resources (Medication, Organization, ...) the kept resources refer to."""
    missing = sorted(k for k in shared_references(run.store.resources.values()) if not run.store.has(*k))
    if not missing:
        return
    run.progress.stage("referenced resources")
    run.progress.total(len(missing))
    for rtype, rid in missing:
        try:
            run.store.add(rest.fetch_resource(run.client, rtype, rid), "reference")
        except ConversionError as err:
            run.issues.append(issue(codes.PULL012, f"{rtype}/{rid}: {err.issue.message}",
                                    Location(resource=f"{rtype}/{rid}")))
        run.progress.advance()


# ---- the whole run ----------------------------------------------------------------------------------------------
def run_pull(options: PullOptions, *, progress: PullProgress | None = None,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
             transport: httpx.BaseTransport | None = None) -> PullResult:
    """Pull the selected patients' data from ``options.base`` into ``options.out`` (see the module docstring).

    Raises :class:`~cdisc.issues.ConversionError` only for bad options (PULL013) or a study key that does not
    exist; server problems come back as issues in the result, with ``partial`` set.
    """
    check_options(options)
    study = load_study(options.study)
    types = options.types or STUDY_TYPES
    started = utc_now()
    options.out.mkdir(parents=True, exist_ok=True)
    with open_http(options, transport) as http:
        client = FhirClient(options.base, http, retry=options.retry, sleep=sleep)
        run = _Run(options, study, client, progress or PullProgress())
        try:
            http.auth = build_auth(options.auth, options.base, http, clock)
            select_patients(run)
            run.selected = set(run.patient_ids)
            if run.patient_ids:
                if options.mode is Mode.bulk:
                    pull_bulk(run, types)
                else:
                    pull_everything(run)
                fill_types(run, types)
                fill_references(run)
        except ConversionError as err:
            run.issues.append(err.issue)
            run.partial = True
        except KeyboardInterrupt:
            run.partial = True
            if options.mode is Mode.bulk and run.status_url:
                run.issues.append(bulk.cancel_export(client, run.status_url))
                bulk.clear_state(options.out)
            else:
                run.issues.append(issue(codes.PULL010, "pull aborted by the user"))
        run.issues = unique_issues(client.issues + run.issues)
    if not run.partial and options.mode is Mode.bulk:
        bulk.clear_state(options.out)
    if run.dropped_outside:
        run.issues.append(issue(codes.PULL009, f"{run.dropped_outside} resource(s) of patients outside the "
                                               f"selection dropped"))
    written = write_ndjson(run.store, options.out)
    facts = ManifestFacts(run.request or describe_request(options, None, []), run.transaction_time or started,
                          started, utc_now(), len(run.patient_ids), run.partial, dict(sorted(run.filled.items())),
                          run.dropped_outside, run.store.duplicates, tuple(run.issues))
    manifest = write_manifest(options.out, build_manifest(options, written, facts))
    return PullResult(options.out, manifest, {t: c for t, (_, c) in written.items()}, len(run.patient_ids),
                      run.partial, run.issues)
