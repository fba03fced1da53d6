"""Instrument scores against hand-worked examples from ../shared/instruments/*.md (section cited per test)."""

from __future__ import annotations

import pytest

from mappings.instruments import list_assumptions, load_instruments
from mappings.instruments.cdasi import compute_cdasi_activity, compute_cdasi_breakdown, compute_cdasi_damage
from mappings.instruments.clasi import compute_clasi_activity, compute_clasi_damage
from mappings.instruments.dlqi import compute_dlqi_question_scores, compute_dlqi_subscale, compute_dlqi_total
from mappings.instruments.haqdi import compute_haq_category_scores, compute_haq_di
from mappings.instruments.imacs import (CoreSet, compute_imacs_doi, compute_imacs_tis, compute_imacs_tis_category,
                                        select_most_abnormal_enzyme)
from mappings.instruments.mmt8 import compute_mmt8_bilateral, compute_mmt8_unilateral
from mappings.instruments.rand36 import compute_rand36_scale


def _items(key, **by_component):
    """All items of an instrument set from ``component=value`` (items not named -> 0)."""
    return {i.link_id: by_component.get(i.attrs.get("component"), 0) for i in load_instruments()[key].items}


# ---- CDASI (cdasi.md, "Test oracle ideas" and "Scoring algorithm")
def test_cdasi_all_zero_is_zero_activity_and_damage():
    values = _items("CDASI", papules=False)
    assert compute_cdasi_activity(values).value == 0
    assert compute_cdasi_damage(values).value == 0


def test_cdasi_all_maxima_give_activity_100_and_damage_32():
    values = _items("CDASI", erythema=3, scale=2, erosion=1, papules=True, ulceration=1, periungual=2, hair_loss=1,
                    poikiloderma=1, calcinosis=1, damage=2)
    assert compute_cdasi_activity(values).value == 100    # 15*6 + 3*2 + 1 + 2 + 1
    assert compute_cdasi_damage(values).value == 32       # 15*2 + 2


def test_cdasi_gottron_erythema_2_counts_2_without_papules_and_4_with():
    values = _items("CDASI", papules=False)
    values["CDASI176"] = 2                                # Gottron hands erythema
    assert compute_cdasi_activity(values).value == 2
    values["CDASI177"] = True                             # papules present
    assert compute_cdasi_activity(values).value == 4


def test_cdasi_breakdown_by_area_and_component():
    values = _items("CDASI", papules=False)
    values.update({"CDASI101": 3, "CDASI102": 1, "CDASI106": 2})   # scalp erythema 3 + scale 1, malar erythema 2
    assert compute_cdasi_breakdown(values, "activity", by="area")["SCALP"] == 4
    assert compute_cdasi_breakdown(values, "activity", by="component")["erythema"] == 5


def test_cdasi_missing_item_makes_activity_not_calculable_not_zero():
    values = _items("CDASI", papules=False)
    del values["CDASI101"]
    result = compute_cdasi_activity(values)
    assert result.value is None and "CDASI101" in result.reason
    assert compute_cdasi_damage(values).value == 0       # CDASI101 feeds activity only


def test_cdasi_out_of_range_item_is_not_scored():
    values = _items("CDASI", papules=False)
    values["CDASI101"] = 4                                # erythema is 0-3
    assert compute_cdasi_activity(values).value is None


# ---- CLASI (clasi.md, "Test oracle ideas", Activity/Damage items)
def test_clasi_activity_maximum_is_70():
    values = _items("CLASI", erythema=3, scale=2, mucous=1, hair_loss=1, alopecia=3)
    assert compute_clasi_activity(values).value == 70


def test_clasi_damage_maximum_is_56_with_persistent_dyspigmentation_doubled():
    values = _items("CLASI", dyspigmentation=1, dyspigmentation_persistent=True, scarring=2, scalp_scarring=6)
    assert compute_clasi_damage(values).value == 56       # 13*1*2 + 12*2 + 6


def test_clasi_dyspigmentation_not_doubled_when_not_persistent():
    values = _items("CLASI", dyspigmentation_persistent=False)
    values["CLASI130"] = 1                                # scalp dyspigmentation
    values["CLASI131"] = 1                                # ears dyspigmentation
    assert compute_clasi_damage(values).value == 2


def test_clasi_activity_8_with_one_item_missing_is_not_calculable():
    values = _items("CLASI")
    values["CLASI101"] = 3
    values["CLASI103"] = 3
    values["CLASI105"] = 2
    assert compute_clasi_activity(values).value == 8      # eligibility boundary CLASI-A >= 8 (clasi.md)
    values["CLASI129"] = None
    assert compute_clasi_activity(values).value is None


# ---- DLQI (dlqi.md, "Item scoring", "Total and missing data", "Test oracle ideas")
ALL_VERY_MUCH = {f"DLQI1{n:02d}": "very-much" for n in (1, 2, 3, 4, 5, 6, 8, 9, 10)} | {"DLQI107": "yes"}


def test_dlqi_all_worst_answers_total_30():
    assert compute_dlqi_total(ALL_VERY_MUCH).value == 30


def test_dlqi_q7_yes_scores_3_regardless_of_follow_up():
    scores = compute_dlqi_question_scores({"DLQI107": "yes", "DLQI107A": "not-at-all"})
    assert scores["DLQI107"] == 3


def test_dlqi_q7_no_scores_the_follow_up():
    assert compute_dlqi_question_scores({"DLQI107": "no", "DLQI107A": "a-lot"})["DLQI107"] == 2
    assert compute_dlqi_question_scores({"DLQI107": "not-relevant"})["DLQI107"] == 0


def test_dlqi_one_unanswered_scores_0_two_unanswered_not_calculable():
    one_blank = {k: v for k, v in ALL_VERY_MUCH.items() if k != "DLQI103"}
    assert compute_dlqi_total(one_blank).value == 27
    two_blank = {k: v for k, v in one_blank.items() if k != "DLQI104"}
    result = compute_dlqi_total(two_blank)
    assert result.value is None and "2 questions unanswered" in result.reason


def test_dlqi_q7_no_without_follow_up_counts_as_unanswered():
    answers = dict(ALL_VERY_MUCH, DLQI107="no")
    assert compute_dlqi_total(answers).value == 27
    assert compute_dlqi_subscale(answers, "work").value is None


def test_dlqi_not_relevant_scores_zero_and_subscales():
    answers = dict(ALL_VERY_MUCH, DLQI103="not-relevant", DLQI104="a-little")
    assert compute_dlqi_total(answers).value == 25
    assert compute_dlqi_subscale(answers, "daily").value == 1
    assert compute_dlqi_subscale(answers, "symptoms").value == 6


# ---- RAND-36 (sf36.md, Step 1 / Step 2, "Test oracle ideas")
def test_rand36_physical_functioning_all_3_is_100_all_1_is_0():
    assert compute_rand36_scale({f"R3601{n:02d}": 3 for n in range(3, 13)}, "PF").value == 100
    assert compute_rand36_scale({f"R3601{n:02d}": 1 for n in range(3, 13)}, "PF").value == 0


def test_rand36_energy_with_item_31_blank_is_mean_of_three():
    result = compute_rand36_scale({"R360123": 4, "R360127": 3, "R360129": 3}, "EF")
    assert result.value == pytest.approx(46.67, abs=0.005)   # (40 + 60 + 40) / 3


def test_rand36_pain_uses_the_reversed_six_and_five_point_recodes():
    # item 21 precoded 2 -> 80; item 22 precoded 2 -> 75 (Step 1 table)
    assert compute_rand36_scale({"R360121": 2, "R360122": 2}, "BP").value == 77.5


def test_rand36_scale_with_no_answered_item_is_not_calculable():
    assert compute_rand36_scale({}, "SF").value is None


# ---- HAQ-DI (imacs.md, HAQ-DI Standard scoring)
def test_haq_di_mean_of_categories_with_aid_raising_walking_to_2():
    values = {"HAQ0101": 1, "HAQ0103": 0, "HAQ0105": 2, "HAQ0108": 1, "HAQ0123": 0, "HAQ0126": 3, "HAQ0128": 1,
              "HAQ0131": 0, "HAQ0111": True}              # walker -> walking 1 raised to 2
    cats = compute_haq_category_scores(values)
    assert cats["walking"] == 2 and cats["dressing"] == 1
    assert compute_haq_di(values).value == pytest.approx((1 + 0 + 2 + 2 + 0 + 3 + 1 + 0) / 8)


def test_haq_di_with_five_categories_is_not_calculable():
    values = {"HAQ0101": 1, "HAQ0103": 0, "HAQ0105": 2, "HAQ0108": 1, "HAQ0123": 0}
    assert compute_haq_di(values).value is None
    values["HAQ0126"] = 3
    assert compute_haq_di(values).value == pytest.approx(7 / 6)


# ---- MMT-8 (imacs.md, MMT-8)
def test_mmt8_unilateral_and_bilateral_maxima():
    values = {i.link_id: 10 for i in load_instruments()["MMT-8"].items}
    assert compute_mmt8_unilateral(values).value == 80
    assert compute_mmt8_bilateral(values).value == 150
    values["MMT8103"] = None                              # deltoid left: unilateral (right) still scored
    assert compute_mmt8_unilateral(values).value == 80
    assert compute_mmt8_bilateral(values).value is None


# ---- IMACS TIS (imacs.md, 2016 ACR/EULAR TIS, M2 Table 3)
def test_tis_exactly_at_band_and_category_boundaries():
    base = CoreSet(physician_global=6, patient_global=6, mmt=60, haq=1.5, enzyme=1000, extramuscular=4)
    # physician 6->4.5: 15 % of 10 cm -> 7.5 (15 is in >5-15); patient 6->4.5 -> 2.5; MMT 60->68: 10 % -> 10;
    # HAQ 1.5->1.5 -> 0; enzyme 1000->1000 -> 0; extramuscular 4->4 -> 0. TIS = 20 = minimal exactly.
    follow = CoreSet(physician_global=4.5, patient_global=4.5, mmt=68, haq=1.5, enzyme=1000, extramuscular=4)
    tis = compute_imacs_tis(base, follow).value
    assert tis == 20
    assert compute_imacs_tis_category(tis) == "minimal"
    assert compute_imacs_tis_category(19.99) == "none"


def test_tis_maximal_improvement_is_100_major():
    base = CoreSet(8, 8, 40, 2.4, 2000, 6)
    follow = CoreSet(0, 0, 80, 0, 100, 0)
    tis = compute_imacs_tis(base, follow).value
    assert tis == 100 and compute_imacs_tis_category(tis) == "major"


def test_tis_missing_core_set_measure_is_not_calculable():
    result = compute_imacs_tis(CoreSet(5, 5, 60, 1, 500, None), CoreSet(4, 4, 70, 1, 400, 2))
    assert result.value is None and "extramuscular" in result.reason


def test_doi_three_improved_none_worse():
    base = CoreSet(5, 5, 60, 1.0, 1000, 4)
    assert compute_imacs_doi(base, CoreSet(4, 4, 72, 1.0, 1000, 4)).value == 1.0    # 20 %, 20 %, 20 %
    assert compute_imacs_doi(base, CoreSet(4, 4, 72, 1.0, 1000, 5)).value == 1.0    # extramuscular worse by 25 %
    assert compute_imacs_doi(base, CoreSet(4, 4, 40, 1.0, 700, 4)).value == 0.0     # MMT worse by 33 %


def test_most_abnormal_enzyme_by_ratio_to_uln():
    assert select_most_abnormal_enzyme({"CK": (300, 200), "LDH": (500, 250)}) == "LDH"


def test_every_assumption_has_a_doubt_and_a_source():
    entries = list_assumptions()
    assert len(entries) >= 20
    assert all(a.doubt and a.source.split(",")[0].endswith(".md") for a in entries)
