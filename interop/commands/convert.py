"""``interop convert``: hospital FHIR data in, a validated SDTM package out."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cdisc.issues import ConversionError, Severity


class OutputFormat(str, Enum):
    human = "human"
    json = "json"


class Engine(str, Enum):
    local = "local"
    spark = "spark"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    never = "never"


ENGINE_HELP = "local (process pool) or spark (pyspark extra; master from $SPARK_MASTER)."
WORKERS_HELP = "Worker processes (default: every core; the output is the same bytes for any number)."


def exit_code(worst: Severity | None, fail_on: FailOn) -> int:
    """0 clean, 1 findings at or above the threshold."""
    if fail_on is FailOn.never or worst is None:
        return 0
    threshold = Severity.ERROR if fail_on is FailOn.error else Severity.WARNING
    return 1 if worst.rank >= threshold.rank else 0


def summary_table(result) -> Table:
    table = Table(title=f"SDTM package {result.out}")
    table.add_column("dataset")
    table.add_column("rows", justify="right")
    for name, rows in result.rows.items():
        table.add_row(name, str(rows))
    return table


def reconciliation_table(reconciliation: dict) -> Table:
    table = Table(title="Input resources")
    for column in ("type", "input", "mapped", "evidence", "unmapped", "main reason not mapped"):
        table.add_column(column, justify="left" if column in ("type", "main reason not mapped") else "right")
    for rtype, bucket in reconciliation["by_type"].items():
        reasons = bucket["reasons"]
        top = max(reasons, key=reasons.get) if reasons else ""
        table.add_row(rtype, *(str(bucket[k]) for k in ("input", "mapped", "evidence", "unmapped")), top[:70])
    total = reconciliation["total"]
    table.add_row("total", *(str(total[k]) for k in ("input", "mapped", "evidence", "unmapped")), "")
    return table


def convert_command(
    inputs: Annotated[list[Path], typer.Argument(help="FHIR R4 files or folders: resources, Bundles, Bulk NDJSON "
                                                     "exports (with or without manifest), .gz, FHIR XML.",
                                                exists=True)],
    study: Annotated[str, typer.Option("--study", help="Trial: len-cdm or len-cle.")],
    out: Annotated[Path, typer.Option("--out", help="Package folder to write (replaced atomically).")],
    validate: Annotated[bool, typer.Option("--validate/--no-validate",
                                           help="Run CDISC CORE and our conformance checks into validation/.")] = False,
    core: Annotated[bool, typer.Option("--core/--no-core", help="With --validate: also run CDISC CORE.")] = True,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help=WORKERS_HELP)] = None,
    engine: Annotated[Optional[Engine], typer.Option("--engine", help=ENGINE_HELP)] = None,
    created: Annotated[Optional[datetime], typer.Option(
        "--created", help="Package timestamp (XPT headers, define.xml). Default: the latest date in the data.")] = None,
    meddra: Annotated[Optional[Path], typer.Option(
        "--meddra", help="Folder of the sponsor's MedDRA ASCII distribution, to code adverse events.",
        exists=True, file_okay=False)] = None,
    pseudonym_key_file: Annotated[Optional[Path], typer.Option(
        "--pseudonym-key-file", help="Secret for keyed pseudonyms of patients without an enrolment id "
                                     "(else $FHIR2CDISC_PSEUDONYM_KEY).", exists=True, dir_okay=False)] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="human or json (for integrators).")] = OutputFormat.human,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 on issues at or above this severity.")] = FailOn.error,
) -> None:
    """Convert FHIR R4 data into an SDTM package: XPT + Dataset-JSON + define.xml + reports.

    Example: interop convert fhir_samples/len-cdm/ndjson --study len-cdm --out out/len-cdm --validate
    """
    from interop.pipeline import ConvertOptions, convert
    from mappings.study import STUDY_KEYS

    if study not in STUDY_KEYS:
        Console(stderr=True).print(f"[red]error[/red] unknown study '{study}' (known: {', '.join(STUDY_KEYS)})")
        raise typer.Exit(2)

    options = ConvertOptions(tuple(inputs), study, out, created=created, workers=workers, validate=validate,
                             run_core=core, meddra=meddra, pseudonym_key_file=pseudonym_key_file,
                             engine=(engine or Engine.local).value)
    console = Console(stderr=True)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, disable=output_format is OutputFormat.json,
                      transient=True) as progress:
            task = progress.add_task("patients", total=None)
            result = convert(options, on_subject=lambda: progress.advance(task),
                             on_stage=lambda name: progress.update(task, description=name))
    except ConversionError as err:
        console.print(f"[red]error[/red] {err.issue.code}: {err.issue.message} {err.issue.where}")
        raise typer.Exit(2)
    counts = {s.value: sum(1 for i in result.issues if i.severity is s) for s in Severity}
    if output_format is OutputFormat.json:
        sys.stdout.write(orjson.dumps({"out": str(result.out), "rows": result.rows, "subjects": dict(result.subjects),
                                       "issues": counts, "reconciliation": {k: v for k, v in result.reconciliation.items()
                                                                            if k != "unmapped"},
                                       "validation": result.validation.counts_by_severity()
                                       if result.validation is not None else None}).decode() + "\n")
    else:
        out_console = Console()
        out_console.print(summary_table(result))
        out_console.print(reconciliation_table(result.reconciliation))
        out_console.print(f"subjects: {dict(result.subjects)}; issues: {counts} (see issues.json)")
        if result.validation is not None:
            out_console.print(f"conformance (CDISC CORE and our checks): {result.validation.counts_by_severity()} "
                              f"(see validation/ and reviewer-notes.md)")
    raise typer.Exit(exit_code(result.worst, fail_on))


def register(app: typer.Typer) -> None:
    app.command("convert")(convert_command)
