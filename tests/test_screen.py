"""`interop screen`: streaming run over samples, reports read back, pseudonyms by default, HTML in Chromium."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interop.cli import app
from interop.normalize.pseudonym import PseudonymKey, compute_pseudonym
from interop.normalize.inputs import open_inputs
from interop.screening import (PseudonymNamer, StudyReportWriter, collect_screening, compute_funnel, render_html,
                               run_screening, screen_records, write_reports, StudyScreening)
from mappings.eligibility import load_criteria_set
from mappings.study import load_study
from tests.builders import consent, immunization, patient, record

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


STUDIES = ("len-cdm", "len-cle")
AS_OF = date(2024, 3, 1)
NAMER = PseudonymNamer(PseudonymKey(b"k", "test"))


@pytest.fixture(scope="module")
def held_and_streamed(tmp_path_factory):
    """The len-cdm sample population screened twice: held in memory and written by ``write_reports``, and
    streamed to disk by ``run_screening`` (one process, to keep the run small)."""
    folder = tmp_path_factory.mktemp("screening")
    inputs = [SAMPLES / "len-cdm" / "bundles"]
    with open_inputs(inputs, timezone=load_study(STUDIES[0]).timezone) as ingest:
        held = screen_records(ingest.subjects(), studies=STUDIES, namer=NAMER, as_of=AS_OF)
        ingest_issues = list(ingest.issues)
    held_files = write_reports(held, folder / "held")
    summary = run_screening(inputs, studies=STUDIES, namer=NAMER, as_of=AS_OF, out=folder / "streamed", workers=1)
    return held, ingest_issues, held_files, summary, folder


def test_streamed_reports_equal_held_reports_byte_for_byte(held_and_streamed):
    held, _, held_files, summary, folder = held_and_streamed
    assert [p.relative_to(folder / "held") for p in held_files] == \
        [p.relative_to(folder / "streamed") for p in summary.files] == \
        [Path(s) / f"screening.{ext}" for s in STUDIES for ext in ("json", "csv", "html")]
    for held_file, streamed_file in zip(held_files, summary.files):
        assert streamed_file.read_bytes() == held_file.read_bytes(), streamed_file
    assert sorted(p.name for p in (folder / "streamed" / "len-cdm").iterdir()) == \
        ["screening.csv", "screening.html", "screening.json"]                 # no temporary parts left
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no staging folder left
    assert len(held.studies["len-cdm"].patients) == summary.studies["len-cdm"].screened == 28


def _funnel_by_definition(screening: StudyScreening) -> list[tuple]:
    """The funnel counted straight from the held patients: (id, failing, first failing, remaining, open)."""
    remaining = len(screening.patients)
    rows = []
    for criterion in load_criteria_set(screening.study).criteria:
        verdicts = [next(r for r in p.result.results if r.criterion.id == criterion.id) for p in screening.patients]
        first = sum(1 for p in screening.patients
                    if [r.criterion.id for r in p.result.results if r.fails][:1] == [criterion.id])
        remaining -= first
        rows.append((criterion.id, sum(r.fails for r in verdicts), first, remaining, sum(r.open for r in verdicts)))
    return rows


def test_streamed_counters_equal_the_held_funnel_and_counts(held_and_streamed):
    held, ingest_issues, _, summary, _ = held_and_streamed
    for study in STUDIES:
        screening, tally = held.studies[study], summary.studies[study]
        expected = _funnel_by_definition(screening)
        as_rows = [(r["id"], r["failing"], r["first_failing"], r["remaining"], r["open"]) for r in tally.funnel()]
        assert as_rows == expected
        assert tally.funnel() == compute_funnel(screening)
        statuses = [p.result.status.value for p in screening.patients]
        assert tally.counts() == screening.counts() == {s: statuses.count(s) for s in
                                                         ("eligible", "ineligible", "needs review")}
    assert summary.studies["len-cdm"].counts() == {"eligible": 6, "ineligible": 18, "needs review": 4}
    assert any(row[1] for row in _funnel_by_definition(held.studies["len-cdm"]))  # the funnel is not all zeros
    assert [i.to_dict() for i in summary.issues] == [i.to_dict() for i in [*ingest_issues, *held.issues]]


class FailingNamer:
    """Names patients by key, and raises on the ``fail_at``-th patient (a run breaking halfway)."""

    def __init__(self, fail_at: int):
        self.fail_at, self.seen = fail_at, 0

    def __call__(self, record) -> str:
        self.seen += 1
        if self.seen == self.fail_at:
            raise RuntimeError("namer broke")
        return record.key


def test_a_run_failing_halfway_leaves_no_reports(tmp_path):
    out = tmp_path / "out"
    namer = FailingNamer(fail_at=5)
    with pytest.raises(RuntimeError, match="namer broke"):
        run_screening([SAMPLES / "len-cdm" / "bundles"], studies=STUDIES, namer=namer, out=out, workers=1)
    assert namer.seen == 5
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []                                   # no staging folder either


def test_a_failed_run_keeps_the_previous_reports_and_other_files(tmp_path):
    out = tmp_path / "out"
    (out / "len-cdm").mkdir(parents=True)
    (out / "len-cdm" / "screening.json").write_text("previous")
    (out / "notes.txt").write_text("kept")
    with pytest.raises(RuntimeError):
        run_screening([SAMPLES / "len-cdm" / "bundles"], studies=("len-cdm",), namer=FailingNamer(3), out=out,
                      workers=1)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == \
        ["len-cdm", "len-cdm/screening.json", "notes.txt"]
    assert (out / "len-cdm" / "screening.json").read_text() == "previous"
    summary = run_screening([SAMPLES / "len-cdm" / "bundles" / "CDM-S02.json",
                             SAMPLES / "len-cdm" / "bundles" / "shared.json"], studies=("len-cdm",),
                            namer=FailingNamer(0), out=out, workers=1)
    assert summary.studies["len-cdm"].screened == 1
    assert json.loads((out / "len-cdm" / "screening.json").read_text())["counts"]["eligible"] == 1
    assert (out / "notes.txt").read_text() == "kept"


def test_writer_without_patients_writes_the_empty_reports(tmp_path):
    held = write_reports(collect_screening([], studies=("len-cdm",), as_of=None), tmp_path / "held")
    with StudyReportWriter("len-cdm", tmp_path / "streamed", as_of=None) as writer:
        streamed = writer.finish()
    assert [p.read_bytes() for p in streamed] == [p.read_bytes() for p in held]
    assert b'"patients": []' in streamed[0].read_bytes()


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
