"""CT membership shared by CONF007 (non-extensible) and CONF008 (extensible)."""

from __future__ import annotations

from cdisc.conformance.package import SdtmPackage
from cdisc.conformance.rules._helpers import domain_spec, first_rows_by_value, usubjid_at
from cdisc.standards import ControlledTerminology, Sdtmig


def values_outside_ct(package: SdtmPackage, *, sdtmig: Sdtmig, ct: ControlledTerminology,
                      extensible: bool) -> list[tuple[str, str, str, int, int, tuple[str, ...]]]:
    """Values of CT-bound variables that match no submission value of their codelists (case-sensitive).

    Returns (dataset, variable, value, first 0-based row, count, codelist C-codes) for the
    variables whose codelists are extensible (``extensible=True``) or all non-extensible.
    Codelists the CT package lacks are skipped (reported by the standards loader).
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
            for value, (first, count) in first_rows_by_value(dataset, name).items():
                if value not in allowed:
                    out.append((dataset.name, name, value, first, count, codes))
    return out


def where(package: SdtmPackage, dataset: str, index: int) -> str | None:
    return usubjid_at(package.datasets[dataset], index)
