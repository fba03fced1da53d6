"""SV (Subject Visits): one record per visit that took place, from ``Encounter``.

SVSTDTC = ``period.start``, SVENDTC = ``period.end`` (else the start: a one-day clinic visit). Only
encounters with status ``finished``, ``in-progress`` or ``arrived`` are visits that took place; others
(planned, cancelled, entered-in-error...) are unmapped with the reason. VISIT/VISITNUM (and so
unscheduled visits) are derived study-wide by ``cdisc.derive.derive_visit`` from SVSTDTC and the study
windows, never from a label.
"""

from __future__ import annotations

from cdisc.issues import issue
from interop.normalize.record import SubjectRecord
from mappings.algorithms import assign_dtc, where_resource, with_source
from mappings.codes import MAP019
from mappings.ex import check_period_order
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition

TOOK_PLACE = frozenset({"finished", "in-progress", "arrived"})


def map_sv(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext) -> MapResult:
    """SV rows of one subject (see the module doc)."""
    result = MapResult("SV")
    for enc in record.of_type("Encounter"):
        if enc.get("status") not in TOOK_PLACE:
            result.unmapped[enc.key] = f"encounter status '{enc.get('status')}': visit did not take place"
            continue
        period = enc.get("period") or {}
        if not period.get("start"):
            result.unmapped[enc.key] = "encounter without a start date"
            result.issues.append(issue(MAP019, "no period.start", where_resource(enc, "period.start")))
            continue
        row, found = assign_dtc({}, "SVSTDTC", period["start"], where=where_resource(enc, "period.start"))
        result.issues.extend(found)
        row, found = assign_dtc(row, "SVENDTC", period.get("end") or period["start"],
                                where=where_resource(enc, "period.end"))
        result.issues.extend(found)
        if "SVSTDTC" not in row:
            result.unmapped[enc.key] = "encounter start is not a date"
            continue
        result.issues.extend(check_period_order(row, "SVSTDTC", "SVENDTC", enc))
        result.rows.append(with_source(row, enc.key, rule="SV.from-encounter"))
    return result
