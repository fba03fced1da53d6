"""Outcome instruments: item definitions as data (``data/``), pure scorers ``compute_<instrument>_<score>``.

Scorers take ``{QSTESTCD: value}`` and return :class:`ScoreResult` (a value, or None with the reason).
Every unconfirmed rule is one value in ``data/assumptions.yaml``; :func:`list_assumptions` lists them for the
reviewer notes.
"""

from mappings.instruments.definitions import list_assumptions, load_instruments
from mappings.instruments.result import ScoreResult

__all__ = ["ScoreResult", "list_assumptions", "load_instruments"]
