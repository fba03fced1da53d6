"""Read FHIR input files and stream their resources one at a time, each with where it was read.

Forms read (``.gz`` of any of them too):
- a single resource ``.json``; a Bundle ``.json`` of any type (collection, transaction, batch, searchset,
  document, message, history; ``link`` paging ignored); bundles nested in bundle entries;
- Bulk Data ``.ndjson`` (one resource per line, line numbers 1-based);
- a folder, recursively, in sorted path order; when a folder holds a Bulk Data ``$export`` manifest
  (a JSON object with ``output[].url``), only the files it lists are read from that folder;
- FHIR XML ``.xml`` (see :mod:`interop.ingest.xml`).

A Bundle is an envelope: its entries are yielded, not the Bundle. Unreadable input (bad JSON, not an
object, no or unknown resourceType, unreadable file) gives a :class:`ReadItem` with ``data=None`` and the
issue, so the caller can count it; nothing stops the run.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urlparse

import orjson

from cdisc.issues import Issue, Location, issue
from interop import codes
from interop.ingest.structure import is_resource_type
from interop.ingest.validate import DateTimeHook, Limits, check_resource

_SUFFIXES = (".json", ".ndjson", ".xml")


def content_hash(data: dict) -> str:
    """SHA-256 of the resource's JSON with sorted keys (stable across key order): a provenance pin a reviewer can
    recompute from the input file."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def hash_as_read(data: dict) -> str | None:
    """:func:`content_hash` of a resource before its repair; None when it nests too deep to serialise (the
    structural check then trims it and reports FHIR009, and the repaired resource is hashed instead)."""
    try:
        return content_hash(data)
    except orjson.JSONEncodeError:
        return None


@dataclass(slots=True)
class ReadItem:
    """One resource as read (checked and repaired), or an unreadable one (``data is None``)."""

    data: dict | None
    file: str
    entry: int | None              # 0-based index in the top-level Bundle, or 1-based NDJSON line
    path: str | None = None        # entry path inside a nested bundle, relative to the top-level entry's
    #                                resource: entry=3, path="entry[0]" is entry[3].resource.entry[0]
    full_url: str | None = None    # Bundle.entry.fullUrl
    issues: list[Issue] = field(default_factory=list)
    is_resource: bool = True       # False for problems that are not about one input resource
    sha256: str | None = None      # content_hash of the resource as read, before any repair or clock move

    @property
    def resource_type(self) -> str | None:
        if isinstance(self.data, dict):
            return self.data.get("resourceType")
        return None


@dataclass(frozen=True, slots=True)
class ReadOptions:
    limits: Limits = Limits()
    on_datetime: DateTimeHook | None = None


# ---- file discovery ---------------------------------------------------------------------------------

def base_suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return ""


def _open_bytes(path: Path) -> bytes:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()


def read_manifest(path: Path) -> dict | None:
    """The Bulk Data ``$export`` manifest in ``path``, or None if it is not one."""
    try:
        data = orjson.loads(_open_bytes(path))
    except (orjson.JSONDecodeError, OSError, EOFError, zlib.error, gzip.BadGzipFile):
        return None
    if isinstance(data, dict) and "resourceType" not in data and isinstance(data.get("output"), list):
        return data
    return None


def _manifest_files(folder: Path, manifest_path: Path, manifest: dict) -> tuple[list[Path], list[Issue]]:
    """Local files listed by the manifest's ``output[].url`` (matched by file name in the folder)."""
    files, problems = [], []
    for i, item in enumerate(manifest.get("output") or []):
        url = item.get("url") if isinstance(item, dict) else None
        where = Location(file=str(manifest_path), element=f"output[{i}].url")
        if not isinstance(url, str) or not url:
            problems.append(issue(codes.FHIR020, f"output[{i}] has no url", where))
            continue
        name = Path(urlparse(url).path).name
        candidates = [folder / name, folder / (name + ".gz")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            problems.append(issue(codes.FHIR020, f"output[{i}] lists {name!r}, which is not in the folder", where))
            continue
        files.append(found)
    return files, problems


def discover_files(paths: Iterable[Path]) -> tuple[list[Path], list[Issue]]:
    """The input files to read, in a deterministic order, and problems met while listing them."""
    files: list[Path] = []
    problems: list[Issue] = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            _discover_folder(root, files, problems)
        else:
            problems.append(issue(codes.FHIR018, "input path does not exist", Location(file=str(root))))
    return files, problems


def _discover_folder(folder: Path, files: list[Path], problems: list[Issue]) -> None:
    children = sorted(folder.iterdir(), key=lambda p: p.name)
    manifests = [(p, m) for p in children if p.is_file() and base_suffix(p) == ".json"
                 and (m := read_manifest(p)) is not None]
    if manifests:
        for manifest_path, manifest in manifests:
            listed, found_problems = _manifest_files(folder, manifest_path, manifest)
            files.extend(listed)
            problems.extend(found_problems)
    else:
        for child in children:
            if child.is_file():
                if base_suffix(child):
                    files.append(child)
                elif not child.name.startswith("."):
                    problems.append(issue(codes.FHIR021, "not a .json/.ndjson/.xml(.gz) file",
                                          Location(file=str(child))))
    for child in children:
        if child.is_dir() and not child.name.startswith("."):
            _discover_folder(child, files, problems)


# ---- reading ----------------------------------------------------------------------------------------

def read_inputs(paths: Iterable[Path], options: ReadOptions = ReadOptions()) -> Iterator[ReadItem]:
    """Stream every resource of the inputs (files or folders), one :class:`ReadItem` at a time.

    Problems found while listing folders come first, as items with ``data=None`` and ``entry=None``
    carrying only issues (they are not resources: their ``file`` is the path concerned).
    """
    files, problems = discover_files(paths)
    for problem in problems:
        yield ReadItem(None, problem.where.file or "", None, issues=[problem], is_resource=False)
    for path in files:
        yield from read_file(path, options)


def read_file(path: Path, options: ReadOptions = ReadOptions()) -> Iterator[ReadItem]:
    """Stream the resources of one file (JSON, NDJSON, XML, or their .gz)."""
    suffix = base_suffix(path)
    name = str(path)
    if suffix == ".ndjson":
        yield from _read_ndjson(path, options)
        return
    try:
        raw = _open_bytes(path)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        yield ReadItem(None, name, None, issues=[issue(codes.FHIR018, f"cannot read: {type(exc).__name__}",
                                                       Location(file=name))])
        return
    if suffix == ".xml":
        from interop.ingest.xml import read_xml_resource

        data, problems = read_xml_resource(raw, file=name)
        if data is None:
            yield ReadItem(None, name, None, issues=problems)
            return
        yield from resources_of(data, name, None, None, None, options, problems)
        return
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        yield ReadItem(None, name, None, issues=[
            issue(codes.FHIR001, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                  Location(file=name, entry=None, element=f"line {exc.lineno}"))])
        return
    yield from resources_of(data, name, None, None, None, options, [])


def _read_ndjson(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    name = str(path)
    try:
        handle = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    except OSError as exc:
        yield ReadItem(None, name, None, issues=[issue(codes.FHIR018, f"cannot read: {type(exc).__name__}",
                                                       Location(file=name))])
        return
    with handle:
        line_no = 0
        try:
            for line in handle:
                line_no += 1
                if not line.strip():
                    continue
                try:
                    data = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield ReadItem(None, name, line_no, issues=[
                        issue(codes.FHIR001, f"invalid JSON on line {line_no}: {exc.msg}",
                              Location(file=name, entry=line_no))])
                    continue
                yield from resources_of(data, name, line_no, None, None, options, [])
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            yield ReadItem(None, name, line_no + 1, issues=[
                issue(codes.FHIR018, f"cannot read after line {line_no}: {type(exc).__name__}",
                      Location(file=name, entry=line_no + 1))])


def resources_of(data: object, file: str, entry: int | None, path: str | None, full_url: str | None,
                  options: ReadOptions, carried: list[Issue]) -> Iterator[ReadItem]:
    """Check one parsed JSON value; yield it, or the entries of a Bundle (recursively)."""
    where = Location(file=file, entry=entry, element=path)
    if not isinstance(data, dict):
        yield ReadItem(None, file, entry, path, full_url, carried + [
            issue(codes.FHIR002, f"a JSON {type(data).__name__} where a resource object was expected", where)])
        return
    rtype = data.get("resourceType")
    if rtype is None:
        yield ReadItem(None, file, entry, path, full_url, carried + [
            issue(codes.FHIR003, "object has no resourceType", where)])
        return
    if not is_resource_type(rtype):
        shown = rtype[:40] if isinstance(rtype, str) else type(rtype).__name__
        yield ReadItem(None, file, entry, path, full_url, carried + [
            issue(codes.FHIR004, f"unknown resourceType {shown!r}", where)])
        return
    if rtype == "Bundle":
        yield from _bundle_entries(data, file, entry, path, options, carried)
        return
    resource_id = data.get("id") if isinstance(data.get("id"), str) else None
    where = Location(file=file, entry=entry, resource=f"{rtype}/{resource_id}" if resource_id else rtype)
    as_read = hash_as_read(data)
    problems = check_resource(data, where=where, limits=options.limits, on_datetime=options.on_datetime)
    if path:
        problems = [_prefix_element(p, path) for p in problems]
    yield ReadItem(data, file, entry, path, full_url, carried + problems, sha256=as_read)


def _prefix_element(problem: Issue, path: str) -> Issue:
    from dataclasses import replace

    element = f"{path}.{problem.where.element}" if problem.where.element else path
    return replace(problem, where=replace(problem.where, element=element))


def _bundle_entries(bundle: dict, file: str, entry: int | None, path: str | None,
                    options: ReadOptions, carried: list[Issue]) -> Iterator[ReadItem]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        carried = carried + [issue(codes.FHIR005, "Bundle.entry is not an array",
                                   Location(file=file, entry=entry, element=_join(path, "entry")))]
        entries = []
    # problems of the envelope travel with the first entry (or alone if there is none)
    for index, item in enumerate(entries):
        top = index if entry is None and path is None else entry
        inner_path = None if entry is None and path is None else _join(path, f"entry[{index}]")
        if not isinstance(item, dict) or "resource" not in item:
            element = _join(inner_path, "resource") if inner_path else f"entry[{index}].resource"
            if isinstance(item, dict) and "request" in item and "resource" not in item:
                continue  # a transaction DELETE/GET entry carries no resource
            yield ReadItem(None, file, top, inner_path, None, carried + [
                issue(codes.FHIR005, "bundle entry has no resource object",
                      Location(file=file, entry=top, element=element))])
            carried = []
            continue
        full_url = item.get("fullUrl") if isinstance(item.get("fullUrl"), str) else None
        yield from resources_of(item["resource"], file, top, inner_path, full_url, options, carried)
        carried = []
    if carried:
        yield ReadItem(None, file, entry, path, None, carried, is_resource=False)


def _join(path: str | None, tail: str) -> str:
    return f"{path}.resource.{tail}" if path else tail
