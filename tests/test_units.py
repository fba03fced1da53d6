"""mappings.units: UCUM -> CDISC unit and the one converter (hand-worked values)."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from mappings.units import cdisc_unit, convert_lab_value, load_conversions

SHARED_CT = Path(__file__).resolve().parents[1].parent / "shared" / "cdisc" / "ct" / "sdtm_ct.tsv"
TERMINOLOGY = Path(__file__).resolve().parents[1] / "mappings" / "terminology"


def test_haemoglobin_g_per_dl_times_10_is_g_per_l():
    converted = convert_lab_value("HGB", 11.2, "g/dL")
    assert (converted.value, converted.text, converted.number) == (Decimal("112.0"), "112", 112.0)
    assert (converted.ucum_unit, converted.cdisc_unit, converted.factor) == ("g/L", "g/L", Decimal("10"))


def test_creatinine_mg_per_dl_to_umol_per_l_is_the_exact_decimal_product():
    # 0.9 x 88.42 = 79.578 exactly; no rounding (module docstring), no float noise (0.9*88.42 = 79.57799999...)
    converted = convert_lab_value("CREAT", 0.9, "mg/dL")
    assert converted.text == "79.578"
    assert converted.number == 79.578
    assert converted.cdisc_unit == "umol/L"


def test_platelets_10_3_per_ul_equal_10_9_per_l():
    converted = convert_lab_value("PLAT", 250, "10*3/uL")
    assert (converted.text, converted.cdisc_unit) == ("250", "10^9/L")


def test_weight_in_pounds_converted_with_the_exact_factor():
    assert convert_lab_value("WEIGHT", 150, "[lb_av]").text == "68.0388555"  # 45.359237 + 22.6796185


@pytest.mark.parametrize("testcd, value, unit", [("HGB", 11.2, "mmol/L"), ("NOPE", 1, "g/L"),
                                                 ("HGB", "abc", "g/dL"), ("HGB", None, "g/dL"), ("HGB", True, "g/dL")])
def test_no_conversion_without_a_table_row_or_a_number(testcd, value, unit):
    assert convert_lab_value(testcd, value, unit) is None


def test_per_minute_depends_on_the_test():
    assert cdisc_unit("/min", "PULSE") == "beats/min"
    assert cdisc_unit("/min", "RESP") == "breaths/min"
    assert cdisc_unit("/min") == "/min"
    assert cdisc_unit("furlong") is None


def _ct_terms(codelist: str) -> set[str]:
    with SHARED_CT.open(encoding="utf-8") as fh:
        return {r[4] for r in csv.reader(fh, delimiter="\t") if len(r) > 4 and r[1] == codelist}


def test_every_cdisc_unit_is_a_unit_ct_term():
    units = _ct_terms("C71620")
    with (TERMINOLOGY / "units.csv").open(encoding="utf-8") as fh:
        values = {r["cdisc"] for r in csv.DictReader(fh)}
    assert values - units == set()


def test_every_conversion_target_has_a_cdisc_unit_and_lab_si_units_agree():
    for conv in load_conversions().values():
        assert cdisc_unit(conv.to_unit, conv.testcd) is not None, conv
    with (TERMINOLOGY / "labs.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            targets = {c.to_unit for c in load_conversions().values() if c.testcd == row["lbtestcd"]}
            if row["si_unit"]:
                assert targets == {row["si_unit"]}, row["lbtestcd"]


def _ct_codes(codelist: str) -> dict[str, str]:
    with SHARED_CT.open(encoding="utf-8") as fh:
        return {r[4]: r[0] for r in csv.reader(fh, delimiter="\t") if len(r) > 4 and r[1] == codelist}


@pytest.mark.parametrize("table, codelist", [("ae_outcome", "C66768"), ("ae_severity", "C66769"),
                                             ("interpretations", "C78736"), ("qualitative_results", "C102580"),
                                             ("positions", "C71148")])
def test_terminology_tables_name_real_ct_terms_with_their_c_codes(table, codelist):
    terms = _ct_codes(codelist)
    with (TERMINOLOGY / f"{table}.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["cdisc"]:                    # empty: a known code deliberately left unmapped (see its note)
                assert terms.get(row["cdisc"]) == row["nci_code"], (table, row)


def test_mapped_variables_exist_in_their_sdtmig_domains():
    from cdisc.standards import load_sdtmig
    from mappings.ae import MEDDRA_VARIABLES, load_serious_criteria

    ae = load_sdtmig().domain("AE")
    assert {v for v, _ in MEDDRA_VARIABLES} | set(load_serious_criteria().values()) <= set(ae.names)
