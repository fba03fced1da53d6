"""CDASI version 2 scores (``../shared/instruments/cdasi.md``, Scoring algorithm).

Activity = sum over 15 locations of erythema + scale + erosion, + Gottron hand erythema (doubled when papules are
present) + Gottron hand ulceration + periungual + recent hair loss (0-100). Damage = sum over locations of
poikiloderma + calcinosis + Gottron hand damage (0-32). Items are passed as ``{QSTESTCD: value}``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping

from mappings.instruments.definitions import InstrumentDef, ItemDef, assumption, load_instruments
from mappings.instruments.result import ScoreResult, check_items_in_range, check_items_present

_GOTTRON_AREA = "GOTTHAND"


def _defn() -> InstrumentDef:
    return load_instruments()["CDASI"]


def _is(item: ItemDef, area: str, component: str) -> bool:
    return item.attrs.get("area") == area and item.attrs.get("component") == component


def compute_cdasi_item_points(values: Mapping[str, float | bool | None], subscale: str) -> dict[str, float]:
    """Points each item contributes to ``subscale`` ("activity" | "damage"), the Gottron doubling applied.

    Items that are missing are left out; the papules flag contributes no points of its own.
    """
    defn = _defn()
    papules = next((values.get(i.link_id) for i in defn.items if _is(i, _GOTTRON_AREA, "papules")), None)
    points = {}
    for item in defn.items_feeding(subscale):
        value = values.get(item.link_id)
        if value is None or item.type == "boolean":
            continue
        if _is(item, _GOTTRON_AREA, "erythema") and papules:
            value = value * assumption("cdasi_gottron_papules_multiplier")
        points[item.link_id] = float(value)
    return points


def _required(values: Mapping, subscale: str) -> list[str]:
    """Items that must be present: all feeding items, the papules flag only when Gottron erythema is above 0."""
    out = []
    for item in _defn().items_feeding(subscale):
        if _is(item, _GOTTRON_AREA, "papules"):
            erythema = next(i for i in _defn().items if _is(i, _GOTTRON_AREA, "erythema"))
            if not values.get(erythema.link_id):
                continue
        out.append(item.link_id)
    return out


def _compute(values: Mapping, subscale: str) -> ScoreResult:
    if assumption("cdasi_missing_rule") != "all_items":
        raise ValueError("cdasi_missing_rule: only 'all_items' is implemented")
    problem = (check_items_present(dict(values), _required(values, subscale), f"CDASI {subscale}")
               or check_items_in_range(dict(values), _defn().items_feeding(subscale)))
    if problem:
        return problem
    return ScoreResult(sum(compute_cdasi_item_points(values, subscale).values()))


def compute_cdasi_activity(values: Mapping[str, float | bool | None]) -> ScoreResult:
    """CDASI v2 activity score, 0-100 (cdasi.md, Scoring algorithm); not calculable if an item is missing."""
    return _compute(values, "activity")


def compute_cdasi_damage(values: Mapping[str, float | bool | None]) -> ScoreResult:
    """CDASI v2 damage score, 0-32 (cdasi.md, Scoring algorithm); not calculable if an item is missing."""
    return _compute(values, "damage")


def compute_cdasi_breakdown(values: Mapping[str, float | bool | None], subscale: str, by: str) -> dict[str, float]:
    """Sum of the points of ``subscale`` by ``"area"`` or by ``"component"`` (answered items only)."""
    items = {i.link_id: i for i in _defn().items}
    out: dict[str, float] = defaultdict(float)
    for link_id, points in compute_cdasi_item_points(values, subscale).items():
        out[items[link_id].attrs[by]] += points
    return dict(out)
