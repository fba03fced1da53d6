"""HAQ-DI with aids/devices (``../shared/instruments/imacs.md``, HAQ-DI Standard scoring).

1. Category score = highest item score of the category. 2. An aid/device or help for the category raises 0 or 1 to
``haq_aid_raises_to``. 3. HAQ-DI = mean of the scored categories, not computed when fewer than
``haq_min_categories`` of 8 are scored. Items are passed as ``{HAQ01nn: value}`` (difficulty 0-3, aids/help bool).
"""

from __future__ import annotations

from typing import Mapping

from mappings.instruments.definitions import InstrumentDef, assumption, load_instruments
from mappings.instruments.result import ScoreResult, not_calculable

HAQ_CATEGORIES = ("dressing", "arising", "eating", "walking", "hygiene", "reach", "grip", "activities")


def _defn() -> InstrumentDef:
    return load_instruments()["HAQ-DI"]


def _difficulty(item, value) -> float | None:
    """A difficulty item's score from its number or its answer code ('0'-'3'); None if not an allowed answer."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        option = item.answer(value)
        return None if option is None else float(option.score)
    return float(value) if value in {a.score for a in item.answers} else None


def compute_haq_aided_categories(values: Mapping[str, float | bool | None]) -> set[str]:
    """Categories for which an aid/device (``haq_aid_categories``) or help from another person was ticked."""
    aided: set[str] = set()
    aid_map = assumption("haq_aid_categories")
    for item in _defn().items:
        if not values.get(item.link_id):
            continue
        if item.attrs.get("role") == "aid":
            aided.update(aid_map.get(item.link_id, ()))
        elif item.attrs.get("role") == "help":
            aided.add(item.attrs["category"])
    return aided


def compute_haq_category_scores(values: Mapping[str, float | bool | None]) -> dict[str, float | None]:
    """Score of each of the 8 categories (None: no item answered), aids/devices applied.

    >>> compute_haq_category_scores({"HAQ0108": 1, "HAQ0109": 0, "HAQ0110": True})["walking"]
    2.0
    """
    raise_to = assumption("haq_aid_raises_to")
    aided = compute_haq_aided_categories(values)
    out: dict[str, float | None] = {}
    for category in HAQ_CATEGORIES:
        answered = [_difficulty(i, values[i.link_id]) for i in _defn().items
                    if i.attrs.get("category") == category and i.attrs.get("role") == "item"
                    and values.get(i.link_id) is not None]
        score = float(max(answered)) if answered else None
        if score is not None and category in aided and score < raise_to:
            score = float(raise_to)
        out[category] = score
    return out


def compute_haq_di(values: Mapping[str, float | bool | None]) -> ScoreResult:
    """HAQ-DI 0-3: mean of the category scores; not calculable with fewer than ``haq_min_categories``."""
    bad = [i.link_id for i in _defn().items if i.attrs.get("role") == "item" and values.get(i.link_id) is not None
           and _difficulty(i, values[i.link_id]) is None]
    if bad:
        return not_calculable(f"HAQ-DI: {bad[0]} value {values[bad[0]]} is outside 0-3")
    scored = [v for v in compute_haq_category_scores(values).values() if v is not None]
    needed = assumption("haq_min_categories")
    if len(scored) < needed:
        return not_calculable(f"HAQ-DI: {len(scored)} of 8 categories scored (at least {needed} needed)")
    return ScoreResult(sum(scored) / len(scored))
