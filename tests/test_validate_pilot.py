"""`interop validate` on a package that is not ours: the CDISC pilot (SDTMIG 3.1.2-era, cp1252, define 1.0).

Counts per rule are in tests/expected/cdiscpilot01.json, written by tests/expected/make_pilot_expectation.py.
The CORE test runs the engine once per session on a small subset of the pilot (7 datasets).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from cdisc.conformance import validate_package
from cdisc.conformance.core_adapter import DEFAULT_VENV
from cdisc.issues import Severity

REPO = Path(__file__).resolve().parents[1]
PILOT = REPO.parent / "shared" / "reference" / "cdiscpilot01"
EXPECTED = json.loads((REPO / "tests" / "expected" / "cdiscpilot01.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.skipif(not PILOT.is_dir(), reason="shared/reference/cdiscpilot01 not present")


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_pilot_expectation", REPO / "tests" / "expected" / "make_pilot_expectation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pilot_ours():
    return validate_package(PILOT, out=None, run_core=False)


def test_our_rule_counts_on_the_pilot_match_the_expectation(pilot_ours):
    assert pilot_ours.counts_by_rule() == EXPECTED["full"]["ours"]
    assert pilot_ours.define == str(PILOT / "define.xml")


def test_pilot_findings_worked_out_by_hand(pilot_ours):
    by_rule = {}
    for f in pilot_ours.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    # AE row 971: AESTDTC 2013-05-09 is RFSTDTC 2013-05-09 for 01-716-1063, so AESTDY is 1, not 366.
    (dy,) = by_rule["CONF012"]
    assert (dy.dataset, dy.variable, dy.usubjid, dy.row, dy.value) == ("AE", "AESTDY", "01-716-1063", 971, "366")
    # TS.TSVAL rows 9, 14, 29 carry a cp1252 right single quote (0x92) in "Alzheimer’s".
    assert [(f.dataset, f.row) for f in by_rule["CONF020"]] == [("TS", 9), ("TS", 14), ("TS", 29)]
    # define.xml 1.0 declares LB, QS, VS and SUPPLB, which the stored pilot folder does not have.
    assert sorted(f.dataset for f in by_rule["CONF016"]) == ["LB", "QS", "SUPPLB", "VS"]
    assert all(f.severity is Severity.WARNING for f in by_rule["CONF016"])


def core_venv_or_skip() -> Path:
    venv = Path(os.environ.get("CORE_VENV", DEFAULT_VENV))
    if not (venv / "bin" / "python").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CORE venv missing at {venv}: CI must run scripts/setup-core.sh before pytest")
        pytest.skip("CORE venv missing (run scripts/setup-core.sh)")
    return venv


@pytest.fixture(scope="session")
def pilot_subset_with_core(tmp_path_factory):
    venv = core_venv_or_skip()
    folder = load_generator().copy_subset(tmp_path_factory.mktemp("pilot") / "subset")
    out = tmp_path_factory.mktemp("report")
    return validate_package(folder, out=out, core_venv=venv), out


@pytest.mark.core
def test_core_on_the_pilot_subset_matches_the_expectation(pilot_subset_with_core):
    report, _ = pilot_subset_with_core
    counts = report.counts_by_rule()
    assert {k: v for k, v in counts.items() if k.startswith("CORE")} == EXPECTED["subset"]["core"]
    assert {k: v for k, v in counts.items() if k.startswith("CONF")} == EXPECTED["subset"]["ours"]
    assert report.core["engine_version"] == "0.17.1"
    assert report.core["encoding"] == "cp1252"
    assert report.core["datasets"] == [f"{name}.xpt" for name in EXPECTED["subset"]["datasets"]]


@pytest.mark.core
def test_core_findings_carry_location_and_policy(pilot_subset_with_core):
    report, out = pilot_subset_with_core
    core = [f for f in report.findings if f.source == "CORE"]
    # CORE-000655: ARMCD differs from ACTARMCD; 01-701-1181 was planned Xan_Hi and got Xan_Lo (DM row 21).
    arm = [f for f in core if f.rule_id == "CORE-000655" and f.usubjid == "01-701-1181"]
    assert [(f.dataset, f.row, f.value, f.severity) for f in arm] == [
        ("DM", 21, "ACTARMCD=Xan_Lo; ARMCD=Xan_Hi", Severity.ERROR)]
    # core_severity.yaml downgrades CORE-000767 to a warning.
    assert {f.severity for f in core if f.rule_id == "CORE-000767"} == {Severity.WARNING}
    document = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert sum(1 for f in document["findings"] if f["source"] == "CORE") == len(core)
