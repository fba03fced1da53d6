"""IMACS core set: 2016 ACR/EULAR Total Improvement Score (TIS) and category, IMACS 2004 definition of improvement.

Source: ``../shared/instruments/imacs.md`` (2016 ACR/EULAR TIS, M2 Table 3; IMACS DOI, M5). The TIS point table is
``data/imacs.yaml``; how a percent change is computed is an assumption (``tis_instrument_ranges``,
``tis_enzyme_change``, ``doi_rule`` in ``data/assumptions.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import yaml

from mappings.instruments.definitions import DATA_DIR, assumption
from mappings.instruments.result import ScoreResult, not_calculable

CSMS = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")


@dataclass(frozen=True, slots=True)
class CoreSet:
    """The six adult core set measures at one visit (None = not measured).

    ``mmt_total`` names the MMT-8 total used ("unilateral" 0-80 or "bilateral" 0-150); ``global_scale`` "vas"
    (0-10 cm) or "likert" (0-4) for the physician and patient globals; ``enzyme`` is the value of the one enzyme
    followed (the most abnormal at baseline, :func:`select_most_abnormal_enzyme`).
    """

    physician_global: float | None
    patient_global: float | None
    mmt: float | None
    haq: float | None
    enzyme: float | None
    extramuscular: float | None
    mmt_total: str = "unilateral"
    global_scale: str = "vas"


@lru_cache(maxsize=None)
def _table() -> dict:
    with (DATA_DIR / "imacs.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _range(csm: str, core: CoreSet) -> float:
    ranges = assumption("tis_instrument_ranges")
    if csm == "mmt":
        return ranges[f"mmt_{core.mmt_total}"]
    if csm in ("physician_global", "patient_global") and core.global_scale == "likert":
        return ranges["likert"]
    return ranges[csm]


def compute_imacs_absolute_percent_improvement(csm: str, baseline: CoreSet, followup: CoreSet) -> float:
    """Improvement of one CSM in percent, positive = better: range-based, relative for the enzyme.

    >>> b = CoreSet(5, 5, 60, 1.5, 1000, 4); f = CoreSet(3, 5, 66, 1.5, 500, 4)
    >>> compute_imacs_absolute_percent_improvement("mmt", b, f), compute_imacs_absolute_percent_improvement("enzyme", b, f)
    (7.5, 50.0)
    """
    before, after = getattr(baseline, csm), getattr(followup, csm)
    if csm == "enzyme":
        if assumption("tis_enzyme_change") != "relative":
            raise ValueError("tis_enzyme_change: only 'relative' is implemented")
        return (before - after) / before * 100 if before else 0.0
    change = (after - before) if csm == "mmt" else (before - after)
    return change / _range(csm, baseline) * 100


def compute_imacs_tis_points(csm: str, improvement: float) -> float:
    """Points of one CSM for its percent improvement (band upper bounds inclusive).

    >>> compute_imacs_tis_points("physician_global", 15.0), compute_imacs_tis_points("physician_global", 15.01)
    (7.5, 15)
    """
    bands = _table()["tis_bands"]["mmt" if csm == "mmt" else "default"]
    points = _table()["tis_points"][csm]
    for bound, value in zip(bands, points):
        if improvement <= bound:
            return value
    return points[-1]


def compute_imacs_tis(baseline: CoreSet, followup: CoreSet) -> ScoreResult:
    """TIS 0-100: sum of the six CSM points; not calculable unless all six are measured at both visits."""
    missing = [c for c in CSMS if getattr(baseline, c) is None or getattr(followup, c) is None]
    if missing:
        return not_calculable(f"IMACS TIS: core set measure(s) {', '.join(missing)} missing at baseline or follow-up")
    total = sum(compute_imacs_tis_points(c, compute_imacs_absolute_percent_improvement(c, baseline, followup))
                for c in CSMS)
    return ScoreResult(float(total))


def compute_imacs_tis_category(tis: float | None) -> str | None:
    """'major' (>= 60), 'moderate' (>= 40), 'minimal' (>= 20) or 'none'; None when the TIS is missing.

    >>> [compute_imacs_tis_category(x) for x in (19.5, 20, 40, 60)]
    ['none', 'minimal', 'moderate', 'major']
    """
    if tis is None:
        return None
    for band in _table()["tis_categories"]:
        if tis >= band["min"]:
            return band["category"]
    return "none"


def compute_imacs_relative_change(csm: str, baseline: CoreSet, followup: CoreSet) -> float:
    """Relative improvement in percent vs baseline (positive = better), as the 2004 DOI uses it."""
    before, after = getattr(baseline, csm), getattr(followup, csm)
    change = (after - before) if csm == "mmt" else (before - after)
    if before == 0:
        return 0.0 if change == 0 else (float("inf") if change > 0 else float("-inf"))
    return change / before * 100


def compute_imacs_doi(baseline: CoreSet, followup: CoreSet) -> ScoreResult:
    """IMACS definition of improvement: 1.0 improved, 0.0 not (``doi_rule``); needs all six CSMs."""
    missing = [c for c in CSMS if getattr(baseline, c) is None or getattr(followup, c) is None]
    if missing:
        return not_calculable(f"IMACS DOI: core set measure(s) {', '.join(missing)} missing at baseline or follow-up")
    rule = assumption("doi_rule")
    changes = {c: compute_imacs_relative_change(c, baseline, followup) for c in CSMS}
    improved = [c for c, v in changes.items() if v >= rule["improved_pct"]]
    worsened = [c for c, v in changes.items() if v <= -rule["worsened_pct"]]
    ok = (len(improved) >= rule["min_improved"] and len(worsened) <= rule["max_worsened"]
          and (rule["mmt_may_worsen"] or "mmt" not in worsened))
    return ScoreResult(1.0 if ok else 0.0)


def select_most_abnormal_enzyme(baseline: Mapping[str, tuple[float, float]]) -> str | None:
    """The enzyme (LBTESTCD) with the highest value/ULN at baseline, from ``{testcd: (value, uln)}``.

    >>> select_most_abnormal_enzyme({"CK": (600, 200), "ALDOLASE": (10, 7.6), "AST": (80, 40)})
    'CK'
    """
    ratios = {k: v / uln for k, (v, uln) in baseline.items() if v is not None and uln}
    return max(sorted(ratios), key=lambda k: ratios[k]) if ratios else None
