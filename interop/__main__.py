"""``python -m interop``: the same as the ``interop`` command."""

from interop.cli import main

main()
