"""Trial design domains TA, TE, TV and TS, built from the study definition (data, not code).

Rows carry SDTM names only; STUDYID/DOMAIN are added here because these datasets are study-level.
Coded TS values are looked up in CDISC CT through ``ct`` (``cdisc.standards``), never typed here.
"""

from __future__ import annotations

from mappings.study import StudyDefinition

# TSPARMCD whose TSVAL is a CDISC CT term, and the response codelist (C-code) that holds it.
TS_RESPONSE_CODELISTS = {
    "TPHASE": "C66737", "TTYPE": "C66739", "SEXPOP": "C66732", "TBLIND": "C66735", "TCNTRL": "C66785",
    "STYPE": "C99077", "INTMODEL": "C99076", "INTTYPE": "C99078", "TINDTP": "C66736", "ADDON": "C66742",
    "RANDOM": "C66742", "HLTSUBJI": "C66742", "ADAPT": "C66742", "EXTTIND": "C66742", "RDIND": "C66742",
    "DOSU": "C71620", "DOSFRM": "C66726", "DOSFRQ": "C71113", "ROUTE": "C66729",
}
TS_PARAMETER_CODELIST = "C66738"     # TSPARMCD
TS_PARAMETER_NAME_CODELIST = "C67152"  # TSPARM
# TSVAL in ISO 8601 (dates, durations): TSVCDREF "ISO 8601", no TSVALCD (SDTMIG 3.4 TS assumption 9)
ISO8601_PARAMETERS = frozenset({"SSTDTC", "SENDTC", "AGEMIN", "AGEMAX", "LENGTH", "DCUTDTC", "PLNTRDUR",
                                "PTRTDUR", "CRMDUR", "SDMDUR", "TRGFUDUR"})
COUNTRY_PARAMETERS = frozenset({"FCNTRY", "MNFCNTRY"})    # ISO 3166-1 alpha-3 codes
CDISC_CT_REF, ISO8601_REF, ISO3166_REF = "CDISC CT", "ISO 8601", "ISO 3166"   # TSVCDREF terms (C66788)
# TSVALNF: ISO 21090 null flavors (SDTMIG 3.4 TS assumption 8)
NULL_FLAVORS = frozenset({"NI", "INV", "DER", "OTH", "PINF", "NINF", "UNC", "MSK", "NA", "UNK", "ASKU", "NAV",
                          "NASK", "QS", "TRC", "NP"})
UNKNOWN_REASON = "NI"                # no information
SDTM_VERSION = "2.0"                 # SDTM model version of SDTMIG 3.4


def build_ta(study: StudyDefinition) -> list[dict]:
    """One row per arm and element, in planned order; the screening element of a randomised trial branches."""
    randomised = len(study.arms) > 1
    rows = []
    for arm in study.arms:
        for order, etcd in enumerate(arm.elements, start=1):
            element = study.element(etcd)
            branch = f"Randomized to {arm.arm}" if randomised and order == 1 else None
            rows.append({"STUDYID": study.studyid, "DOMAIN": "TA", "ARMCD": arm.armcd, "ARM": arm.arm,
                         "TAETORD": order, "ETCD": etcd, "ELEMENT": element.element, "TABRANCH": branch,
                         "TATRANS": None, "EPOCH": element.epoch})
    return rows


def build_te(study: StudyDefinition) -> list[dict]:
    return [{"STUDYID": study.studyid, "DOMAIN": "TE", "ETCD": e.etcd, "ELEMENT": e.element,
             "TESTRL": e.start_rule, "TEENRL": e.end_rule, "TEDUR": e.duration} for e in study.elements]


def build_tv(study: StudyDefinition) -> list[dict]:
    rows = []
    for visit in study.visits:
        lo, hi = visit.window
        rows.append({"STUDYID": study.studyid, "DOMAIN": "TV", "VISITNUM": visit.visitnum, "VISIT": visit.visit,
                     "VISITDY": visit.day,
                     "TVSTRL": f"Study day {lo}" + (f" to {hi}" if hi != lo else ""),
                     "TVENRL": None})
    return rows


def derive_study_parameters(study: StudyDefinition, *, ig_version: str) -> dict[str, list]:
    """TS parameters that are facts held elsewhere in the study definition (one place for each fact):
    TITLE, SPONSOR, REGID, FCNTRY, NARMS, SDTIGVER, SDTMVER, and per investigational product DOSE, DOSU,
    DOSFRM, DOSFRQ, ROUTE (grouped by arm, TSGRPID, when there is more than one product).

    Values are ``(value, group)`` pairs; ``None`` means unknown.
    """
    params: dict[str, list] = {
        "TITLE": [(study.title, None)], "SPONSOR": [(study.sponsor, None)], "REGID": [(study.registry_id, None)],
        "FCNTRY": [(study.country, None)], "NARMS": [(len(study.arms), None)],
        "SDTIGVER": [(ig_version, None)], "SDTMVER": [(SDTM_VERSION, None)],
    }
    grouped = len(study.investigational) > 1
    for product in study.investigational:
        group = product.arm if grouped else None
        dose = int(product.dose) if float(product.dose).is_integer() else product.dose
        for parmcd, value in (("DOSE", dose), ("DOSU", product.dosu), ("DOSFRM", product.dosfrm),
                              ("DOSFRQ", product.frequency), ("ROUTE", product.route)):
            params.setdefault(parmcd, []).append((value, group))
    return params


def read_ts_value(value) -> dict:
    """One trial_summary value of the study file as TS fields.

    A scalar is TSVAL; ``null`` is unknown (TSVALNF NI); ``{nf: PINF}`` a given null flavor;
    ``{value: ..., code: ..., ref: ..., version: ...}`` a value coded in an external dictionary (UNII, SNOMED).

    >>> read_ts_value({"nf": "PINF"})["TSVALNF"]
    'PINF'
    """
    if value is None:
        return {"TSVALNF": UNKNOWN_REASON}
    if isinstance(value, dict):
        if "nf" in value:
            if value["nf"] not in NULL_FLAVORS:
                raise ValueError(f"TSVALNF {value['nf']!r} is not an ISO 21090 null flavor")
            return {"TSVALNF": value["nf"]}
        return {"TSVAL": str(value["value"]), "TSVALCD": value.get("code"), "TSVCDREF": value.get("ref"),
                "TSVCDVER": value.get("version")}
    return {"TSVAL": str(value)}


def code_ts_value(parmcd: str, fields: dict, *, ct, ct_version: str) -> dict:
    """TSVALCD/TSVCDREF/TSVCDVER of a plain TSVAL: CDISC CT term, ISO 3166 country or ISO 8601 value."""
    value = fields.get("TSVAL")
    if value is None or fields.get("TSVCDREF"):
        return fields
    if parmcd in COUNTRY_PARAMETERS:
        return {**fields, "TSVALCD": value, "TSVCDREF": ISO3166_REF}
    if parmcd in ISO8601_PARAMETERS:
        return {**fields, "TSVCDREF": ISO8601_REF}
    codelist = TS_RESPONSE_CODELISTS.get(parmcd)
    response = ct.term(codelist, value) if codelist else None
    if response is None:
        return fields
    return {**fields, "TSVAL": response.submission_value, "TSVALCD": response.code, "TSVCDREF": CDISC_CT_REF,
            "TSVCDVER": ct_version}


def build_ts(study: StudyDefinition, *, ct, ct_version: str, ig_version: str = "3.4",
             from_data: dict | None = None) -> list[dict]:
    """TS rows: one per parameter value (TSSEQ 1..n within TSPARMCD); unknown values get TSVALNF;
    coded values get TSVALCD/TSVCDREF/TSVCDVER (SDTMIG 3.4 TS assumptions 7-9).

    ``ct`` is a ``cdisc.standards.ControlledTerminology``; TSPARM is the term of the TSPARM codelist that
    shares its NCI code with the TSPARMCD term. Parameters come from the study file's ``trial_summary``
    and from :func:`derive_study_parameters`. ``from_data`` holds values known only from the data (ACTSUB, and
    SSTDTC as the first informed consent): each fills a parameter the study file leaves unknown or absent.
    """
    names_by_code = {t.code: t.submission_value for t in ct.codelist(TS_PARAMETER_NAME_CODELIST).terms}
    params = derive_study_parameters(study, ig_version=ig_version)
    for parmcd, values in study.trial_summary.items():
        if parmcd in params:
            continue    # the study file states it once, elsewhere
        values = values if isinstance(values, list) else [values]
        params[parmcd] = [(v, None) for v in values]
    for parmcd, value in (from_data or {}).items():
        if value is not None and all(v is None for v, _ in params.get(parmcd, [(None, None)])):
            params[parmcd] = [(value, None)]
    rows = []
    for parmcd in sorted(params):
        term = ct.term(TS_PARAMETER_CODELIST, parmcd)
        parm = names_by_code.get(term.code) if term else None
        for seq, (value, group) in enumerate(params[parmcd], start=1):
            fields = code_ts_value(parmcd, read_ts_value(value), ct=ct, ct_version=ct_version)
            rows.append({"STUDYID": study.studyid, "DOMAIN": "TS", "TSSEQ": seq, "TSGRPID": group,
                         "TSPARMCD": parmcd, "TSPARM": parm or parmcd, "TSVAL": fields.get("TSVAL"),
                         "TSVALNF": fields.get("TSVALNF"), "TSVALCD": fields.get("TSVALCD"),
                         "TSVCDREF": fields.get("TSVCDREF"), "TSVCDVER": fields.get("TSVCDVER")})
    return rows
