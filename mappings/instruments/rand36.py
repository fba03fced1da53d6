"""RAND-36 1.0 scale scores by the public RAND algorithm (``../shared/instruments/sf36.md``, Steps 1 and 2).

Each precoded item (1..k) is recoded to 0-100 (Step 1); a scale is the mean of its answered items (Step 2).
Items are passed as ``{QSTESTCD: precoded value}``; scales are PF, RP, RE, EF, EW, SF, BP, GH.
"""

from __future__ import annotations

from typing import Mapping

from mappings.instruments.definitions import InstrumentDef, assumption, load_instruments
from mappings.instruments.result import ScoreResult, not_calculable


def _defn() -> InstrumentDef:
    return load_instruments()["RAND-36"]


def compute_rand36_recode(link_id: str, precoded: int) -> float | None:
    """Step 1: the 0-100 value of a precoded response; None if the response is not one of the item's.

    >>> compute_rand36_recode("R360121", 2), compute_rand36_recode("R360124", 2)
    (80.0, 20.0)
    """
    item = _defn().item(link_id)
    table = _defn().recodes[item.attrs["recode"]]
    return table.get(int(precoded)) if float(precoded).is_integer() else None


def compute_rand36_scale(values: Mapping[str, int | None], scale: str) -> ScoreResult:
    """Step 2: mean of the recoded answered items of ``scale``; blank items are ignored (RAND, sf36.md Missing data).

    >>> compute_rand36_scale({"R360123": 4, "R360127": 3, "R360129": 3}, "EF").value
    46.666666666666664
    """
    items = _defn().items_feeding(scale)
    if not items:
        raise KeyError(f"RAND-36 has no scale '{scale}'")
    recoded = []
    for item in items:
        value = values.get(item.link_id)
        if value is None:
            continue
        score = compute_rand36_recode(item.link_id, value)
        if score is None:
            return not_calculable(f"{item.link_id} value {value} is not a response of the item")
        recoded.append(score)
    needed = assumption("rand36_min_answered_items")
    if len(recoded) < needed:
        return not_calculable(f"RAND-36 {scale}: {len(recoded)} of {len(items)} items answered (at least {needed} needed)")
    return ScoreResult(sum(recoded) / len(recoded))


RAND36_SCALES = ("PF", "RP", "RE", "EF", "EW", "SF", "BP", "GH")
