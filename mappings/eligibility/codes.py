"""Issue codes of the eligibility engine (prefix ELIG), declared once (STYLE 3.1). Never reuse a retired code."""

from __future__ import annotations

from cdisc.issues import Severity, declare

ELIG001 = declare("ELIG001", "lab result in a unit the conversion table lacks: not used", Severity.WARNING,
                  "send valueQuantity.code as one of the units of mappings/terminology/unit_conversions.csv")
ELIG002 = declare("ELIG002", "no screening date: windowed criteria cannot be determined", Severity.WARNING,
                  "send a research Consent with dateTime, a screening Encounter, or give --as-of")
ELIG003 = declare("ELIG003", "date of a resource is not ISO 8601: the resource is not used as evidence", Severity.WARNING,
                  "send FHIR date/dateTime values (YYYY, YYYY-MM, YYYY-MM-DD[Thh:mm[:ss]])")
ELIG004 = declare("ELIG004", "questionnaire response of an eligibility score could not be scored", Severity.WARNING,
                  "send every item of the score (docs/FHIR-INPUT.md, Instruments)")
ELIG005 = declare("ELIG005", "eligibility observation value is not of the documented type: not used", Severity.WARNING,
                  "see docs/FHIR-INPUT.md, Eligibility-specific data, for the value type of each observation")
ELIG006 = declare("ELIG006", "criterion could not be decided for an enrolled subject: no IE record written", Severity.WARNING,
                  "complete the record or record the investigator's assessment (docs/FHIR-INPUT.md)")
ELIG007 = declare("ELIG007", "enrolled subject did not meet a criterion (IE record written)", Severity.INFO,
                  "protocol deviation: the IE domain lists it")
