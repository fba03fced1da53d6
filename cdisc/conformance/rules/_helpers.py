"""Small helpers shared by the CONF rules (no rule logic here)."""

from __future__ import annotations

from typing import Iterator

import pandas as pd

from cdisc.conformance.package import XptDataset
from cdisc.standards import DomainSpec, Sdtmig


def domain_spec(sdtmig: Sdtmig, name: str) -> DomainSpec | None:
    """The SDTMIG spec of a dataset, or None for a custom/unknown dataset (checked elsewhere)."""
    try:
        return sdtmig.domain(name)
    except KeyError:
        return None


def specified_datasets(package, sdtmig: Sdtmig) -> Iterator[tuple[XptDataset, DomainSpec]]:
    """(dataset, its SDTMIG spec) for every dataset of the package SDTMIG defines."""
    for dataset in package.datasets.values():
        spec = domain_spec(sdtmig, dataset.name)
        if spec is not None:
            yield dataset, spec


def spec_variables(package, sdtmig: Sdtmig, *, core: str) -> Iterator[tuple[XptDataset, object, bool]]:
    """(dataset, VariableSpec, stored?) for every SDTMIG variable of ``core`` (Req/Exp/Perm) of each dataset."""
    for dataset, spec in specified_datasets(package, sdtmig):
        for variable in spec.variables:
            if variable.core == core:
                yield dataset, variable, variable.name in dataset.columns


def stored_variables(package, sdtmig: Sdtmig) -> Iterator[tuple[XptDataset, str, object]]:
    """(dataset, column name, VariableSpec) for every stored column SDTMIG defines."""
    for dataset, spec in specified_datasets(package, sdtmig):
        for name in dataset.columns:
            variable = spec.variable(name)
            if variable is not None:
                yield dataset, name, variable


def declared_columns(package) -> Iterator[tuple[XptDataset, object]]:
    """(dataset, define.xml variable) for every variable define.xml declares that the dataset stores (none
    without a define.xml)."""
    if package.define is None:
        return
    for dataset in package.datasets.values():
        for variable in package.define.variables(dataset.name):
            if variable.name in dataset.columns:
                yield dataset, variable


def is_blank(value: object) -> bool:
    """True for SAS missing: NaN/None numerics and empty or all-space strings."""
    if value is None:
        return True
    if isinstance(value, float) and pd.isna(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def usubjid_at(dataset: XptDataset, index: int) -> str | None:
    """USUBJID of a row, if the dataset has one."""
    if "USUBJID" not in dataset.frame.columns:
        return None
    value = dataset.frame["USUBJID"].iat[index]
    return None if is_blank(value) else str(value)


def rows_with(dataset: XptDataset, column: str) -> Iterator[tuple[int, object]]:
    """(0-based index, value) of the non-blank cells of a column."""
    for index, value in enumerate(dataset.frame[column].tolist()):
        if not is_blank(value):
            yield index, value


def first_rows_by_value(dataset: XptDataset, column: str) -> dict[str, tuple[int, int]]:
    """Distinct non-blank text values -> (first 0-based index, count)."""
    out: dict[str, tuple[int, int]] = {}
    for index, value in rows_with(dataset, column):
        key = str(value)
        first, count = out.get(key, (index, 0))
        out[key] = (first, count + 1)
    return out


def format_number(value: object) -> str:
    """Numbers as SAS shows them: 3.0 -> '3'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
