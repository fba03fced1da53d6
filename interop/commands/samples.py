"""`interop samples`: generate deterministic synthetic FHIR R4 cohorts (one library call each)."""

from __future__ import annotations

from pathlib import Path

import typer

from interop.samples.checked_in import SAMPLES_DIR, write_samples
from interop.samples.write import write_cohort
from mappings.study import STUDY_KEYS


def samples(
    study: str = typer.Option(None, "--study", help=f"Study key: {' | '.join(STUDY_KEYS)}."),
    patients: int = typer.Option(25, "--patients", min=1, help="Number of screened patients."),
    seed: int = typer.Option(1, "--seed", help="Seed: the same seed gives the same bytes."),
    fmt: str = typer.Option("bundle", "--format", help="bundle (one collection Bundle per patient) | ndjson."),
    out: Path = typer.Option(None, "--out", help="Output folder."),
    checked_in: bool = typer.Option(False, "--checked-in", help="Rewrite fhir_samples/ for the fixed seeds."),
) -> None:
    """Write a synthetic screening population of a study as FHIR R4 bundles or Bulk Data NDJSON."""
    if checked_in:
        stories = write_samples()
        typer.echo(f"wrote {len(stories)} patients to {SAMPLES_DIR}")
        return
    if study not in STUDY_KEYS or fmt not in ("bundle", "ndjson") or out is None:
        typer.echo(f"need --study ({' | '.join(STUDY_KEYS)}), --format (bundle | ndjson) and --out", err=True)
        raise typer.Exit(2)
    summary = write_cohort(study, patients, seed, fmt, out)
    typer.echo(f"{summary.study}: {summary.patients} patients, {summary.resources} resources, {summary.files} files in {out}")


def register(app: typer.Typer) -> None:
    """Add the ``samples`` command to the app."""
    app.command("samples")(samples)
