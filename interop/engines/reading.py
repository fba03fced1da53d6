"""Step 1 (read) spread over processes: NDJSON lines are parsed, checked, hashed and moved onto the site clock
where the cores are, with exactly the code and the result of the single-process reader.

Two engines use it:

- the local engine (:func:`read_parallel`): this process reads NDJSON files as raw lines, in batches; each
  batch is checked in a worker process (:func:`interop.engines.local.ordered_map`, so results come back in
  input order and at most a window of batches is in memory); other files (JSON, Bundles, XML) are read here;
- the Spark engine: executors run :func:`read_ndjson_partition` over the lines Spark read.

Both give the items of :func:`interop.normalize.inputs.read_on_site_clock`, in its order, so
:func:`interop.normalize.inputs.group_inputs` builds the same :class:`~interop.normalize.inputs.Ingest`.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import count
from pathlib import Path

import orjson

from cdisc.issues import Location, issue
from interop import codes
from interop.engines.local import ordered_map
from interop.ingest.readers import ReadItem, base_suffix, discover_files, resources_of
from interop.ingest.validate import Limits
from interop.normalize.inputs import LocalTimes, load_zone, read_on_site_clock, site_clock_options
from interop.normalize.prepared import PreparedItem, prepared_items

DEFAULT_BATCH_LINES = 2000
# what reading a (possibly gzipped) file can raise, as interop.ingest.readers catches it
READ_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile)


def read_ndjson_partition(lines: Iterable[tuple[bytes, int]], *, file: str, timezone: str,
                          limits: Limits) -> Iterator[tuple[ReadItem, LocalTimes]]:
    """``(line, 0-based index)`` pairs of one NDJSON file -> checked items (runs in a worker or executor).

    Mirrors :func:`interop.ingest.readers.read_file` for one NDJSON line (blank lines skipped, FHIR001 for
    invalid JSON, 1-based line numbers) and :func:`interop.normalize.inputs.read_on_site_clock`.
    """
    options, pending = site_clock_options(load_zone(timezone), limits)
    for line, index in lines:
        line_no = index + 1
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield ReadItem(None, file, line_no, issues=[issue(codes.FHIR001, f"invalid JSON on line {line_no}: "
                                                                             f"{exc.msg}",
                                                              Location(file=file, entry=line_no))]), ()
            continue
        for item in resources_of(data, file, line_no, None, None, options, []):
            local_times = tuple(pending)
            pending.clear()
            yield item, local_times


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Consecutive raw lines of one NDJSON file: read by the main process, checked by a worker."""

    file: str
    first_index: int                  # 0-based index of ``lines[0]`` in the file
    lines: list[bytes]
    failure: ReadItem | None = None   # the file could not be read past these lines (FHIR018)


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[ReadItem, LocalTimes]]]:
    """The files to read, in order, and the items that come before theirs: the problems met listing the
    folders (as :func:`interop.ingest.readers.read_inputs` yields them)."""
    files, problems = discover_files(list(paths))
    return files, [(ReadItem(None, problem.where.file or "", None, issues=[problem], is_resource=False), ())
                   for problem in problems]


def unreadable_after(file: str, lines_read: int, error: Exception) -> ReadItem:
    """The item :func:`interop.ingest.readers.read_file` gives when an NDJSON file fails after ``lines_read``
    lines (a truncated or corrupt .gz): FHIR018 on the next line."""
    return ReadItem(None, file, lines_read + 1, issues=[
        issue(codes.FHIR018, f"cannot read after line {lines_read}: {type(error).__name__}",
              Location(file=file, entry=lines_read + 1))])


def open_ndjson(path: Path):
    """The file as a binary line iterator, gunzipped for ``.gz`` (as :func:`interop.ingest.readers.read_file`)."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def ndjson_batches(path: Path, handle, batch_lines: int) -> Iterator[LineBatch]:
    """The lines of an open NDJSON file in batches of ``batch_lines``; a read failure ends the last batch."""
    file = str(path)
    first_index, lines = 0, []
    with handle:
        try:
            for line in handle:
                lines.append(line)
                if len(lines) == batch_lines:
                    yield LineBatch(file, first_index, lines)
                    first_index, lines = first_index + len(lines), []
        except READ_ERRORS as exc:
            yield LineBatch(file, first_index, lines, unreadable_after(file, first_index + len(lines), exc))
            return
    if lines:
        yield LineBatch(file, first_index, lines)


def reading_tasks(files: Iterable[Path], batch_lines: int) -> Iterator[LineBatch | Path]:
    """What to do for each file, in file order: line batches of NDJSON files for the workers; any other file
    (JSON, XML, or an NDJSON file that does not open) as itself, to be read in the main process."""
    for path in files:
        if base_suffix(path) != ".ndjson":
            yield path
            continue
        try:
            handle = open_ndjson(path)
        except OSError:
            yield path   # read_on_site_clock reports it (FHIR018), as it would have
            continue
        yield from ndjson_batches(path, handle, batch_lines)


def prepared_ndjson_partition(lines: Iterable[tuple[bytes, int]], *, file: str, timezone: str, limits: Limits,
                              validate_models: bool = False) -> Iterator[tuple[ReadItem | PreparedItem, LocalTimes]]:
    """:func:`read_ndjson_partition` with every readable item prepared
    (:func:`interop.normalize.prepared.prepare`: summarised, references put in canonical form, encoded), so the
    process that groups them gets small summaries and bytes."""
    items = read_ndjson_partition(lines, file=file, timezone=timezone, limits=limits)
    return prepared_items(items, validate_models=validate_models)


def check_task(task: LineBatch | Path, *, timezone: str, limits: Limits,
               validate_models: bool = False) -> list[tuple[ReadItem | PreparedItem, LocalTimes]] | Path:
    """Worker side: the checked and prepared items of a :class:`LineBatch`; a file for the main process is
    passed back as is (so it comes out of the pool in its place in the input order)."""
    if not isinstance(task, LineBatch):
        return task
    items = list(prepared_ndjson_partition(zip(task.lines, count(task.first_index)), file=task.file,
                                           timezone=timezone, limits=limits, validate_models=validate_models))
    if task.failure is not None:
        items.append((task.failure, ()))
    return items


def read_parallel(paths: Iterable[Path], *, timezone: str, limits: Limits = Limits(), workers: int,
                  batch_lines: int = DEFAULT_BATCH_LINES, validate_models: bool = False
                  ) -> Iterator[tuple[ReadItem | PreparedItem, LocalTimes]]:
    """The items of :func:`interop.normalize.inputs.read_on_site_clock` (same items, same order), with NDJSON
    lines checked and prepared in ``workers`` processes (items read here come unprepared;
    :func:`interop.normalize.inputs.group_inputs` prepares them).

    Parameters
    ----------
    paths
        Files or folders, as for :func:`interop.normalize.inputs.open_inputs`.
    timezone
        The site's IANA time zone.
    limits
        Nesting depth and string length limits of the structural check.
    workers
        Processes; ``<= 1`` reads everything in this process.
    batch_lines
        NDJSON lines per worker task (memory in flight is a window of ``4 * workers`` such batches).
    validate_models
        Also check each resource against its ``fhir.resources.R4B`` model (FHIR022), in the workers.
    """
    zone = load_zone(timezone)
    if workers <= 1:
        yield from read_on_site_clock(paths, zone=zone, limits=limits)
        return
    files, problem_items = discover(paths)
    yield from problem_items
    check = partial(check_task, timezone=timezone, limits=limits, validate_models=validate_models)
    for result in ordered_map(check, reading_tasks(files, batch_lines), workers=workers, batch=1):
        if isinstance(result, Path):
            yield from read_on_site_clock([result], zone=zone, limits=limits)
        else:
            yield from result
