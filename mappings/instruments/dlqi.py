"""DLQI scores (``../shared/instruments/dlqi.md``, Item scoring; Total and missing data).

Responses are passed as ``{QSTESTCD: answer code}`` (codes of ``data/dlqi.yaml`` answer sets). Question 7 is two
records: DLQI107 (yes / no / not relevant) and DLQI107A (asked when DLQI107 is 'no').
"""

from __future__ import annotations

from typing import Mapping

from mappings.instruments.definitions import InstrumentDef, assumption, load_instruments
from mappings.instruments.result import ScoreResult, not_calculable

Q7, Q7_FOLLOW_UP = "DLQI107", "DLQI107A"


def _defn() -> InstrumentDef:
    return load_instruments()["DLQI"]


def compute_dlqi_question_scores(responses: Mapping[str, str | None]) -> dict[str, float | None]:
    """Score of each of the 10 questions, keyed by its QSTESTCD (question 7 under DLQI107); None = unanswered.

    Question 7: 'yes' scores ``dlqi_q7_yes_score``; 'no' scores the follow-up (a lot 2, a little 1, not at all 0);
    'no' without a follow-up is unanswered (``dlqi_q7_no_without_followup``); not relevant scores 0.

    >>> compute_dlqi_question_scores({"DLQI107": "no", "DLQI107A": "a-little"})["DLQI107"]
    1.0
    """
    defn = _defn()
    out: dict[str, float | None] = {}
    for item in defn.items:
        if item.link_id == Q7_FOLLOW_UP:
            continue
        option = item.answer(responses.get(item.link_id))
        score = None if option is None else option.score
        if item.link_id == Q7 and option is not None and option.score is None:
            follow = defn.item(Q7_FOLLOW_UP).answer(responses.get(Q7_FOLLOW_UP))
            if follow is None and assumption("dlqi_q7_no_without_followup") != "unanswered":
                raise ValueError("dlqi_q7_no_without_followup: only 'unanswered' is implemented")
            score = None if follow is None else follow.score
        out[item.link_id] = None if score is None else float(score)
    return out


def compute_dlqi_total(responses: Mapping[str, str | None]) -> ScoreResult:
    """DLQI total 0-30: one unanswered question scores 0; more than ``dlqi_max_missing_for_total`` -> not calculable.

    >>> compute_dlqi_total({}).reason
    'DLQI: 10 questions unanswered (more than 1 allowed)'
    """
    scores = compute_dlqi_question_scores(responses)
    missing = [k for k, v in scores.items() if v is None]
    allowed = assumption("dlqi_max_missing_for_total")
    if len(missing) > allowed:
        return not_calculable(f"DLQI: {len(missing)} questions unanswered (more than {allowed} allowed)")
    return ScoreResult(sum(v for v in scores.values() if v is not None))


def compute_dlqi_subscale(responses: Mapping[str, str | None], subscale: str) -> ScoreResult:
    """One DLQI subscale (symptoms, daily, leisure, work, personal, treatment); missing if any question is."""
    scores = compute_dlqi_question_scores(responses)
    questions = [i.link_id for i in _defn().items_feeding(subscale) if i.link_id in scores]
    missing = [q for q in questions if scores[q] is None]
    if missing and not assumption("dlqi_subscale_allows_missing"):
        return not_calculable(f"DLQI {subscale} subscale: question(s) {', '.join(missing)} unanswered")
    return ScoreResult(sum(scores[q] or 0.0 for q in questions))
