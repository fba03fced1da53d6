"""Instrument item definitions and unconfirmed scoring rules, loaded once from ``data/*.yaml`` (STYLE 2.2).

Each ``data/<instrument>.yaml`` lists every item (linkId = QSTESTCD, short QSTEST, QSCAT, answer type and range,
the subscale/total it feeds) and the derived scores. ``data/assumptions.yaml`` holds every UNCONFIRMED rule of the
specs as one value; item files refer to it as ``'assumption:<key>'``, resolved here on load.

>>> dlqi = load_instruments()["DLQI"]
>>> dlqi.qscat, dlqi.item("DLQI107A").test, dlqi.canonical
('DLQI', 'DLQI1-Problem at Work or Studying', 'https://example.org/fhir2cdisc/Questionnaire/dlqi')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml

DATA_DIR = Path(__file__).parent / "data"
CANONICAL_BASE = "https://example.org/fhir2cdisc/Questionnaire"
ITEM_CODE_SYSTEM = "https://example.org/fhir2cdisc/CodeSystem/instrument-items"
ANSWER_CODE_SYSTEM = "https://example.org/fhir2cdisc/CodeSystem/instrument-answers"
INSTRUMENT_FILES = ("cdasi", "clasi", "dlqi", "rand36", "haqdi", "mmt8", "myoglobal")
_ASSUMPTION_PREFIX = "assumption:"
_ITEM_KEYS = {"linkId", "test", "scat", "type", "min", "max", "allowed", "answers", "feeds", "evaluator", "score",
              "unit", "enable_when", "recode"}


class InstrumentDefinitionError(ValueError):
    """A data file is inconsistent (raised at load, never during a conversion)."""


@dataclass(frozen=True, slots=True)
class Assumption:
    """One unconfirmed rule: its value, the doubt and where the spec discusses it."""

    key: str
    value: object
    doubt: str
    source: str


@dataclass(frozen=True, slots=True)
class AnswerOption:
    code: str
    text: str            # QSORRES
    score: float | None  # item score (None: scored through another item, e.g. DLQI Q7 'no')


@dataclass(frozen=True, slots=True)
class ItemDef:
    """One questionnaire item or one derived score (``derived`` True)."""

    link_id: str                      # = QSTESTCD
    test: str                         # = QSTEST (short name, never item wording)
    type: str                         # integer | decimal | choice | boolean
    scat: str | None = None           # QSSCAT
    min: float | None = None
    max: float | None = None
    allowed: tuple = ()               # explicit allowed values (integers) when not a plain range
    answers: tuple[AnswerOption, ...] = ()
    feeds: tuple[str, ...] = ()       # scores/subscales this item contributes to
    evaluator: str | None = None      # QSEVAL when it differs from the instrument's
    unit: str | None = None
    enable_when: str | None = None    # "<linkId>=<answer code>"
    score: str | None = None          # for derived records: the score's key (e.g. "activity")
    derived: bool = False
    attrs: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # area, component, category...

    def answer(self, code: str | None) -> AnswerOption | None:
        return next((a for a in self.answers if a.code == code), None)

    def accepts(self, value: float) -> bool:
        """Whether a numeric value lies in the item's allowed values or range."""
        if self.allowed:
            return value in self.allowed
        if self.min is not None and value < self.min:
            return False
        return self.max is None or value <= self.max


@dataclass(frozen=True, slots=True)
class Variant:
    """The same form under other CDISC codes (e.g. HAQ-DI WITHOUT VAS: HAQ02nn for HAQ01nn)."""

    qscat: str
    prefix: str
    replaces: str
    terminology: str


@dataclass(frozen=True, slots=True)
class InstrumentDef:
    key: str                          # "CDASI", "DLQI", ...
    questionnaire_id: str             # Questionnaire.id
    version: str
    title: str
    qscat: str
    terminology: str                  # "sponsor-defined" or the CDISC codelist
    evaluator: str                    # default QSEVAL
    items: tuple[ItemDef, ...]
    scores: tuple[ItemDef, ...]
    recodes: MappingProxyType
    variants: tuple[Variant, ...] = ()
    source_file: str = ""

    @property
    def canonical(self) -> str:
        return f"{CANONICAL_BASE}/{self.questionnaire_id}"

    @property
    def sponsor_defined(self) -> bool:
        return self.terminology == "sponsor-defined"

    def item(self, link_id: str) -> ItemDef | None:
        return self._by_id().get(link_id)

    def score_def(self, score: str) -> ItemDef:
        found = next((s for s in self.scores if s.score == score), None)
        if found is None:
            raise KeyError(f"{self.key} has no score '{score}'")
        return found

    def items_feeding(self, score: str) -> tuple[ItemDef, ...]:
        return tuple(i for i in self.items if score in i.feeds)

    def _by_id(self) -> dict[str, ItemDef]:
        return {i.link_id: i for i in (*self.items, *self.scores)}


def _resolve(value, assumptions: dict[str, Assumption], where: str):
    if isinstance(value, str) and value.startswith(_ASSUMPTION_PREFIX):
        key = value[len(_ASSUMPTION_PREFIX):]
        if key not in assumptions:
            raise InstrumentDefinitionError(f"{where}: unknown assumption '{key}'")
        return assumptions[key].value
    return value


def _parse_item(raw: dict, answer_sets: dict, assumptions: dict, where: str, derived: bool) -> ItemDef:
    raw = {k: _resolve(v, assumptions, f"{where} {raw.get('linkId')}") for k, v in raw.items()}
    link_id = raw["linkId"]
    if len(link_id) > 8 or len(raw["test"]) > 40:
        raise InstrumentDefinitionError(f"{where}: {link_id} QSTESTCD > 8 or QSTEST > 40 characters")
    answers = ()
    if raw.get("answers"):
        if raw["answers"] not in answer_sets:
            raise InstrumentDefinitionError(f"{where}: {link_id} names unknown answer set {raw['answers']}")
        answers = answer_sets[raw["answers"]]
    attrs = {k: v for k, v in raw.items() if k not in _ITEM_KEYS}
    if "recode" in raw:
        attrs["recode"] = raw["recode"]
    return ItemDef(
        link_id=link_id, test=raw["test"], type=raw["type"], scat=raw.get("scat"),
        min=raw.get("min"), max=raw.get("max"), allowed=tuple(raw.get("allowed") or ()), answers=answers,
        feeds=tuple(raw.get("feeds") or ()), evaluator=raw.get("evaluator"), unit=raw.get("unit"),
        enable_when=raw.get("enable_when"), score=raw.get("score"), derived=derived,
        attrs=MappingProxyType(attrs),
    )


def _parse_answer_sets(raw: dict, assumptions: dict, where: str) -> dict[str, tuple[AnswerOption, ...]]:
    out = {}
    for name, options in (raw or {}).items():
        out[name] = tuple(
            AnswerOption(str(o["code"]), o["text"], _resolve(o.get("score"), assumptions, f"{where} {name}"))
            for o in options
        )
    return out


def parse_instrument(data: dict, assumptions: dict[str, Assumption], where: str) -> InstrumentDef:
    """Build one :class:`InstrumentDef` from its YAML mapping, resolving assumption references."""
    answer_sets = _parse_answer_sets(data.get("answer_sets"), assumptions, where)
    items = tuple(_parse_item(i, answer_sets, assumptions, where, False) for i in data["items"])
    scores = tuple(_parse_item(s, answer_sets, assumptions, where, True) for s in data.get("scores") or ())
    ids = [i.link_id for i in (*items, *scores)]
    if len(set(ids)) != len(ids):
        raise InstrumentDefinitionError(f"{where}: duplicate linkId")
    recodes = {k: MappingProxyType({int(a): float(b) for a, b in v.items()}) for k, v in (data.get("recodes") or {}).items()}
    for item in items:
        if "recode" in item.attrs and item.attrs["recode"] not in recodes:
            raise InstrumentDefinitionError(f"{where}: {item.link_id} names unknown recode {item.attrs['recode']}")
    return InstrumentDef(
        key=data["instrument"], questionnaire_id=data["questionnaire"], version=str(data["version"]),
        title=data["title"], qscat=data["qscat"], terminology=data["terminology"], evaluator=data["evaluator"],
        items=items, scores=scores, recodes=MappingProxyType(recodes),
        variants=tuple(Variant(**v) for v in data.get("variants") or ()), source_file=where,
    )


@lru_cache(maxsize=None)
def load_assumptions() -> MappingProxyType:
    """Every unconfirmed rule, by key (``data/assumptions.yaml``)."""
    with (DATA_DIR / "assumptions.yaml").open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return MappingProxyType({k: Assumption(k, v["value"], v["doubt"], v["source"]) for k, v in raw.items()})


def assumption(key: str):
    """The value of one unconfirmed rule."""
    return load_assumptions()[key].value


def list_assumptions() -> list[Assumption]:
    """All unconfirmed rules, for the reviewer notes (in file order)."""
    return list(load_assumptions().values())


@lru_cache(maxsize=None)
def load_instruments() -> MappingProxyType:
    """All instrument definitions by key (``CDASI``, ``CLASI``, ``DLQI``, ``RAND-36``, ``HAQ-DI``, ``MMT-8``,
    ``MYOGLOBAL``)."""
    assumptions = dict(load_assumptions())
    out = {}
    for name in INSTRUMENT_FILES:
        path = DATA_DIR / f"{name}.yaml"
        with path.open(encoding="utf-8") as fh:
            defn = parse_instrument(yaml.safe_load(fh), assumptions, f"mappings/instruments/data/{path.name}")
        out[defn.key] = defn
    return MappingProxyType(out)
