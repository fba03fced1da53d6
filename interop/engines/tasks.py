"""Per-patient tasks the engines run: picklable callables of one :class:`SubjectRecord` (or job tuple).

They hold only small, picklable settings (study keys, dates, a pseudonym key); everything heavy (study
definitions, criteria, value sets) is loaded once per worker process by the functions they call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from interop.normalize.inputs import gc_paused
from interop.normalize.record import SubjectRecord

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ScreenPatient:
    """Screen one patient for each study: ``record -> (label, [ScreeningResult per study])``.

    ``namer`` (picklable: a module-level function or a dataclass) gives the label; without it the label is
    the record's key.

    >>> ScreenPatient(("len-cdm", "len-cle")).studies
    ('len-cdm', 'len-cle')
    """

    studies: tuple[str, ...]
    as_of: date | None = None
    namer: Callable[[SubjectRecord], str] | None = None

    def __call__(self, record: SubjectRecord) -> tuple[str, list]:
        from mappings.eligibility import screen_subject

        label = self.namer(record) if self.namer is not None else record.key
        return label, [screen_subject(record, study=study, as_of=self.as_of) for study in self.studies]


@dataclass(frozen=True, slots=True)
class RunOnRecords(Generic[R]):
    """``job -> [fn(record) for each record of the job]``: records are built where the job runs.

    A job is an :data:`interop.normalize.inputs.RecordJob` (a spilled partition file, or records built already).
    """

    fn: Callable[[SubjectRecord], R]

    def __call__(self, job) -> list[R]:
        # The cyclic garbage collector is paused for the job: records are acyclic, and with it running every
        # allocation of the mapping would make it rescan the partition's objects (profiled: about a third of
        # building a partition's records). What the job leaves behind is collected after it, as usual.
        with gc_paused():
            return [self.fn(record) for record in job.records()]
