"""DM (Demographics): one record per subject, from Patient, ResearchSubject and the subject context.

Value rules (study definition ``subject`` section; docs/FHIR-INPUT.md):

- RFSTDTC/RFENDTC/RFXSTDTC/RFXENDTC: first/last study-drug exposure (both pairs: the reference period
  is the treatment period; a subject assigned an arm but never treated has none of them: CORE-000192/000758);
  RFICDTC, RFPENDTC from the subject context (``mappings.subject``).
- DTHDTC from ``Patient.deceasedDateTime``; DTHFL ``Y`` when it or ``deceasedBoolean`` says so, else null.
- SITEID, COUNTRY from the study definition; BRTHDTC per ``subject.brthdtc`` (none | year | full).
- AGE in completed years at ``subject.age_at`` (consent: RFICDTC; first-dose: RFSTDTC), AGEU YEARS. Without
  the consent date, the first dose, then the randomisation date is the reference (MAP022). A birth date known
  to the year or month gives the minimum possible age: the birth date is taken as the last day of the known
  period (MAP022); no birth date or no reference date: no AGE (MAP010).
- SEX by ``subject.sex_policy``: the first source, in order, whose value maps to M or F wins; a source
  mapping to U is kept only when no later source says M/F; no source: U (MAP011).
- RACE/ETHNIC from the US Core race/ethnicity ``ombCategory`` codings through
  ``terminology/demographics.csv``; race absent: NOT REPORTED, ethnicity absent: null (CORE-000726 admits only
  HISPANIC OR LATINO / NOT HISPANIC OR LATINO in ETHNIC); several races: MULTIPLE and SUPPDM
  RACE1..RACEn (SDTMIG 3.4 DM assumption 7).
- ARMCD/ARM/ACTARMCD/ACTARM with ARMNRS (C142179) for screen failures, not assigned, assigned not
  treated and unplanned treatment (then ACTARMUD names the products given).
- DMDTC: RFICDTC (demographics are collected at the screening visit, after consent: an assumption).
"""

from __future__ import annotations

import csv
from datetime import date
from functools import cache
from pathlib import Path

from cdisc.dates import date_part, parse_dtc
from cdisc.issues import Issue, issue
from cdisc.standards import ControlledTerminology, load_ct
from interop.normalize.record import SubjectRecord, extension_value
from mappings.algorithms import (assign, assign_ct, assign_dtc, hardcode, hardcode_ct, where_resource, with_source,
                                 add_supp)
from mappings.codes import MAP010, MAP011, MAP021, MAP022
from mappings.ex import read_exposures
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition
from mappings.subject import NOT_ASSIGNED, SCREEN_FAILURE

DEMOGRAPHICS_FILE = Path(__file__).resolve().parent / "terminology" / "demographics.csv"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
US_CORE_RACE = US_CORE + "us-core-race"
US_CORE_ETHNICITY = US_CORE + "us-core-ethnicity"
US_CORE_BIRTHSEX = US_CORE + "us-core-birthsex"

# CT terms by NCI C-code (the text lives in the CT package)
ARMNRS = "C142179"
ARMNRS_SCREEN_FAILURE, ARMNRS_NOT_ASSIGNED = "C49628", "C142239"
ARMNRS_NOT_TREATED, ARMNRS_UNPLANNED = "C142238", "C142240"
NY, YES = "C66742", "C49488"
AGEU, YEARS = "C66781", "C29848"
DETERMINATE_SEX = frozenset({"M", "F"})


@cache
def load_demographics() -> dict[tuple[str, str, str], str]:
    """``terminology/demographics.csv`` as (variable, source, code) -> CDISC submission value."""
    with DEMOGRAPHICS_FILE.open(encoding="utf-8", newline="") as handle:
        return {(r["variable"], r["source"], r["code"]): r["cdisc"] for r in csv.DictReader(handle)}


def compute_age_years(birth: date, at: date) -> int:
    """Completed years from ``birth`` to ``at``.

    >>> compute_age_years(date(1970, 5, 15), date(2023, 5, 14)), compute_age_years(date(1970, 5, 15), date(2023, 5, 15))
    (52, 53)
    """
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def derive_sex(patient: dict, policy: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(SEX, the source that gave it) by the policy; (None, None) when no source has a value."""
    table = load_demographics()
    values = {"gender": patient.get("gender"), "us-core-birthsex": extension_value(patient, US_CORE_BIRTHSEX)}
    fallback = (None, None)
    for source in policy:
        value = table.get(("SEX", source, str(values.get(source)))) if values.get(source) else None
        if value in DETERMINATE_SEX:
            return value, source
        if value is not None and fallback[0] is None:
            fallback = (value, source)
    return fallback


def omb_codings(patient: dict, url: str) -> list[tuple[str, str]]:
    """(system, code) of the ombCategory codings of a US Core race/ethnicity extension."""
    out = []
    for ext in patient.get("extension") or []:
        if not isinstance(ext, dict) or ext.get("url") != url:
            continue
        for sub in ext.get("extension") or []:
            coding = sub.get("valueCoding") if isinstance(sub, dict) and sub.get("url") == "ombCategory" else None
            if isinstance(coding, dict):
                out.append((coding.get("system") or "", coding.get("code") or ""))
    return out


def derive_race_values(codes: list[tuple[str, str]], variable: str, where) -> tuple[list[str], list[Issue]]:
    """The distinct CDISC values of the codings (in order) and MAP021 for codes not in the table."""
    table = load_demographics()
    values: list[str] = []
    issues = []
    for system, code in codes:
        value = table.get((variable, system, code))
        if value is None:
            issues.append(issue(MAP021, f"{variable}: {system}|{code} is not in terminology/demographics.csv", where))
        elif value not in values:
            values.append(value)
    return values, issues


def derive_race(patient_res, ct: ControlledTerminology) -> tuple[dict, list[Issue]]:
    """RACE and, for several races, SUPPDM RACE1..n; ETHNIC. Absent race: NOT REPORTED; absent ethnicity: null
    (ETHNIC takes only the two collected values, CORE-000726; "not collected" is not "not reported")."""
    table = load_demographics()
    row: dict = {}
    issues: list[Issue] = []
    for variable, url, codelist in (("RACE", US_CORE_RACE, "C74457"), ("ETHNIC", US_CORE_ETHNICITY, "C66790")):
        where = where_resource(patient_res, f"extension({url})")
        values, found = derive_race_values(omb_codings(patient_res.data, url), variable, where)
        issues.extend(found)
        if len(values) > 1 and variable == "RACE":
            row = assign(row, variable, table[(variable, "multiple", "")])
            for n, value in enumerate(values, start=1):
                row = add_supp(row, f"{variable}{n}", value)
        value = values[0] if values else (table[(variable, "absent", "")] or None)
        if value is None:
            continue
        row, found = assign_ct(row, variable, value, codelist=codelist, ct=ct, where=where)
        issues.extend(found)
    return row, issues


def latest_possible_date(text: str | None) -> date | None:
    """The last day a partial date can stand for ('1950' -> 1950-12-31, '1950-02' -> 1950-02-28).

    >>> latest_possible_date("1950"), latest_possible_date("1952-02"), latest_possible_date("1950-06-01")
    (datetime.date(1950, 12, 31), datetime.date(1952, 2, 29), datetime.date(1950, 6, 1))
    """
    import calendar

    parsed = parse_dtc(text)
    if parsed is None:
        return None
    if parsed.day is not None:
        return parsed.to_date()
    month = parsed.month or 12
    return date(parsed.year, month, calendar.monthrange(parsed.year, month)[1])


def derive_age(patient_res, subject: SubjectContext, study: StudyDefinition, ct) -> tuple[dict, list[Issue]]:
    """AGE/AGEU in completed years at the study's reference (see the module docstring for partial dates)."""
    preferred = (study.raw.get("subject") or {}).get("age_at", "consent")
    candidates = {"consent": subject.rficdtc, "first-dose": subject.rfstdtc}
    order = [preferred] + [k for k in ("consent", "first-dose") if k != preferred] + ["randomisation"]
    candidates["randomisation"] = subject.randdtc
    reference = next(((k, date_part(candidates[k])) for k in order if date_part(candidates[k])), (None, None))
    birth_text = patient_res.get("birthDate")
    birth = latest_possible_date(birth_text) if isinstance(birth_text, str) else None
    where = where_resource(patient_res, "birthDate")
    if birth is None or reference[1] is None:
        return {}, [issue(MAP010, "birth date or reference date missing", where)]
    issues = []
    if reference[0] != preferred:
        issues.append(issue(MAP022, f"AGE at the {reference[0]} date: no {preferred} date", where))
    if date_part(birth_text) is None:
        issues.append(issue(MAP022, f"AGE from the partial birth date '{birth_text}': minimum possible age", where))
    row = assign({}, "AGE", compute_age_years(birth, reference[1]))
    return hardcode_ct(row, "AGEU", YEARS, codelist=AGEU, ct=ct), issues


def derive_arms(subject: SubjectContext, study: StudyDefinition, given: list[str], ct) -> dict:
    """ARMCD/ARM/ACTARMCD/ACTARM/ARMNRS/ACTARMUD (SDTMIG 3.4 DM assumption 4)."""
    planned, actual = study.arm(subject.armcd or ""), study.arm(subject.actarmcd or "")
    row: dict = {}
    if planned is not None:
        row = assign(assign(row, "ARMCD", planned.armcd), "ARM", planned.arm)
    if planned is not None and actual is not None:
        row = assign(assign(row, "ACTARMCD", actual.armcd), "ACTARM", actual.arm)
    reason = None
    if subject.status == SCREEN_FAILURE:
        reason = ARMNRS_SCREEN_FAILURE
    elif subject.status == NOT_ASSIGNED or planned is None:
        reason = ARMNRS_NOT_ASSIGNED
    elif not given:
        reason = ARMNRS_NOT_TREATED
    elif actual is None:
        reason = ARMNRS_UNPLANNED
        row = assign(row, "ACTARMUD", ", ".join(given))
    return hardcode_ct(row, "ARMNRS", reason, codelist=ARMNRS, ct=ct) if reason else row


def derive_birth_date(birth_text: str | None, setting: str) -> str | None:
    """BRTHDTC as configured: none, year, full."""
    parsed = parse_dtc(birth_text)
    if parsed is None or setting == "none":
        return None
    return f"{parsed.year:04d}" if setting == "year" else parsed.iso()


def map_dm(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext,
           ct: ControlledTerminology | None = None) -> MapResult:
    """The DM row of one subject (see the module doc)."""
    ct = ct or load_ct()
    pat = record.patient
    result = MapResult("DM")
    row = assign({}, "SUBJID", subject.subjid)
    for var, value in (("RFSTDTC", subject.rfstdtc), ("RFENDTC", subject.rfendtc), ("RFXSTDTC", subject.rfstdtc),
                       ("RFXENDTC", subject.rfendtc), ("RFICDTC", subject.rficdtc), ("RFPENDTC", subject.rfpendtc),
                       ("DTHDTC", pat.get("deceasedDateTime")), ("DMDTC", subject.rficdtc)):
        row, found = assign_dtc(row, var, value, where=where_resource(pat))
        result.issues.extend(found)
    dead = bool(pat.get("deceasedDateTime")) or pat.get("deceasedBoolean") is True
    row = hardcode_ct(row, "DTHFL", YES, codelist=NY, ct=ct, when=dead)
    row = assign(row, "SITEID", study.siteid)
    row = assign(row, "BRTHDTC", derive_birth_date(pat.get("birthDate"), study.brthdtc))
    age, found = derive_age(pat, subject, study, ct)
    result.issues.extend(found)
    row = {**row, **age}
    sex, _ = derive_sex(pat.data, study.sex_policy)
    if sex is None:
        result.issues.append(issue(MAP011, "no gender or birth sex", where_resource(pat, "gender")))
    row, found = assign_ct(row, "SEX", sex or "U", codelist="C66731", ct=ct, where=where_resource(pat, "gender"))
    result.issues.extend(found)
    race, found = derive_race(pat, ct)
    result.issues.extend(found)
    row = {**row, **{k: v for k, v in race.items() if k != "_supp"}}
    if "_supp" in race:
        row = {**row, "_supp": race["_supp"]}
    given = sorted({e.product.name for e in read_exposures(record, study).exposures})
    row = {**row, **derive_arms(subject, study, given, ct)}
    row = hardcode(row, "COUNTRY", study.country)
    result.rows.append(with_source(row, pat.key, subject.research_subject_key or "", rule="DM.from-patient"))
    result.unmapped.update({r.key: "ResearchSubject of another study, or a duplicate for this study"
                            for r in record.of_type("ResearchSubject") if r.key != subject.research_subject_key})
    return result
