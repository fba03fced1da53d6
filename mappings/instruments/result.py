"""The value every scorer returns: a score, or 'not calculable' with the instrument's reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A derived score (``value``) or, when the instrument's rules forbid one, ``value`` None and the ``reason``."""

    value: float | None
    reason: str | None = None

    @property
    def calculable(self) -> bool:
        return self.value is not None


def not_calculable(reason: str) -> ScoreResult:
    return ScoreResult(None, reason)


def check_items_present(values: dict, link_ids, instrument: str) -> ScoreResult | None:
    """``not_calculable`` naming the missing items (the all-items rule), or None when every item is present."""
    missing = [i for i in link_ids if values.get(i) is None]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        return not_calculable(f"{instrument}: {len(missing)} item(s) missing ({shown})")
    return None


def check_items_in_range(values: dict, items) -> ScoreResult | None:
    """``not_calculable`` naming the first numeric item whose value is outside its allowed range."""
    for item in items:
        value = values.get(item.link_id)
        if value is None or item.type == "boolean":
            continue
        if not item.accepts(value):
            return not_calculable(f"{item.link_id} value {value} is outside its allowed range")
    return None
