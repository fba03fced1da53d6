"""Study definitions: one YAML file per trial in ``mappings/studies/``, loaded once into frozen
objects and checked on load (STYLE 2.2). A broken definition fails here, not halfway through a run.

Every ``assumption`` / ``assumption_<name>`` key in the file is collected into
:attr:`StudyDefinition.assumptions` for define.xml CommentDefs and the reviewer notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

STUDIES_DIR = Path(__file__).parent / "studies"
STUDY_KEYS = ("len-cdm", "len-cle")


class StudyDefinitionError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Assumption:
    where: str        # dotted path in the study file, e.g. "visits" or "products.investigational[1]"
    text: str


@dataclass(frozen=True, slots=True)
class Arm:
    armcd: str
    arm: str
    elements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Element:
    etcd: str
    element: str
    epoch: str
    start_rule: str
    end_rule: str
    duration: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    visitnum: float
    visit: str
    day: int
    window: tuple[int, int]
    epoch: str

    def contains(self, study_day: int) -> bool:
        return self.window[0] <= study_day <= self.window[1]


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    dose: float
    dosu: str
    dosfrm: str
    route: str
    frequency: str
    arm: str | None = None


@dataclass(frozen=True, slots=True)
class StudyDefinition:
    key: str
    studyid: str
    title: str
    sponsor: str
    registry_id: str | None
    siteid: str
    country: str
    timezone: str
    research_study_system: str
    research_study_value: str
    subject_identifier_system: str
    enrolled_statuses: frozenset[str]
    screen_failure_statuses: frozenset[str]
    usubjid_pattern: str
    sex_policy: tuple[str, ...]
    brthdtc: str
    arms: tuple[Arm, ...]
    elements: tuple[Element, ...]
    visits: tuple[Visit, ...]
    investigational: tuple[Product, ...]
    background_classes: tuple[str, ...]
    instrument_schedule: dict
    outcomes: dict
    ae_post_treatment_days: int
    trial_summary: dict
    assumptions: tuple[Assumption, ...]
    raw: dict = field(repr=False, compare=False)

    def usubjid(self, subjid: str) -> str:
        return self.usubjid_pattern.format(studyid=self.studyid, siteid=self.siteid, subjid=subjid)

    def arm(self, armcd: str) -> Arm | None:
        return next((a for a in self.arms if a.armcd == armcd), None)

    def element(self, etcd: str) -> Element | None:
        return next((e for e in self.elements if e.etcd == etcd), None)

    def visit_named(self, name: str) -> Visit | None:
        return next((v for v in self.visits if v.visit == name), None)

    def visit_for_day(self, study_day: int | None) -> Visit | None:
        """The scheduled visit whose window holds this study day (None: unscheduled)."""
        if study_day is None:
            return None
        return next((v for v in self.visits if v.contains(study_day)), None)

    def product_for_arm(self, armcd: str | None) -> Product | None:
        products = [p for p in self.investigational if p.arm in (None, armcd)]
        return products[0] if products else None


def _collect_assumptions(node, path: str = "") -> list[Assumption]:
    found: list[Assumption] = []
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and (k == "assumption" or k.startswith("assumption_")):
                target = path if k == "assumption" else (f"{path}.{k[11:]}" if path else k[11:])
                found.append(Assumption(target or "study", str(v)))
            else:
                found.extend(_collect_assumptions(v, here))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found.extend(_collect_assumptions(v, f"{path}[{i}]"))
    return found


def _require(data: dict, name: str, where: str):
    if name not in data:
        raise StudyDefinitionError(f"{where}: missing required key '{name}'")
    return data[name]


def _check(study: StudyDefinition) -> None:
    etcds = {e.etcd for e in study.elements}
    for arm in study.arms:
        missing = [e for e in arm.elements if e not in etcds]
        if missing:
            raise StudyDefinitionError(f"{study.key}: arm {arm.armcd} names unknown elements {missing}")
        if len(arm.armcd) > 20:
            raise StudyDefinitionError(f"{study.key}: ARMCD {arm.armcd} is longer than 20")
    nums = [v.visitnum for v in study.visits]
    if nums != sorted(nums) or len(set(nums)) != len(nums):
        raise StudyDefinitionError(f"{study.key}: VISITNUM must be unique and increasing")
    for a, b in zip(study.visits, study.visits[1:]):
        if a.window[1] >= b.window[0]:
            raise StudyDefinitionError(f"{study.key}: windows of {a.visit} and {b.visit} overlap")
    armcds = {a.armcd for a in study.arms}
    for p in study.investigational:
        if p.arm is not None and p.arm not in armcds:
            raise StudyDefinitionError(f"{study.key}: product {p.name} names unknown arm {p.arm}")


def parse_study(data: dict, where: str = "study") -> StudyDefinition:
    site = _require(data, "site", where)
    enrol = _require(data, "enrolment", where)
    subject = _require(data, "subject", where)
    products = _require(data, "products", where)
    instruments = data.get("instruments") or {}
    study = StudyDefinition(
        key=_require(data, "key", where),
        studyid=_require(data, "studyid", where),
        title=_require(data, "title", where),
        sponsor=_require(data, "sponsor", where),
        registry_id=data.get("registry_id"),
        siteid=str(site["siteid"]),
        country=site["country"],
        timezone=site["timezone"],
        research_study_system=enrol["research_study"]["system"],
        research_study_value=enrol["research_study"]["value"],
        subject_identifier_system=enrol["subject_identifier_system"],
        enrolled_statuses=frozenset(enrol["enrolled_statuses"]),
        screen_failure_statuses=frozenset(enrol["screen_failure_statuses"]),
        usubjid_pattern=subject["usubjid_pattern"],
        sex_policy=tuple(subject["sex_policy"]),
        brthdtc=subject.get("brthdtc", "none"),
        arms=tuple(Arm(a["armcd"], a["arm"], tuple(a["elements"])) for a in data["arms"]),
        elements=tuple(
            Element(e["etcd"], e["element"], e["epoch"], e["start_rule"], e["end_rule"], e.get("duration"))
            for e in data["elements"]
        ),
        visits=tuple(
            Visit(float(v["visitnum"]), v["visit"], int(v["day"]), (int(v["window"][0]), int(v["window"][1])), v["epoch"])
            for v in data["visits"]["schedule"]
        ),
        investigational=tuple(
            Product(p["name"], float(p["dose"]), p["dosu"], p["dosfrm"], p["route"], p["frequency"], p.get("arm"))
            for p in products["investigational"]
        ),
        background_classes=tuple(products.get("background") or ()),
        instrument_schedule=dict(instruments.get("schedule") or {}),
        outcomes={k: v for k, v in instruments.items() if k.endswith("outcome") or k.endswith("outcomes")},
        ae_post_treatment_days=int((data.get("adverse_events") or {}).get("post_treatment_days", 0)),
        trial_summary={k: v for k, v in (data.get("trial_summary") or {}).items() if not k.startswith("assumption")},
        assumptions=tuple(_collect_assumptions(data)),
        raw=data,
    )
    _check(study)
    return study


@lru_cache(maxsize=None)
def load_study(key: str) -> StudyDefinition:
    """Load ``mappings/studies/<key>.yaml`` (cached; the objects are frozen)."""
    path = STUDIES_DIR / f"{key}.yaml"
    if not path.exists():
        raise StudyDefinitionError(f"unknown study '{key}' (known: {', '.join(STUDY_KEYS)})")
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise StudyDefinitionError(f"{path}: not a YAML mapping")
    return parse_study(data, str(path))
