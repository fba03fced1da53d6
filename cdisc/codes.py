"""Issue codes of the ``cdisc`` package (STYLE 3.1): CT (terminology), SHAPE (spec-driven shaping),
XPT (transport writer), DJSON (Dataset-JSON writer). Declared once here; never reuse a retired code.
"""

from __future__ import annotations

from cdisc.issues import Severity, declare

# Controlled terminology (cdisc.ct)
CT001 = declare("CT001", "value not in a non-extensible CDISC codelist", Severity.ERROR,
                "send a value that maps to a CDISC submission value or synonym, or add it to the study terminology")
CT002 = declare("CT002", "value not in an extensible CDISC codelist: kept as a sponsor extension", Severity.INFO,
                "check the value is not a synonym of an existing term; list it in define.xml as an extended value")

# Shaping by SDTMIG metadata (cdisc.shape)
SHAPE001 = declare("SHAPE001", "required variable missing or null", Severity.ERROR,
                   "a Req variable must be present and populated on every record (SDTMIG 4.1.5)")
SHAPE002 = declare("SHAPE002", "variable not in the SDTMIG domain spec", Severity.WARNING,
                   "put non-standard variables in SUPP-- (SDTMIG 8.4)")
SHAPE003 = declare("SHAPE003", "numeric variable holds a value that is not a number", Severity.ERROR,
                   "Num variables hold numbers; put text results in the Char counterpart")
SHAPE004 = declare("SHAPE004", "expected variable is entirely null", Severity.INFO,
                   "Exp variables are kept even when empty (SDTMIG 4.1.5)")
SHAPE005 = declare("SHAPE005", "text over 200 characters split into SUPP-- continuation", Severity.INFO,
                   "SDTMIG 4.5.3.1: first 200 characters in the variable, the rest in SUPP-- QNAMs")
SHAPE006 = declare("SHAPE006", "supplemental qualifier has no label in the qualifier table", Severity.ERROR,
                   "add the QNAM with its QLABEL (<= 40 characters) to the study's qualifier table")
SHAPE007 = declare("SHAPE007", "duplicate record for the domain keys", Severity.WARNING,
                   "records should be unique by the dataset's natural keys plus --SEQ")

# SAS V5 transport writer (cdisc.xpt)
XPT001 = declare("XPT001", "variable name longer than 8 characters or not a SAS name", Severity.ERROR,
                 "XPT v5 names are 1-8 characters, letters, digits and underscore, not starting with a digit")
XPT002 = declare("XPT002", "label longer than 40 characters", Severity.ERROR, "XPT v5 labels are at most 40 bytes")
XPT003 = declare("XPT003", "character value longer than 200 bytes", Severity.ERROR,
                 "split long text as SDTMIG 4.5.3 says (cdisc.shape.split_long_text)")
XPT004 = declare("XPT004", "non-ASCII characters transliterated to ASCII", Severity.WARNING,
                 "XPT output is ASCII; check the transliteration kept the meaning")
XPT005 = declare("XPT005", "dataset name longer than 8 characters or label longer than 40", Severity.ERROR, None)
XPT006 = declare("XPT006", "variable type does not match the spec", Severity.ERROR,
                 "shape the frame with cdisc.shape.shape_domain before writing")
XPT007 = declare("XPT007", "column is not a variable of the dataset spec", Severity.ERROR,
                 "shape the frame with cdisc.shape.shape_domain before writing")

# Dataset-JSON writer (cdisc.datasetjson)
DJSON001 = declare("DJSON001", "Dataset-JSON file does not match the expected structure", Severity.ERROR, None)

# DEF: define.xml (cdisc.define, cdisc.define_build)
DEF001 = declare("DEF001", "define.xml does not validate against the Define-XML 2.1 schema", Severity.ERROR,
                 "the document is not written; fix the metadata model (cdisc.define_build) that produced it")
DEF002 = declare("DEF002", "derived variable has no method", Severity.WARNING,
                 "name a MethodDef for the variable in mappings/origins.yaml (Define-XML 2.1 section 5.3.11)")
DEF003 = declare("DEF003", "define.xml definition is never referenced", Severity.WARNING,
                 "every MethodDef, CommentDef, CodeList and ValueListDef is referenced at least once")
DEF004 = declare("DEF004", "define.xml reference points to no definition", Severity.ERROR,
                 "each MethodOID, CommentOID, CodeListOID, ValueListOID and WhereClauseOID resolves")
DEF005 = declare("DEF005", "dataset class is not a Define-XML CT term", Severity.ERROR,
                 "def:Class/@Name takes a term of the General Observation Class codelist (C103329)")
