"""Per-patient tasks the engines run: picklable callables of one :class:`SubjectRecord` (or job tuple).

They hold only small, picklable settings (study keys, dates); everything heavy (study definitions, criteria,
value sets) is loaded once per worker process by the functions they call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from interop.normalize.record import SubjectRecord


@dataclass(frozen=True, slots=True)
class ScreenPatient:
    """Screen one patient for each study: ``record -> (patient key, [ScreeningResult per study])``.

    >>> ScreenPatient(("len-cdm", "len-cle")).studies
    ('len-cdm', 'len-cle')
    """

    studies: tuple[str, ...]
    as_of: date | None = None

    def __call__(self, record: SubjectRecord) -> tuple[str, list]:
        from mappings.eligibility import screen_subject

        return record.key, [screen_subject(record, study=study, as_of=self.as_of) for study in self.studies]
