"""QS rows from QuestionnaireResponses and instrument Observations (mappings/qs.py)."""

from __future__ import annotations

import json
from pathlib import Path

from mappings.qs import map_qs
from mappings.study import load_study
from tests.builders import EX, observation, patient, questionnaire_response, record, subject_context

DLQI = f"{EX}/Questionnaire/dlqi|1.0"
ANS = f"{EX}/CodeSystem/instrument-answers/dlqi"
ITEMS = f"{EX}/CodeSystem/instrument-items"
STUDY = load_study("len-cdm")
SUBJECT = subject_context(usubjid="LEN-CDM-01-001")


def _c(code):
    return {"system": ANS, "code": code}


def _dlqi_answers(**overrides):
    answers = {f"DLQI1{n:02d}": _c("a-little") for n in (1, 2, 3, 4, 5, 6, 8, 9, 10)}
    answers["DLQI107"] = _c("no")
    answers["DLQI107A"] = _c("a-lot")
    answers.update(overrides)
    return {k: v for k, v in answers.items() if v is not None}


def _rows(result, testcd):
    return [r for r in result.rows if r["QSTESTCD"] == testcd]


def test_dlqi_items_as_collected_and_total_derived():
    rec = record(patient(), questionnaire_response("qr1", answers=_dlqi_answers(), authored="2023-04-03T10:15"))
    result = map_qs(rec, study=STUDY, subject=SUBJECT)
    q1 = _rows(result, "DLQI101")[0]
    assert (q1["QSCAT"], q1["QSTEST"], q1["QSORRES"], q1["QSSTRESC"], q1["QSSTRESN"]) == \
        ("DLQI", "DLQI1-How Itchy, Sore, Painful, Stinging", "A LITTLE", "1", 1.0)
    assert q1.get("QSDRVFL") is None and q1["QSDTC"] == "2023-04-03T10:15" and q1["_src"] == ("QuestionnaireResponse/qr1",)
    assert "_supp" not in q1          # QSEVAL may be neither a QS nor a SUPPQS variable (CORE-000783)
    q7 = _rows(result, "DLQI107")[0]
    assert (q7["QSORRES"], q7["QSSTRESN"]) == ("NO", None)
    total = _rows(result, "DLQI111")[0]
    # 9 questions 'a little' (1 each) + Q7 'no' -> follow-up 'a lot' (2) = 11 (dlqi.md Item scoring)
    assert (total["QSSTRESN"], total["QSORRES"], total["QSDRVFL"], total["QSTEST"]) == (11, "11", "Y", "DLQI1-Score")
    assert _rows(result, "DLQI115")[0]["QSSTRESN"] == 2
    assert len(result.rows) == 11 + 7 and not result.issues


def test_total_not_calculable_keeps_answered_items():
    answers = _dlqi_answers(DLQI103=None, DLQI104=None)
    rec = record(patient(), questionnaire_response("qr1", answers=answers))
    result = map_qs(rec, study=STUDY, subject=SUBJECT)
    total = _rows(result, "DLQI111")[0]
    assert total["QSSTAT"] == "NOT DONE" and "2 questions unanswered" in total["QSREASND"]
    assert total.get("QSSTRESN") is None and total.get("QSDRVFL") is None   # no result, so not flagged derived
    assert len([r for r in result.rows if r.get("QSDRVFL") is None and r.get("QSSTAT") is None]) == 9
    assert _rows(result, "DLQI113")[0]["QSSTAT"] == "NOT DONE"
    assert _rows(result, "DLQI112")[0]["QSSTRESN"] == 2
    assert any(i.code == "QS004" for i in result.issues)


def test_form_answered_twice_on_one_day_keeps_the_later():
    early = questionnaire_response("qr1", answers=_dlqi_answers(), authored="2023-04-03T09:00")
    late = questionnaire_response("qr2", answers=_dlqi_answers(DLQI101=_c("very-much")), authored="2023-04-03T11:30")
    rec = record(patient(), late, early)
    result = map_qs(rec, study=STUDY, subject=SUBJECT)
    assert {r["_src"][0] for r in result.rows} == {"QuestionnaireResponse/qr2"}
    assert _rows(result, "DLQI111")[0]["QSSTRESN"] == 13
    dup = [i for i in result.issues if i.code == "QS005"]
    assert len(dup) == 1 and dup[0].where.resource == "QuestionnaireResponse/qr1"
    assert "QuestionnaireResponse/qr1" in result.unmapped


def test_items_matched_by_questionnaire_item_code_not_position():
    questionnaire = {"resourceType": "Questionnaire", "id": "site-dlqi", "url": f"{EX}/Questionnaire/site-dlqi",
                     "code": [{"system": ITEMS, "code": "DLQI"}],
                     "item": [{"linkId": "q-itch", "type": "choice", "code": [{"system": ITEMS, "code": "DLQI101"}]}]}
    qr = questionnaire_response("qr1", questionnaire=f"{EX}/Questionnaire/site-dlqi|3",
                                answers={"unknown": _c("a-lot"), "q-itch": _c("very-much")})
    result = map_qs(record(patient(), questionnaire, qr), study=STUDY, subject=SUBJECT)
    assert _rows(result, "DLQI101")[0]["QSSTRESN"] == 3
    assert [i.code for i in result.issues if i.code == "QS002"] == ["QS002"]
    assert next(i for i in result.issues if i.code == "QS002").where.element == "item[0].linkId"


def test_unknown_answer_code_is_kept_and_reported():
    rec = record(patient(), questionnaire_response("qr1", answers=_dlqi_answers(DLQI101=_c("sometimes"))))
    result = map_qs(rec, study=STUDY, subject=SUBJECT)
    assert _rows(result, "DLQI101")[0]["QSORRES"] == "sometimes"
    assert _rows(result, "DLQI111")[0]["QSSTRESN"] == 10         # Q1 unanswered -> scores 0 (one missing allowed)
    assert any(i.code == "QS003" for i in result.issues)


def test_mmt8_and_global_observations_give_items_and_unilateral_total():
    obs = [observation(f"m{n}", code=f"MMT8{n}", system=ITEMS, category="exam", effective="2023-04-03",
                       valueInteger=9) for n in (101, 102, 104, 106, 108, 110, 112, 114)]
    vas = observation("g1", code="MYGA101", system=ITEMS, category="exam", effective="2023-04-03", value=3.5, unit="cm")
    result = map_qs(record(patient(), *obs, vas), study=STUDY, subject=SUBJECT)
    total = _rows(result, "MMT8116")[0]
    assert (total["QSSTRESN"], total["QSCAT"], total["QSDRVFL"]) == (72, "MMT-8", "Y")
    assert not _rows(result, "MMT8117")                            # no left side collected: no bilateral total
    g = _rows(result, "MYGA101")[0]
    assert (g["QSSTRESN"], g["QSORRESU"]) == (3.5, "cm")


def test_haq_without_vas_codes_keep_their_cdisc_category():
    answers = {f"HAQ02{n:02d}": {"system": f"{EX}/CodeSystem/instrument-answers/haq-di", "code": "1"}
               for n in (1, 3, 5, 8, 23, 26, 28, 31)}
    answers["HAQ0211"] = True
    qr = questionnaire_response("qr1", questionnaire=f"{EX}/Questionnaire/haq-di|1.0", answers=answers)
    result = map_qs(record(patient(), qr), study=STUDY, subject=SUBJECT)
    item = _rows(result, "HAQ0201")[0]
    assert (item["QSCAT"], item["QSTEST"], item["QSORRES"]) == ("HAQ-DI WITHOUT VAS", "HAQ02-Dress Yourself",
                                                              "WITH SOME DIFFICULTY")
    assert _rows(result, "HAQ02DI")[0]["QSSTRESN"] == 1.125     # walking raised to 2 by the walker: 9/8


def test_generated_questionnaires_are_the_files_in_fhir_samples():
    from mappings.instruments.questionnaires import build_questionnaire, format_questionnaire
    from mappings.instruments import load_instruments

    folder = Path(__file__).resolve().parents[1] / "fhir_samples" / "questionnaires"
    for defn in load_instruments().values():
        text = (folder / f"{defn.questionnaire_id}.json").read_text(encoding="utf-8")
        assert text == format_questionnaire(build_questionnaire(defn))
        assert json.loads(text)["url"] == defn.canonical


def test_qs_rows_shape_write_and_read_back_from_xpt(tmp_path):
    from datetime import datetime

    import pandas as pd

    from cdisc.shape import shape_domain
    from cdisc.standards import load_sdtmig
    from cdisc.xpt import read_xpt, write_xpt

    answers = _dlqi_answers(DLQI103=None, DLQI104=None)
    result = map_qs(record(patient(), questionnaire_response("qr1", answers=answers, authored="2023-04-03")),
                    study=STUDY, subject=SUBJECT)
    frame = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in result.rows])
    frame["USUBJID"] = SUBJECT.usubjid
    frame["QSSEQ"] = range(1, len(frame) + 1)         # cdisc.derive assigns it study-wide in the pipeline
    spec = load_sdtmig().domain("QS")
    shaped = shape_domain(frame, spec, studyid="LEN-CDM")
    issues = write_xpt(shaped.frame, tmp_path / "qs.xpt", spec=spec, created=datetime(2026, 1, 1))
    assert not [i for i in issues if i.severity.value == "error"]
    back = read_xpt(tmp_path / "qs.xpt").frame.set_index("QSTESTCD")
    assert back.loc["DLQI101", "QSORRES"] == "A LITTLE" and back.loc["DLQI101", "QSSTRESN"] == 1
    assert back.loc["DLQI111", "QSSTAT"] == "NOT DONE" and back.loc["DLQI111", "QSDRVFL"] is None
    assert back.loc["DLQI112", "QSSTRESN"] == 2 and back.loc["DLQI112", "QSCAT"] == "DLQI"
