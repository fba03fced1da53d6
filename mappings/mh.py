"""MH (Medical History) from Conditions that began before informed consent (docs/FHIR-INPUT.md, Conditions).

The split (one rule, stated once):

- the reference is RFICDTC (informed consent); without it, RFSTDTC (first study drug, MAP085); without
  either, every Condition is history (MAP085);
- a Condition whose onset is *surely before* the reference day is MH; *surely on or after* it, it is not
  MH and, unless an AdverseEvent names it (``resultingCondition``: evidence for AE), it is listed unmapped
  with the reason (MAP080): events after consent are AEs only when recorded as AdverseEvent;
- a partial onset that overlaps the reference day (``2023-01`` against consent ``2023-01-05``) cannot be
  placed and is kept as MH with a warning (MAP081); so is a Condition without onset (MAP082), since
  history is usually recorded at screening, after consent;
- refuted / entered-in-error Conditions are not mapped (MAP084).

======================  ============================================================================
MHTERM                  ``code.text``, else the first coding's display (verbatim; codes never matched on text)
MHDECOD/MHBODSYS        MedDRA: PT and primary SOC, from a MedDRA coding of ``code`` looked up in the
                        user's MedDRA distribution, or by LLT name match of MHTERM against it. SNOMED CT and
                        ICD-10 codes are not dictionary-derived terms in the SDTM sense (MedDRA is the
                        dictionary named in define.xml), so without MedDRA MHDECOD stays empty.
MHSTDTC/MHENDTC         ``onsetDateTime`` (or ``onsetPeriod.start``) / ``abatementDateTime``, partial kept
MHENRTPT/MHENTPT        ONGOING / the reference date, when ``clinicalStatus`` is active, recurrence or
                        relapse and there is no abatement
MHDTC                   ``recordedDate`` (date of history collection)
======================  ============================================================================
"""

from __future__ import annotations

import calendar
from datetime import date
from enum import Enum

from cdisc.dates import date_part, parse_dtc
from cdisc.issues import Issue, issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import Resource, SubjectRecord, codings, concept_text
from mappings.algorithms import assign, assign_dtc, hardcode, hardcode_ct, where_resource, with_source
from mappings.codes import MAP080, MAP081, MAP082, MAP083, MAP084, MAP085
from mappings.meddra import MedDRA, find_meddra_coding
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ONGOING_STATUSES = frozenset({"active", "recurrence", "relapse"})
EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
ONGOING = ("C66728", "C53279")                  # codelist STENRF, term ONGOING


class Timing(str, Enum):
    """Where a (possibly partial) date lies against a reference day."""

    BEFORE = "before"
    ON_OR_AFTER = "on-or-after"
    OVERLAPS = "overlaps"           # partial date whose span contains the reference day
    UNKNOWN = "unknown"             # no (valid) date


def compute_date_bounds(dtc: str | None) -> tuple[date, date] | None:
    """Earliest and latest calendar day a --DTC value can denote (None if it is not a date).

    >>> compute_date_bounds("2023-02")
    (datetime.date(2023, 2, 1), datetime.date(2023, 2, 28))
    >>> compute_date_bounds("2024")[1]
    datetime.date(2024, 12, 31)
    """
    parsed = parse_dtc(dtc)
    if parsed is None:
        return None
    if parsed.day is not None:
        return parsed.to_date(), parsed.to_date()
    if parsed.month is not None:
        last = calendar.monthrange(parsed.year, parsed.month)[1]
        return date(parsed.year, parsed.month, 1), date(parsed.year, parsed.month, last)
    return date(parsed.year, 1, 1), date(parsed.year, 12, 31)


def compare_to_day(dtc: str | None, reference: date) -> Timing:
    """Place a possibly partial date against a reference day, never guessing the missing parts.

    >>> ref = date(2023, 1, 5)
    >>> [compare_to_day(d, ref).value for d in ("2022-12", "2023-01", "2023-01-05T07:00", "2023-02", None)]
    ['before', 'overlaps', 'on-or-after', 'on-or-after', 'unknown']
    """
    bounds = compute_date_bounds(dtc)
    if bounds is None:
        return Timing.UNKNOWN
    earliest, latest = bounds
    if latest < reference:
        return Timing.BEFORE
    if earliest >= reference:
        return Timing.ON_OR_AFTER
    return Timing.OVERLAPS


def condition_onset(resource: Resource) -> tuple[str | None, str]:
    """The onset date of a Condition and the element it came from."""
    if resource.get("onsetDateTime"):
        return resource.get("onsetDateTime"), "onsetDateTime"
    return (resource.get("onsetPeriod") or {}).get("start"), "onsetPeriod.start"


def condition_term(resource: Resource) -> str | None:
    """MHTERM: the verbatim text of ``Condition.code`` (its text, else the first display)."""
    return concept_text(resource.get("code"))


def has_status(concept: dict | None, system: str, codes: frozenset[str]) -> bool:
    return any(sys_ == system and code in codes for sys_, code, _ in codings(concept))


def conditions_named_by_adverse_events(record: SubjectRecord) -> set[str]:
    """Keys of Conditions an AdverseEvent points to (``resultingCondition``)."""
    keys = set()
    for ae in record.of_type("AdverseEvent"):
        for ref in ae.get("resultingCondition") or []:
            target = record.resolve(ref)
            if target is not None:
                keys.add(target.key)
    return keys


def history_reference(subject: SubjectContext) -> tuple[str | None, date | None]:
    """The reference of the MH split: (name, day) of RFICDTC, else RFSTDTC, else (None, None)."""
    for name, dtc in (("RFICDTC", subject.rficdtc), ("RFSTDTC", subject.rfstdtc)):
        day = date_part(dtc)
        if day is not None:
            return name, day
    return None, None


def map_mh(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           meddra: MedDRA | None = None, ct: ControlledTerminology | None = None) -> MapResult:
    """MH rows for one subject's Conditions (the split rule is in the module docstring).

    Parameters
    ----------
    meddra : MedDRA, optional
        A MedDRA distribution (:func:`mappings.meddra.load_meddra`) for MHDECOD/MHBODSYS.
    ct : ControlledTerminology, optional
        CT package (default :func:`cdisc.standards.load_ct`).
    """
    ct = ct or load_ct()
    result = MapResult("MH")
    conditions = record.of_type("Condition")
    ref_name, ref_day = history_reference(subject)
    if conditions and ref_name != "RFICDTC":
        result.issues.append(issue(MAP085, f"medical history split by {ref_name or 'nothing'}",
                                   where_resource(record.patient)))
    ae_conditions = conditions_named_by_adverse_events(record)
    for resource in conditions:
        if has_status(resource.get("verificationStatus"), CONDITION_VERIFICATION, EXCLUDED_VERIFICATION):
            result.unmapped[resource.key] = "refuted or entered in error"
            result.issues.append(issue(MAP084, "condition not confirmed", where_resource(resource, "verificationStatus")))
            continue
        onset, element = condition_onset(resource)
        timing = compare_to_day(onset, ref_day) if ref_day else Timing.BEFORE
        if timing is Timing.ON_OR_AFTER:
            if resource.key in ae_conditions:
                result.evidence.add(resource.key)
            else:
                result.unmapped[resource.key] = f"onset on or after {ref_name}; not recorded as an AdverseEvent"
                result.issues.append(issue(MAP080, f"onset {onset} is on or after {ref_name}",
                                           where_resource(resource, element)))
            continue
        if timing is Timing.OVERLAPS:
            result.issues.append(issue(MAP081, f"onset {onset} overlaps {ref_name}", where_resource(resource, element)))
        if timing is Timing.UNKNOWN:
            result.issues.append(issue(MAP082, "no onset date", where_resource(resource, "onsetDateTime")))
        row, issues = map_condition(resource, subject=subject, reference_dtc=ref_day.isoformat() if ref_day else None,
                                    meddra=meddra, ct=ct)
        result.issues.extend(issues)
        if row is None:
            result.unmapped[resource.key] = "no term"
        else:
            result.rows.append(row)
    return result


def map_condition(resource: Resource, *, subject: SubjectContext, reference_dtc: str | None,
                  meddra: MedDRA | None, ct: ControlledTerminology) -> tuple[dict | None, list[Issue]]:
    """One MH row from a Condition already judged to be history (None when it has no term)."""
    term = condition_term(resource)
    if not term:
        return None, [issue(MAP083, "condition has no text and no display", where_resource(resource, "code"))]
    row = assign({}, "MHTERM", term)
    coding, issues = find_meddra_coding(resource.get("code"), term, meddra, where_resource(resource, "code"),
                                        report_uncoded=False)
    if coding is not None:
        row = assign(assign(row, "MHDECOD", coding.pt), "MHBODSYS", coding.soc)
    onset, element = condition_onset(resource)
    row, found = assign_dtc(row, "MHSTDTC", onset, where=where_resource(resource, element))
    issues += found
    row, found = assign_dtc(row, "MHENDTC", resource.get("abatementDateTime"),
                            where=where_resource(resource, "abatementDateTime"))
    issues += found
    ongoing = (has_status(resource.get("clinicalStatus"), CONDITION_CLINICAL, ONGOING_STATUSES)
               and not resource.get("abatementDateTime") and reference_dtc is not None)
    row = hardcode_ct(row, "MHENRTPT", ONGOING[1], codelist=ONGOING[0], ct=ct, when=ongoing)
    row = hardcode(row, "MHENTPT", reference_dtc, when=ongoing)
    row, found = assign_dtc(row, "MHDTC", resource.get("recordedDate"), where=where_resource(resource, "recordedDate"))
    issues += found
    return with_source(row, resource.key, rule="MH.from-condition"), issues
