"""Issue codes of the instruments / QS mapping (prefix QS; STYLE 3.1). Declared once here; never reuse a code."""

from __future__ import annotations

from cdisc.issues import Severity, declare

QS001 = declare("QS001", "QuestionnaireResponse is not a form of a known instrument: not mapped", Severity.WARNING,
                "set questionnaire to a canonical of fhir_samples/questionnaires (docs/FHIR-INPUT.md, Instruments)")
QS002 = declare("QS002", "item is not an item of the instrument: not mapped", Severity.WARNING,
                "use the item's QSTESTCD as linkId, or code it in the Questionnaire (instrument-items code system)")
QS003 = declare("QS003", "answer is not an allowed value of the item: kept as collected, not scored", Severity.WARNING,
                "answer with a value of the item's range or answerOption")
QS004 = declare("QS004", "score not calculable by the instrument's rules: QSSTAT NOT DONE with the reason", Severity.INFO)
QS005 = declare("QS005", "form answered twice on one day: the later is kept, the earlier is not mapped", Severity.WARNING,
                "send one completed form per instrument and day (amend the first instead of sending a second)")
QS006 = declare("QS006", "total sent by the source differs from the recomputed score: the recomputed score is kept",
                Severity.WARNING, "check the source's scoring against the instrument rules")
QS007 = declare("QS007", "QuestionnaireResponse is not completed", Severity.WARNING,
                "only completed/amended forms are complete; entered-in-error forms are not mapped")
QS008 = declare("QS008", "instrument record has no valid date", Severity.WARNING,
                "send QuestionnaireResponse.authored / Observation.effectiveDateTime as ISO 8601")
QS009 = declare("QS009", "instrument Observation has no value: not mapped", Severity.WARNING,
                "send valueInteger, valueQuantity, valueBoolean or valueCodeableConcept")
