"""CT membership shared by CONF007 (non-extensible) and CONF008 (extensible)."""

from __future__ import annotations

from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import domain_spec, first_rows_by_value, usubjid_at
from cdisc.standards import ControlledTerminology, Sdtmig

RESULT_SUFFIXES = ("ORRES", "STRESC")


def is_number(text: str) -> bool:
    """True for a decimal number as SDTM results hold them ("3.6", "-1", "1E3").

    >>> is_number("3.6"), is_number("NEGATIVE"), is_number("nan")
    (True, False, False)
    """
    try:
        return float(text) == float(text) and text.strip().lower() not in ("inf", "-inf", "infinity")
    except ValueError:
        return False


def values_outside_ct(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology,
                      extensible: bool) -> list[tuple[str, str, str, int, int, tuple[str, ...]]]:
    """Values of CT-bound variables that match no submission value of their codelists (case-sensitive).

    Returns (dataset, variable, value, first 0-based row, count, codelist C-codes) for the
    variables whose codelists are extensible (``extensible=True``) or all non-extensible.
    Codelists the CT package lacks are skipped (reported by the standards loader). A number in a
    result variable (--ORRES, --STRESC, e.g. LBSTRESC "3.6" with codelist C102580) is a measured
    value, not a coded one, and is not compared with the codelist.
    """
    out = []
    for dataset in package.datasets.values():
        spec = domain_spec(sdtmig, dataset.name)
        if spec is None:
            continue
        for name in dataset.columns:
            variable = spec.variable(name)
            codes = tuple(c for c in (variable.codelists if variable else ()) if c in ct)
            if not codes or dataset.types.get(name) != "Char":
                continue
            if any(ct.codelist(c).extensible for c in codes) != extensible:
                continue
            allowed = {v for c in codes for v in ct.codelist(c).submission_values}
            numeric_allowed = name.endswith(RESULT_SUFFIXES)
            for value, (first, count) in first_rows_by_value(dataset, name).items():
                if value not in allowed and not (numeric_allowed and is_number(value)):
                    out.append((dataset.name, name, value, first, count, codes))
    return out


def where(package: SdtmPackage, dataset: str, index: int) -> str | None:
    return usubjid_at(package.datasets[dataset], index)
