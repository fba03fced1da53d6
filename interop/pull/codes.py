"""Issue codes of ``interop pull`` (fetching from a hospital FHIR server), declared once.

Messages name the request (method, path, resource type or id) and the server's own words
(OperationOutcome issue text); never a token, password, key or client assertion.
"""

from __future__ import annotations

from cdisc.issues import Severity, declare

PULL001 = declare("PULL001", "server answered with an error", Severity.ERROR,
                  "read the server's OperationOutcome text in the message; fix the request or ask the server's team")
PULL002 = declare("PULL002", "server unreachable or still failing after retries", Severity.ERROR,
                  "check the base URL and the network; re-run later: finished files are kept and not fetched again")
PULL003 = declare("PULL003", "authentication failed", Severity.ERROR,
                  "check the client id, key/token and scope registered with the server")
PULL004 = declare("PULL004", "server warning", Severity.WARNING,
                  "the server reported a problem with the request (e.g. an ignored search parameter); results were "
                  "checked on our side")
PULL005 = declare("PULL005", "ResearchStudy not found on the server", Severity.ERROR,
                  "the server has no ResearchStudy with the study definition's identifier; pass --patient or --group")
PULL006 = declare("PULL006", "no patients selected", Severity.WARNING,
                  "no ResearchSubject of the study, patient id or Group member was found")
PULL007 = declare("PULL007", "output file could not be downloaded; the pull is partial", Severity.ERROR,
                  "re-run the same command: files already downloaded are kept")
PULL008 = declare("PULL008", "resources the server left out were filled by type searches", Severity.INFO,
                  "the server's $everything/$export does not return this type for a patient")
PULL009 = declare("PULL009", "resources of patients outside the selection were dropped", Severity.INFO)
PULL010 = declare("PULL010", "export cancelled on the server (DELETE)", Severity.WARNING)
PULL011 = declare("PULL011", "interrupted export resumed; finished files not fetched again", Severity.INFO)
PULL012 = declare("PULL012", "referenced resource could not be fetched", Severity.WARNING,
                  "the converter will report the unresolved reference (FHIR011)")
PULL013 = declare("PULL013", "invalid pull options", Severity.ERROR)
PULL014 = declare("PULL014", "response is not FHIR JSON", Severity.ERROR,
                  "the server answered with something other than a FHIR resource or NDJSON line")
PULL015 = declare("PULL015", "earlier export no longer available on the server; started again", Severity.WARNING)
