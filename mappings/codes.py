"""Issue codes of ``mappings`` (STYLE 3.1): MAP (mapping), DTC (dates). Declared once here; never
reuse a retired code. CT001/CT002 (terms not in a codelist) are the ``cdisc`` package's
(``cdisc.codes``) and are re-exported here so mappers import every code they raise from one place.

Ranges: MAP001-MAP049 subject context, DM, DS, SV, SE, EX, CM (owner: subject-level domains);
MAP050-MAP099 AE, LB, VS, MH (owner: event/finding domains).
"""

from __future__ import annotations

from cdisc.codes import CT001, CT002
from cdisc.issues import Severity, declare

# ---- MAP001-MAP049: subject context, DM, DS, SV, SE, EX, CM ------------------------------------------

# subject context (mappings/subject.py)
MAP001 = declare("MAP001", "patient is not a subject of this study", Severity.INFO,
                 "a trial subject needs a ResearchSubject whose study is this ResearchStudy (docs/FHIR-INPUT.md)")
MAP002 = declare("MAP002", "ResearchSubject has no study subject identifier: pseudonymous SUBJID used", Severity.WARNING,
                 "send ResearchSubject.identifier with the study's subject-id system")
MAP003 = declare("MAP003", "ResearchSubject status is neither enrolled nor screen failure", Severity.WARNING,
                 "list the status in the study definition's enrolled_statuses or screen_failure_statuses")
MAP004 = declare("MAP004", "several ResearchSubjects for this study: the first is used", Severity.WARNING,
                 "send one ResearchSubject per patient and study")
MAP005 = declare("MAP005", "arm code is not an arm of the study", Severity.WARNING,
                 "assignedArm/actualArm must name an arm of the study definition (ARMCD)")
MAP006 = declare("MAP006", "planned arm taken from the study's only arm", Severity.INFO,
                 "send ResearchSubject.assignedArm")
MAP007 = declare("MAP007", "no informed consent date", Severity.WARNING,
                 "send a research Consent with dateTime (or ResearchSubject.consent)")
MAP008 = declare("MAP008", "no subject identifier at all: patient skipped", Severity.ERROR,
                 "send ResearchSubject.identifier or let the pipeline pass a pseudonymous SUBJID")
MAP009 = declare("MAP009", "study-drug exposure taken from prescriptions or statements", Severity.INFO,
                 "send MedicationAdministration records for the study drug when they exist")
MAP010 = declare("MAP010", "AGE not derived: birth date or consent date missing or partial", Severity.WARNING,
                 "send Patient.birthDate and Consent.dateTime as full dates")
MAP011 = declare("MAP011", "sex not given by any source of the study's sex policy: SEX = U", Severity.WARNING,
                 "send Patient.gender or the US Core birth-sex extension")
MAP012 = declare("MAP012", "actual exposure differs from the planned arm", Severity.WARNING,
                 "check the ResearchSubject arms against the study drug given")
MAP013 = declare("MAP013", "disposition reason missing or not an NCOMPLT term", Severity.WARNING,
                 "send the discontinuation-reason extension with an NCIt C66727 code")
MAP014 = declare("MAP014", "medication not found in the drug table", Severity.INFO,
                 "add the RxNorm/ATC code to mappings/terminology/drugs.csv")
MAP015 = declare("MAP015", "start date after end date", Severity.WARNING,
                 "check the period of the resource")
MAP016 = declare("MAP016", "dose unit not in the unit table", Severity.WARNING,
                 "send a UCUM unit listed in mappings/terminology/units.csv")
MAP017 = declare("MAP017", "value taken from the study product definition", Severity.INFO,
                 "send it in the resource (dose form, frequency or route) to override the protocol value")
MAP018 = declare("MAP018", "first study-drug exposure is before informed consent", Severity.WARNING,
                 "check the consent and administration dates")
MAP019 = declare("MAP019", "visit encounter has no start date", Severity.WARNING,
                 "send Encounter.period.start")
MAP020 = declare("MAP020", "medication has no code and no text", Severity.WARNING,
                 "send medicationCodeableConcept (RxNorm) or a Medication resource")
MAP021 = declare("MAP021", "code not in a mapping table", Severity.WARNING,
                 "add the code to the table named in the message (mappings/terminology/)")

# ---- MAP050-MAP099: AE, LB, VS, MH (owner: event/finding domains; add below) -----------------------

# MedDRA dictionary (mappings/meddra.py)
MAP050 = declare("MAP050", "MedDRA folder lacks a required file: no dictionary coding", Severity.ERROR,
                 "point to the MedAscii folder of a MedDRA release (llt, pt, hlt, hlgt, soc and link .asc files)")
MAP051 = declare("MAP051", "malformed MedDRA record skipped", Severity.WARNING,
                 "check the file is an unmodified MedDRA ASCII file ('$'-separated)")
# AE (mappings/ae.py)
MAP052 = declare("MAP052", "adverse event sent without MedDRA coding and not found in a dictionary (the study "
                 "step may still code it by precedent, MAP040)", Severity.WARNING,
                 "send a MedDRA coding in AdverseEvent.event, or supply a MedDRA distribution whose LLT names "
                 "match the verbatim term")
MAP053 = declare("MAP053", "adverse event has no reported term: not mapped", Severity.ERROR,
                 "send AdverseEvent.event.text (the verbatim term)")
MAP054 = declare("MAP054", "MedDRA code not in the supplied dictionary", Severity.WARNING,
                 "check the code and the MedDRA version of the source against the distribution supplied")
MAP055 = declare("MAP055", "seriousness and serious criteria disagree", Severity.WARNING,
                 "a serious event needs at least one ae-serious-criterion; a non-serious one none")
MAP056 = declare("MAP056", "AdverseEvent is not an actual event (near miss): not mapped", Severity.INFO,
                 "only actuality 'actual' is an adverse event for AE")
MAP057 = declare("MAP057", "treatment-emergent flag not decidable", Severity.INFO,
                 "a full onset date and the first study-drug date are needed")
MAP058 = declare("MAP058", "MedDRA coding without a dictionary: taken as PT, hierarchy empty", Severity.INFO,
                 "supply a MedDRA distribution to fill AELLT/AEHLT/AEHLGT/AEBODSYS/AESOC")
# LB and VS (mappings/lb.py, mappings/vs.py)
MAP060 = declare("MAP060", "test code not in the test table: observation not mapped", Severity.WARNING,
                 "add the LOINC code to mappings/terminology/labs.csv or vitals.csv")
MAP061 = declare("MAP061", "unit not convertible to the standard unit: standard result empty", Severity.WARNING,
                 "send a UCUM unit listed for the test in mappings/terminology/unit_conversions.csv")
MAP062 = declare("MAP062", "qualitative result text not recognised: kept as sent, standard result empty",
                 Severity.WARNING, "send SNOMED 260385009/10828004 or add the text to qualitative_results.csv")
MAP063 = declare("MAP063", "qualitative result text in another language standardised", Severity.INFO,
                 "the original text stays in --ORRES; check the translation in qualitative_results.csv")
MAP064 = declare("MAP064", "observation has no result and is not marked not done", Severity.WARNING,
                 "send value[x], or status cancelled with dataAbsentReason")
MAP065 = declare("MAP065", "observation has no date", Severity.WARNING,
                 "send effectiveDateTime")
MAP066 = declare("MAP066", "reference range unit differs from the result unit: range not standardised",
                 Severity.WARNING, "send referenceRange in the unit of valueQuantity")
MAP067 = declare("MAP067", "vital-signs panel component without a known code: not mapped", Severity.WARNING,
                 "send blood pressure components 8480-6 / 8462-4")
# MH (mappings/mh.py)
MAP080 = declare("MAP080", "condition began on or after informed consent and is not an AdverseEvent: not mapped",
                 Severity.INFO, "record events after consent as AdverseEvent resources")
MAP081 = declare("MAP081", "condition onset partial in the consent month/year: kept as medical history",
                 Severity.WARNING, "send the full onset date")
MAP082 = declare("MAP082", "condition has no onset or recorded date: kept as medical history", Severity.WARNING,
                 "send Condition.onsetDateTime (partial dates are fine)")
MAP083 = declare("MAP083", "condition has no term: not mapped", Severity.ERROR,
                 "send Condition.code with text or a display")
MAP084 = declare("MAP084", "condition refuted or entered in error: not mapped", Severity.INFO, None)
MAP085 = declare("MAP085", "no informed consent date: medical history split by first study-drug date (all kept if none)",
                 Severity.WARNING, "send a research Consent with dateTime")


MAP022 = declare("MAP022", "AGE derived with a substitute: partial birth date (minimum possible age) or another "
                 "reference date", Severity.WARNING, "send the full Patient.birthDate and a research Consent dateTime")


# ---- MAP040-049: study-level steps (interop/assemble.py) ---------------------------------------------
MAP040 = declare("MAP040", "adverse events coded by precedent: same verbatim term as a coded event of the study",
                 Severity.INFO, "pass --meddra with the sponsor's MedDRA distribution to code every event")
MAP_CODING_BY_PRECEDENT = MAP040
MAP041 = declare("MAP041", "several encounters on one visit day: one SV record", Severity.INFO,
                 "record one Encounter per visit, or link the extra ones with partOf")
MAP_SAME_DAY_VISITS = MAP041


# ---- DTC: dates ---------------------------------------------------------------------------------------
DTC001 = declare("DTC001", "value is not an ISO 8601 date/time: not mapped", Severity.WARNING,
                 "send YYYY[-MM[-DD[Thh:mm[:ss]]]]; partial dates are fine")

__all__ = [name for name in dir() if name[:3] in ("MAP", "DTC") or name[:2] == "CT"]
