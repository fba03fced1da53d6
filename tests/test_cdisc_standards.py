"""SDTMIG 3.4 and CT loaders: values checked against the CDISC sources in ../shared."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from cdisc.standards import (SDTM_CT_FILE, SDTMIG_FILE, check_codelist_references, load_ct,
                             load_define_ct, load_sdtmig)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "cdisc"


def test_dm_spec_has_sdtmig_labels_order_and_core():
    dm = load_sdtmig().domain("DM")
    assert dm.names[:4] == ("STUDYID", "DOMAIN", "USUBJID", "SUBJID")
    assert len(dm.variables) == 32
    sex = dm.variable("SEX")
    assert (sex.label, sex.type, sex.core, sex.role, sex.order) == ("Sex", "Char", "Req", "Record Qualifier", 21)
    assert dm.variable("AGE").type == "Num"
    assert dm.variable("RFSTDTC").value_domain == "ISO 8601 datetime or interval"
    assert dm.keys == ("STUDYID", "USUBJID")


@pytest.mark.parametrize("name", ["TS", "TA", "TE", "TV", "TI", "SE", "SV", "IE", "SUPPQUAL",
                                  "AE", "CM", "EX", "LB", "MH", "QS", "VS", "DS"])
def test_project_domains_are_present_with_keys(name):
    spec = load_sdtmig().domain(name)
    assert spec.keys[0] == "STUDYID"
    assert all(key in spec for key in spec.keys)


def test_supp_spec_is_suppqual_named_for_parent():
    supp = load_sdtmig().domain("SUPPAE")
    assert supp.name == "SUPPAE"
    assert supp.label == "Supplemental Qualifiers for AE"
    assert supp.names == ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL",
                          "QVAL", "QORIG", "QEVAL")
    assert supp.keys == ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")


def test_every_sdtmig_row_in_the_source_csv_is_loaded_unchanged():
    with (SHARED / "sdtmig/sdtmig_variables.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ig = load_sdtmig()
    assert sum(len(d.variables) for d in ig.domains.values()) == len(rows) == 1917
    for row in rows[::97]:
        var = ig.domain(row["dataset"]).variable(row["variable"])
        assert (var.label, var.type, var.core, var.order) == (row["label"], row["type"], row["core"],
                                                               int(row["order"]))


def test_ct_codelist_and_term_lookup_by_value_and_synonym_ignoring_case():
    ct = load_ct()
    assert (ct.package, ct.date) == ("SDTM CT", "2025-03-28")
    ny = ct.codelist("NY")
    assert (ny.code, ny.name, ny.extensible) == ("C66742", "No Yes Response", False)
    assert ny.find("unk").submission_value == "U"
    assert ny.find("UNKNOWN").code == "C17998"
    assert ny.find("perhaps") is None
    route = ct.codelist("C66729")
    assert route.extensible is True
    assert route.find("oral").submission_value == "ORAL"


def test_ct_has_every_codelist_and_term_of_the_nci_file():
    with (SHARED / "ct/sdtm_ct.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    ct = load_ct()
    assert len(ct.codelists) == sum(1 for r in rows if not r["Codelist Code"]) == 1158
    assert sum(len(c.terms) for c in ct.codelists.values()) == 43698


def test_generated_files_record_source_and_stay_small():
    ig = json.loads(SDTMIG_FILE.read_text())
    assert ig["generated_by"] == "tools/gen_standards.py" and ig["version"] == "3.4"
    assert len(ig["source"]["variables"]["sha256"]) == 64
    with gzip.open(SDTM_CT_FILE) as handle:
        ct = json.loads(handle.read())
    assert "NCI EVS" in ct["source"]["credit"]
    assert SDTM_CT_FILE.stat().st_size < 3_000_000


def test_only_the_known_missing_codelist_is_unresolved():
    assert check_codelist_references(load_sdtmig(), load_ct()) == ["MS.MSRESCAT: C85495"]


def test_define_xml_ct_has_dataset_class_codelist():
    define_ct = load_define_ct()
    assert define_ct.date == "2025-09-26"
    classes = define_ct.codelist("C103329")
    assert classes.find("findings").submission_value == "FINDINGS"


def test_generator_reproduces_the_committed_files(tmp_path, monkeypatch):
    import tools.gen_standards as gen
    monkeypatch.setattr(gen, "OUT", tmp_path)
    gen.main(["--shared", str(SHARED.parent)])
    for name in ("sdtmig_3_4.json", "sdtm_ct_2025-03-28.json.gz", "define_xml_ct_2025-09-26.json"):
        assert (tmp_path / name).read_bytes() == (SDTMIG_FILE.parent / name).read_bytes(), name
