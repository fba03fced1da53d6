"""``interop pull``: fetch trial participants' data from a hospital FHIR server into a Bulk-style folder.

Exit codes: 0 complete (no issue at or above ``--fail-on``), 1 partial or issues at or above ``--fail-on``,
2 usage or internal error. Secrets are read from an environment variable or a file, never from the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cdisc.issues import ConversionError, Severity
from interop.commands.convert import FailOn, OutputFormat, exit_code
from interop.pull.config import (AuthConfig, AuthKind, ExportLevel, Mode, PullOptions, RetryPolicy,
                                 read_secret)
from mappings.study import STUDY_KEYS


def summary_table(result) -> Table:
    table = Table(title=f"Pulled into {result.out}" + (" (PARTIAL)" if result.partial else ""))
    table.add_column("type")
    table.add_column("resources", justify="right")
    for rtype, count in result.counts.items():
        table.add_row(rtype, str(count))
    return table


def _auth_config(auth: AuthKind, token_env, token_file, user, password_env, password_file, client_id,
                 private_key, token_url, scope, alg, kid) -> AuthConfig:
    return AuthConfig(auth, token=read_secret(env=token_env, file=token_file), username=user,
                      password=read_secret(env=password_env, file=password_file), client_id=client_id,
                      private_key=private_key, token_url=token_url, scope=scope, alg=alg, kid=kid)


def pull_command(
    base: Annotated[str, typer.Option("--base", help="FHIR base URL of the hospital server.")],
    study: Annotated[str, typer.Option("--study", help="Trial: len-cdm or len-cle.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write <Type>.ndjson + manifest.json into.")],
    mode: Annotated[Mode, typer.Option("--mode", help="bulk ($export) or rest ($everything + searches).")] = Mode.bulk,
    level: Annotated[ExportLevel, typer.Option("--level", help="Bulk export level: patient, group or system.")]
    = ExportLevel.patient,
    group: Annotated[Optional[str], typer.Option("--group", help="Group id (pre-screening population).")] = None,
    patient: Annotated[Optional[list[str]], typer.Option("--patient", help="Patient id (repeat).")] = None,
    identifier: Annotated[Optional[list[str]], typer.Option(
        "--patient-identifier", help="Patient identifier system|value (repeat).")] = None,
    resource_type: Annotated[Optional[list[str]], typer.Option(
        "--type", help="Resource type to fetch (repeat; default: the types the converter reads).")] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Only resources changed since this instant (incremental nightly pull; use the previous "
                        "manifest's transactionTime).")] = None,
    type_filter: Annotated[Optional[list[str]], typer.Option(
        "--type-filter", help="Bulk _typeFilter, e.g. Observation?status=final (repeat).")] = None,
    count: Annotated[int, typer.Option("--count", min=1, help="Page size (_count).")] = 100,
    auth: Annotated[AuthKind, typer.Option("--auth", help="none, bearer, basic or smart.")] = AuthKind.none,
    token_env: Annotated[Optional[str], typer.Option("--token-env",
                                                     help="Env variable with the bearer token.")] = None,
    token_file: Annotated[Optional[Path], typer.Option("--token-file", exists=True, dir_okay=False,
                                                       help="File with the bearer token.")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Basic auth user name.")] = None,
    password_env: Annotated[Optional[str], typer.Option("--password-env",
                                                        help="Env variable with the password.")] = None,
    password_file: Annotated[Optional[Path], typer.Option("--password-file", exists=True, dir_okay=False,
                                                          help="File with the password.")] = None,
    client_id: Annotated[Optional[str], typer.Option("--client-id", help="SMART backend client id.")] = None,
    private_key: Annotated[Optional[Path], typer.Option("--private-key", exists=True, dir_okay=False,
                                                        help="SMART backend private key (PEM).")] = None,
    token_url: Annotated[Optional[str], typer.Option(
        "--token-url", help="SMART token endpoint (default: from .well-known/smart-configuration).")] = None,
    scope: Annotated[str, typer.Option("--scope", help="SMART scopes.")] = "system/*.read",
    alg: Annotated[str, typer.Option("--alg", help="JWT algorithm: RS384 or ES384.")] = "RS384",
    kid: Annotated[Optional[str], typer.Option("--kid", help="Key id of the SMART client key.")] = None,
    ca_bundle: Annotated[Optional[Path], typer.Option("--ca-bundle", exists=True, dir_okay=False,
                                                      help="CA bundle to verify the server's certificate.")] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify TLS certificates (testing only).")]
    = False,
    retries: Annotated[int, typer.Option("--retries", min=1, help="Attempts per request.")] = 5,
    backoff: Annotated[float, typer.Option("--backoff", min=0.0, help="First retry delay in seconds (doubles).")]
    = 1.0,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds per request.")] = 60.0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Parallel requests.")] = 4,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="human or json.")] = OutputFormat.human,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 on issues at or above this severity.")]
    = FailOn.error,
) -> None:
    """Pull the study's participants from a FHIR server as Bulk NDJSON that `interop convert` reads.

    Example: interop pull --base https://his.example/fhir --study len-cdm --out pulls/2026-01-02 --auth smart
    --client-id trial-etl --private-key etl.pem
    """
    from interop.pull.run import PullProgress, run_pull

    console = Console(stderr=True)
    if study not in STUDY_KEYS:
        console.print(f"[red]error[/red] unknown study {study!r} (known: {', '.join(STUDY_KEYS)})")
        raise typer.Exit(2)
    try:
        options = PullOptions(
            base, study, out, mode=mode, level=level, group=group, patients=tuple(patient or ()),
            identifiers=tuple(identifier or ()), types=tuple(resource_type or ()), since=since,
            type_filters=tuple(type_filter or ()), count=count, timeout=timeout, concurrency=concurrency,
            verify=not insecure, ca_bundle=ca_bundle,
            auth=_auth_config(auth, token_env, token_file, user, password_env, password_file, client_id,
                              private_key, token_url, scope, alg, kid),
            retry=RetryPolicy(attempts=retries, base_delay=backoff))
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console,
                      disable=output_format is OutputFormat.json, transient=True) as progress:
            task = progress.add_task("connecting", total=None, status="")
            result = run_pull(options, progress=PullProgress(
                stage=lambda text: progress.update(task, description=text, completed=0, total=None, status=""),
                total=lambda n: progress.update(task, total=n),
                advance=lambda: progress.advance(task),
                status=lambda text: progress.update(task, status=text)))
    except (ConversionError, OSError) as err:
        message = f"{err.issue.code}: {err.issue.message}" if isinstance(err, ConversionError) else str(err)
        console.print(f"[red]error[/red] {message}")
        raise typer.Exit(2)
    counts = {s.value: sum(1 for i in result.issues if i.severity is s) for s in Severity}
    if output_format is OutputFormat.json:
        sys.stdout.write(orjson.dumps({
            "out": str(result.out), "manifest": str(result.manifest), "partial": result.partial,
            "patients": result.patients, "counts": result.counts, "issues": counts,
            "failures": [i.to_dict() for i in result.failures]}).decode() + "\n")
    else:
        Console().print(summary_table(result))
        for found in result.issues:
            if found.severity is not Severity.INFO:
                console.print(f"{found.severity.value} {found.code}: {found.message}")
        Console().print(f"patients: {result.patients}; issues: {counts}; manifest: {result.manifest}")
    code = exit_code(result.worst, fail_on)
    raise typer.Exit(1 if result.partial else code)


def register(app: typer.Typer) -> None:
    """Add ``interop pull`` to the app."""
    app.command("pull")(pull_command)
