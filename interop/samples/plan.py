"""Who is in a sample cohort: one :class:`PatientPlan` per screened patient, streamed in screening order.

The curated stories of a study (``data/stories-<key>.yaml``) come first, at their ids; every other id up
to ``screened`` is a typical enrolled subject; past ``screened`` (large cohorts) each patient is drawn at
random: typical enrolled, or one of the curated stories again under a new id. A plan holds the facts
the patient's data is built from (``modifiers`` change them) and the story the data must tell.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable, Iterator

from interop.samples.catalog import load_story_specs
from mappings.study import StudyDefinition

MET, NOT_MET, UNDETERMINED = "met", "not-met", "undetermined"


@dataclass(slots=True)
class ConditionPlan:
    key: str
    onset: str | int                 # days relative to screening (int) or an ISO (partial) date
    status: str = "active"           # active | resolved | severe (active, severity severe)
    provoked: bool | None = None     # venous thrombosis: provoked (True) / unprovoked (False) / not said


@dataclass(slots=True)
class PatientPlan:
    """Everything one patient's FHIR data is generated from."""

    sample_id: str
    study_key: str
    number: int                      # 1-based screening number
    seed: int                        # seed of this patient's own random.Random
    story: str
    enrolled: bool
    arm: str | None = None
    subjid: str | None = None        # ResearchSubject identifier, None when never consented
    sex: str = "female"
    age: int = 45                    # completed years at consent
    birth_precision: str = "day"     # day | year | year-adult | absent
    consent: str = "signed"          # signed | none (declined: Consent rejected) | missing (no Consent at all)
    screen_date: date = date(2023, 1, 1)
    diagnosis: str | None = None     # conditions.csv key of the qualifying diagnosis
    diagnosis_status: str = "confirmed"
    conditions: list[ConditionPlan] = field(default_factory=list)
    extra_meds: list[str] = field(default_factory=list)
    lab_values: dict[str, float] = field(default_factory=dict)   # screening overrides, SI units
    lab_units: str = "si"            # si | conventional
    plt_not_done: bool = False
    lab_not_done: bool = False       # one on-treatment lab cancelled
    positives: set[str] = field(default_factory=set)            # qualitative tests reported positive
    hcv_antibody_only: bool = False
    pregnancy_test: str = "auto"     # auto | positive | none
    breastfeeding: bool = False
    contraception: str = "auto"      # auto | late (started 1 week before screening)
    allergies: list[str] = field(default_factory=list)
    vaccines: list[tuple[str, int]] = field(default_factory=list)
    procedures: list[tuple[str, int]] = field(default_factory=list)
    alcohol_per_week: int | None = None
    coverage: str = "auto"           # auto | none | foreign
    histology: str = "auto"          # auto | other | none
    investigator: dict[str, bool | None] = field(default_factory=dict)  # review criteria: judgement or None
    prior_treatment: str = "full"    # full | none | partial
    scores: tuple[int, int] | None = None   # activity score at screening / day 1
    refs: str = "urn"                # urn | relative | absolute (bundle references)
    tz: str = "local"                # local | utc
    race: bool = False
    partial_dates: bool = False
    missed: set[str] = field(default_factory=set)
    unscheduled_day: int | None = None
    out_of_window: dict[str, int] = field(default_factory=dict)
    discontinue: tuple[str, int] | None = None    # (NCOMPLT term, week)
    data_cutoff: date | None = None  # visits after it have not happened yet
    serious_ae: bool = False
    duplicate: bool = False
    contained: bool = False
    only_request: bool = False
    dlqi_partial: bool = False
    form_twice: bool = False
    verdicts: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)

    @property
    def female(self) -> bool:
        return self.sex == "female"

    @property
    def childbearing(self) -> bool:
        """Woman of childbearing potential (simplified to age under 50)."""
        return self.female and self.age < 50


# ---- modifiers: named data changes the story files refer to (STYLE 3.5: a plain dict) --------------

def _set(name: str, value, tag: str | None = None) -> Callable[[PatientPlan, str], None]:
    def apply(plan: PatientPlan, arg: str) -> None:
        setattr(plan, name, value)
        if tag:
            plan.tags.add(tag)
    return apply


def _condition(plan: PatientPlan, arg: str) -> None:
    key, _, rest = arg.partition("@")
    when, _, status = rest.partition(":")
    status, _, provoked = status.partition(":")
    is_days = when.startswith("-") and when[1:].isdigit()
    onset: str | int = int(when) if is_days else when
    if onset == "year":       # the year holding the day 90 days before screening: straddles the 90-day window
        onset = str((plan.screen_date - timedelta(days=90)).year)
    if isinstance(onset, str):
        plan.tags.add("partial-date")
    plan.conditions.append(ConditionPlan(key, onset, status or "active",
                                         {"provoked": True, "unprovoked": False}.get(provoked)))
    plan.tags.add(f"condition-{key}")


def _lab(plan: PatientPlan, arg: str) -> None:
    testcd, _, value = arg.partition("=")
    plan.lab_values[testcd] = float(value)
    plan.tags.add(f"lab-{testcd.lower()}-abnormal")


def _scores(plan: PatientPlan, arg: str) -> None:
    screen, _, day1 = arg.partition("/")
    plan.scores = (int(screen), int(day1))
    plan.tags.add("low-activity-score")


def _lab_units(plan: PatientPlan, arg: str) -> None:
    plan.lab_units = arg
    plan.tags.update({"lab-g/dL", "lab-10*3/uL"} if arg == "conventional" else set())


def _days(arg: str) -> tuple[str, int]:
    key, _, when = arg.partition("@")
    return key, int(when)


def _vaccine(plan: PatientPlan, arg: str) -> None:
    plan.vaccines.append(_days(arg))
    plan.tags.add("vaccine")


def _procedure(plan: PatientPlan, arg: str) -> None:
    plan.procedures.append(_days(arg))
    plan.tags.add("surgery")


def _out_of_window(plan: PatientPlan, arg: str) -> None:
    visit, _, day = arg.partition("@")
    plan.out_of_window[visit] = int(day)
    plan.tags.add("out-of-window")


def _discontinue(plan: PatientPlan, arg: str) -> None:
    reason, _, week = arg.partition("@")
    plan.discontinue = (reason, int(week))
    plan.tags.add("discontinued")


def _missed(plan: PatientPlan, arg: str) -> None:
    plan.missed.add(arg)
    plan.tags.add("missed-visit")


def _unscheduled(plan: PatientPlan, arg: str) -> None:
    plan.unscheduled_day = int(arg)
    plan.tags.add("unscheduled-visit")


def _positive(plan: PatientPlan, arg: str) -> None:
    plan.positives.add(arg)
    plan.tags.add(f"positive-{arg.lower()}")


def _add(name: str, tag: str) -> Callable[[PatientPlan, str], None]:
    def apply(plan: PatientPlan, arg: str) -> None:
        getattr(plan, name).append(arg)
        plan.tags.add(f"{tag}-{arg.replace(' ', '-')}")
    return apply


def _investigator(plan: PatientPlan, arg: str) -> None:
    criterion, _, value = arg.partition("=")
    plan.investigator[criterion] = {"true": True, "false": False, "none": None}[value]
    plan.tags.add("investigator-judgement" if value != "none" else "no-investigator-judgement")


def _birth_year_only(plan: PatientPlan, arg: str) -> None:
    """Birth year only, chosen so the age at consent is 75 or 76: undecidable for an 18-75 limit."""
    plan.birth_precision = "year"
    plan.age = 75
    plan.tags.add("partial-birthdate")


MODIFIERS: dict[str, Callable[[PatientPlan, str], None]] = {
    "no_consent": _set("consent", "none", "no-consent"),
    "consent_missing": _set("consent", "missing", "consent-missing"),
    "investigator": _investigator,
    "sex": lambda p, a: setattr(p, "sex", a),
    "age": lambda p, a: setattr(p, "age", int(a)),
    "birth_year_only": _birth_year_only,
    "birth_year_only_adult": _set("birth_precision", "year-adult", "partial-birthdate"),
    "no_birthdate": _set("birth_precision", "absent", "no-birthdate"),
    "pregnant": _set("pregnancy_test", "positive", "pregnant"),
    "no_pregnancy_test": _set("pregnancy_test", "none", "no-pregnancy-test"),
    "breastfeeding": _set("breastfeeding", True, "breastfeeding"),
    "late_contraception": _set("contraception", "late", "contraception-recent"),
    "diagnosis": lambda p, a: (setattr(p, "diagnosis", a), p.tags.add(f"diagnosis-{a}")),
    "condition": _condition,
    "med": _add("extra_meds", "med"),
    "allergy": _add("allergies", "allergy"),
    "vaccine": _vaccine,
    "procedure": _procedure,
    "alcohol": lambda p, a: (setattr(p, "alcohol_per_week", int(a)), p.tags.add("alcohol")),
    "coverage": lambda p, a: (setattr(p, "coverage", a), p.tags.add(f"coverage-{a}")),
    "histology": lambda p, a: (setattr(p, "histology", a), p.tags.add(f"histology-{a}")),
    "prior": lambda p, a: (setattr(p, "prior_treatment", a), p.tags.add(f"prior-treatment-{a}")),
    "score": _scores,
    "lab": _lab,
    "lab_units": _lab_units,
    "lab_not_done_plat": _set("plt_not_done", True, "lab-not-done"),
    "lab_not_done": _set("lab_not_done", True, "lab-not-done"),
    "positive": _positive,
    "positive_hcab_only": _set("hcv_antibody_only", True, "positive-hcab"),
    "refs": lambda p, a: (setattr(p, "refs", a), p.tags.add(f"refs-{a}")),
    "tz_utc": _set("tz", "utc", "tz-utc"),
    "race": _set("race", True, "race-ethnicity"),
    "partial_dates": _set("partial_dates", True, "partial-date"),
    "missed": _missed,
    "unscheduled": _unscheduled,
    "out_of_window": _out_of_window,
    "discontinue": _discontinue,
    "serious_ae": _set("serious_ae", True, "serious-ae"),
    "duplicate": _set("duplicate", True, "duplicate-resource"),
    "contained": _set("contained", True, "contained-resource"),
    "only_request": _set("only_request", True, "study-drug-request-only"),
    "dlqi_partial": _set("dlqi_partial", True, "dlqi-partial"),
    "form_twice": _set("form_twice", True, "form-twice"),
}


def apply_modifier(plan: PatientPlan, instruction: str) -> None:
    """Apply one ``name`` or ``name:argument`` instruction of a story."""
    name, _, arg = instruction.partition(":")
    if name not in MODIFIERS:
        raise ValueError(f"unknown sample modifier '{name}' in {plan.sample_id}")
    MODIFIERS[name](plan, arg)


# ---- verdicts ---------------------------------------------------------------------------------

def default_verdicts(criteria: dict) -> dict[str, str]:
    """Every inclusion criterion met, every exclusion criterion not met."""
    out = {c: MET for c in criteria["inclusion"]}
    out.update({c: NOT_MET for c in criteria["exclusion"]})
    return out


def compute_outcome(verdicts: dict[str, str]) -> str:
    """Overall screening outcome: ineligible if an inclusion fails or an exclusion applies, else
    needs-review if any criterion is undetermined, else eligible."""
    failing = any(
        (c.startswith("INCL") and v == NOT_MET) or (c.startswith("EXCL") and v == MET) for c, v in verdicts.items()
    )
    if failing:
        return "ineligible"
    if any(v == UNDETERMINED for v in verdicts.values()):
        return "needs-review"
    return "eligible"


# ---- the population ------------------------------------------------------------------------------

TYPICAL_DROPOUT = 0.12          # share of typical enrolled subjects who stop early (a usual attrition)
TYPICAL_DROPOUT_REASONS = ("WITHDRAWAL BY SUBJECT", "LOST TO FOLLOW-UP", "ADVERSE EVENT", "LACK OF EFFICACY")


def _balanced_arms(spec: dict, rng: random.Random, fixed: list[str]) -> list[str]:
    """Arms for the curated enrolled subjects without a fixed arm, so the totals match ``arms``."""
    wanted = dict(spec.get("arms") or {})
    for arm in fixed:
        wanted[arm] -= 1
    pool = [arm for arm, n in wanted.items() for _ in range(n)]
    rng.shuffle(pool)
    return pool


def _sample_id(spec: dict, number: int) -> str:
    return f"{spec['prefix']}{number:0{spec['width']}d}"


def _base_plan(study: StudyDefinition, spec: dict, number: int, rng: random.Random, story: dict | None) -> PatientPlan:
    start = date.fromisoformat(spec["start"])
    slot = (number - 1) % spec["screened"]          # large cohorts reuse the recruitment period
    screen_date = start + timedelta(days=slot * spec["spacing_days"] + rng.randint(0, 2))
    sex = rng.choice(["female", "female", "male"])
    plan = PatientPlan(
        sample_id=_sample_id(spec, number), study_key=study.key, number=number, seed=rng.getrandbits(64),
        story=(story or {}).get("text", "enrolled, typical course"), enrolled=bool((story or {"enrolled": True})["enrolled"]),
        sex=sex, age=rng.randint(24, 68), screen_date=screen_date,
        refs=rng.choice(["relative", "relative", "relative", "urn"]), race=rng.random() < 0.4,
    )
    plan.verdicts = default_verdicts(spec["criteria"])
    plan.data_cutoff = date.fromisoformat(spec["data_cutoff"]) if spec.get("data_cutoff") else None
    plan.investigator = dict(spec.get("review_criteria") or {})
    return plan


def _apply_story(plan: PatientPlan, story: dict) -> None:
    for instruction in story.get("do") or []:
        apply_modifier(plan, str(instruction))
    plan.verdicts.update(story.get("verdicts") or {})
    if story.get("arm"):
        plan.arm = story["arm"]


def check_story_spec(spec: dict) -> None:
    """The curated list must add up: every id up to ``screened`` not listed is a typical enrolled subject."""
    stories = spec["stories"]
    listed_enrolled = sum(1 for s in stories if s["enrolled"])
    gaps = spec["screened"] - len(stories)
    if listed_enrolled + gaps != spec["enrolled"]:
        raise ValueError(f"{spec['prefix']}: {listed_enrolled} enrolled stories + {gaps} typical != {spec['enrolled']}")
    ids = [int(s["id"]) for s in stories]
    if len(set(ids)) != len(ids) or max(ids) > spec["screened"]:
        raise ValueError(f"{spec['prefix']}: story ids must be unique and at most {spec['screened']}")


def iter_plans(study: StudyDefinition, patients: int, seed: int) -> Iterator[PatientPlan]:
    """Yield the plans of ``patients`` screened patients in screening order (deterministic for a seed).

    Memory is constant in ``patients``: each plan is built when it is asked for.
    """
    spec = load_story_specs(study.key)
    check_story_spec(spec)
    rng = random.Random(seed)
    stories = {int(s["id"]): s for s in spec["stories"]}
    arm_codes = [a.armcd for a in study.arms]
    fixed = [s["arm"] for s in spec["stories"] if s["enrolled"] and s.get("arm")]
    arm_pool = _balanced_arms(spec, rng, fixed) if spec.get("arms") else []
    subjid = 0
    for number in range(1, patients + 1):
        if number in stories:
            story = stories[number]
        elif number <= spec["screened"] or rng.random() < 0.7:
            story = None
        else:
            story = stories[rng.choice(sorted(stories))]
        plan = _base_plan(study, spec, number, rng, story)
        if story is not None:
            _apply_story(plan, story)
        elif plan.enrolled and rng.random() < TYPICAL_DROPOUT:
            apply_modifier(plan, f"discontinue:{rng.choice(TYPICAL_DROPOUT_REASONS)}@{rng.randint(6, 22)}")
            plan.story = "enrolled, discontinued early"
        if not plan.enrolled:
            for criterion, verdict in (spec.get("not_randomised_verdicts") or {}).items():
                if criterion not in ((story or {}).get("verdicts") or {}):
                    plan.verdicts[criterion] = verdict
        if plan.enrolled and plan.arm is None:
            plan.arm = arm_pool.pop() if arm_pool else (arm_codes[0] if len(arm_codes) == 1 else rng.choice(arm_codes))
        if plan.consent != "none":
            subjid += 1
            plan.subjid = f"{subjid:03d}"
        plan.tags.add("enrolled" if plan.enrolled else ("pre-screened" if plan.consent == "none" else "screen-failure"))
        yield plan
