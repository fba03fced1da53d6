"""Trial design domains TA, TE, TV and TS, built from the study definition (data, not code).

Rows carry SDTM names only; STUDYID/DOMAIN are added here because these datasets are study-level.
Coded TS values are looked up in CDISC CT through ``ct`` (``cdisc.standards``), never typed here.
"""

from __future__ import annotations

from mappings.study import StudyDefinition

# TSPARMCD whose TSVAL is a CDISC CT term, and the response codelist (C-code) that holds it.
TS_RESPONSE_CODELISTS = {
    "TPHASE": "C66737", "TTYPE": "C66739", "SEXPOP": "C66732", "TBLIND": "C66735", "TCNTRL": "C66785",
    "STYPE": "C99077", "INTMODEL": "C99076", "ADDON": "C66742", "RANDOM": "C66742", "HLTSUBJI": "C66742",
    "FCNTRY": "ISO3166",
}
TS_PARAMETER_CODELIST = "C66738"     # TSPARMCD
TS_PARAMETER_NAME_CODELIST = "C67152"  # TSPARM
UNKNOWN_REASON = "NI"                # NULL FLAVOR: no information (C17998 codelist 'NI')


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


def build_ts(study: StudyDefinition, *, ct, ct_version: str, ig_version: str = "3.4") -> list[dict]:
    """TS rows: one per parameter value; unknown values get TSVALNF; CT-coded values get TSVALCD/TSVCDREF.

    ``ct`` is a ``cdisc.standards.ControlledTerminology``; TSPARM is the term of the TSPARM codelist that
    shares its NCI code with the TSPARMCD term.
    """
    names_by_code = {t.code: t.submission_value for t in ct.codelist(TS_PARAMETER_NAME_CODELIST).terms}
    params = dict(study.trial_summary)
    params.setdefault("SDTIGVER", ig_version)
    params.setdefault("SDTMVER", "2.0")
    rows = []
    for parmcd in sorted(params, key=lambda p: (p != "TITLE", p)):
        values = params[parmcd]
        values = values if isinstance(values, list) else [values]
        term = ct.term(TS_PARAMETER_CODELIST, parmcd)
        parm = names_by_code.get(term.code) if term else None
        for seq, value in enumerate(values, start=1):
            row = {"STUDYID": study.studyid, "DOMAIN": "TS", "TSSEQ": seq, "TSGRPID": None, "TSPARMCD": parmcd,
                   "TSPARM": parm or parmcd, "TSVAL": None, "TSVALNF": None, "TSVALCD": None,
                   "TSVCDREF": None, "TSVCDVER": None}
            if value is None:
                row["TSVALNF"] = UNKNOWN_REASON
            else:
                row["TSVAL"] = str(value)
                codelist = TS_RESPONSE_CODELISTS.get(parmcd)
                if codelist == "ISO3166":
                    row.update(TSVALCD=str(value), TSVCDREF="ISO 3166-1 alpha-3")
                elif codelist:
                    response = ct.term(codelist, str(value))
                    if response:
                        row.update(TSVAL=response.submission_value, TSVALCD=response.code,
                                   TSVCDREF="CDISC CT", TSVCDVER=ct_version)
            rows.append(row)
    return rows
