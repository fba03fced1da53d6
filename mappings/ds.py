"""DS (Disposition): protocol milestones and the disposition event of study participation.

Records (DSCAT C74558, DSDECOD from C114118 PROTMLST for milestones and C66727 NCOMPLT for events):

1. INFORMED CONSENT OBTAINED (PROTOCOL MILESTONE), DSSTDTC = RFICDTC, from the Consent.
2. RANDOMIZED (PROTOCOL MILESTONE), DSSTDTC = ResearchSubject.period.start, for enrolled subjects of a
   randomised study (trial summary RANDOM = Y, i.e. len-cle).
3. The disposition event of STUDY PARTICIPATION (DSSCAT C170443), DSSTDTC = ResearchSubject.period.end, else
   the end of participation of the subject context (RFPENDTC: the last encounter, exposure or consent date):
   - screen failure: SCREEN FAILURE;
   - the discontinuation-reason extension (NCIt code of a C66727 term): that term (DSTERM = the
     extension's display as sent, else the term); a code outside C66727 gives MAP013 and no record;
   - status ``off-study`` without a reason: COMPLETED;
   - status ``withdrawn`` without a reason: WITHDRAWAL BY SUBJECT, with MAP013 (an assumption);
   - any other status: no record yet (the subject is still on study).

Consents other than the one giving RFICDTC are listed as unmapped.
"""

from __future__ import annotations

from cdisc.issues import issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import Resource, SubjectRecord, extension_value
from mappings.algorithms import assign, assign_dtc, ct_value, hardcode_ct, where_resource, with_source
from mappings.codes import MAP013
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition
from mappings.subject import ENROLLED, SCREEN_FAILURE, find_consent

DISCONTINUATION_REASON = "https://example.org/fhir2cdisc/StructureDefinition/discontinuation-reason"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
DSCAT, DISPOSITION_EVENT, PROTOCOL_MILESTONE = "C74558", "C74590", "C74588"
DSSCAT, STUDY_PARTICIPATION = "C170443", "C170569"
PROTMLST, INFORMED_CONSENT, RANDOMIZED = "C114118", "C16735", "C114209"
NCOMPLT, COMPLETED, SCREEN_FAILURE_TERM, WITHDRAWAL_BY_SUBJECT = "C66727", "C25250", "C49628", "C49634"


def milestone_row(nci_code: str, dtc: str | None, source: Resource, rule: str, ct: ControlledTerminology):
    term = ct_value(ct, PROTMLST, nci_code)
    row = assign({}, "DSTERM", term)
    row = hardcode_ct(row, "DSDECOD", nci_code, codelist=PROTMLST, ct=ct)
    row = hardcode_ct(row, "DSCAT", PROTOCOL_MILESTONE, codelist=DSCAT, ct=ct)
    row, issues = assign_dtc(row, "DSSTDTC", dtc, where=where_resource(source))
    return with_source(row, source.key, rule=rule), issues


def derive_disposition_term(rs: Resource, status: str, ct: ControlledTerminology):
    """(NCOMPLT C-code, DSTERM as sent or None, issues) of the participation event; code None: no record."""
    coding = extension_value(rs.data, DISCONTINUATION_REASON)
    where = where_resource(rs, "extension(discontinuation-reason)")
    if isinstance(coding, dict):
        codes = {t.code for t in ct.codelist(NCOMPLT).terms}
        if coding.get("system") == NCIT and coding.get("code") in codes:
            return coding["code"], coding.get("display"), []
        return None, None, [issue(MAP013, f"discontinuation reason {coding.get('system')}|{coding.get('code')} "
                                          "is not a C66727 (NCOMPLT) term", where)]
    if status == SCREEN_FAILURE:
        return SCREEN_FAILURE_TERM, None, []
    if rs.get("status") == "off-study":
        return COMPLETED, None, []
    if rs.get("status") == "withdrawn":
        return WITHDRAWAL_BY_SUBJECT, None, [issue(MAP013, "withdrawn without a reason: WITHDRAWAL BY SUBJECT assumed",
                                                   where)]
    return None, None, []


def disposition_row(rs: Resource, subject: SubjectContext, ct: ControlledTerminology):
    code, verbatim, issues = derive_disposition_term(rs, subject.status, ct)
    if code is None:
        return None, issues
    row = assign({}, "DSTERM", verbatim or ct_value(ct, NCOMPLT, code))
    row = hardcode_ct(row, "DSDECOD", code, codelist=NCOMPLT, ct=ct)
    row = hardcode_ct(row, "DSCAT", DISPOSITION_EVENT, codelist=DSCAT, ct=ct)
    row = hardcode_ct(row, "DSSCAT", STUDY_PARTICIPATION, codelist=DSSCAT, ct=ct)
    row, found = assign_dtc(row, "DSSTDTC", (rs.get("period") or {}).get("end"), where=where_resource(rs, "period.end"))
    row, _ = assign_dtc(row, "DSSTDTC", subject.rfpendtc)        # fills only a gap (STYLE 1.6)
    return with_source(row, rs.key, rule="DS.participation-event"), issues + found


def map_ds(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           ct: ControlledTerminology | None = None) -> MapResult:
    """DS rows of one subject (see the module doc)."""
    ct = ct or load_ct()
    result = MapResult("DS")
    rs = record.index.get(subject.research_subject_key or "")
    consent = find_consent(record, rs) if rs is not None else None
    if consent is not None:
        row, found = milestone_row(INFORMED_CONSENT, consent.get("dateTime"), consent, "DS.informed-consent", ct)
        result.rows.append(row)
        result.issues.extend(found)
    for other in record.of_type("Consent"):
        if consent is None or other.key != consent.key:
            result.unmapped[other.key] = "not the informed consent of this study's ResearchSubject"
    if rs is None:
        return result
    if subject.status == ENROLLED and study.trial_summary.get("RANDOM") == "Y" and subject.randdtc:
        row, found = milestone_row(RANDOMIZED, subject.randdtc, rs, "DS.randomized", ct)
        result.rows.append(row)
        result.issues.extend(found)
    row, found = disposition_row(rs, subject, ct)
    result.issues.extend(found)
    if row is not None:
        result.rows.append(row)
    return result
