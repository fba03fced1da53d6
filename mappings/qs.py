"""QS (Questionnaires): instrument items as collected and their scores as derived records (QSDRVFL 'Y').

Sources (docs/FHIR-INPUT.md, Instruments): QuestionnaireResponses against the project's Questionnaires (items
matched by linkId = QSTESTCD, or by the Questionnaire item's code; never by position) and Observations coded in the
project item code system (MMT-8, myositis globals). Item definitions, QSCAT/QSTESTCD/QSTEST (CDISC CT where CDISC
publishes the instrument, sponsor-defined otherwise) come from ``mappings/instruments/data``.

QSEVAL is not a QS variable in SDTMIG 3.4 and, being an SDTM model variable, may not be a SUPPQS QNAM either
(CORE-000783); the evaluator is implied by the instrument (QSCAT) and is not submitted. --SEQ, --DY, VISIT/VISITNUM, EPOCH and
QSLOBXFL are derived study-wide (``cdisc.derive``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from cdisc.dates import parse_dtc
from cdisc.issues import Location, issue
from interop.normalize.record import Resource, SubjectRecord, codings
from mappings.instruments import cdasi, clasi, dlqi, haqdi, mmt8, rand36
from mappings.instruments.codes import QS001, QS002, QS003, QS004, QS005, QS006, QS007, QS008, QS009
from mappings.instruments.definitions import ITEM_CODE_SYSTEM, InstrumentDef, ItemDef, Variant, load_instruments
from mappings.instruments.result import ScoreResult
from mappings.result import MapResult, SubjectContext
from mappings.study import StudyDefinition

DOMAIN = "QS"
_MAPPED_STATUSES = {"completed", "amended"}
_UNMAPPED_STATUSES = {"entered-in-error"}

# (instrument, score key) -> scorer taking {QSTESTCD: scorer input}  (STYLE 3.5: a plain dict of implementations)
SCORERS: dict[tuple[str, str], Callable[[dict], ScoreResult]] = {
    ("CDASI", "activity"): cdasi.compute_cdasi_activity,
    ("CDASI", "damage"): cdasi.compute_cdasi_damage,
    ("CLASI", "activity"): clasi.compute_clasi_activity,
    ("CLASI", "damage"): clasi.compute_clasi_damage,
    ("DLQI", "total"): dlqi.compute_dlqi_total,
    **{("DLQI", s): (lambda v, s=s: dlqi.compute_dlqi_subscale(v, s))
       for s in ("symptoms", "daily", "leisure", "work", "personal", "treatment")},
    **{("RAND-36", s): (lambda v, s=s: rand36.compute_rand36_scale(v, s)) for s in rand36.RAND36_SCALES},
    ("HAQ-DI", "disability_index"): haqdi.compute_haq_di,
    ("MMT-8", "unilateral"): mmt8.compute_mmt8_unilateral,
    ("MMT-8", "bilateral"): mmt8.compute_mmt8_bilateral,
}


@dataclass(slots=True)
class Answer:
    """One collected answer: QSORRES/QSSTRESC/QSSTRESN, the scorer's input and its source."""

    item: ItemDef
    orres: str
    stresc: str
    stresn: float | None
    score_input: object          # what the scorer reads (answer code, number, bool); None when not scorable
    source: str
    unit: str | None = None


@dataclass(slots=True)
class Form:
    """One administration of an instrument: answers by QSTESTCD, its date, and the resources it came from."""

    defn: InstrumentDef
    dtc: str | None
    sources: list[str]
    answers: dict[str, Answer] = field(default_factory=dict)
    supplied_scores: dict[str, tuple[float, str]] = field(default_factory=dict)   # linkId -> (value, source)
    variant: Variant | None = None
    order: tuple = ()            # sort key for "the later" of two forms on one day


def _loc(res: Resource, element: str | None = None, usubjid: str | None = None) -> Location:
    return Location(file=res.source.file, entry=res.source.entry, resource=res.key, element=element,
                    dataset=DOMAIN, usubjid=usubjid)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0").rstrip(".")


# ---- identifying the instrument and the items ------------------------------------------------------------

def find_instrument_for_questionnaire(canonical: str | None, record: SubjectRecord) -> InstrumentDef | None:
    """The instrument of a QuestionnaireResponse.questionnaire canonical (version ignored), directly or through
    the referenced Questionnaire's ``url``/``code`` (project item code system code = instrument key)."""
    if not canonical:
        return None
    url = canonical.split("|", 1)[0]
    instruments = load_instruments()
    direct = next((d for d in instruments.values() if d.canonical == url), None)
    if direct:
        return direct
    questionnaire = find_questionnaire(url, record)
    for system, code, _ in codings({"coding": (questionnaire or {}).get("code") or []}):
        if system == ITEM_CODE_SYSTEM and code in instruments:
            return instruments[code]
    return None


def find_questionnaire(url: str, record: SubjectRecord) -> dict | None:
    """The Questionnaire resource with this canonical url in the record's index (or None)."""
    for key, res in record.index.items():
        if key.startswith("Questionnaire/") and res.data.get("url") == url:
            return res.data
    return None


def _questionnaire_item_codes(questionnaire: dict | None) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}

    def walk(items):
        for it in items or []:
            out[it.get("linkId")] = [(c.get("system"), c.get("code")) for c in it.get("code") or []]
            walk(it.get("item"))
    walk((questionnaire or {}).get("item"))
    return out


def match_item(link_id: str, defn: InstrumentDef, item_codes: dict[str, list[tuple]]) -> tuple[ItemDef | None, Variant | None]:
    """The item a QR item stands for: by linkId (also a variant's codes, e.g. HAQ02nn), else by the Questionnaire
    item's code (project item code system or a LOINC code listed in the item data)."""
    found = defn.item(link_id)
    if found:
        return found, None
    for variant in defn.variants:
        if link_id.startswith(variant.prefix):
            found = defn.item(variant.replaces + link_id[len(variant.prefix):])
            if found:
                return found, variant
    for system, code in item_codes.get(link_id, []):
        if system == ITEM_CODE_SYSTEM and defn.item(code):
            return defn.item(code), None
        match = next((i for i in (*defn.items, *defn.scores) if (system, code) in
                      {(c.get("system"), c.get("code")) for c in i.attrs.get("codes", ())}), None)
        if match:
            return match, None
    return None, None


# ---- reading answers ------------------------------------------------------------------------------------

def read_answer(item: ItemDef, value_key: str, value, source: str) -> tuple[Answer | None, str | None]:
    """Turn a FHIR value[x] into an :class:`Answer`; returns (answer, problem) where problem names a bad value."""
    if item.answers:
        code = value.get("code") if isinstance(value, dict) else (str(value) if value is not None else None)
        option = item.answer(code)
        if option is None:
            return Answer(item, str(code), str(code), None, None, source), f"code '{code}'"
        stresc = _format_number(option.score) if option.score is not None else option.text
        return Answer(item, option.text, stresc, option.score, option.code, source), None
    if item.type == "boolean" or isinstance(value, bool):
        if not isinstance(value, bool):
            return Answer(item, str(value), str(value), None, None, source), f"value '{value}'"
        text = "Y" if value else "N"
        return Answer(item, text, text, None, value, source), None
    unit = None
    if isinstance(value, dict):            # valueQuantity
        unit, value = value.get("code") or value.get("unit"), value.get("value")
    if not isinstance(value, (int, float)):
        return Answer(item, str(value), str(value), None, None, source), f"value '{value}'"
    text = _format_number(value)
    ok = item.accepts(value) and (item.type != "integer" or float(value).is_integer())
    answer = Answer(item, text, text, float(value), value if ok else None, source, unit if item.unit else None)
    return answer, None if ok else f"value {text}"


def _value_of(element: dict) -> tuple[str, object] | None:
    for key in ("valueCoding", "valueInteger", "valueDecimal", "valueBoolean", "valueQuantity", "valueString",
                "valueCodeableConcept"):
        if key in element:
            value = element[key]
            if key == "valueCodeableConcept":
                value = (value.get("coding") or [{}])[0]
            return key, value
    return None


def _walk_items(items, path: str = "item") -> Iterator[tuple[dict, str]]:
    for n, it in enumerate(items or []):
        here = f"{path}[{n}]"
        yield it, here
        yield from _walk_items(it.get("item"), f"{here}.item")
        for a, answer in enumerate(it.get("answer") or []):
            yield from _walk_items(answer.get("item"), f"{here}.answer[{a}].item")


def read_questionnaire_response(res: Resource, record: SubjectRecord, result: MapResult, usubjid: str) -> Form | None:
    """A :class:`Form` from one QuestionnaireResponse (issues appended to ``result``); None when not mapped."""
    data = res.data
    defn = find_instrument_for_questionnaire(data.get("questionnaire"), record)
    if defn is None:
        result.issues.append(issue(QS001, f"questionnaire '{data.get('questionnaire')}' is not a known instrument",
                                   _loc(res, "questionnaire", usubjid)))
        result.unmapped[res.key] = "QuestionnaireResponse of an unknown questionnaire"
        return None
    status = data.get("status")
    if status not in _MAPPED_STATUSES:
        result.issues.append(issue(QS007, f"QuestionnaireResponse status is '{status}'", _loc(res, "status", usubjid)))
        if status in _UNMAPPED_STATUSES:
            result.unmapped[res.key] = f"QuestionnaireResponse status {status}"
            return None
    form = Form(defn, data.get("authored"), [res.key], order=(data.get("authored") or "", res.source.entry or 0))
    item_codes = _questionnaire_item_codes(find_questionnaire(data["questionnaire"].split("|", 1)[0], record))
    for element, path in _walk_items(data.get("item")):
        if not element.get("answer"):
            continue
        item, variant = match_item(element.get("linkId", ""), defn, item_codes)
        if item is None:
            result.issues.append(issue(QS002, f"linkId '{element.get('linkId')}' is not an item of {defn.key}",
                                       _loc(res, f"{path}.linkId", usubjid)))
            continue
        form.variant = form.variant or variant
        _add_answer(form, item, element["answer"], res, f"{path}.answer", result, usubjid)
    return form


def _add_answer(form: Form, item: ItemDef, answers: list[dict], res: Resource, path: str, result: MapResult,
                usubjid: str) -> None:
    read = [_value_of(a) for a in answers]
    read = [r for r in read if r is not None]
    if not read:
        return
    if item.derived:
        value = read[0][1]
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, (int, float)):
            form.supplied_scores[item.link_id] = (float(value), res.key)
        return
    candidates = [read_answer(item, key, value, res.key) for key, value in read]
    # several answers to one question: the highest-scoring one (dlqi_multiple_answers 'highest')
    answer, problem = max(candidates, key=lambda c: (c[1] is None, c[0].stresn if c[0].stresn is not None else -1))
    if problem:
        result.issues.append(issue(QS003, f"{item.link_id}: {problem} is not allowed", _loc(res, path, usubjid)))
    form.answers[item.link_id] = answer


def _observation_items() -> dict[str, tuple[InstrumentDef, ItemDef]]:
    return {i.link_id: (d, i) for d in load_instruments().values() for i in (*d.items, *d.scores)}


def read_instrument_observations(record: SubjectRecord, result: MapResult, usubjid: str) -> list[Form]:
    """Forms from Observations coded in the project item code system, one per instrument and day."""
    lookup = _observation_items()
    forms: dict[tuple[str, str], Form] = {}
    for res in record.of_type("Observation"):
        codes = [c for s, c, _ in codings(res.data.get("code")) if s == ITEM_CODE_SYSTEM]
        if not codes:
            continue
        if codes[0] in load_instruments():          # a panel grouping item Observations (hasMember)
            result.evidence.add(res.key)
            continue
        if codes[0] not in lookup:
            result.issues.append(issue(QS002, f"code '{codes[0]}' is not an instrument item", _loc(res, "code", usubjid)))
            result.unmapped[res.key] = "Observation coded with an unknown instrument item"
            continue
        defn, item = lookup[codes[0]]
        value = _value_of(res.data)
        if value is None:
            result.issues.append(issue(QS009, f"{item.link_id} Observation has no value", _loc(res, "value[x]", usubjid)))
            result.unmapped[res.key] = "instrument Observation without a value"
            continue
        dtc = res.data.get("effectiveDateTime")
        form = forms.setdefault((defn.key, (dtc or "")[:10]), Form(defn, dtc, [], order=(dtc or "", 0)))
        form.sources.append(res.key)
        if dtc and dtc > (form.dtc or ""):
            form.dtc, form.order = dtc, (dtc, 0)
        previous = form.answers.get(item.link_id)
        _add_answer(form, item, [res.data], res, "value[x]", result, usubjid)
        if previous is not None and previous.source != form.answers[item.link_id].source:
            result.issues.append(issue(QS005, f"{item.link_id} recorded twice on one day: the later is kept",
                                       _loc(res, "code", usubjid)))
    return list(forms.values())


# ---- duplicates, rows --------------------------------------------------------------------------------------

def select_one_form_per_day(forms: list[Form], result: MapResult, usubjid: str,
                            index: dict[str, Resource]) -> list[Form]:
    """Keep the later form of an instrument answered twice on one day; report and list the earlier (QS005)."""
    by_day: dict[tuple[str, str], list[Form]] = {}
    for form in forms:
        by_day.setdefault((form.defn.key, (form.dtc or "")[:10]), []).append(form)
    kept = []
    for (key, day), group in by_day.items():
        group.sort(key=lambda f: f.order)
        kept.append(group[-1])
        for dropped in group[:-1]:
            for src in dropped.sources:
                res = index.get(src)
                where = _loc(res, "authored", usubjid) if res else Location(resource=src, dataset=DOMAIN, usubjid=usubjid)
                result.issues.append(issue(QS005, f"{key} answered twice on {day or 'an unknown day'}: "
                                                  f"{group[-1].sources[0]} is kept", where))
                result.unmapped[src] = f"{key} answered again later the same day ({group[-1].sources[0]} kept)"
    return kept


def _codes_for(form: Form, item: ItemDef) -> tuple[str, str, str]:
    """QSTESTCD, QSTEST, QSCAT, translated to the variant's codes (e.g. HAQ-DI WITHOUT VAS) when it applies."""
    v = form.variant
    if v and item.link_id.startswith(v.replaces):
        return (v.prefix + item.link_id[len(v.replaces):], v.prefix + item.test[len(v.replaces):], v.qscat)
    return item.link_id, item.test, (v.qscat if v else form.defn.qscat)


def _base_row(form: Form, item: ItemDef) -> dict:
    testcd, test, cat = _codes_for(form, item)
    return {"QSTESTCD": testcd, "QSTEST": test, "QSCAT": cat, "QSSCAT": item.scat, "QSDTC": form.dtc}


def build_item_rows(form: Form) -> list[dict]:
    rows = []
    for item in form.defn.items:
        answer = form.answers.get(item.link_id)
        if answer is None:
            continue
        row = _base_row(form, item)
        row.update({"QSORRES": answer.orres, "QSORRESU": answer.unit, "QSSTRESC": answer.stresc,
                    "QSSTRESN": answer.stresn, "QSSTRESU": answer.unit,
                    "_src": (answer.source,), "_rule": "QS.item"})
        rows.append(row)
    return rows


def _should_emit(form: Form, score: ItemDef) -> bool:
    """A score is derived for every form with answers (or when the source sent it); a score with ``emit_when``
    (``attr=value``, e.g. the bilateral MMT-8 total) only when a collected item matches it."""
    if score.link_id in form.supplied_scores:
        return True
    emit_when = score.attrs.get("emit_when")
    if emit_when:
        attr, value = emit_when.split("=", 1)
        return any(a.item.attrs.get(attr) == value for a in form.answers.values())
    return bool(form.answers)


def build_score_rows(form: Form, result: MapResult, usubjid: str, index: dict[str, Resource]) -> list[dict]:
    """Derived records (QSDRVFL 'Y'); a score the rules forbid gets QSSTAT 'NOT DONE' and QSREASND."""
    rows = []
    inputs = {k: a.score_input for k, a in form.answers.items()}
    for score in form.defn.scores:
        scorer = SCORERS.get((form.defn.key, score.score))
        if scorer is None or not _should_emit(form, score):
            continue
        computed = scorer(inputs) if form.answers else None
        supplied = form.supplied_scores.get(score.link_id)
        row = _base_row(form, score)
        row.update({"QSDRVFL": "Y", "_src": tuple(dict.fromkeys(a.source for a in form.answers.values()))
                    or (supplied[1],), "_rule": "QS.score"})
        where = _loc(index[form.sources[0]], None, usubjid) if form.sources[0] in index else Location(dataset=DOMAIN)
        if computed is None and supplied is not None:
            text = _format_number(supplied[0])
            row.update({"QSORRES": text, "QSSTRESC": text, "QSSTRESN": supplied[0], "_rule": "QS.score-from-source"})
        elif computed is not None and computed.calculable:
            text = _format_number(round(computed.value, 4))
            row.update({"QSORRES": text, "QSSTRESC": text, "QSSTRESN": round(computed.value, 4)})
            if supplied is not None and abs(supplied[0] - computed.value) > 1e-6:
                result.issues.append(issue(QS006, f"{score.link_id}: source {supplied[0]} vs recomputed "
                                                  f"{computed.value:g}", where))
        else:
            # not derived after all: QSDRVFL stays null on a NOT DONE score (a derived flag promises a result)
            row.update({"QSSTAT": "NOT DONE", "QSREASND": computed.reason[:200], "QSDRVFL": None})
            result.issues.append(issue(QS004, f"{score.link_id}: {computed.reason}", where))
        rows.append(row)
    return rows


def map_qs(record: SubjectRecord, *, study: StudyDefinition, subject: SubjectContext) -> MapResult:
    """QS rows of one subject: items as collected and scores as derived records (see module docstring).

    Parameters
    ----------
    record : the subject's normalised resources (QuestionnaireResponse, Observation, shared Questionnaires).
    study : the study definition (unused for now: every collected instrument is mapped, scheduled or not).
    subject : the subject's context (USUBJID for issue locations).
    """
    result = MapResult(DOMAIN)
    forms = []
    for res in record.of_type("QuestionnaireResponse"):
        form = read_questionnaire_response(res, record, result, subject.usubjid)
        if form is not None:
            forms.append(form)
    forms.extend(read_instrument_observations(record, result, subject.usubjid))
    for form in select_one_form_per_day(forms, result, subject.usubjid, record.index):
        if form.dtc is None or parse_dtc(form.dtc) is None:
            res = record.index.get(form.sources[0])
            result.issues.append(issue(QS008, f"{form.defn.key} record date '{form.dtc}' is not ISO 8601",
                                       _loc(res, "authored", subject.usubjid) if res else Location(dataset=DOMAIN)))
            form.dtc = None
        result.rows.extend(build_item_rows(form))
        result.rows.extend(build_score_rows(form, result, subject.usubjid, record.index))
    return result
