"""Units: UCUM -> CDISC UNIT (C71620) and the one converter to standard units.

Both facts live once, as data: ``terminology/units.csv`` (UCUM code -> CDISC submission value, with an
optional test code for the few UCUM codes whose CDISC unit depends on the test, e.g. ``/min`` is
``beats/min`` for PULSE and ``breaths/min`` for RESP) and ``terminology/unit_conversions.csv`` (per test
code: from UCUM unit -> standard UCUM unit and an explicit multiplicative factor). LB, VS and eligibility
all convert through :func:`convert_lab_value`.

Rounding rule: the standard value is the *exact decimal product* of the value as sent and the factor as
written in the table (``decimal.Decimal`` arithmetic, no rounding and no binary floating-point noise):
creatinine 0.9 mg/dL x 88.42 = 79.578 umol/L; haemoglobin 11.2 g/dL x 10 = 112 g/L. Precision is the
source's; analysis may round later, the tabulation does not.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

TERMINOLOGY_DIR = Path(__file__).resolve().parent / "terminology"


@dataclass(frozen=True, slots=True)
class Conversion:
    """One row of ``unit_conversions.csv``: ``value[from_unit] * factor = value[to_unit]``."""

    testcd: str
    from_unit: str
    to_unit: str
    factor: Decimal


@dataclass(frozen=True, slots=True)
class Converted:
    """A value converted to the test's standard unit.

    Attributes
    ----------
    value : Decimal
        Exact product of the value sent and the factor.
    ucum_unit : str
        Standard unit, UCUM code (``"g/L"``).
    cdisc_unit : str or None
        Standard unit as CDISC UNIT submission value (``"g/L"``), None if units.csv lacks it.
    factor : Decimal
        The factor applied (1 when the value was already in the standard unit).
    """

    value: Decimal
    ucum_unit: str
    cdisc_unit: str | None
    factor: Decimal

    @property
    def number(self) -> float:
        """The value as a float, for --STRESN."""
        return float(self.value)

    @property
    def text(self) -> str:
        """The value as plain decimal text, for --STRESC (``"112"``, ``"79.578"``)."""
        return format_decimal(self.value)


def _read_csv(name: str) -> list[dict[str, str]]:
    with (TERMINOLOGY_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def load_unit_table() -> Mapping[tuple[str, str], str]:
    """``(ucum, testcd or "") -> CDISC unit`` from ``units.csv`` (read once, read-only)."""
    table = {(row["ucum"], (row.get("testcd") or "").strip()): row["cdisc"] for row in _read_csv("units.csv")}
    return MappingProxyType(table)


@cache
def load_conversions() -> Mapping[tuple[str, str], Conversion]:
    """``(testcd, from UCUM unit) -> Conversion`` from ``unit_conversions.csv`` (read once)."""
    table = {}
    for row in _read_csv("unit_conversions.csv"):
        conv = Conversion(row["lbtestcd"], row["from_unit"], row["to_unit"], Decimal(row["factor"]))
        table[(conv.testcd, conv.from_unit)] = conv
    return MappingProxyType(table)


def cdisc_unit(ucum_unit: str | None, testcd: str | None = None) -> str | None:
    """The CDISC UNIT submission value for a UCUM code, or None when the table has none.

    >>> cdisc_unit("10*3/uL"), cdisc_unit("/min", "RESP"), cdisc_unit("/min", "PULSE")
    ('10^9/L', 'breaths/min', 'beats/min')
    """
    if not ucum_unit:
        return None
    table = load_unit_table()
    if testcd and (ucum_unit, testcd) in table:
        return table[(ucum_unit, testcd)]
    return table.get((ucum_unit, ""))


def to_decimal(value) -> Decimal | None:
    """A JSON number (int/float) or numeric string as an exact Decimal (floats via their shortest repr)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        return None
    return out if out.is_finite() else None


def format_decimal(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: ``Decimal("112.0") -> "112"``.

    >>> format_decimal(Decimal("79.5780")), format_decimal(Decimal("1E+2"))
    ('79.578', '100')
    """
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def convert_lab_value(lbtestcd: str, value, ucum_unit: str | None) -> Converted | None:
    """Convert a result to the test's standard unit with the factor of ``unit_conversions.csv``.

    Parameters
    ----------
    lbtestcd : str
        Test short name (LBTESTCD; VSTESTCD for vital signs, which share the table).
    value : int, float, str or Decimal
        The result as sent.
    ucum_unit : str
        UCUM code of the unit as sent (``valueQuantity.code``).

    Returns
    -------
    Converted or None
        None when the value is not numeric or the table has no row for (test, unit): the caller
        reports it (nothing is guessed).

    Examples
    --------
    >>> convert_lab_value("HGB", 11.2, "g/dL").text
    '112'
    >>> convert_lab_value("CREAT", 0.9, "mg/dL").text
    '79.578'
    >>> convert_lab_value("HGB", 11.2, "mmol/L") is None
    True
    """
    number = to_decimal(value)
    conv = load_conversions().get((lbtestcd, ucum_unit or ""))
    if number is None or conv is None:
        return None
    return Converted(number * conv.factor, conv.to_unit, cdisc_unit(conv.to_unit, lbtestcd), conv.factor)


def standard_unit(lbtestcd: str) -> str | None:
    """The standard (target) UCUM unit of a test, from the conversion table (None if it has none)."""
    units = {c.to_unit for c in load_conversions().values() if c.testcd == lbtestcd}
    return units.pop() if len(units) == 1 else None
