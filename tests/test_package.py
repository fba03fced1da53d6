"""The package `interop convert` writes: define.xml 2.1 (schema-valid, exactly the datasets and variables written,
codelists covering the data, references resolving), its rendering in headless Chromium, and Dataset-JSON that
round-trips to the same data as the XPT files. One conversion of each trial per test session (fixtures in
tests/conftest.py, shared with the conformance tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree, html

from cdisc.datasetjson import read_dataset_json
from cdisc.standards import load_define_ct

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
ISO8601_TYPES = {"date", "datetime", "partialDate", "partialDatetime", "durationDatetime", "incompleteDatetime",
                 "intervalDatetime", "partialTime", "time"}
CHROMIUM = Path("/usr/bin/chromium")
DEF_COMMENT = "{http://www.cdisc.org/ns/def/v2.1}CommentOID"


def read_define(folder: Path) -> etree._ElementTree:
    return etree.parse(str(folder / "define.xml"), etree.XMLParser(no_network=True, resolve_entities=False))


def read_xpts(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem.upper(): pyreadstat.read_xport(str(p))[0] for p in sorted(folder.glob("*.xpt"))}


def define_variables(tree) -> dict[str, list[str]]:
    """Dataset -> variable names in ItemRef order, from define.xml."""
    names = {i.get("OID"): i.get("Name") for i in tree.iterfind(".//odm:ItemDef", NS)}
    out = {}
    for group in tree.iterfind(".//odm:ItemGroupDef", NS):
        refs = sorted(group.iterfind("odm:ItemRef", NS), key=lambda r: int(r.get("OrderNumber")))
        out[group.get("Name")] = [names[r.get("ItemOID")] for r in refs]
    return out


def shared_schema() -> etree.XMLSchema:
    path = SHARED / "cdisc" / "define-xml-2.1" / "schema" / "cdisc-define-2.1" / "define2-1-0.xsd"
    if not path.exists():
        pytest.skip("shared Define-XML schemas not present")
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.mark.slow
def test_package_holds_define_stylesheet_datasets_and_dataset_json(cdm_package):
    names = {p.name for p in cdm_package.iterdir()}
    assert {"define.xml", "define2-1.xsl", "manifest.json", "dm.xpt", "ts.xpt", "ta.xpt", "te.xpt", "tv.xpt",
            "ti.xpt", "se.xpt"} <= names
    for xpt in cdm_package.glob("*.xpt"):
        assert (cdm_package / "datasetjson" / f"{xpt.stem}.json").exists(), xpt.name


@pytest.mark.slow
def test_define_validates_against_the_define_xml_2_1_schema(cdm_package):
    schema = shared_schema()
    tree = read_define(cdm_package)
    assert schema.validate(tree), [str(e) for e in schema.error_log][:5]


@pytest.mark.slow
def test_define_describes_exactly_the_datasets_and_variables_written(cdm_package):
    declared = define_variables(read_define(cdm_package))
    written = {name: list(frame.columns) for name, frame in read_xpts(cdm_package).items()}
    assert declared == written


@pytest.mark.slow
def test_each_dataset_links_to_its_file_and_has_a_define_ct_class(cdm_package):
    classes = set(load_define_ct().codelist("C103329").submission_values)
    for group in read_define(cdm_package).iterfind(".//odm:ItemGroupDef", NS):
        leaf = group.find("def:leaf", NS)
        assert leaf.get(f"{{{NS['xlink']}}}href") == f"{group.get('Name').lower()}.xpt"
        assert group.find("def:Class", NS).get("Name") in classes
        assert (cdm_package / leaf.get(f"{{{NS['xlink']}}}href")).exists()
    supp = read_define(cdm_package).find(".//odm:ItemGroupDef[@Name='SUPPAE']", NS)
    assert supp.find("def:Class", NS).get("Name") == "RELATIONSHIP"
    assert supp.find("odm:Alias[@Context='DomainDescription']", NS).get("Name") == "Adverse Events"


@pytest.mark.slow
def test_item_types_and_lengths_fit_the_data(cdm_package):
    tree = read_define(cdm_package)
    frames = read_xpts(cdm_package)
    items = {i.get("OID"): i for i in tree.iterfind(".//odm:ItemDef", NS)}
    for group in tree.iterfind(".//odm:ItemGroupDef", NS):
        frame = frames[group.get("Name")]
        for ref in group.iterfind("odm:ItemRef", NS):
            item = items[ref.get("ItemOID")]
            values = frame[item.get("Name")]
            if item.get("DataType") in ISO8601_TYPES:
                assert item.get("Length") is None, item.get("OID")
            elif item.get("DataType") == "text":
                longest = max((len(v) for v in values if isinstance(v, str)), default=1)
                assert int(item.get("Length")) == max(longest, 1), item.get("OID")
    assert items["IT.DM.RFICDTC"].get("DataType") == "datetime"      # every value YYYY-MM-DDThh:mm:ss
    assert items["IT.TE.TEDUR"].get("DataType") == "durationDatetime"
    assert items["IT.MH.MHSTDTC"].get("DataType") == "partialDate"   # YYYY, YYYY-MM and full dates


@pytest.mark.slow
def test_codelists_declare_every_value_present_in_the_data(cdm_package):
    tree = read_define(cdm_package)
    frames = read_xpts(cdm_package)
    codelists = {c.get("OID"): {i.get("CodedValue") for i in c.iterfind("*[@CodedValue]")}
                 for c in tree.iterfind(".//odm:CodeList", NS)}
    items = {i.get("OID"): i for i in tree.iterfind(".//odm:ItemDef", NS)}
    checked = 0
    for group in tree.iterfind(".//odm:ItemGroupDef", NS):
        frame = frames[group.get("Name")]
        for ref in group.iterfind("odm:ItemRef", NS):
            item = items[ref.get("ItemOID")]
            cl = item.find("odm:CodeListRef", NS)
            if cl is None:
                continue
            present = {v for v in frame[item.get("Name")] if isinstance(v, str) and v}
            assert present <= codelists[cl.get("CodeListOID")], item.get("OID")
            checked += 1
    assert checked > 20
    # QSTESTCD: one codelist per QSCAT, at value level
    qs = frames["QS"]
    dlqi = codelists["CL.QS.QSTESTCD.DLQI"]
    assert set(qs.loc[qs["QSCAT"] == "DLQI", "QSTESTCD"]) == dlqi


@pytest.mark.slow
def test_extended_values_are_marked_and_ct_terms_carry_nci_codes(cdm_package):
    tree = read_define(cdm_package)
    sex = tree.find(".//odm:CodeList[@OID='CL.DM.SEX.SEX']", NS)
    assert sex.find("odm:Alias", NS).get("Name") == "C66731"
    for item in sex.iterfind("odm:EnumeratedItem", NS):
        assert item.find("odm:Alias", NS).get("Name") in {"C20197", "C16576", "C17998"}   # M, F, U
    for item in tree.iterfind(".//odm:CodeList[@def:StandardOID]/*[@CodedValue]", NS):
        extended = item.get(f"{{{NS['def']}}}ExtendedValue") == "Yes"
        assert extended != (item.find("odm:Alias", NS) is not None), item.get("CodedValue")


@pytest.mark.slow
def test_value_level_metadata_for_findings_and_supplemental_qualifiers(cdm_package):
    tree = read_define(cdm_package)
    frames = read_xpts(cdm_package)
    vl_ids = {v.get("OID") for v in tree.iterfind(".//def:ValueListDef", NS)}
    assert {"VL.LB.LBORRES", "VL.VS.VSORRES", "VL.QS.QSORRES", "VL.SUPPAE.QVAL", "VL.TS.TSVAL"} <= vl_ids
    vs_tests = set(frames["VS"]["VSTESTCD"])
    wc = {w.get("OID") for w in tree.iterfind(".//def:WhereClauseDef", NS)}
    assert {f"WC.VS.VSTESTCD.{t}" for t in vs_tests} <= wc
    # QS where clauses name the instrument and the test
    clause = tree.find(".//def:WhereClauseDef[@OID='WC.QS.QSCAT.DLQI.QSTESTCD.DLQI101']", NS)
    assert [r.get(f"{{{NS['def']}}}ItemOID") for r in clause.iterfind("odm:RangeCheck", NS)] == \
        ["IT.QS.QSCAT", "IT.QS.QSTESTCD"]
    # SUPPAE AETRTEM is derived, with its method
    ref = tree.find(".//def:ValueListDef[@OID='VL.SUPPAE.QVAL']/odm:ItemRef", NS)
    assert ref.get("MethodOID") == "MT.AETRTEM"


@pytest.mark.slow
def test_every_reference_resolves_and_every_method_and_comment_is_used(cdm_package):
    tree = read_define(cdm_package)
    oids = {e.get("OID") for e in tree.iter() if e.get("OID")}
    for attribute in ("MethodOID", "ItemOID", "CodeListOID", "ValueListOID", "WhereClauseOID"):
        for element in tree.iter():
            oid = element.get(attribute)
            assert oid is None or oid in oids, (attribute, oid)
    comment_refs = {e.get(f"{{{NS['def']}}}CommentOID") for e in tree.iter()} - {None}
    comments = {c.get("OID") for c in tree.iterfind(".//def:CommentDef", NS)}
    assert comment_refs == comments
    method_refs = {e.get("MethodOID") for e in tree.iter()} - {None}
    assert method_refs == {m.get("OID") for m in tree.iterfind(".//odm:MethodDef", NS)}
    derived = {i.get("OID") for i in tree.iterfind(".//odm:ItemDef", NS)
               if i.find("def:Origin", NS).get("Type") == "Derived"}
    for ref in tree.iterfind(".//odm:ItemRef", NS):
        if ref.get("ItemOID") in derived:
            assert ref.get("MethodOID"), ref.get("ItemOID")


@pytest.mark.slow
def test_study_assumptions_are_comments_where_they_apply(cdm_package):
    tree = read_define(cdm_package)
    sex = tree.find(".//odm:ItemDef[@OID='IT.DM.SEX']", NS)
    comment_oid = sex.get(DEF_COMMENT)
    comment = tree.find(f".//def:CommentDef[@OID='{comment_oid}']", NS)
    assert "birth-sex" in comment.findtext(".//odm:TranslatedText", namespaces=NS)
    tv = tree.find(".//odm:ItemGroupDef[@Name='TV']", NS)
    assert tv.get(DEF_COMMENT) == "COM.TV"


@pytest.mark.slow
def test_dataset_json_and_xpt_hold_identical_data(cdm_package):
    for name, xpt in read_xpts(cdm_package).items():
        js = read_dataset_json(cdm_package / "datasetjson" / f"{name.lower()}.json").frame
        assert list(js.columns) == list(xpt.columns), name
        for column in xpt.columns:
            left = xpt[column].replace("", None).tolist()
            right = js[column].tolist()
            if xpt[column].dtype.kind == "f":
                assert pd.Series(right, dtype="float64").equals(pd.Series(left, dtype="float64")), (name, column)
            else:
                assert [None if v is None or v != v else v for v in left] == right, (name, column)


def chromium_available() -> bool:
    return CHROMIUM.exists() or shutil.which("chromium") is not None


@pytest.mark.slow
@pytest.mark.browser
def test_define_renders_in_chromium_listing_every_dataset_with_a_link(cdm_package, tmp_path):
    if not chromium_available():
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (scripts/setup-browser.sh)")
        pytest.skip("chromium not installed (scripts/setup-browser.sh)")
    binary = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    dom = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={tmp_path}",
         "--allow-file-access-from-files", "--dump-dom", (cdm_package / "define.xml").as_uri()],
        capture_output=True, text=True, timeout=180, check=True).stdout
    page = html.fromstring(dom)
    links = {a.get("href") for a in page.iter("a") if a.get("href")}
    for xpt in cdm_package.glob("*.xpt"):
        assert xpt.name in links, xpt.name
    text = page.text_content()
    assert "Standards for Study LEN-CDM" in text
    assert "SDTMIG" in text and "3.4" in text


@pytest.mark.slow
def test_len_cle_package_define_is_valid_and_matches_its_datasets(cle_package):
    tree = read_define(cle_package)
    schema = shared_schema()
    assert schema.validate(tree), [str(e) for e in schema.error_log][:5]
    written = {name: list(frame.columns) for name, frame in read_xpts(cle_package).items()}
    assert define_variables(tree) == written
    arms = tree.find(".//odm:CodeList[@OID='CL.DM.ARMCD']", NS)
    assert {(i.get("CodedValue"), i.findtext(".//odm:TranslatedText", namespaces=NS))
            for i in arms.iterfind("odm:CodeListItem", NS)} <= {("LEN5", "Lenalidomide 5 mg/day"),
                                                                ("MTX", "Methotrexate weekly")}
