"""`interop pull` (being built; see the issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the command to the app (filled in by the module's owner)."""
