"""MMT-8 totals, Kendall 0-10 per muscle group (``../shared/instruments/imacs.md``, MMT-8).

Unilateral = neck flexors + 7 groups on ``mmt8_unilateral_side`` (0-80); bilateral = neck flexors + 7 groups on
both sides (0-150). No proration (``mmt8_missing_rule``). Items are passed as ``{MMT8nnn: grade}``.
"""

from __future__ import annotations

from typing import Mapping

from mappings.instruments.definitions import ItemDef, assumption, load_instruments
from mappings.instruments.result import ScoreResult, check_items_in_range, check_items_present


def _items(total: str) -> list[ItemDef]:
    items = load_instruments()["MMT-8"].items
    if total == "bilateral":
        return list(items)
    side = assumption("mmt8_unilateral_side")
    return [i for i in items if i.attrs["side"] in ("AXIAL", side)]


def _compute(values: Mapping[str, float | None], total: str) -> ScoreResult:
    if assumption("mmt8_missing_rule") != "all_items":
        raise ValueError("mmt8_missing_rule: only 'all_items' is implemented")
    items = _items(total)
    problem = (check_items_present(dict(values), [i.link_id for i in items], f"MMT-8 {total}")
               or check_items_in_range(dict(values), items))
    return problem or ScoreResult(float(sum(values[i.link_id] for i in items)))


def compute_mmt8_unilateral(values: Mapping[str, float | None]) -> ScoreResult:
    """MMT-8 unilateral total, 0-80."""
    return _compute(values, "unilateral")


def compute_mmt8_bilateral(values: Mapping[str, float | None]) -> ScoreResult:
    """MMT-8 bilateral total, 0-150."""
    return _compute(values, "bilateral")
