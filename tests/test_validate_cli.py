"""validate_package on small XPT folders: report files written and readable; CLI exit codes by threshold."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest
import typer
from typer.testing import CliRunner

from cdisc.conformance import validate_package
from cdisc.conformance.core_adapter import load_core_severity, outcome_findings, run_core
from cdisc.issues import ConversionError, Severity
from cdisc.standards import load_sdtmig
from interop.commands.validate import register

DM_VALUES = {"STUDYID": "LEN-CLE", "DOMAIN": "DM", "USUBJID": "LEN-CLE-01-001", "SUBJID": "001",
             "RFSTDTC": "2024-01-10", "RFENDTC": "2024-04-10", "RFXSTDTC": "2024-01-10",
             "RFXENDTC": "2024-04-09", "RFICDTC": "2024-01-02", "RFPENDTC": "2024-04-10", "DTHDTC": "",
             "DTHFL": "", "SITEID": "01", "AGE": 54.0, "AGEU": "YEARS", "SEX": "F", "RACE": "WHITE",
             "ARMCD": "LEN", "ARM": "Lenalidomide", "ACTARMCD": "LEN", "ACTARM": "Lenalidomide",
             "ARMNRS": "", "ACTARMUD": "", "COUNTRY": "USA"}


def write_dm(folder: Path, **changes) -> Path:
    """A one-subject DM.xpt shaped by SDTMIG 3.4 (order, labels from the metadata); ``changes``
    replace values, and a value of ``None`` drops the column."""
    spec = load_sdtmig().domain("DM")
    values = {**DM_VALUES, **changes}
    names = [v.name for v in spec.variables if v.name in values and values[v.name] is not None]
    frame = pd.DataFrame([{n: values[n] for n in names}])
    folder.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_xport(frame, str(folder / "dm.xpt"), file_format_version=5, table_name="DM",
                           file_label="Demographics",
                           column_labels=[spec.variable(n).label for n in names])
    return folder


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test group (so `validate` is a subcommand, as in interop.cli)"""

    register(app)
    return app


def invoke(*args: str):
    return CliRunner().invoke(cli(), ["validate", *map(str, args), "--no-core"])


def test_a_conformant_dm_has_no_findings(tmp_path):
    report = validate_package(write_dm(tmp_path / "pkg"), out=None, run_core=False)
    assert report.findings == ()
    assert report.datasets == ("DM",)
    assert not report.fails("warning")


def test_reports_are_written_and_read_back(tmp_path):
    out = tmp_path / "report"
    report = validate_package(write_dm(tmp_path / "pkg", SEX="Female"), out=out, run_core=False)
    assert [(f.rule_id, f.dataset, f.variable, f.usubjid, f.row, f.value) for f in report.findings] == [
        ("CONF007", "DM", "SEX", "LEN-CLE-01-001", 1, "Female")]

    document = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert document["counts_by_rule"] == {"CONF007": 1}
    assert document["counts_by_severity"] == {"error": 1, "warning": 0, "info": 0}
    assert document["standards"]["sdtmig"] == "3.4"
    assert document["findings"][0] == {
        "source": "ours", "rule_id": "CONF007", "severity": "error", "dataset": "DM", "variable": "SEX",
        "usubjid": "LEN-CLE-01-001", "row": 1, "value": "Female",
        "message": document["findings"][0]["message"], "hint": document["findings"][0]["hint"]}
    assert document["summary"] == [{"source": "ours", "rule_id": "CONF007", "severity": "error",
                                     "title": "Value not in non-extensible codelist", "datasets": "DM",
                                     "count": 1}]

    book = openpyxl.load_workbook(out / "validation.xlsx", read_only=True)
    assert book.sheetnames == ["Conformance Details", "Issue Summary", "Issue Details"]
    summary = list(book["Issue Summary"].values)
    assert summary == [("Source", "Rule ID", "Severity", "Title / CORE message", "Datasets", "Findings"),
                       ("ours", "CONF007", "error", "Value not in non-extensible codelist", "DM", 1)]
    details = list(book["Issue Details"].values)
    assert details[0][:8] == ("Source", "Rule ID", "Severity", "Dataset", "Variable", "USUBJID", "Row", "Value")
    assert details[1][:8] == ("ours", "CONF007", "error", "DM", "SEX", "LEN-CLE-01-001", 1, "Female")
    assert len(details) == 2

    page = (out / "validation.html").read_text(encoding="utf-8")
    assert "<td>CONF007</td>" in page and "<td>Female</td>" in page


@pytest.mark.parametrize(("changes", "fail_on", "code"), [
    ({}, "warning", 0),                         # clean
    ({"ACTARMUD": None}, "warning", 1),         # CONF003 warning only
    ({"ACTARMUD": None}, "error", 0),
    ({"SEX": "Female"}, "error", 1),            # CONF007 error
    ({"SEX": "Female"}, "never", 0),
])
def test_exit_code_follows_the_threshold(tmp_path, changes, fail_on, code):
    result = invoke(write_dm(tmp_path / "pkg", **changes), "--fail-on", fail_on)
    assert result.exit_code == code, result.output


def test_json_format_prints_the_report_document(tmp_path):
    result = invoke(write_dm(tmp_path / "pkg", SEX="Female"), "--format", "json", "--out", tmp_path / "r")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [f["rule_id"] for f in document["findings"]] == ["CONF007"]
    assert (tmp_path / "r" / "validation.xlsx").is_file()


def test_usage_and_input_errors_exit_2(tmp_path):
    assert invoke(tmp_path / "missing").exit_code == 2
    (tmp_path / "empty").mkdir()
    assert invoke(tmp_path / "empty").exit_code == 2
    assert invoke(write_dm(tmp_path / "pkg"), "--fail-on", "sometimes").exit_code == 2


def test_missing_core_venv_is_conf900(tmp_path):
    with pytest.raises(ConversionError) as caught:
        run_core(write_dm(tmp_path / "pkg"), venv=tmp_path / "no-venv")
    assert caught.value.issue.code == "CONF900"


def test_core_severity_file_gives_reasons_and_is_applied():
    policy = load_core_severity()
    assert policy.default is Severity.ERROR
    assert policy.severity_of("CORE-000767") is Severity.WARNING and policy.reasons["CORE-000767"]
    outcome = {"rule_id": "CORE-000767", "message": "FAOBJ not equal to --DECOD", "description": "d",
               "results": [{"status": "issue reported", "dataset": "DS", "variables": ["DSDECOD"],
                            "errors": [{"value": {"DSDECOD": "COMPLETED", "$model_variables": ["X"] * 20},
                                        "dataset": "DS", "row": 4,
                                        "USUBJID": "01-701-1015", "SEQ": 1}]},
                           {"status": "execution error", "dataset": "AE", "variables": [],
                            "errors": [{"error": "x", "message": "dataset failed to build"}]}]}
    first, failed = outcome_findings(outcome, policy)
    assert (first.source, first.rule_id, first.severity, first.dataset, first.variable, first.usubjid,
            first.row, first.value) == ("CORE", "CORE-000767", Severity.WARNING, "DS", "$model_variables, DSDECOD",
                                        "01-701-1015", 4, "$model_variables=[20 values]; DSDECOD=COMPLETED")
    assert (failed.rule_id, failed.severity, failed.dataset) == ("CONF901", Severity.INFO, "AE")


def test_severity_of_our_codes_can_be_overridden(tmp_path):
    folder = write_dm(tmp_path / "pkg", SEX="Female")
    report = validate_package(folder, out=None, run_core=False, severity={"CONF007": Severity.WARNING})
    assert [(f.rule_id, f.severity) for f in report.findings] == [("CONF007", Severity.WARNING)]
    assert report.fails("warning") and not report.fails("error")
    assert [i.code for i in report.issues] == ["CONF007"]
    assert report.issues[0].where.dataset == "DM" and report.issues[0].where.usubjid == "LEN-CLE-01-001"
