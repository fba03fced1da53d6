"""AE (Adverse Events) from R4 AdverseEvent resources (docs/FHIR-INPUT.md, "Adverse events").

======================  ============================================================================
AETERM                  ``event.text`` (verbatim), else the display of its first coding
AELLT.../AEDECOD/       MedDRA, by :func:`mappings.meddra.find_meddra_coding` (a MedDRA coding looked up
AEPTCD/AEHLT.../        in the user's distribution; else the verbatim matched to an LLT name; without a
AEBODSYS/AEBDSYCD/      distribution, a MedDRA coding's display taken as the PT). AEBODSYS/AEBDSYCD and
AESOC/AESOCCD           AESOC/AESOCCD are the primary SOC.
AESER                   ``seriousness`` serious -> Y, non-serious -> N (absent: Y when a serious
                        criterion is given)
AESDTH/AESLIFE/AESHOSP/ for a serious event, Y for each ``ae-serious-criterion`` given and N for the
AESDISAB/AESCONG/AESMIE others (``ae_serious_criteria.csv``); empty for a non-serious event
AESEV                   ``severity`` through ``ae_severity.csv`` (CT C66769)
AETOXGR                 extension ``ctcae-grade`` 1-5 as text (CTCAE v5.0; no CT codelist)
AEREL                   ``suspectEntity.causality.assessment`` (WHO-UMC) through ``causality.csv``
                        (sponsor-defined: RELATED / NOT RELATED / UNKNOWN); only suspect entities that
                        are not a known non-study drug count; the most related assessment wins
AEACN                   extension ``ae-action-taken`` valueCoding NCIt C-code, a term of ACN (C66767)
AEOUT                   ``outcome`` through ``ae_outcome.csv`` (CT C66768)
AESTDTC/AEENDTC         ``date`` / extension ``ae-end-date`` (partial dates kept partial)
AEENRTPT/AEENTPT        ONGOING / RFPENDTC (else ``recordedDate``) when there is no end date and the
                        outcome is ongoing or recovering
SUPPAE.AETRTEM          treatment-emergent flag, see :func:`compute_treatment_emergent`
======================  ============================================================================

AESEQ, AESTDY/AEENDY and EPOCH are derived study-wide by ``cdisc.derive``.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import cache
from types import MappingProxyType
from typing import Mapping

from cdisc.dates import date_part
from cdisc.issues import Issue, Location, issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import Resource, SubjectRecord, codings, concept_text, extension_value
from mappings.algorithms import (TERMINOLOGY_DIR, add_supp, assign, assign_coded, assign_ct, assign_dtc, hardcode,
                                 hardcode_ct, where_resource, with_source)
from mappings.codes import MAP021, MAP053, MAP055, MAP056, MAP057
from mappings.drugs import find_drug, medication_concept
from mappings.meddra import MedDRA, MedDRACoding, find_meddra_coding
from mappings.mh import compute_date_bounds
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition

EX = "https://example.org/fhir2cdisc"
END_DATE = f"{EX}/StructureDefinition/ae-end-date"
SERIOUS_CRITERION = f"{EX}/StructureDefinition/ae-serious-criterion"
CTCAE_GRADE = f"{EX}/StructureDefinition/ctcae-grade"
ACTION_TAKEN = f"{EX}/StructureDefinition/ae-action-taken"
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
YES, NO = ("C66742", "C49488"), ("C66742", "C49487")      # codelist NY, terms Y / N
ONGOING = ("C66728", "C53279")                          # codelist STENRF, term ONGOING
ACN = "C66767"
ONGOING_OUTCOMES = frozenset({"ongoing", "recovering"})
CTCAE_GRADES = frozenset(range(1, 6))

MEDDRA_VARIABLES = (("AELLT", "llt"), ("AELLTCD", "llt_code"), ("AEDECOD", "pt"), ("AEPTCD", "pt_code"),
                    ("AEHLT", "hlt"), ("AEHLTCD", "hlt_code"), ("AEHLGT", "hlgt"), ("AEHLGTCD", "hlgt_code"),
                    ("AEBODSYS", "soc"), ("AEBDSYCD", "soc_code"), ("AESOC", "soc"), ("AESOCCD", "soc_code"))


@cache
def load_serious_criteria() -> Mapping[str, str]:
    """FHIR serious-criterion code -> SDTM flag variable (``ae_serious_criteria.csv``)."""
    with (TERMINOLOGY_DIR / "ae_serious_criteria.csv").open(encoding="utf-8", newline="") as fh:
        return MappingProxyType({r["code"]: r["variable"] for r in csv.DictReader(fh)})


@cache
def load_causality() -> Mapping[tuple[str, str], tuple[str, int]]:
    """(system, code) -> (AEREL, rank) from ``causality.csv`` (rank: higher is more related)."""
    with (TERMINOLOGY_DIR / "causality.csv").open(encoding="utf-8", newline="") as fh:
        return MappingProxyType({(r["system"], r["code"]): (r["cdisc"], int(r["rank"])) for r in csv.DictReader(fh)})


def map_ae(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           meddra: MedDRA | None = None, ct: ControlledTerminology | None = None) -> MapResult:
    """AE rows (with SUPPAE AETRTEM) for one subject's AdverseEvents.

    Parameters
    ----------
    record, study, subject :
        The mapper contract (``study.ae_post_treatment_days`` sets the treatment-emergent window).
    meddra : MedDRA, optional
        A MedDRA distribution (:func:`mappings.meddra.load_meddra`); without it only MedDRA codings sent
        in the resource are used, as PTs.
    ct : ControlledTerminology, optional
        CT package (default :func:`cdisc.standards.load_ct`).
    """
    ct = ct or load_ct()
    result = MapResult("AE")
    for resource in record.of_type("AdverseEvent"):
        if (resource.get("actuality") or "actual") != "actual":
            result.unmapped[resource.key] = f"actuality {resource.get('actuality')}: not an adverse event"
            result.issues.append(issue(MAP056, "potential adverse event", where_resource(resource, "actuality")))
            continue
        row, issues = map_adverse_event(resource, record=record, study=study, subject=subject, meddra=meddra, ct=ct)
        result.issues.extend(issues)
        if row is None:
            result.unmapped[resource.key] = "no reported term"
        else:
            result.rows.append(row)
    return result


def map_adverse_event(resource: Resource, *, record: SubjectRecord, study: StudyDefinition,
                      subject: SubjectContext, meddra: MedDRA | None,
                      ct: ControlledTerminology) -> tuple[dict | None, list[Issue]]:
    """One AE row from one actual AdverseEvent (None when it has no reported term)."""
    data = resource.data
    term = concept_text(data.get("event"))
    if not term:
        return None, [issue(MAP053, "no event text and no display", where_resource(resource, "event"))]
    row = assign({}, "AETERM", term)
    coding, issues = find_meddra_coding(data.get("event"), term, meddra, where_resource(resource, "event"))
    row = derive_meddra_variables(row, coding)
    row, found = derive_seriousness(row, resource, ct=ct)
    issues += found
    row, found = assign_coded(row, "AESEV", data.get("severity"), table="ae_severity", codelist="C66769", ct=ct,
                              where=where_resource(resource, "severity"))
    issues += found
    row, found = derive_toxicity_grade(row, resource)
    issues += found
    row, found = derive_causality(row, resource, record=record, study=study)
    issues += found
    row, found = derive_action_taken(row, resource, ct=ct)
    issues += found
    row, found = assign_coded(row, "AEOUT", data.get("outcome"), table="ae_outcome", codelist="C66768", ct=ct,
                              where=where_resource(resource, "outcome"))
    issues += found
    row, found = assign_dtc(row, "AESTDTC", data.get("date"), where=where_resource(resource, "date"))
    issues += found
    row, found = assign_dtc(row, "AEENDTC", extension_value(data, END_DATE),
                            where=where_resource(resource, "extension(ae-end-date)"))
    issues += found
    row = derive_end_relative(row, resource, subject=subject, ct=ct)
    flag, found = compute_treatment_emergent(row.get("AESTDTC"), subject, study.ae_post_treatment_days,
                                             where=where_resource(resource, "date"))
    issues += found
    row = add_supp(row, "AETRTEM", flag)
    return with_source(row, resource.key, rule="AE.from-adverse-event"), issues


def derive_meddra_variables(row: dict, coding: MedDRACoding | None) -> dict:
    """AELLT/AELLTCD ... AESOC/AESOCCD from a MedDRA coding (codes are numeric in SDTM)."""
    if coding is None:
        return row
    for variable, attribute in MEDDRA_VARIABLES:
        row = assign(row, variable, getattr(coding, attribute))
    return row


def derive_seriousness(row: dict, resource: Resource, *, ct: ControlledTerminology) -> tuple[dict, list[Issue]]:
    """AESER and, for a serious event, the six criteria flags (Y if given, N otherwise)."""
    data = resource.data
    criteria_table = load_serious_criteria()
    given = [c for c in (ext.get("valueCode") for ext in data.get("extension") or []
                         if isinstance(ext, dict) and ext.get("url") == SERIOUS_CRITERION) if c]
    issues = [issue(MAP021, f"serious criterion '{c}' is not in terminology/ae_serious_criteria.csv",
                    where_resource(resource, "extension(ae-serious-criterion)")) for c in given if c not in criteria_table]
    sent = {code for system, code, _ in codings(data.get("seriousness")) if system == SERIOUSNESS}
    serious = "serious" in sent or (not sent and bool(given))
    row = hardcode_ct(row, "AESER", (YES if serious else NO)[1], codelist="C66742", ct=ct,
                      when=bool(sent) or bool(given))
    if ("serious" in sent and not given) or ("non-serious" in sent and given):
        issues.append(issue(MAP055, f"seriousness {'/'.join(sorted(sent))} with {len(given)} serious criteria",
                            where_resource(resource, "seriousness")))
    if serious or given:
        for code, variable in criteria_table.items():
            row = hardcode_ct(row, variable, (YES if code in given else NO)[1], codelist="C66742", ct=ct)
    return row, issues


def derive_toxicity_grade(row: dict, resource: Resource) -> tuple[dict, list[Issue]]:
    """AETOXGR from the CTCAE grade extension (an integer 1-5)."""
    grade = extension_value(resource.data, CTCAE_GRADE)
    if grade is None:
        return row, []
    if isinstance(grade, bool) or grade not in CTCAE_GRADES:
        return row, [issue(MAP021, f"CTCAE grade {grade!r} is not 1-5", where_resource(resource, "extension(ctcae-grade)"))]
    return assign(row, "AETOXGR", str(grade)), []


def is_other_drug(instance: Resource | None, record: SubjectRecord, study: StudyDefinition) -> bool:
    """True when a suspect entity is a drug of drugs.csv that is not an investigational product."""
    if instance is None:
        return False
    concept = instance.get("code") if instance.type == "Medication" else medication_concept(instance, record)
    drug = find_drug(concept)
    return drug is not None and drug.name not in {p.name for p in study.investigational}


def derive_causality(row: dict, resource: Resource, *, record: SubjectRecord,
                     study: StudyDefinition) -> tuple[dict, list[Issue]]:
    """AEREL: the most related assessment of the suspect entities that may be the study drug."""
    table = load_causality()
    best: tuple[str, int] | None = None
    issues: list[Issue] = []
    for index, entity in enumerate(resource.get("suspectEntity") or []):
        if is_other_drug(record.resolve(entity.get("instance")), record, study):
            continue
        for causality in entity.get("causality") or []:
            for system, code, _ in codings(causality.get("assessment")):
                found = table.get((system or "", code or ""))
                if found is None:
                    issues.append(issue(MAP021, f"causality {system}|{code} is not in terminology/causality.csv",
                                        where_resource(resource, f"suspectEntity[{index}].causality")))
                elif best is None or found[1] > best[1]:
                    best = found
    return (assign(row, "AEREL", best[0]) if best else row), issues


def derive_action_taken(row: dict, resource: Resource, *, ct: ControlledTerminology) -> tuple[dict, list[Issue]]:
    """AEACN from the action-taken extension: its NCIt C-code as a term of ACN, else its display."""
    coding = extension_value(resource.data, ACTION_TAKEN)
    if not isinstance(coding, dict):
        return row, []
    where = where_resource(resource, "extension(ae-action-taken)")
    if coding.get("system") == NCIT:
        term = next((t for t in ct.codelist(ACN).terms if t.code == coding.get("code")), None)
        if term is not None:
            return assign(row, "AEACN", term.submission_value), []
    return assign_ct(row, "AEACN", coding.get("display") or coding.get("code"), codelist=ACN, ct=ct, where=where)


def derive_end_relative(row: dict, resource: Resource, *, subject: SubjectContext,
                        ct: ControlledTerminology) -> dict:
    """AEENRTPT = ONGOING and AEENTPT = the reference date, for an event without end still ongoing."""
    outcomes = {code for system, code, _ in codings(resource.get("outcome")) if system == OUTCOME}
    reference = subject.rfpendtc or resource.get("recordedDate")
    ongoing = not row.get("AEENDTC") and bool(outcomes & ONGOING_OUTCOMES) and bool(reference)
    row = hardcode_ct(row, "AEENRTPT", ONGOING[1], codelist=ONGOING[0], ct=ct, when=ongoing)
    return hardcode(row, "AEENTPT", reference, when=ongoing)


def compute_treatment_emergent(onset: str | None, subject: SubjectContext, post_treatment_days: int, *,
                               where: Location | None = None) -> tuple[str | None, list[Issue]]:
    """Treatment-emergent flag (SUPPAE.AETRTEM): onset on/after the first study-drug day and no later than
    the last study-drug day + ``post_treatment_days`` (the study's window).

    Dates are compared by day (an event on the day of first dose counts). A partial onset whose span
    crosses a boundary, or a missing onset, is flagged Y (conservative: an event is not called
    pre-treatment without evidence) and reported (MAP057). A subject never dosed has N. Without a last
    dose date (still on treatment) the window is open.

    >>> s = SubjectContext("U", "1", "enrolled", None, None, None, "2023-01-10", "2023-06-30", None, None, None)
    >>> [compute_treatment_emergent(d, s, 28)[0] for d in ("2023-01-09", "2023-01-10", "2023-07-28", "2023-07-29")]
    ['N', 'Y', 'Y', 'N']
    """
    first = date_part(subject.rfstdtc)
    if first is None:
        return "N", []
    last = date_part(subject.rfendtc)
    end = last + timedelta(days=post_treatment_days) if last else date.max
    bounds = compute_date_bounds(onset)
    if bounds is None:
        return "Y", [issue(MAP057, "no onset date: flagged treatment-emergent", where)]
    earliest, latest = bounds
    if latest < first or earliest > end:
        return "N", []
    if earliest >= first and latest <= end:
        return "Y", []
    return "Y", [issue(MAP057, f"partial onset {onset} spans a treatment boundary: flagged treatment-emergent",
                       where)]
