"""The eligibility rules: small functions named in the criteria files (STYLE 3.5: a plain dict of names).

Each rule takes its parameters (from the YAML) and a :class:`RuleContext`, and returns an :class:`Outcome`
stating whether the rule's sentence is true of the patient: met / not met / cannot be determined (with what
is missing) / needs review. Absence semantics, per kind of fact (documented in docs/FHIR-INPUT.md):
diagnoses, procedures, vaccines, allergies and treatments are taken as recorded (none in the record -> not met);
measurements (labs, scores, pregnancy, contraception, alcohol), consent and coverage must be present
(none -> cannot be determined).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Callable, Iterable

from cdisc.issues import issue
from interop.normalize.record import Resource, codings, extension_value
from mappings.drugs import medication_concept
from mappings.eligibility.codes import ELIG001, ELIG004, ELIG005
from mappings.eligibility.context import RuleContext, usable
from mappings.eligibility.model import Evidence, Outcome, Verdict
from mappings.eligibility.timeline import (Bounds, add_months, add_years, age_bounds, in_window, overlaps)
from mappings.eligibility.valuesets import ValueSet, load_valueset, system_uri, union
from mappings.instruments.cdasi import compute_cdasi_activity
from mappings.instruments.clasi import compute_clasi_activity
from mappings.instruments.definitions import load_instruments
from mappings.units import convert_lab_value, format_decimal, to_decimal

EX = "https://example.org/fhir2cdisc"
VTE_PROVOKED = f"{EX}/StructureDefinition/vte-provoked"
TUMOUR_TREATMENT_END = f"{EX}/StructureDefinition/tumour-treatment-end"
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
INACTIVE_CLINICAL = frozenset({"inactive", "remission", "resolved"})
UNCONFIRMED = frozenset({"unconfirmed", "provisional", "differential"})
FINAL_STATUSES = frozenset({"final", "amended", "corrected", "preliminary"})
POSITIVE_WORDS = frozenset({"positive", "positif", "positivo", "pos", "reactive", "阳性"})
NEGATIVE_WORDS = frozenset({"negative", "négatif", "negatif", "negativo", "neg", "non-reactive", "阴性"})

# instrument + score named in the criteria -> the instruments engineer's scorer (the same ones QS uses)
SCORERS: dict[tuple[str, str], Callable] = {
    ("CDASI", "activity"): compute_cdasi_activity,
    ("CLASI", "activity"): compute_clasi_activity,
}

Rule = Callable[[dict, RuleContext], Outcome]


# ---- small readers ------------------------------------------------------------------------------

def _code_of(concept: dict | None, valueset: ValueSet) -> str:
    return valueset.matching_code(concept) or "?"


def _clinical_status(resource: Resource) -> str | None:
    for _, code, _ in codings(resource.get("clinicalStatus")):
        return code
    return None


def _is_confirmed(resource: Resource) -> bool:
    return not any(code in UNCONFIRMED for _, code, _ in codings(resource.get("verificationStatus")))


def _observation_date(ctx: RuleContext, res: Resource) -> Bounds | None:
    if "effectiveDateTime" in res.data:
        return ctx.bounds_of(res, "effectiveDateTime", res.get("effectiveDateTime"))
    if "effectivePeriod" in res.data:
        return ctx.bounds_of(res, "effectivePeriod.start", (res.get("effectivePeriod") or {}).get("start"))
    return ctx.bounds_of(res, "issued", res.get("issued"))


def _observations(ctx: RuleContext, valueset: ValueSet, window: tuple[date, date] | None):
    """Usable Observations coded in the value set, dated inside the window, latest first: (bounds, res)."""
    found = []
    for res in valueset.coded_in(ctx.record, "Observation"):
        if not usable(res):
            continue
        bounds = _observation_date(ctx, res)
        if bounds is None:
            continue
        if window is not None and in_window(bounds, *window) is not True:
            continue
        found.append((bounds, res))
    return sorted(found, key=lambda pair: (pair[0][1], pair[1].key), reverse=True)


def _boolean_value(ctx: RuleContext, res: Resource) -> bool | None:
    value = res.get("valueBoolean")
    if isinstance(value, bool):
        return value
    ctx.issues.append(issue(ELIG005, f"{res.key} should carry valueBoolean", ctx.location(res, "value[x]")))
    return None


def _qualitative(res: Resource) -> bool | None:
    """True positive / False negative / None unknown, from valueCodeableConcept or valueString."""
    concept = res.get("valueCodeableConcept")
    if concept:
        if load_valueset("result-positive").matches(concept):
            return True
        if load_valueset("result-negative").matches(concept):
            return False
    text = res.get("valueString")
    if isinstance(text, str):
        word = text.strip().lower()
        if word in POSITIVE_WORDS:
            return True
        if word in NEGATIVE_WORDS:
            return False
    return None


def _date_text(res: Resource, *elements: str) -> str | None:
    for element in elements:
        node = res.data
        for part in element.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            return node
    return None


def _need_day(ctx: RuleContext) -> Outcome | None:
    if ctx.day is None:
        return Outcome(Verdict.UNDETERMINED, missing=("a screening date (Consent, screening Encounter or --as-of)",))
    return None


# ---- combinators ----------------------------------------------------------------------------------

def _merge(children: list[Outcome], verdict: Verdict, decisive: Verdict | None) -> Outcome:
    """Keep the evidence of the children that decided ``verdict`` (all of them when none is decisive)."""
    chosen = [c for c in children if decisive is None or c.verdict is decisive] or children
    return Outcome(verdict,
                   tuple(e for c in chosen for e in c.evidence),
                   tuple(m for c in children for m in c.missing) if verdict in (Verdict.UNDETERMINED, Verdict.REVIEW) else (),
                   tuple(n for c in children for n in c.notes))


def combine_any(children: list[Outcome]) -> Outcome:
    """Three-valued OR: met if one is met; else open if one is open; else not met."""
    verdicts = [c.verdict for c in children]
    for verdict in (Verdict.MET, Verdict.UNDETERMINED, Verdict.REVIEW):
        if verdict in verdicts:
            return _merge(children, verdict, verdict if verdict is Verdict.MET else None)
    return _merge(children, Verdict.NOT_MET, None)


def combine_all(children: list[Outcome]) -> Outcome:
    """Three-valued AND: not met if one is not met; else open if one is open; else met."""
    verdicts = [c.verdict for c in children]
    for verdict in (Verdict.NOT_MET, Verdict.UNDETERMINED, Verdict.REVIEW):
        if verdict in verdicts:
            return _merge(children, verdict, verdict if verdict is Verdict.NOT_MET else None)
    return _merge(children, Verdict.MET, None)


def evaluate(node: dict, ctx: RuleContext) -> Outcome:
    """Evaluate a logic tree (``any`` / ``all`` / ``rule``) for one patient."""
    if "any" in node:
        return combine_any([evaluate(child, ctx) for child in node["any"]])
    if "all" in node:
        return combine_all([evaluate(child, ctx) for child in node["all"]])
    return RULES[node["rule"]](node, ctx)


# ---- demographics, consent, coverage -------------------------------------------------------------

def rule_sex(params: dict, ctx: RuleContext) -> Outcome:
    gender = ctx.record.patient.get("gender")
    if gender not in ("male", "female"):
        return Outcome(Verdict.UNDETERMINED, missing=("Patient.gender",))
    evidence = (Evidence(ctx.record.key, f"gender {gender}"),)
    return Outcome(Verdict.MET if gender == params["is"] else Verdict.NOT_MET, evidence)


def rule_age(params: dict, ctx: RuleContext) -> Outcome:
    """Age in completed years at the screening date (= consent) within [min, max]."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    patient = ctx.record.patient
    birth = ctx.bounds_of(patient, "birthDate", patient.get("birthDate"))
    if birth is None:
        return Outcome(Verdict.UNDETERMINED, missing=("Patient.birthDate",))
    youngest, oldest = age_bounds(birth, ctx.day)
    low, high = params.get("min"), params.get("max")
    fits = [(low is None or age >= low) and (high is None or age <= high) for age in (youngest, oldest)]
    shown = str(youngest) if youngest == oldest else f"{youngest}-{oldest}"
    # the birth date itself is never evidence: it is an identifier (issue #8); the age and its date suffice
    evidence = (Evidence(ctx.record.key, f"age {shown} years on {ctx.screening.iso} ({ctx.screening.source})"),)
    if all(fits):
        return Outcome(Verdict.MET, evidence)
    if not any(fits):
        return Outcome(Verdict.NOT_MET, evidence)
    return Outcome(Verdict.UNDETERMINED, evidence, ("a full birth date",))


def rule_consent(params: dict, ctx: RuleContext) -> Outcome:
    consents = ctx.record.of_type("Consent")
    active = [c for c in consents if c.get("status") == "active" and c.get("dateTime")]
    if active:
        first = min(active, key=lambda c: c.get("dateTime"))
        return Outcome(Verdict.MET, (Evidence(first.key, "written informed consent", first.get("dateTime")),))
    if any(c.get("status") in ("rejected", "inactive") for c in consents):
        refused = next(c for c in consents if c.get("status") in ("rejected", "inactive"))
        return Outcome(Verdict.NOT_MET, (Evidence(refused.key, f"consent {refused.get('status')}",
                                                  refused.get("dateTime")),))
    return Outcome(Verdict.UNDETERMINED, missing=("an active Consent with dateTime",))


def rule_coverage(params: dict, ctx: RuleContext) -> Outcome:
    """An active Coverage of the given type whose period holds the screening date."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    wanted = union(params["valuesets"])
    coverages = [c for c in ctx.record.of_type("Coverage") if usable(c)]
    for cov in coverages:
        if cov.get("status") != "active" or not wanted.matches(cov.get("type")):
            continue
        period = cov.get("period") or {}
        start = ctx.bounds_of(cov, "period.start", period.get("start"))
        end = ctx.bounds_of(cov, "period.end", period.get("end"))
        if (start is None or start[1] <= ctx.day) and (end is None or end[0] >= ctx.day):
            return Outcome(Verdict.MET, (Evidence(cov.key, f"coverage {_code_of(cov.get('type'), wanted)} active",
                                                  period.get("start")),))
    if coverages:
        return Outcome(Verdict.NOT_MET, tuple(Evidence(c.key, f"coverage {c.get('status')}, not of the required type "
                                                       "or not covering the screening date") for c in coverages))
    return Outcome(Verdict.UNDETERMINED, missing=("a Coverage (French social security)",))


# ---- pregnancy, breastfeeding, fertility, contraception, alcohol ---------------------------------------

def _male(ctx: RuleContext) -> Evidence | None:
    if ctx.record.patient.get("gender") == "male":
        return Evidence(ctx.record.key, "gender male")
    return None


def rule_pregnancy(params: dict, ctx: RuleContext) -> Outcome:
    """``is: pregnant | not-pregnant``: latest pregnancy status or hCG result in the assessment window."""
    want_pregnant = params["is"] == "pregnant"
    if (male := _male(ctx)) is not None:
        return Outcome(Verdict.NOT_MET if want_pregnant else Verdict.MET, (male,))
    if (missing := _need_day(ctx)) is not None:
        return missing
    window = ctx.assessment_window()
    status_vs = load_valueset("pregnancy-status")
    candidates = _observations(ctx, union(["pregnancy-status", "lab:HCG"]), window)
    for bounds, res in candidates:
        if status_vs.matches(res.get("code")):
            value = res.get("valueCodeableConcept")
            pregnant = (True if load_valueset("pregnant").matches(value)
                        else False if load_valueset("not-pregnant").matches(value) else None)
        else:
            pregnant = _qualitative(res)
        if pregnant is None:
            continue
        fact = ("pregnant" if pregnant else "not pregnant") + (" (hCG test)" if not status_vs.matches(res.get("code")) else "")
        evidence = (Evidence(res.key, fact, _observation_date_text(res)),)
        return Outcome(Verdict.MET if pregnant == want_pregnant else Verdict.NOT_MET, evidence)
    return Outcome(Verdict.UNDETERMINED, missing=("pregnancy status or hCG test in the screening window",))


def _observation_date_text(res: Resource) -> str | None:
    return _date_text(res, "effectiveDateTime", "effectivePeriod.start", "issued")


def _boolean_observation_rule(ctx: RuleContext, valueset: str, want: bool, what: str,
                              window: tuple[date, date] | None) -> Outcome:
    for _, res in _observations(ctx, load_valueset(valueset), window):
        value = _boolean_value(ctx, res)
        if value is None:
            continue
        evidence = (Evidence(res.key, f"{what}: {'yes' if value else 'no'}", _observation_date_text(res)),)
        return Outcome(Verdict.MET if value == want else Verdict.NOT_MET, evidence)
    return Outcome(Verdict.UNDETERMINED, missing=(f"{what} (Observation, valueBoolean)",))


def rule_breastfeeding(params: dict, ctx: RuleContext) -> Outcome:
    want = params["is"] == "yes"
    if (male := _male(ctx)) is not None:
        return Outcome(Verdict.NOT_MET if want else Verdict.MET, (male,))
    if (missing := _need_day(ctx)) is not None:
        return missing
    return _boolean_observation_rule(ctx, "breastfeeding-status", want, "breastfeeding", ctx.assessment_window())


def rule_pregnancy_intention(params: dict, ctx: RuleContext) -> Outcome:
    """Wish to conceive (either sex: the CDM protocol names male and female fertility requirements)."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    start = ctx.day - timedelta(days=ctx.windows.history_days)
    window = (start, ctx.assessment_window()[1])
    return _boolean_observation_rule(ctx, "pregnancy-intention", params["is"] == "yes", "wish to conceive", window)


def rule_contraception(params: dict, ctx: RuleContext) -> Outcome:
    """Adequate contraception in use since at least ``weeks_before`` weeks before the screening date."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    adequate = load_valueset("adequate-contraception")
    no_potential = (system_uri("elig-contraception"), "no-childbearing-potential")
    since = ctx.day - timedelta(weeks=params["weeks_before"])
    outcomes = []
    for res in ctx.record.of_type("Observation"):
        if not usable(res) or not load_valueset("contraception-use").matches(res.get("code")):
            continue
        method = res.get("valueCodeableConcept")
        label = _code_of(method, adequate).rpartition("|")[2]
        period = res.get("effectivePeriod") or {}
        start = ctx.bounds_of(res, "effectivePeriod.start", period.get("start") or res.get("effectiveDateTime"))
        end = ctx.bounds_of(res, "effectivePeriod.end", period.get("end"))
        evidence = Evidence(res.key, f"contraception {label}", period.get("start") or res.get("effectiveDateTime"))
        if not adequate.matches(method):
            outcomes.append(Outcome(Verdict.NOT_MET, (evidence,), notes=("method not in adequate-contraception",)))
        elif any((s, c) == no_potential for s, c, _ in codings(method)):
            outcomes.append(Outcome(Verdict.MET, (evidence,)))
        elif end is not None and end[1] < ctx.day:
            outcomes.append(Outcome(Verdict.NOT_MET, (evidence,), notes=("stopped before screening",)))
        elif start is None:
            outcomes.append(Outcome(Verdict.UNDETERMINED, (evidence,), ("since when the method is used",)))
        elif start[1] <= since:
            outcomes.append(Outcome(Verdict.MET, (evidence,)))
        elif start[0] > since:
            outcomes.append(Outcome(Verdict.NOT_MET, (evidence,), notes=(f"in use for less than {params['weeks_before']} weeks",)))
        else:
            outcomes.append(Outcome(Verdict.UNDETERMINED, (evidence,), ("the full start date of the method",)))
    if not outcomes:
        return Outcome(Verdict.UNDETERMINED, missing=("contraception (Observation ELIG#contraception)",))
    return combine_any(outcomes)


def _number_value(ctx: RuleContext, res: Resource) -> Decimal | None:
    if "valueInteger" in res.data:
        return to_decimal(res.get("valueInteger"))
    if "valueQuantity" in res.data:
        return to_decimal((res.get("valueQuantity") or {}).get("value"))
    ctx.issues.append(issue(ELIG005, f"{res.key} should carry valueInteger", ctx.location(res, "value[x]")))
    return None


def rule_alcohol(params: dict, ctx: RuleContext) -> Outcome:
    """Excessive drinking: more than max_per_week, more than max_per_day, or fewer than min_free_days."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    window = (ctx.day - timedelta(days=ctx.windows.history_days), ctx.assessment_window()[1])
    checks = (("alcohol-drinks-per-week", "max_per_week", lambda v, limit: v > limit, "drinks per week"),
              ("alcohol-max-drinks-per-day", "max_per_day", lambda v, limit: v > limit, "drinks on one day"),
              ("alcohol-free-days-per-week", "min_free_days", lambda v, limit: v < limit, "alcohol-free days per week"))
    outcomes = []
    for valueset, key, exceeds, what in checks:
        found = [(res, v) for _, res in _observations(ctx, load_valueset(valueset), window)
                 if (v := _number_value(ctx, res)) is not None]
        if not found:
            outcomes.append(Outcome(Verdict.UNDETERMINED, missing=(what,)))
            continue
        res, value = found[0]
        evidence = (Evidence(res.key, f"{format_decimal(value)} {what} (limit {params[key]})", _observation_date_text(res)),)
        outcomes.append(Outcome(Verdict.MET if exceeds(value, params[key]) else Verdict.NOT_MET, evidence))
    return combine_any(outcomes)


# ---- labs and scores --------------------------------------------------------------------------------

_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def rule_lab(params: dict, ctx: RuleContext) -> Outcome:
    """Latest result of a test in the assessment window, converted to the rule's unit, compared."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    test, threshold = params["test"], Decimal(str(params["value"]))
    for _, res in _observations(ctx, load_valueset(f"lab:{test}"), ctx.assessment_window()):
        quantity = res.get("valueQuantity") or {}
        unit = quantity.get("code") or quantity.get("unit")
        converted = convert_lab_value(test, quantity.get("value"), unit)
        if converted is None or converted.ucum_unit != params["unit"]:
            ctx.issues.append(issue(ELIG001, f"{test} result {quantity.get('value')} '{unit}' cannot be converted to "
                                    f"{params['unit']}", ctx.location(res, "valueQuantity")))
            continue
        sent = "" if unit == converted.ucum_unit else f" (sent {quantity.get('value')} {unit})"
        fact = f"{test} {converted.text} {converted.ucum_unit}{sent}; threshold {params['op']} {params['value']}"
        verdict = Verdict.MET if _OPS[params["op"]](converted.value, threshold) else Verdict.NOT_MET
        return Outcome(verdict, (Evidence(res.key, fact, _observation_date_text(res)),))
    return Outcome(Verdict.UNDETERMINED, missing=(f"{test} result in the screening window",))


def rule_lab_result(params: dict, ctx: RuleContext) -> Outcome:
    """Qualitative result (``is: positive``): latest in the window, or any positive ever (``when: ever``).
    ``if_missing: not-met`` when the test is only a second source beside diagnoses (default: cannot be determined)."""
    ever = params.get("when") == "ever"
    if not ever and (missing := _need_day(ctx)) is not None:
        return missing
    window = None if ever else ctx.assessment_window()
    if ever and ctx.day is not None:
        window = (date.min, ctx.assessment_window()[1])
    results = [(res, _qualitative(res)) for _, res in _observations(ctx, load_valueset(f"lab:{params['test']}"), window)]
    results = [(res, value) for res, value in results if value is not None]
    if ever:
        positive = [res for res, value in results if value]
        if positive:
            return Outcome(Verdict.MET, (Evidence(positive[0].key, f"{params['test']} positive",
                                                  _observation_date_text(positive[0])),))
        evidence = tuple(Evidence(res.key, f"{params['test']} negative", _observation_date_text(res)) for res, _ in results[:1])
        return Outcome(Verdict.NOT_MET, evidence, notes=() if results else (f"no {params['test']} result recorded",))
    if not results and params.get("if_missing") == "not-met":
        return Outcome(Verdict.NOT_MET, notes=(f"no {params['test']} result in the screening window",))
    if not results:
        return Outcome(Verdict.UNDETERMINED, missing=(f"{params['test']} result in the screening window",))
    res, value = results[0]
    verdict = Verdict.MET if value == (params["is"] == "positive") else Verdict.NOT_MET
    return Outcome(verdict, (Evidence(res.key, f"{params['test']} {'positive' if value else 'negative'}",
                                      _observation_date_text(res)),))


def read_answers(items: Iterable[dict]) -> dict[str, object]:
    """``{linkId: value}`` of a QuestionnaireResponse's items (nested groups flattened; first answer)."""
    values: dict[str, object] = {}
    for item in items or []:
        if not isinstance(item, dict):
            continue
        for answer in item.get("answer") or []:
            for key in ("valueInteger", "valueDecimal", "valueBoolean"):
                if key in answer:
                    values[item.get("linkId")] = answer[key]
                    break
            values.update(read_answers(answer.get("item") or []))
            break
        values.update(read_answers(item.get("item") or []))
    return values


def _scores_in(ctx: RuleContext, instrument: str, score: str, window: tuple[date, date] | None):
    """Scores of completed responses of the instrument dated in the window, latest first: (res, value)."""
    canonical = load_instruments()[instrument].canonical
    scorer = SCORERS[(instrument, score)]
    found = []
    for res in ctx.record.of_type("QuestionnaireResponse"):
        url = str(res.get("questionnaire") or "")
        if res.get("status") != "completed" or url.split("|")[0] != canonical:
            continue
        bounds = ctx.bounds_of(res, "authored", res.get("authored"))
        if bounds is None or window is None or in_window(bounds, *window) is not True:
            continue
        result = scorer(read_answers(res.get("item")))
        if not result.calculable:
            ctx.issues.append(issue(ELIG004, f"{instrument} {score}: {result.reason}", ctx.location(res, "item")))
            continue
        found.append((bounds, res, result.value))
    return [(res, value) for _, res, value in sorted(found, key=lambda t: (t[0][1], t[1].key), reverse=True)]


def rule_score(params: dict, ctx: RuleContext) -> Outcome:
    """Instrument score >= min at each of ``at``: ``screening`` (assessment window) and ``randomisation``
    (randomisation window; a different response from the screening one, clasi.md: two records). Before
    randomisation the randomisation score cannot be determined."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    instrument, score, minimum = params["instrument"], params["score"], params["min"]
    outcomes, used = [], set()
    for when in sorted(params["at"], key=lambda w: w != "randomisation"):
        if when == "randomisation" and ctx.randomisation is None:
            outcomes.append(Outcome(Verdict.UNDETERMINED, missing=(f"{instrument} {score} at randomisation "
                                                                    "(not randomised)",)))
            continue
        window = ctx.assessment_window() if when == "screening" else ctx.randomisation_window()
        scores = [(res, value) for res, value in _scores_in(ctx, instrument, score, window) if res.key not in used]
        if not scores:
            outcomes.append(Outcome(Verdict.UNDETERMINED, missing=(f"{instrument} {score} at {when}",)))
            continue
        res, value = scores[0]
        used.add(res.key)
        evidence = (Evidence(res.key, f"{instrument} {score} {value:g} at {when} (>= {minimum} needed)", res.get("authored")),)
        outcomes.append(Outcome(Verdict.MET if value >= minimum else Verdict.NOT_MET, evidence))
    return combine_all(outcomes)


# ---- diagnoses and history -----------------------------------------------------------------------------

def _conditions(ctx: RuleContext, valueset: ValueSet, confirmed_only: bool = False) -> list[Resource]:
    found = []
    for res in valueset.coded_in(ctx.record, "Condition"):
        if not usable(res):
            continue
        if confirmed_only and not _is_confirmed(res):
            continue
        onset = ctx.bounds_of(res, "onsetDateTime", res.get("onsetDateTime"))
        if ctx.day is not None and onset is not None and onset[0] > ctx.day:
            continue          # diagnosed after screening: not part of the screening picture
        found.append(res)
    return found


def _active_at(ctx: RuleContext, res: Resource, day: date | None) -> bool | None:
    """Was the condition active on ``day``? By abatement when dated, else by clinicalStatus."""
    abatement = ctx.bounds_of(res, "abatementDateTime", res.get("abatementDateTime"))
    if abatement is not None and day is not None:
        if abatement[1] < day:
            return False
        if abatement[0] >= day:
            return True
        return None
    status = _clinical_status(res)
    if status in INACTIVE_CLINICAL:
        return False
    onset = ctx.bounds_of(res, "onsetDateTime", res.get("onsetDateTime"))
    if onset is not None and day is not None and onset[1] > day:
        return None           # partial onset: may have begun after the screening date
    return True


def _condition_fact(res: Resource, valueset: ValueSet) -> Evidence:
    status = _clinical_status(res) or "no clinicalStatus"
    return Evidence(res.key, f"{_code_of(res.get('code'), valueset)} ({status})", res.get("onsetDateTime"))


def _within_days(ctx: RuleContext, res: Resource, days: int) -> bool | None:
    """Did the condition (onset..abatement, or onset..now when active) touch [day - days, day]?"""
    onset = ctx.bounds_of(res, "onsetDateTime", res.get("onsetDateTime"))
    abatement = ctx.bounds_of(res, "abatementDateTime", res.get("abatementDateTime"))
    start = ctx.day - timedelta(days=days)
    if abatement is None:
        active = _clinical_status(res) not in INACTIVE_CLINICAL
        if active:
            return True if onset is None or onset[1] <= ctx.day else (None if onset[0] <= ctx.day else False)
        if onset is None:
            return None
        return in_window(onset, start, ctx.day)
    if onset is None:
        return True if abatement[0] >= start else (False if abatement[1] < start else None)
    return overlaps(onset, abatement, start, ctx.day)


def rule_condition(params: dict, ctx: RuleContext) -> Outcome:
    """A diagnosis of the value sets: ``when`` ever | active (at screening) | within (``days``);
    optional ``min_count`` (distinct onsets), ``stage_valuesets`` (e.g. NYHA class), ``confirmed_only``."""
    when = params.get("when", "ever")
    if when == "within" and (missing := _need_day(ctx)) is not None:
        return missing
    valueset = union(params["valuesets"])
    conditions = _conditions(ctx, valueset, params.get("confirmed_only", False))
    stage_missing = []
    if params.get("stage_valuesets"):
        stages = union(params["stage_valuesets"])
        staged = [c for c in conditions if any(stages.matches(s.get("summary")) for s in c.get("stage") or [])]
        stage_missing = [c for c in conditions if not c.get("stage")]
        conditions = staged
    hits, unsure = [], []
    for res in conditions:
        state = (True if when == "ever" else _active_at(ctx, res, ctx.day) if when == "active"
                 else _within_days(ctx, res, params["days"]))
        (hits if state is True else unsure if state is None else []).append(res)
    if len({r.get("onsetDateTime") or r.key for r in hits}) >= params.get("min_count", 1):
        return Outcome(Verdict.MET, tuple(_condition_fact(r, valueset) for r in hits))
    if unsure or stage_missing:
        missing = ["dates or status of " + ", ".join(r.key for r in unsure)] if unsure else []
        missing += [f"stage (NYHA class) of {r.key}" for r in stage_missing]
        return Outcome(Verdict.UNDETERMINED, tuple(_condition_fact(r, valueset) for r in unsure + stage_missing),
                       tuple(missing))
    note = f"no {'+'.join(params['valuesets'])} diagnosis {'' if when == 'ever' else when + ' '}in the record"
    return Outcome(Verdict.NOT_MET, tuple(_condition_fact(r, valueset) for r in hits), notes=(note.replace("  ", " "),))


def rule_histology(params: dict, ctx: RuleContext) -> Outcome:
    """A final DiagnosticReport whose conclusionCode is in the value sets, dated up to the end of screening.
    Reports concluding otherwise -> not met; no report but the diagnosis -> cannot be determined."""
    valueset = union(params["valuesets"])
    end = ctx.assessment_window()[1] if ctx.day is not None else None
    for res in ctx.record.of_type("DiagnosticReport"):
        if res.get("status") not in FINAL_STATUSES - {"preliminary"}:
            continue
        if not any(valueset.matches(c) for c in res.get("conclusionCode") or []):
            continue
        bounds = ctx.bounds_of(res, "effectiveDateTime", _date_text(res, "effectiveDateTime", "effectivePeriod.start", "issued"))
        if end is not None and bounds is not None and bounds[0] > end:
            continue
        code = next(valueset.matching_code(c) for c in res.get("conclusionCode") if valueset.matches(c))
        return Outcome(Verdict.MET, (Evidence(res.key, f"histology {code}", _date_text(res, "effectiveDateTime", "issued")),))
    other = [r for r in ctx.record.of_type("DiagnosticReport")
             if r.get("status") in FINAL_STATUSES - {"preliminary"} and r.get("conclusionCode")]
    if other:
        return Outcome(Verdict.NOT_MET, tuple(Evidence(r.key, "histology concluded " + ", ".join(
            f"{s}|{c}" for concept in r.get("conclusionCode") for s, c, _ in codings(concept)),
            _date_text(r, "effectiveDateTime", "issued")) for r in other))
    diagnoses = _conditions(ctx, valueset)
    if diagnoses:
        return Outcome(Verdict.UNDETERMINED, tuple(_condition_fact(r, valueset) for r in diagnoses),
                       ("a histology report (DiagnosticReport.conclusionCode) confirming the diagnosis",))
    return Outcome(Verdict.NOT_MET, notes=("no histology report nor diagnosis in the record",))


def rule_allergy(params: dict, ctx: RuleContext) -> Outcome:
    valueset = union(params["valuesets"])
    hits = [r for r in ctx.record.of_type("AllergyIntolerance") if usable(r) and valueset.matches(r.get("code"))]
    if hits:
        return Outcome(Verdict.MET, tuple(Evidence(r.key, f"allergy {_code_of(r.get('code'), valueset)}",
                                                   r.get("recordedDate")) for r in hits))
    return Outcome(Verdict.NOT_MET, notes=("no such allergy in the record",))


def rule_immunization(params: dict, ctx: RuleContext) -> Outcome:
    """A vaccine of the value sets given within ``days`` before the screening date."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    valueset = union(params["valuesets"])
    start = ctx.day - timedelta(days=params["days"])
    hits, unsure = [], []
    for res in ctx.record.of_type("Immunization"):
        if not usable(res) or res.get("status") not in (None, "completed") or not valueset.matches(res.get("vaccineCode")):
            continue
        state = in_window(ctx.bounds_of(res, "occurrenceDateTime", res.get("occurrenceDateTime")), start, ctx.day)
        evidence = Evidence(res.key, f"vaccine {_code_of(res.get('vaccineCode'), valueset)}", res.get("occurrenceDateTime"))
        (hits if state is True else unsure if state is None else []).append(evidence)
    if hits:
        return Outcome(Verdict.MET, tuple(hits))
    if unsure:
        return Outcome(Verdict.UNDETERMINED, tuple(unsure), ("the full vaccination date",))
    return Outcome(Verdict.NOT_MET, notes=(f"no live vaccine in the {params['days']} days before screening",))


def rule_procedure(params: dict, ctx: RuleContext) -> Outcome:
    """A procedure of the value sets within ``days`` before screening, or planned (``planned: true``)."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    valueset = union(params["valuesets"])
    start = ctx.day - timedelta(days=params["days"])
    hits, unsure = [], []
    for res in valueset.coded_in(ctx.record, "Procedure"):
        if not usable(res):
            continue
        label = _code_of(res.get("code"), valueset)
        if res.get("status") in ("preparation", "on-hold") and params.get("planned"):
            hits.append(Evidence(res.key, f"planned surgery {label}", None))
            continue
        text = _date_text(res, "performedDateTime", "performedPeriod.start")
        state = in_window(ctx.bounds_of(res, "performed[x]", text), start, ctx.day)
        (hits if state is True else unsure if state is None else []).append(Evidence(res.key, f"surgery {label}", text))
    if params.get("planned"):
        for res in ctx.record.of_type("ServiceRequest"):
            if res.get("status") in ("active", "draft", "on-hold") and valueset.matches(res.get("code")):
                hits.append(Evidence(res.key, f"planned surgery {_code_of(res.get('code'), valueset)}",
                                     _date_text(res, "occurrenceDateTime", "authoredOn")))
    if hits:
        return Outcome(Verdict.MET, tuple(hits))
    if unsure:
        return Outcome(Verdict.UNDETERMINED, tuple(unsure), ("the full date of the surgery",))
    return Outcome(Verdict.NOT_MET, notes=(f"no major surgery in the {params['days']} days before screening, none planned",))


def rule_malignancy(params: dict, ctx: RuleContext) -> Outcome:
    """Malignancy within ``years`` before screening, unless stable > ``stable_months`` after treatment ended."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    valueset = union(params["valuesets"])
    horizon = add_years(ctx.day, -params["years"])
    stable_by = add_months(ctx.day, -params["stable_months"])
    outcomes = []
    for res in _conditions(ctx, valueset):
        fact = _condition_fact(res, valueset)
        end_text = extension_value(res.data, TUMOUR_TREATMENT_END) or res.get("abatementDateTime")
        end = ctx.bounds_of(res, "abatementDateTime", end_text if isinstance(end_text, str) else None)
        if end is None:
            if _clinical_status(res) in INACTIVE_CLINICAL:
                onset = ctx.bounds_of(res, "onsetDateTime", res.get("onsetDateTime"))
                if onset is not None and onset[1] < horizon:
                    outcomes.append(Outcome(Verdict.NOT_MET, (fact,), notes=(f"diagnosed before {horizon}",)))
                else:
                    outcomes.append(Outcome(Verdict.UNDETERMINED, (fact,), (f"end of tumour treatment of {res.key}",)))
            else:
                outcomes.append(Outcome(Verdict.MET, (fact,), notes=("malignancy ongoing",)))
            continue
        end_fact = Evidence(res.key, f"tumour treatment ended, status {_clinical_status(res) or 'unknown'}", end_text)
        if end[1] < horizon:
            outcomes.append(Outcome(Verdict.NOT_MET, (fact, end_fact), notes=(f"more than {params['years']} years ago",)))
        elif end[1] <= stable_by and _clinical_status(res) in INACTIVE_CLINICAL:
            outcomes.append(Outcome(Verdict.NOT_MET, (fact, end_fact),
                                    notes=(f"stable for more than {params['stable_months']} months after treatment",)))
        elif end[0] > stable_by or _clinical_status(res) in ACTIVE_CLINICAL:
            outcomes.append(Outcome(Verdict.MET, (fact, end_fact)))
        else:
            outcomes.append(Outcome(Verdict.UNDETERMINED, (fact, end_fact), ("the full treatment end date",)))
    if not outcomes:
        return Outcome(Verdict.NOT_MET, notes=("no malignancy in the record",))
    return combine_any(outcomes)


def _active_medication(ctx: RuleContext, valueset: ValueSet) -> list[Resource]:
    found = []
    for res in ctx.record.of_type("MedicationStatement") + ctx.record.of_type("MedicationRequest"):
        if usable(res) and res.get("status") in ("active", "intended", None) \
                and valueset.matches(medication_concept(res, ctx.record)):
            found.append(res)
    return found


def rule_thrombosis(params: dict, ctx: RuleContext) -> Outcome:
    """Arterial or unprovoked venous events within ``years``; antiphospholipid syndrome on VKA noted, never excluding."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    horizon = add_years(ctx.day, -params["years"])
    arterial, venous = union(params["arterial"]), union(params["venous"])
    outcomes, notes = [], []
    for res in _conditions(ctx, union(params["arterial"] + params["venous"])):
        onset = ctx.bounds_of(res, "onsetDateTime", res.get("onsetDateTime"))
        recent = in_window(onset, horizon, ctx.day) if onset is not None else None
        is_arterial = arterial.matches(res.get("code"))
        fact = _condition_fact(res, arterial if is_arterial else venous)
        if recent is False:
            outcomes.append(Outcome(Verdict.NOT_MET, (fact,), notes=(f"event before {horizon}",)))
            continue
        provoked = None if is_arterial else extension_value(res.data, VTE_PROVOKED)
        if provoked is True:
            outcomes.append(Outcome(Verdict.NOT_MET, (fact,), notes=("provoked venous event",)))
        elif recent is None:
            outcomes.append(Outcome(Verdict.UNDETERMINED, (fact,), (f"onset date of {res.key}",)))
        elif is_arterial or provoked is False:
            outcomes.append(Outcome(Verdict.MET, (fact,)))
        else:
            outcomes.append(Outcome(Verdict.UNDETERMINED, (fact,), (f"whether {res.key} was provoked (extension vte-provoked)",)))
    aps = _conditions(ctx, union(params["aps"]))
    vka = _active_medication(ctx, union(params["vka"]))
    if aps and vka:
        notes.append("antiphospholipid syndrome treated with a vitamin K antagonist: not excluded on that ground")
    elif aps:
        notes.append("antiphospholipid syndrome (or antibodies): not excluded on that ground")
    if not outcomes:
        return Outcome(Verdict.NOT_MET, tuple(_condition_fact(r, union(params["aps"])) for r in aps),
                       notes=tuple(notes) + ("no thromboembolic event in the record",))
    combined = combine_any(outcomes)
    return Outcome(combined.verdict, combined.evidence, combined.missing, combined.notes + tuple(notes))


# ---- treatment history ---------------------------------------------------------------------------

def _medication_span(ctx: RuleContext, res: Resource) -> tuple[Bounds, Bounds] | None:
    """(start bounds, end bounds) of one medication record; open ends run to the screening date."""
    if res.type == "MedicationRequest":
        period = (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
        start_text, end_text = period.get("start") or res.get("authoredOn"), period.get("end")
    else:
        period = res.get("effectivePeriod") or {}
        start_text = period.get("start") or res.get("effectiveDateTime")
        end_text = period.get("end") or (res.get("effectiveDateTime") if "effectiveDateTime" in res.data else None)
    start = ctx.bounds_of(res, "effective[x]", start_text)
    if start is None:
        return None
    end = ctx.bounds_of(res, "effectivePeriod.end", end_text) if end_text else (ctx.day, ctx.day)
    if end is None:
        return None
    return start, (min(end[0], ctx.day), min(end[1], ctx.day))


def _longest_run(spans: list[tuple[date, date]]) -> int:
    """Days covered by the longest continuous union of [start, end] spans (touching spans join)."""
    best, current = 0, None
    for start, end in sorted(spans):
        if current is not None and start <= current[1] + timedelta(days=1):
            current = (current[0], max(current[1], end))
        else:
            current = (start, end)
        best = max(best, (current[1] - current[0]).days)
    return best


def rule_treatment_duration(params: dict, ctx: RuleContext) -> Outcome:
    """Treatment with drugs of the value sets for more than ``more_than_months`` before screening (longest
    continuous span of any of them; partial dates give a shortest and a longest possible span)."""
    if (missing := _need_day(ctx)) is not None:
        return missing
    valueset = union(params["valuesets"])
    short_spans, long_spans, evidence = [], [], []
    for res in ctx.record.of_type("MedicationStatement") + ctx.record.of_type("MedicationRequest") \
            + ctx.record.of_type("MedicationAdministration"):
        concept = medication_concept(res, ctx.record)
        if not usable(res) or not valueset.matches(concept):
            continue
        span = _medication_span(ctx, res)
        if span is None or span[0][0] > ctx.day:
            continue
        (s_low, s_high), (e_low, e_high) = span
        long_spans.append((s_low, e_high))
        if s_high <= e_low:
            short_spans.append((s_high, e_low))
        evidence.append(Evidence(res.key, f"{_code_of(concept, valueset)} from {s_low} to {e_high}",
                                 _date_text(res, "effectivePeriod.start", "effectiveDateTime", "authoredOn")))
    if not evidence:
        return Outcome(Verdict.NOT_MET, notes=("no corticosteroid, immunosuppressant or biologic in the record",))
    needed = (ctx.day - add_months(ctx.day, -params["more_than_months"])).days
    shortest, longest = _longest_run(short_spans), _longest_run(long_spans)
    note = f"longest continuous treatment {shortest}-{longest} days; more than {needed} needed"
    if shortest > needed:
        return Outcome(Verdict.MET, tuple(evidence), notes=(note,))
    if longest <= needed:
        return Outcome(Verdict.NOT_MET, tuple(evidence), notes=(note,))
    return Outcome(Verdict.UNDETERMINED, tuple(evidence), ("full treatment start/end dates",), (note,))


# ---- investigator judgement ----------------------------------------------------------------------

def rule_review(params: dict, ctx: RuleContext) -> Outcome:
    """The investigator's recorded assessment (Observation ELIG#<study>/<criterion>, valueBoolean), else review."""
    where = ctx.record.codes_of("Observation").get((system_uri("elig"), f"{ctx.study.key}/{ctx.criterion.id}"), [])
    observations = ctx.record.of_type("Observation")
    for res in sorted((observations[i] for i in where), key=lambda r: str(r.get("effectiveDateTime")), reverse=True):
        if not usable(res):
            continue
        value = _boolean_value(ctx, res)
        if value is None:
            continue
        evidence = (Evidence(res.key, f"investigator assessment: {'yes' if value else 'no'}", res.get("effectiveDateTime")),)
        return Outcome(Verdict.MET if value else Verdict.NOT_MET, evidence)
    return Outcome(Verdict.REVIEW, missing=(f"investigator assessment ({params['reason']})",))


RULES: dict[str, Rule] = {
    "sex": rule_sex,
    "age": rule_age,
    "consent": rule_consent,
    "coverage": rule_coverage,
    "pregnancy": rule_pregnancy,
    "breastfeeding": rule_breastfeeding,
    "pregnancy_intention": rule_pregnancy_intention,
    "contraception": rule_contraception,
    "alcohol": rule_alcohol,
    "lab": rule_lab,
    "lab_result": rule_lab_result,
    "score": rule_score,
    "condition": rule_condition,
    "histology": rule_histology,
    "allergy": rule_allergy,
    "immunization": rule_immunization,
    "procedure": rule_procedure,
    "malignancy": rule_malignancy,
    "thrombosis": rule_thrombosis,
    "treatment_duration": rule_treatment_duration,
    "review": rule_review,
}
