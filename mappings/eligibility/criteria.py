"""Load a study's eligibility criteria (``mappings/studies/<key>.criteria.yaml``), checked on load (STYLE 2.2).

A criterion's ``logic`` is a tree: ``{any: [...]}``, ``{all: [...]}`` or ``{rule: <name>, ...params}``, where
``<name>`` is a key of :data:`mappings.eligibility.rules.RULES`. Every value set it names must exist.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from dataclasses import dataclass

from mappings.eligibility.model import Criterion
from mappings.eligibility.valuesets import ValueSetError, load_valueset

STUDIES_DIR = Path(__file__).resolve().parent.parent / "studies"
IETESTCD_PATTERN = re.compile(r"^(INCL|EXCL)\d{2}$")
IETEST_MAX = 200
_VALUESET_KEYS = ("valuesets", "stage_valuesets", "arterial", "venous", "aps", "vka")


class CriteriaError(ValueError):
    """The criteria file is broken (fails at load, never halfway through a run)."""


@dataclass(frozen=True, slots=True)
class Windows:
    """Assessment windows in days (from the criteria file): ``assessment`` around the screening date,
    ``randomisation`` around ResearchSubject.period.start, ``history_days`` back for reported habits."""

    assessment: tuple[int, int]
    randomisation: tuple[int, int]
    history_days: int


@dataclass(frozen=True, slots=True)
class CriteriaSet:
    study: str
    version: str
    windows: Windows
    criteria: tuple[Criterion, ...]

    def criterion(self, criterion_id: str) -> Criterion:
        return next(c for c in self.criteria if c.id == criterion_id)


def load_criteria(study_key: str) -> tuple[Criterion, ...]:
    """The criteria of a study, in protocol order (see :func:`load_criteria_set`)."""
    return load_criteria_set(study_key).criteria


@lru_cache(maxsize=None)
def load_criteria_set(study_key: str) -> CriteriaSet:
    """The criteria of a study, in protocol order (inclusions, then exclusions), with their windows.

    Raises
    ------
    CriteriaError
        Unknown study, duplicate/misnamed ids, IETEST too long, unknown rule or value set.
    """
    path = STUDIES_DIR / f"{study_key}.criteria.yaml"
    if not path.is_file():
        raise CriteriaError(f"no criteria file for study '{study_key}' ({path.name})")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    criteria = tuple(_parse_criterion(raw, path.name) for raw in data.get("criteria") or [])
    _check_ids(criteria, path.name)
    raw_windows = data.get("windows") or {}
    try:
        windows = Windows(tuple(raw_windows["assessment"]), tuple(raw_windows["randomisation"]),
                          int(raw_windows["history_days"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CriteriaError(f"{path.name}: windows must give assessment, randomisation, history_days") from exc
    if data.get("study") != study_key:
        raise CriteriaError(f"{path.name}: 'study' must be {study_key}")
    return CriteriaSet(study_key, str(data.get("version", "1")), windows, criteria)


def _parse_criterion(raw: dict, where: str) -> Criterion:
    crit = Criterion(id=str(raw["id"]), category=str(raw["category"]), ietest=str(raw["ietest"]),
                     text=str(raw["text"]), logic=raw["logic"], assumption=raw.get("assumption"))
    if not IETESTCD_PATTERN.match(crit.id) or crit.category not in ("INCLUSION", "EXCLUSION"):
        raise CriteriaError(f"{where}: criterion {crit.id}: id must be INCLnn/EXCLnn, category INCLUSION/EXCLUSION")
    if (crit.category == "INCLUSION") != crit.id.startswith("INCL"):
        raise CriteriaError(f"{where}: criterion {crit.id}: category {crit.category} does not match its id")
    if len(crit.ietest) > IETEST_MAX:
        raise CriteriaError(f"{where}: criterion {crit.id}: ietest is {len(crit.ietest)} characters (max {IETEST_MAX})")
    _check_logic(crit.logic, f"{where}: criterion {crit.id}")
    return crit


def _check_logic(node, where: str) -> None:
    from mappings.eligibility.rules import RULES   # rules import this module's types only

    if not isinstance(node, dict) or len(node) == 0:
        raise CriteriaError(f"{where}: logic node must be a mapping")
    for combinator in ("any", "all"):
        if combinator in node:
            for child in node[combinator]:
                _check_logic(child, where)
            return
    name = node.get("rule")
    if name not in RULES:
        raise CriteriaError(f"{where}: unknown rule '{name}'")
    for key in _VALUESET_KEYS:
        for vs in node.get(key) or []:
            try:
                load_valueset(vs)
            except ValueSetError as exc:
                raise CriteriaError(f"{where}: {exc}") from exc


def _check_ids(criteria: tuple[Criterion, ...], where: str) -> None:
    ids = [c.id for c in criteria]
    if len(set(ids)) != len(ids):
        raise CriteriaError(f"{where}: duplicate criterion ids")
    for prefix in ("INCL", "EXCL"):
        numbers = [int(i[4:]) for i in ids if i.startswith(prefix)]
        if numbers != list(range(1, len(numbers) + 1)):
            raise CriteriaError(f"{where}: {prefix} ids must be numbered 01.. in protocol order")
