"""``interop screen``: pre-screen a hospital population against one or both trials' eligibility criteria.

Exit codes: 0 clean, 1 issues at or above ``--fail-on`` (default error), 2 usage or internal error.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cdisc.issues import ConversionError, Severity
from interop.commands.convert import ENGINE_HELP, WORKERS_HELP, Engine, FailOn, OutputFormat, exit_code
from mappings.study import STUDY_KEYS


def _counts_table(summary) -> Table:
    """Per study: patients screened, per status, and the criterion most patients fail (from the counters of
    :class:`interop.screening.ScreeningSummary`)."""
    table = Table(title="Eligibility screening")
    for column in ("study", "screened", "eligible", "ineligible", "needs review", "top failing criterion"):
        table.add_column(column, justify="left" if column in ("study", "top failing criterion") else "right")
    for study, tally in summary.studies.items():
        counts = tally.counts()
        funnel = tally.funnel()
        top = max(funnel, key=lambda row: row["failing"]) if funnel else None
        table.add_row(study, str(tally.screened), str(counts["eligible"]), str(counts["ineligible"]),
                      str(counts["needs review"]),
                      f"{top['id']} ({top['failing']})" if top and top["failing"] else "")
    return table


def screen_command(
    inputs: Annotated[list[Path], typer.Argument(help="FHIR R4 files or folders: Bundles, resources, Bulk NDJSON.",
                                                exists=True)],
    study: Annotated[list[str], typer.Option("--study", help="Trial(s): len-cdm and/or len-cle (repeat).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for <study>/screening.{json,csv,html}.")],
    show_identifiers: Annotated[bool, typer.Option(
        "--show-identifiers", help="Name patients by hospital identifier (MRN) instead of pseudonym.")] = False,
    pseudonym_key: Annotated[Optional[Path], typer.Option(
        "--pseudonym-key", help="File holding the pseudonym secret (default: $FHIR2CDISC_PSEUDONYM_KEY).")] = None,
    as_of: Annotated[Optional[datetime], typer.Option(
        "--as-of", formats=["%Y-%m-%d"],
        help="Screening date for patients without Consent or screening visit (YYYY-MM-DD).")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="human or json.")] = OutputFormat.human,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 on issues at or above this severity.")] = FailOn.error,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help=WORKERS_HELP)] = None,
    engine: Annotated[Optional[Engine], typer.Option("--engine", help=ENGINE_HELP)] = None,
) -> None:
    """Screen every patient of the inputs against the trials' criteria; write per-trial reports.

    Example: interop screen export/ --study len-cdm --study len-cle --out out/screening
    """
    from interop.normalize.pseudonym import load_pseudonym_key
    from interop.screening import identifier_namer, pseudonym_namer, run_screening

    console = Console(stderr=True)
    unknown = [s for s in study if s not in STUDY_KEYS]
    if unknown or not study:
        console.print(f"[red]error[/red] unknown study {unknown} (known: {', '.join(STUDY_KEYS)})")
        raise typer.Exit(2)
    try:
        namer = identifier_namer if show_identifiers else pseudonym_namer(load_pseudonym_key(file=pseudonym_key))
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, disable=output_format is OutputFormat.json,
                      transient=True) as progress:
            task = progress.add_task("screening patients", total=None)
            summary = run_screening(inputs, studies=tuple(dict.fromkeys(study)), namer=namer, out=out,
                                    as_of=as_of.date() if as_of else None, on_patient=lambda: progress.advance(task),
                                    workers=workers, engine=(engine or Engine.local).value)
    except ConversionError as err:
        console.print(f"[red]error[/red] {err.issue.code}: {err.issue.message} {err.issue.where}")
        raise typer.Exit(2)
    issues = {s.value: sum(1 for i in summary.issues if i.severity is s) for s in Severity}
    if output_format is OutputFormat.json:
        sys.stdout.write(orjson.dumps({
            "out": str(out), "files": [str(p) for p in summary.files], "issues": issues,
            "studies": {k: {"screened": v.screened, **v.counts()} for k, v in summary.studies.items()},
        }).decode() + "\n")
    else:
        Console().print(_counts_table(summary))
        Console().print(f"reports: {out}; issues: {issues}")
    raise typer.Exit(exit_code(summary.worst, fail_on))


def register(app: typer.Typer) -> None:
    """Add ``interop screen`` to the app."""
    app.command("screen")(screen_command)
