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


def main() -> None:
    """Console entry: an error we did not foresee is an internal error, exit status 2 (never 1, which means
    findings), with the traceback on stderr for the bug report."""
    import sys
    import traceback

    try:
        app()
    except SystemExit:
        raise
    except Exception:  # the one boundary where an unforeseen error becomes an exit status
        traceback.print_exc()
        print("interop: internal error (exit 2); please report it with the traceback above", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
