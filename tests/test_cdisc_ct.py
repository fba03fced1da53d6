"""cdisc.ct.map_ct: CT recoding with one issue per distinct unmapped term (STYLE 1.7)."""

from __future__ import annotations

import math

from cdisc.ct import map_ct
from cdisc.issues import Location, Severity
from cdisc.standards import load_ct


def test_synonyms_and_case_map_to_submission_values():
    values, issues = map_ct(["Female", "m", " F ", "Unknown"], codelist="SEX", ct=load_ct())
    assert values == ["F", "M", "F", "U"]
    assert issues == []


def test_unmapped_term_in_non_extensible_list_is_one_ct001_and_null():
    where = Location(dataset="DM", variable="SEX")
    values, issues = map_ct(["other", "Other ", "female", "x"], codelist="C66731", ct=load_ct(), where=where)
    assert values == [None, None, "F", None]
    assert [(i.code, i.severity) for i in issues] == [("CT001", Severity.ERROR), ("CT001", Severity.ERROR)]
    assert "'other'" in issues[0].message and "C66731" in issues[0].message
    assert issues[0].where == where


def test_unmapped_term_in_extensible_list_is_kept_and_reported_as_info():
    values, issues = map_ct(["oral", "intrathecal pump"], codelist="ROUTE", ct=load_ct())
    assert values == ["ORAL", "intrathecal pump"]
    assert [(i.code, i.severity) for i in issues] == [("CT002", Severity.INFO)]


def test_missing_values_stay_missing_without_issue():
    values, issues = map_ct([None, math.nan, "  "], codelist="NY", ct=load_ct())
    assert values == [None, None, None]
    assert issues == []


def test_issue_names_first_occurrence_location():
    wheres = [Location(resource="Observation/1"), Location(resource="Observation/2"),
              Location(resource="Observation/3")]
    _, issues = map_ct(["Y", "maybe", "maybe"], codelist="NY", ct=load_ct(), wheres=wheres)
    assert [i.where.resource for i in issues] == ["Observation/2"]
