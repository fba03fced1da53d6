"""`interop screen`: streaming run over samples, reports read back, pseudonyms by default, HTML in Chromium."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interop.cli import app
from interop.normalize.pseudonym import PseudonymKey, compute_pseudonym
from interop.screening import compute_funnel, render_html, screen_records, StudyScreening
from tests.builders import consent, immunization, observation, patient, record

SAMPLES = Path(__file__).resolve().parent.parent / "fhir_samples"
CHROMIUM = Path("/usr/bin/chromium")


def _two_patients():
    ok = record(patient("p1"), consent("c1"))
    bad = record(patient("p2"), consent("c2", patient="p2"), immunization("i2", patient="p2", date="2022-12-30"))
    return [ok, bad]


def test_funnel_counts_first_failing_criterion():
    report = screen_records(_two_patients(), studies=("len-cdm",), namer=lambda r: r.key.split("/")[1])
    funnel = {row["id"]: row for row in compute_funnel(report.studies["len-cdm"])}
    # neither has a dermatomyositis diagnosis (INCL03) nor CDASI/treatment (INCL04): both fall first at INCL03
    assert (funnel["INCL03"]["failing"], funnel["INCL03"]["first_failing"], funnel["INCL03"]["remaining"]) == (2, 2, 0)
    assert (funnel["EXCL14"]["failing"], funnel["EXCL14"]["first_failing"]) == (1, 0)


def test_cli_writes_reports_with_pseudonyms(tmp_path, monkeypatch):
    monkeypatch.setenv("FHIR2CDISC_PSEUDONYM_KEY", "test-secret")
    result = CliRunner().invoke(app, ["screen", str(SAMPLES / "len-cdm" / "bundles"), "--study", "len-cdm",
                                      "--study", "len-cle", "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    summary = json.loads(result.stdout)
    assert summary["studies"]["len-cdm"]["screened"] == summary["studies"]["len-cle"]["screened"] > 0
    report = json.loads((tmp_path / "len-cdm" / "screening.json").read_text())
    labels = {p["patient"] for p in report["patients"]}
    assert all(len(label) == 16 and label.isalnum() for label in labels)
    bundle = json.loads((SAMPLES / "len-cdm" / "bundles" / "CDM-S02.json").read_text())
    patient_ids = {e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"}
    with (tmp_path / "len-cdm" / "screening.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20 * len(report["patients"])                  # one row per patient and criterion
    assert {r["criterion"] for r in rows} == {c["id"] for c in report["criteria"]}
    text = (tmp_path / "len-cdm" / "screening.html").read_text() + json.dumps(report)
    for mrn in ("36550767",):                                          # CDM-S02's MRN never shown by default
        assert mrn not in text
    assert patient_ids and not any(pid in text for pid in patient_ids)


def test_cli_show_identifiers_uses_mrn(tmp_path):
    result = CliRunner().invoke(app, ["screen", str(SAMPLES / "len-cdm" / "bundles" / "CDM-S02.json"),
                                      str(SAMPLES / "len-cdm" / "bundles" / "shared.json"), "--study", "len-cdm",
                                      "--out", str(tmp_path), "--show-identifiers", "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "len-cdm" / "screening.json").read_text())
    assert [p["patient"] for p in report["patients"]] == ["36550767"]
    assert report["patients"][0]["status"] == "eligible"


def test_cli_unknown_study_is_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["screen", str(SAMPLES), "--study", "len-xx", "--out", str(tmp_path)])
    assert result.exit_code == 2


def test_cli_without_pseudonym_secret_is_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FHIR2CDISC_PSEUDONYM_KEY", raising=False)
    result = CliRunner().invoke(app, ["screen", str(SAMPLES / "len-cdm" / "bundles" / "CDM-S02.json"),
                                      "--study", "len-cdm", "--out", str(tmp_path)])
    assert result.exit_code == 2


@pytest.mark.browser
def test_html_report_shows_the_funnel_in_chromium(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: run scripts/setup-browser.sh")
    report = screen_records(_two_patients(), studies=("len-cdm",),
                            namer=lambda r: compute_pseudonym(r.key, PseudonymKey(b"k", "test")))
    page = tmp_path / "screening.html"
    page.write_text(render_html(report.studies["len-cdm"], None), encoding="utf-8")
    dom = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--disable-component-update", "--no-first-run",
                          "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    assert '<table id="funnel">' in dom
    assert dom.count('class="funnel-row"') == 20
    assert '<b id="n-screened">2</b>' in dom and '<b id="n-ineligible">2</b>' in dom
    assert 'data-criterion="INCL03"><td>INCL03</td>' in dom
    assert "Patient/p1" not in dom
