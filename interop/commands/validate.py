"""`interop validate PACKAGE_DIR`: CDISC conformance (our CONF rules + CDISC CORE) on any SDTM folder.

Thin layer (STYLE 3.4): parse options, call :func:`cdisc.conformance.validate_package`, render.
Exit codes: 0 no finding at or above ``--fail-on``; 1 findings at or above it; 2 usage or internal error.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cdisc.conformance import ValidationReport, validate_package
from cdisc.conformance.report import report_to_dict, summary_rows
from cdisc.issues import ConversionError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
TITLE_CHARS = 60


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    never = "never"


class OutputFormat(str, Enum):
    human = "human"
    json = "json"


def render_human(report: ValidationReport, out: Path | None, console: Console) -> None:
    """Counts per rule and severity, then where the reports are."""
    table = Table(title=f"Validation of {report.package}")
    for header in ("Source", "Rule", "Severity", "Title", "Datasets", "Findings"):
        table.add_column(header, no_wrap=header != "Title", overflow="ellipsis")
    for source, rule_id, severity, title, datasets, count in summary_rows(report):
        short = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 3] + "..."
        table.add_row(source, rule_id, severity, short, datasets, str(count))
    console.print(table)
    counts = report.counts_by_severity()
    console.print(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info; "
                  f"standards: {', '.join(f'{k} {v}' for k, v in report.standards.items() if v)}")
    for note in report.notes:
        console.print(f"note: {note}")
    if out is not None:
        console.print(f"reports: {out / 'validation.xlsx'}, {out / 'validation.html'}, {out / 'validation.json'}")


def validate_command(
    package_dir: Path = typer.Argument(..., help="SDTM folder: .xpt files and, optionally, define.xml"),
    out: Path = typer.Option(None, "--out", help="folder for validation.json/.xlsx/.html"),
    define: Path = typer.Option(None, "--define", help="define.xml (default: PACKAGE_DIR/define.xml if present)"),
    fail_on: FailOn = typer.Option(FailOn.error, "--fail-on", help="exit 1 on findings at or above this severity"),
    output_format: OutputFormat = typer.Option(OutputFormat.human, "--format", help="human or json (stdout)"),
    no_core: bool = typer.Option(False, "--no-core", help="skip the CDISC CORE engine (our rules only)"),
) -> None:
    """Check an SDTM package against SDTMIG 3.4, CDISC CT, define.xml and CDISC CORE rules."""
    try:
        report = validate_package(package_dir, out=out, define=define, run_core=not no_core)
    except ConversionError as exc:
        print(f"interop validate: {exc.issue.code}: {exc.issue.message}"
              + (f" (hint: {exc.issue.hint})" if exc.issue.hint else ""), file=sys.stderr)
        raise typer.Exit(EXIT_ERROR) from exc
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(report_to_dict(report), default=str) + "\n")
    else:
        render_human(report, out, Console())
    raise typer.Exit(EXIT_FINDINGS if report.fails(fail_on.value) else EXIT_CLEAN)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the app."""
    app.command("validate")(validate_command)
