"""What every per-subject mapper returns, and the per-subject facts they share.

Mapper contract (one module per domain in ``mappings/``)::

    def map_<domain>(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext) -> MapResult

- ``rows``: one dict per SDTM record, SDTM variable names as keys (no STUDYID/DOMAIN/USUBJID/--SEQ/--DY/
  VISIT/VISITNUM/EPOCH: those are added or derived study-wide), plus hidden provenance keys
  ``_src`` (tuple of canonical resource keys "Type/id" the row came from), ``_rule`` (short id of the
  mapping rule, e.g. "LB.from-observation"), and optionally ``_supp`` (dict QNAM -> value; labels come
  from ``mappings/supp_qualifiers.csv``).
- ``evidence``: keys of resources that were read to build rows but are not themselves a row's source.
- ``unmapped``: key -> reason for resources of a type this mapper owns that it deliberately did not map.
- ``issues``: problems found, each naming the resource and element (never PHI).
A mapper never raises for bad data: it reports and maps what it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cdisc.issues import Issue


@dataclass(slots=True)
class MapResult:
    domain: str
    rows: list[dict] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    evidence: set[str] = field(default_factory=set)
    unmapped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubjectContext:
    """Facts about one trial subject, derived once from the record and the study definition."""

    usubjid: str
    subjid: str
    status: str                      # "enrolled" | "screen-failure" | "not-a-subject"
    armcd: str | None                # planned arm (None for screen failures)
    actarmcd: str | None             # actual arm (None when not treated)
    rficdtc: str | None              # informed consent (ISO 8601, site clock)
    rfstdtc: str | None              # reference start = first study-drug exposure
    rfendtc: str | None              # reference end = last study-drug exposure
    rfpendtc: str | None             # end of participation
    randdtc: str | None              # randomisation / enrolment date (ResearchSubject.period.start)
    research_subject_key: str | None

    @property
    def rfstdt(self) -> date | None:
        from cdisc.dates import date_part

        return date_part(self.rfstdtc)
