"""EX (Exposure): the study drug actually given, one record per constant-dosing interval.

Source rule (documented in docs/FHIR-INPUT.md, "Medications"):

1. ``MedicationAdministration`` of an investigational product of the study (status completed,
   in-progress or stopped), one EX record each: effectivePeriod start/end, or effectiveDateTime as both.
2. Only when a subject has none: ``MedicationStatement`` of the product (status active/completed),
   effectivePeriod or effectiveDateTime; failing those, ``MedicationRequest`` (status active/completed)
   with its period: ``dosageInstruction[0].timing.repeat.boundsPeriod``, else
   ``dispenseRequest.validityPeriod``, the start falling back to ``authoredOn``. One MAP009 (INFO)
   per subject says so.

Study-drug resources not used by the rule are listed as unmapped with the reason. A request that an
administration points to (``MedicationAdministration.request``) is evidence: its timing gives EXDOSFRQ.

Value rule: EXTRT is the product name of the study definition; dose and unit as sent (units.csv);
EXROUTE from the SNOMED route (routes.csv); EXDOSFRQ from the request/statement timing
(frequencies.csv); each of EXDOSFRM, EXDOSFRQ and EXROUTE falls back to the study product's value
(MAP017, INFO, once per subject and variable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cdisc.dates import parse_dtc
from cdisc.issues import Issue, issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import Resource, SubjectRecord
from mappings.algorithms import (assign, assign_coded, assign_ct, assign_dose, assign_dtc, assign_frequency,
                                 where_resource, with_source)
from mappings.codes import MAP009, MAP015, MAP017
from mappings.drugs import find_drug, medication_concept
from mappings.result import MapResult, SubjectContext
from mappings.study import Product, StudyDefinition

GIVEN_ADMINISTRATION = frozenset({"completed", "in-progress", "stopped"})
TAKEN_STATEMENT = frozenset({"active", "completed"})
ACTIVE_REQUEST = frozenset({"active", "completed"})


@dataclass(frozen=True, slots=True)
class Exposure:
    """One interval of study drug: the product, the source resource and what it says."""

    product: Product
    resource: Resource
    rule: str
    start: str | None
    end: str | None
    dose: dict | None = None          # FHIR Quantity
    route: dict | None = None         # CodeableConcept
    timing: dict | None = None        # FHIR Timing
    request: Resource | None = None   # the MedicationRequest an administration points to


@dataclass(slots=True)
class ExposureReading:
    exposures: list[Exposure] = field(default_factory=list)
    evidence: set[str] = field(default_factory=set)
    unmapped: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def find_study_product(resource: Resource, record: SubjectRecord, study: StudyDefinition) -> Product | None:
    """The investigational product a medication resource names (through drugs.csv), if any."""
    drug = find_drug(medication_concept(resource, record))
    if drug is None:
        return None
    return next((p for p in study.investigational if p.name == drug.name), None)


def _first(items) -> dict | None:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None


def _dose_of(dosage: dict | None) -> dict | None:
    rate = _first((dosage or {}).get("doseAndRate"))
    return (rate or {}).get("doseQuantity")


def exposure_from_administration(res: Resource, product: Product, record: SubjectRecord) -> Exposure:
    period = res.get("effectivePeriod") or {}
    start = period.get("start") or res.get("effectiveDateTime")
    end = period.get("end") or res.get("effectiveDateTime")
    dosage = res.get("dosage") or {}
    request = record.resolve(res.get("request"))
    timing = None
    if request is not None:
        timing = (_first(request.get("dosageInstruction")) or {}).get("timing")
    return Exposure(product, res, "EX.from-administration", start, end, dosage.get("dose"), dosage.get("route"),
                    timing, request)


def exposure_from_statement(res: Resource, product: Product) -> Exposure:
    period = res.get("effectivePeriod") or {}
    dosage = _first(res.get("dosage")) or {}
    return Exposure(product, res, "EX.from-statement", period.get("start") or res.get("effectiveDateTime"),
                    period.get("end") or res.get("effectiveDateTime"), _dose_of(dosage), dosage.get("route"),
                    dosage.get("timing"))


def exposure_from_request(res: Resource, product: Product) -> Exposure:
    dosage = _first(res.get("dosageInstruction")) or {}
    timing = dosage.get("timing") or {}
    period = (timing.get("repeat") or {}).get("boundsPeriod") or \
        (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
    return Exposure(product, res, "EX.from-request", period.get("start") or res.get("authoredOn"),
                    period.get("end"), _dose_of(dosage), dosage.get("route"), timing)


def read_exposures(record: SubjectRecord, study: StudyDefinition) -> ExposureReading:
    """The subject's study-drug exposures by the source rule of this module (see the module doc)."""
    out = ExposureReading()
    fallback: dict[str, list[tuple[Resource, Product]]] = {"MedicationStatement": [], "MedicationRequest": []}
    for res in record.of_type("MedicationAdministration"):
        product = find_study_product(res, record, study)
        if product is None:
            continue
        if res.get("status") not in GIVEN_ADMINISTRATION:
            out.unmapped[res.key] = f"study drug administration with status '{res.get('status')}' (not given)"
            continue
        exposure = exposure_from_administration(res, product, record)
        out.exposures.append(exposure)
        if exposure.request is not None:
            out.evidence.add(exposure.request.key)
    for rtype, statuses in (("MedicationStatement", TAKEN_STATEMENT), ("MedicationRequest", ACTIVE_REQUEST)):
        for res in record.of_type(rtype):
            product = find_study_product(res, record, study)
            if product is None or res.key in out.evidence:
                continue
            if res.get("status") not in statuses:
                out.unmapped[res.key] = f"study drug {rtype} with status '{res.get('status')}'"
            else:
                fallback[rtype].append((res, product))
    used = _use_fallback(out, fallback)
    if used:
        out.issues.append(issue(MAP009, f"no MedicationAdministration of study drug: exposure taken from "
                                        f"{used} ({len(out.exposures)} records)", where_resource(record.patient)))
    return out


def _use_fallback(out: ExposureReading, fallback: dict[str, list[tuple[Resource, Product]]]) -> str | None:
    """Fill exposures from statements, else requests, when there is no administration; list the rest."""
    chosen = None
    if not out.exposures:
        if fallback["MedicationStatement"]:
            chosen = "MedicationStatement"
            out.exposures = [exposure_from_statement(r, p) for r, p in fallback["MedicationStatement"]]
        elif fallback["MedicationRequest"]:
            chosen = "MedicationRequest"
            out.exposures = [exposure_from_request(r, p) for r, p in fallback["MedicationRequest"]]
    for rtype, items in fallback.items():
        if rtype == chosen:
            continue
        reason = ("study drug prescription/statement: exposure comes from MedicationAdministration"
                  if chosen is None else "study drug prescription: exposure comes from MedicationStatement")
        for res, _ in items:
            out.unmapped[res.key] = reason
    return chosen


def dtc_sort_key(text: str | None, *, latest: bool = False) -> tuple:
    """Order partial dates: missing parts count as the earliest (or, with ``latest``, the latest) value."""
    parsed = parse_dtc(text)
    fill = 99 if latest else 0
    if parsed is None:
        return (fill * 100,)
    return tuple(fill if v is None else v for v in (parsed.year, parsed.month, parsed.day, parsed.hour,
                                                     parsed.minute, parsed.second))


def first_exposure_dtc(exposures: list[Exposure]) -> str | None:
    """The earliest start (RFSTDTC/RFXSTDTC), as sent (partial dates kept)."""
    starts = [e.start for e in exposures if parse_dtc(e.start)]
    return min(starts, key=dtc_sort_key) if starts else None


def last_exposure_dtc(exposures: list[Exposure]) -> str | None:
    """The latest end, or start when an interval has no end (RFENDTC/RFXENDTC)."""
    ends = [e.end or e.start for e in exposures if parse_dtc(e.end or e.start)]
    return max(ends, key=lambda t: dtc_sort_key(t, latest=True)) if ends else None


def map_ex(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           ct: ControlledTerminology | None = None) -> MapResult:
    """EX rows for one subject (see the module doc for the source and value rules)."""
    ct = ct or load_ct()
    reading = read_exposures(record, study)
    result = MapResult("EX", evidence=set(reading.evidence), unmapped=dict(reading.unmapped),
                       issues=list(reading.issues))
    defaulted: set[str] = set()
    for exposure in reading.exposures:
        row, issues, used_defaults = derive_ex_row(exposure, ct=ct)
        result.rows.append(row)
        result.issues.extend(issues)
        for var in used_defaults - defaulted:
            result.issues.append(issue(MAP017, f"{var} from the study product '{exposure.product.name}'",
                                       where_resource(exposure.resource, "dosage")))
        defaulted |= used_defaults
    return result


def derive_ex_row(exposure: Exposure, *, ct: ControlledTerminology) -> tuple[dict, list[Issue], set[str]]:
    """One EX row from one exposure; also the variables that came from the study product."""
    res, product = exposure.resource, exposure.product
    issues: list[Issue] = []
    row = assign({}, "EXTRT", product.name.upper())
    steps = [
        lambda r: assign_dose(r, "EXDOSE", "EXDOSU", exposure.dose, where=where_resource(res, "dosage.dose")),
        lambda r: assign_frequency(r, "EXDOSFRQ", exposure.timing, ct=ct, where=where_resource(res, "timing")),
        lambda r: assign_coded(r, "EXROUTE", exposure.route, table="routes", codelist="C66729", ct=ct,
                               where=where_resource(res, "dosage.route")),
        lambda r: assign_dtc(r, "EXSTDTC", exposure.start, where=where_resource(res, "effective")),
        lambda r: assign_dtc(r, "EXENDTC", exposure.end, where=where_resource(res, "effective")),
    ]
    for step in steps:
        row, found = step(row)
        issues.extend(found)
    defaults = {"EXDOSFRM": product.dosfrm, "EXDOSFRQ": product.frequency, "EXROUTE": product.route}
    codelists = {"EXDOSFRM": "C66726", "EXDOSFRQ": "C71113", "EXROUTE": "C66729"}
    used = {var for var in defaults if row.get(var) is None}
    for var in sorted(used):
        row, found = assign_ct(row, var, defaults[var], codelist=codelists[var], ct=ct,
                               where=where_resource(res))
        issues.extend(found)
    issues.extend(check_period_order(row, "EXSTDTC", "EXENDTC", res))
    return with_source(row, res.key, rule=exposure.rule), issues, used


def check_period_order(row: dict, start_var: str, end_var: str, res: Resource) -> list[Issue]:
    """MAP015 when both dates are complete and the start is after the end."""
    start, end = parse_dtc(row.get(start_var)), parse_dtc(row.get(end_var))
    if start and end and start.to_date() and end.to_date() and start.to_date() > end.to_date():
        return [issue(MAP015, f"{start_var} {row[start_var]} is after {end_var} {row[end_var]}",
                      where_resource(res, "effectivePeriod"))]
    return []
