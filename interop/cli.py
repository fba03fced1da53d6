"""The ``interop`` command line: thin layers over one library call each (STYLE 3.4).

Exit codes: 0 clean, 1 findings (errors at or above the --fail-on threshold), 2 usage or internal error.
"""

from __future__ import annotations

import typer

from interop.commands import convert, pull, samples, screen, validate

app = typer.Typer(
    name="interop",
    help="Convert hospital FHIR R4 data into CDISC SDTM packages for the len-cdm and len-cle trials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (samples, convert, screen, validate, pull):
    _module.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()
