"""define.xml model from small hand-made frames: data types per Define-XML 2.1 section 4.3.2, value lists,
extended values, comments on their targets, referential checks (DEF002-DEF004), XSD validity."""

from __future__ import annotations

import pandas as pd

from cdisc import define as d
from cdisc.define_build import DatasetInput, build_define, compute_iso8601_type, resolve_comment_target
from cdisc.standards import load_ct, load_sdtmig

SDTMIG, CT = load_sdtmig(), load_ct()


def origin_rule(dataset: str, variable: str):
    if variable.endswith("SEQ"):
        return d.Origin("Derived", "Sponsor"), "MT.SEQ"
    return d.Origin("Collected", "Investigator"), None


def vs_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": ["S1"] * 3, "DOMAIN": ["VS"] * 3, "USUBJID": ["S1-01-001"] * 3, "VSSEQ": [1.0, 2.0, 3.0],
        "VSTESTCD": ["WEIGHT", "HEIGHT", "WEIGHT"], "VSTEST": ["Weight", "Height", "Weight"],
        "VSORRES": ["70.5", "172", "71.25"], "VSORRESU": ["kg", "cm", "LBS"],
        "VSDTC": ["2023-01-02", "2023-01-02", "2023-02"],
    })


def build(frames: dict[str, pd.DataFrame], **kw) -> d.DefineDocument:
    datasets = [DatasetInput(n, f, SDTMIG.domain(n)) for n, f in frames.items()]
    methods = [d.Method("MT.SEQ", "Sequence", "Computation", "1..n"), d.Method("MT.UNUSED", "x", "Computation", "y")]
    return build_define(datasets, ct=CT, origin_rule=origin_rule, study_oid="STDY.S1", study_name="S1",
                        study_description="Study one", protocol_name="S1", creation_datetime="2024-01-01T00:00:00",
                        tool_version="0", methods=methods, **kw)


def test_iso8601_data_types_follow_the_content():
    assert compute_iso8601_type(["2023-01-02"]) == "date"
    assert compute_iso8601_type(["2023-01-02T08:30:00"]) == "datetime"
    assert compute_iso8601_type(["2023", "2023-01-02"]) == "partialDate"
    assert compute_iso8601_type(["2023-01-02T08:30", "2023"]) == "partialDatetime"
    assert compute_iso8601_type(["P2Y3M", "PT4H"]) == "durationDatetime"
    assert compute_iso8601_type(["2023---15"]) == "incompleteDatetime"
    assert compute_iso8601_type(["2023-01-02/2023-01-05"]) == "intervalDatetime"


def test_items_have_types_lengths_and_only_used_methods():
    doc = build({"VS": vs_frame()})
    items = {i.oid: i for i in doc.item_defs}
    assert (items["IT.VS.VSDTC"].data_type, items["IT.VS.VSDTC"].length) == ("partialDate", None)
    assert (items["IT.VS.VSTESTCD"].data_type, items["IT.VS.VSTESTCD"].length) == ("text", 6)
    assert (items["IT.VS.VSSEQ"].data_type, items["IT.VS.VSSEQ"].length) == ("integer", 8)
    assert [m.oid for m in doc.methods] == ["MT.SEQ"]
    group = doc.item_groups[0]
    assert [(r.item_oid, r.key_sequence) for r in group.items if r.key_sequence] == [
        ("IT.VS.STUDYID", 1), ("IT.VS.USUBJID", 2), ("IT.VS.VSTESTCD", 3)]   # SDTMIG VS keys present in the frame


def test_value_list_per_test_with_where_clause_and_numeric_type():
    doc = build({"VS": vs_frame()})
    vl = next(v for v in doc.value_lists if v.oid == "VL.VS.VSORRES")
    assert [r.where_clause_oid for r in vl.items] == ["WC.VS.VSTESTCD.HEIGHT", "WC.VS.VSTESTCD.WEIGHT"]
    items = {i.oid: i for i in doc.item_defs}
    weight = items["IT.VS.VSORRES.WEIGHT"]
    assert (weight.data_type, weight.significant_digits, weight.length) == ("float", 2, 5)   # "71.25"
    assert (items["IT.VS.VSORRES.HEIGHT"].data_type, items["IT.VS.VSORRES.HEIGHT"].label) == ("integer", "Height (VSORRES)")
    clause = next(w for w in doc.where_clauses if w.oid == "WC.VS.VSTESTCD.WEIGHT")
    assert clause.checks == (d.RangeCheck("IT.VS.VSTESTCD", ("WEIGHT",)),)


def test_values_outside_an_extensible_codelist_are_extended_without_a_code():
    doc = build({"VS": vs_frame()})
    units = next(c for c in doc.codelists if c.oid.startswith("CL.VS.VSORRESU"))
    by_value = {i.coded_value: i for i in units.items}
    assert (by_value["kg"].nci_code, by_value["kg"].extended) == ("C28252", False)
    assert by_value["LBS"].extended and by_value["LBS"].nci_code is None
    assert units.nci_code == "C66770"


def test_assumptions_attach_to_their_target_else_to_the_study():
    assert resolve_comment_target("trial_summary.AGEMAX", [("trial_summary.*", "TS.TSVAL.{name}")]) == "TS.TSVAL.AGEMAX"
    doc = build({"VS": vs_frame()}, assumptions=[("visits", "Windows are assumed."), ("studyid", "Key.")],
                comment_targets=[("visits", "VS"), ("subject.sex", "DM.SEX")])
    assert doc.item_groups[0].comment_oid == "COM.VS"
    assert doc.comment_oid == "COM.STUDY"
    assert {c.oid: c.text for c in doc.comments} == {"COM.VS": "visits: Windows are assumed.", "COM.STUDY": "studyid: Key."}


def test_the_model_renders_schema_valid_and_passes_the_reference_checks():
    doc = build({"VS": vs_frame()}, assumptions=[("visits", "Windows are assumed.")], comment_targets=[("visits", "VS")])
    assert d.check_define(d.render_define(doc)) == []
    assert d.check_define_model(doc) == []


def test_reference_checks_report_unused_dangling_and_methodless_derivations():
    doc = build({"VS": vs_frame()})
    doc.methods.append(d.Method("MT.ORPHAN", "x", "Computation", "y"))
    group = doc.item_groups[0]
    doc.item_groups[0] = d.ItemGroup(**{**{f: getattr(group, f) for f in group.__slots__},
                                        "comment_oid": "COM.MISSING"})
    doc.item_defs.append(d.ItemDef("IT.VS.EXTRA", "EXTRA", "x", "text", 1, d.Origin("Derived", "Sponsor")))
    doc.item_groups[0] = d.ItemGroup(**{**{f: getattr(doc.item_groups[0], f) for f in group.__slots__},
                                        "items": doc.item_groups[0].items + (d.ItemRef("IT.VS.EXTRA", 99, False),)})
    codes = sorted((i.code, i.where.element) for i in d.check_define_model(doc))
    assert codes == [("DEF002", "IT.VS.EXTRA"), ("DEF003", "MT.ORPHAN"), ("DEF004", "IG.VS")]
