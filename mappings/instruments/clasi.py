"""CLASI scores (``../shared/instruments/clasi.md``, Structure).

CLASI-A = sum over 13 zones of erythema + scale/hypertrophy + mucous membrane + recent hair loss + non-scarring
alopecia (0-70). CLASI-D = dyspigmentation sum x 2 when it usually lasts >= 12 months + scarring/atrophy in the
zones of ``clasi_scarring_zones`` + scalp scarring (0-56). Items are passed as ``{QSTESTCD: value}``.
"""

from __future__ import annotations

from typing import Mapping

from mappings.instruments.definitions import InstrumentDef, ItemDef, assumption, load_instruments
from mappings.instruments.result import ScoreResult, check_items_in_range, check_items_present


def _defn() -> InstrumentDef:
    return load_instruments()["CLASI"]


def _damage_items() -> list[ItemDef]:
    """Damage items that count: every one except scarring in zones outside ``clasi_scarring_zones``."""
    zones = set(assumption("clasi_scarring_zones"))
    return [i for i in _defn().items_feeding("damage")
            if i.attrs.get("component") != "scarring" or i.attrs.get("area") in zones]


def _check(values: Mapping, items: list[ItemDef], label: str, skip: set[str] = frozenset()) -> ScoreResult | None:
    if assumption("clasi_missing_rule") != "all_items":
        raise ValueError("clasi_missing_rule: only 'all_items' is implemented")
    needed = [i.link_id for i in items if i.link_id not in skip]
    return check_items_present(dict(values), needed, label) or check_items_in_range(dict(values), items)


def compute_clasi_activity(values: Mapping[str, float | None]) -> ScoreResult:
    """CLASI-A, 0-70 (clasi.md, Activity items); not calculable if an item is missing."""
    items = list(_defn().items_feeding("activity"))
    problem = _check(values, items, "CLASI activity")
    return problem or ScoreResult(float(sum(values[i.link_id] for i in items)))


def compute_clasi_damage(values: Mapping[str, float | bool | None]) -> ScoreResult:
    """CLASI-D, 0-56 (clasi.md, Damage items); the persistence flag is needed only when dyspigmentation > 0."""
    items = _damage_items()
    dyspig = [i for i in items if i.attrs.get("component") == "dyspigmentation"]
    flag = next(i for i in items if i.attrs.get("component") == "dyspigmentation_persistent")
    dyspig_sum = sum(values.get(i.link_id) or 0 for i in dyspig)
    problem = _check(values, items, "CLASI damage", skip=set() if dyspig_sum else {flag.link_id})
    if problem:
        return problem
    multiplier = assumption("clasi_dyspigmentation_multiplier") if values.get(flag.link_id) else 1
    rest = sum(values[i.link_id] for i in items if i.attrs.get("component") not in
               ("dyspigmentation", "dyspigmentation_persistent"))
    return ScoreResult(float(dyspig_sum * multiplier + rest))
