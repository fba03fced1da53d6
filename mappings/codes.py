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


# ---- DTC: dates ---------------------------------------------------------------------------------------
DTC001 = declare("DTC001", "value is not an ISO 8601 date/time: not mapped", Severity.WARNING,
                 "send YYYY[-MM[-DD[Thh:mm[:ss]]]]; partial dates are fine")

__all__ = [name for name in dir() if name[:3] in ("MAP", "DTC") or name[:2] == "CT"]
