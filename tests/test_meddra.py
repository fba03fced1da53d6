"""mappings.meddra against the made-up MedDRA distribution in tests/data/meddra (see its README)."""

from pathlib import Path

from cdisc.issues import Location
from mappings.meddra import MEDDRA_SYSTEM, find_meddra_coding, load_meddra, read_asc

FOLDER = Path(__file__).resolve().parent / "data" / "meddra"


def meddra():
    loaded, issues = load_meddra(FOLDER)
    assert issues == []
    return loaded


def test_verbatim_matched_to_llt_name_ignoring_case_and_spacing_gives_the_full_primary_path():
    coding = meddra().code_verbatim("  ITCHY   rash")
    assert coding.llt_code == 95000001 and coding.llt == "Itchy rash"
    assert (coding.pt_code, coding.pt) == (94000001, "Rash")
    assert (coding.hlt_code, coding.hlt) == (93000001, "Rashes, eruptions and exanthems NEC")
    assert (coding.hlgt_code, coding.hlgt) == (92000001, "Epidermal and dermal conditions")
    assert (coding.soc_code, coding.soc, coding.version) == (91000001, "Skin and subcutaneous tissue disorders", "99.0")


def test_pt_under_two_socs_takes_the_primary_soc_and_its_hlt():
    coding = meddra().code_verbatim("low neutrophil count")
    assert (coding.pt, coding.soc, coding.hlt_code) == ("Neutropenia", "Blood and lymphatic system disorders", 93000002)


def test_unknown_term_is_not_coded():
    assert meddra().code_verbatim("neutropenia-ish") is None
    assert meddra().code_verbatim(None) is None


def test_non_current_llt_still_codes():
    assert meddra().code_verbatim("feeling sick").pt == "Nausea"


def test_code_sent_is_looked_up_and_an_unknown_one_reported_before_the_verbatim_fallback():
    concept = {"coding": [{"system": MEDDRA_SYSTEM, "code": "12345678"}], "text": "DVT"}
    coding, issues = find_meddra_coding(concept, "DVT", meddra(), Location(resource="AdverseEvent/a"))
    assert coding.pt == "Deep vein thrombosis" and [i.code for i in issues] == ["MAP054"]


def test_without_dictionary_a_sent_code_with_display_is_the_pt():
    concept = {"coding": [{"system": MEDDRA_SYSTEM, "code": "10037844", "display": "Rash"}]}
    coding, issues = find_meddra_coding(concept, "itchy rash", None, Location())
    assert (coding.pt_code, coding.pt, coding.soc) == (10037844, "Rash", None)
    assert [i.code for i in issues] == ["MAP058"]


def test_missing_file_is_an_error_issue(tmp_path):
    (tmp_path / "llt.asc").write_text("1$a$1$$$$$$$Y$$\n", encoding="latin-1")
    loaded, issues = load_meddra(tmp_path)
    assert loaded is None and [i.code for i in issues] == ["MAP050"]
    assert "pt.asc" in issues[0].message


def test_malformed_record_skipped_and_reported(tmp_path):
    for path in FOLDER.glob("*.asc"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    with (tmp_path / "llt.asc").open("a", encoding="latin-1") as fh:
        fh.write("notacode$Broken$$\n")
    loaded, issues = load_meddra(tmp_path)
    assert loaded.code_verbatim("itchy rash").pt == "Rash"
    assert [(i.code, i.where.entry) for i in issues] == [("MAP051", 11)]


def test_read_asc_drops_the_trailing_separator():
    assert list(read_asc(FOLDER / "hlt_pt.asc"))[0] == (1, ["93000001", "94000001"])
