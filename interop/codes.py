"""Issue codes of the FHIR side (``interop.ingest`` and ``interop.normalize``), declared once.

Each code has a bad-input case file ``tests/cases/<CODE>.yaml`` (one case that fires, one that does not).
Codes are never reused: retire a code by leaving it here with ``(retired)`` in its title.
"""

from __future__ import annotations

from cdisc.issues import Severity, declare

# ---- reading files ------------------------------------------------------------------------------
FHIR001 = declare("FHIR001", "invalid JSON", Severity.ERROR,
                  "the file or NDJSON line is not valid JSON; fix the export and re-run")
FHIR002 = declare("FHIR002", "JSON value is not an object", Severity.ERROR,
                  "a FHIR resource is a JSON object with a resourceType")
FHIR003 = declare("FHIR003", "resourceType missing", Severity.ERROR,
                  "every resource needs a resourceType element")
FHIR004 = declare("FHIR004", "unknown resourceType", Severity.ERROR,
                  "only FHIR R4 resource types are read")
FHIR005 = declare("FHIR005", "element has the wrong JSON type; element dropped", Severity.WARNING,
                  "check the element against the FHIR R4 structure (object, array, string, number, boolean)")
FHIR006 = declare("FHIR006", "unknown element; element dropped", Severity.WARNING,
                  "the element is not part of the FHIR R4 definition of this type")
FHIR007 = declare("FHIR007", "not a FHIR date/dateTime/instant; element dropped", Severity.WARNING,
                  "send YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm)")
FHIR008 = declare("FHIR008", "time without UTC offset taken as site local time", Severity.INFO,
                  "FHIR requires an offset on dateTime values with a time; the site's time zone was assumed")
FHIR009 = declare("FHIR009", "nesting too deep; element dropped", Severity.ERROR,
                  "the element nests deeper than any FHIR structure needs")
FHIR010 = declare("FHIR010", "string too long; element dropped", Severity.WARNING,
                  "strings over the size limit are not read")
FHIR011 = declare("FHIR011", "reference does not resolve to any input resource", Severity.WARNING,
                  "include the referenced resource in the input, or check the reference")
FHIR012 = declare("FHIR012", "duplicate copy of a resource dropped", Severity.INFO)
FHIR013 = declare("FHIR013", "older version of a resource dropped (superseded)", Severity.INFO)
FHIR014 = declare("FHIR014", "conflicting copies of a resource without version; first kept", Severity.WARNING,
                  "give each copy a meta.versionId or meta.lastUpdated so the newest can be chosen")
FHIR015 = declare("FHIR015", "resource belongs to no patient and is not shared reference data", Severity.WARNING,
                  "link it to a Patient (subject/patient/beneficiary/individual) or drop it from the export")
FHIR016 = declare("FHIR016", "XML refused: DTD or entity declarations are not accepted", Severity.ERROR,
                  "FHIR XML never needs a DOCTYPE; remove it")
FHIR017 = declare("FHIR017", "invalid FHIR XML", Severity.ERROR,
                  "the file is not well-formed FHIR XML (namespace http://hl7.org/fhir)")
FHIR018 = declare("FHIR018", "file cannot be read", Severity.ERROR,
                  "check the file exists, is readable and (if .gz) is a valid gzip file")
FHIR019 = declare("FHIR019", "resource has no id; keyed by fullUrl or content hash", Severity.INFO)
FHIR020 = declare("FHIR020", "Bulk Data manifest problem", Severity.ERROR,
                  "the $export manifest must list readable NDJSON files in output[].url")
FHIR021 = declare("FHIR021", "file skipped: not a FHIR input format", Severity.INFO,
                  "inputs are .json, .ndjson, .xml and their .gz")
FHIR022 = declare("FHIR022", "resource fails FHIR R4B model validation", Severity.WARNING,
                  "the resource was kept as read; see the message for the failing element")
FHIR023 = declare("FHIR023", "no pseudonym secret configured", Severity.ERROR,
                  "set the secret in the environment variable or file named in the configuration")
FHIR024 = declare("FHIR024", "unknown site time zone", Severity.ERROR,
                  "the study definition's site.timezone must be an IANA zone name such as Europe/Paris")
FHIR025 = declare("FHIR025", "control characters removed from a string (FHIR strings allow none but tab, CR, LF)",
                  Severity.WARNING, "remove control characters at the source system")
FHIR026 = declare("FHIR026", "number beyond 64 bits; element dropped", Severity.WARNING,
                  "integers and decimals are carried as 64-bit numbers (a JSON export with one fails to parse: "
                  "FHIR001); send the value within range")
