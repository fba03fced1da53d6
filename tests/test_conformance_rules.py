"""Each CONF rule on tiny packages from tests/cases/CONFnnn.yaml: it fires where expected, and only there."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from cdisc.conformance.codes import ALL_CODES, RULE_CODES
from cdisc.conformance.package import dataset_from_rows, package_from_datasets, parse_define
from cdisc.conformance.rules import RULE_IDS
from cdisc.issues import Severity
from cdisc.standards import load_ct, load_sdtmig

CASES_DIR = Path(__file__).parent / "cases"


def load_case_files() -> list[tuple[str, dict]]:
    return [(path.stem, yaml.safe_load(path.read_text(encoding="utf-8")))
            for path in sorted(CASES_DIR.glob("CONF*.yaml"))]


def build_package(case: dict):
    datasets = []
    for name, spec in case["datasets"].items():
        datasets.append(dataset_from_rows(name, spec["rows"], labels=spec.get("labels"),
                                          lengths=spec.get("lengths"), types=spec.get("types"),
                                          columns=spec.get("columns")))
    define = parse_define(case["define"].encode("utf-8")) if case.get("define") else None
    return package_from_datasets(datasets, define)


def project(found, keys: list[str]) -> list[tuple]:
    return sorted((tuple(getattr(f, k) for k in keys) for f in found), key=repr)


CASES = [pytest.param(code, case, id=f"{code}: {case['name']}")
         for code, document in load_case_files() for case in document["cases"]]


@pytest.mark.parametrize(("code", "case"), CASES)
def test_rule_case(code, case):
    rule = importlib.import_module(f"cdisc.conformance.rules.{code}")
    found = rule.check(build_package(case), sdtmig=load_sdtmig(), ct=load_ct())
    assert {f.rule_id for f in found} <= {code}
    expected = case["expect"]
    if not expected:
        assert found == []
        return
    keys = sorted({k for e in expected for k in e})
    wanted = sorted((tuple(None if e.get(k) is None else str(e[k]) if k == "value" else e.get(k) for k in keys)
                     for e in expected), key=repr)
    assert project(found, keys) == wanted


def test_every_rule_has_a_case_file_that_fires_and_one_that_passes():
    documents = dict(load_case_files())
    assert sorted(documents) == list(RULE_IDS)
    for code, document in documents.items():
        assert document["code"] == code
        assert any(c["expect"] for c in document["cases"]), code
        assert any(not c["expect"] for c in document["cases"]), code


def test_codes_are_unique_documented_and_have_hints():
    assert len(set(ALL_CODES)) == len(ALL_CODES) == len(RULE_IDS) + 3
    for code in RULE_IDS:
        module = importlib.import_module(f"cdisc.conformance.rules.{code}")
        assert module.CODE is RULE_CODES[code]
        assert module.__doc__.startswith(code)
        assert "**Anti-pattern**" in module.__doc__ and "**Best practice**" in module.__doc__
        assert module.CODE.hint and module.CODE.title
        assert isinstance(module.CODE.severity, Severity)
