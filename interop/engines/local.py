"""The default engine: read and group on this machine, run the per-patient function in a process pool.

Reading uses the pool too: NDJSON lines are parsed, checked and moved onto the site clock in the worker
processes (:func:`interop.engines.reading.read_parallel`); this process decides and groups
(:func:`interop.normalize.inputs.group_inputs`), so the :class:`Ingest` is the one
:func:`interop.normalize.inputs.open_inputs` builds.

Output order is input order whatever the number of workers (results are yielded in submission order), so a
package is the same bytes for ``workers=1`` and ``workers=N``. At most ``window`` batches are in flight, so
memory is bounded by the window, not by the number of patients (``ProcessPoolExecutor.map`` would submit
the whole input first).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

from interop.ingest.validate import Limits
from interop.normalize.record import SubjectRecord
from interop.normalize.inputs import Ingest, group_inputs

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def apply_batch(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    """``fn`` over one batch (runs in a worker; module-level so it pickles)."""
    return [fn(item) for item in batch]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int, batch: int = 8,
                window: int | None = None) -> Iterator[R]:
    """``map(fn, items)`` over a process pool, streaming, results in input order.

    Parameters
    ----------
    fn
        A picklable (module-level) function of one item.
    items
        Any iterable; consumed lazily, at most ``window`` batches ahead of the consumer.
    workers
        Processes; ``<= 1`` runs in this process (no pool, no pickling).
    batch
        Items per task (amortises inter-process overhead; a patient is milliseconds of work).
    window
        Batches in flight; default ``4 * workers``.

    Yields
    ------
    fn(item) for each item, in the order of ``items``.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    window = window or 4 * workers
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future] = deque()
        for chunk in batched(items, batch):
            pending.append(pool.submit(apply_batch, fn, chunk))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


@dataclass(frozen=True, slots=True)
class LocalEngine:
    """Streaming process pool on this machine (the default).

    ``workers=None`` uses every core; ``workers=1`` runs everything in the calling process.
    """

    workers: int | None = None
    batch: int = 8
    name: str = "local"

    @property
    def processes(self) -> int:
        """The number of worker processes: ``workers``, or every core when None."""
        return self.workers if self.workers is not None else default_workers()

    def open(self, paths: Iterable[Path], *, timezone: str, limits: Limits = Limits(), **options) -> Ingest:
        """Read (NDJSON checked in the pool), decide and group the inputs: the result of
        :func:`interop.normalize.inputs.open_inputs` with the same ``options`` (workdir, spill_after,
        validate_models)."""
        from interop.engines.reading import read_parallel  # not at the top: reading imports ordered_map from here

        items = read_parallel(list(paths), timezone=timezone, limits=limits, workers=self.processes,
                              validate_models=options.get("validate_models", False))
        return group_inputs(items, timezone=timezone, workers=self.processes, **options)

    def map(self, fn: Callable[[T], R], items: Iterable[T], batch: int | None = None) -> Iterator[R]:
        """``fn`` over ``items`` in input order (see :func:`ordered_map`); ``batch`` items per task (default
        :attr:`batch`; 1 for a few large items)."""
        return ordered_map(fn, items, workers=self.processes, batch=batch or self.batch)

    def map_records(self, fn: Callable[[SubjectRecord], R], ingest: Ingest) -> Iterator[R]:
        """``fn`` over every record of ``ingest``, in patient-key order (the order of ``ingest.subjects()``).

        Records are built in the workers: a spilled partition goes to a worker as its file name, so this
        process neither parses it nor pickles records (:meth:`Ingest.record_jobs`).
        """
        from interop.engines.tasks import RunOnRecords

        for results in ordered_map(RunOnRecords(fn), ingest.record_jobs(self.batch), workers=self.processes,
                                   batch=1):
            yield from results
