"""Study-level SDTM derivations on whole domain frames (STYLE 1.2-1.4).

Run after the rows of all subjects are gathered. Each ``derive_*`` takes a frame (plus the
reference frames it needs, passed explicitly) and returns a new frame with the derived columns;
the input is never changed and rows keep their order (the writer sorts).

Dates: ``--DTC`` values are ISO 8601 text; only complete dates take part in --DY, VISIT, EPOCH and
baseline derivations, partial dates leave the derived value null (SDTMIG 4.4.4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

_DATE = r"^(\d{4}-\d{2}-\d{2})"
_DATETIME = r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)"
VISIT_TABLE_COLUMNS = ("visitnum", "visit", "window_lo", "window_hi")


def compute_dates(values: pd.Series) -> pd.Series:
    """The complete calendar date of each ISO 8601 value as datetime64 (NaT when partial or invalid).

    >>> compute_dates(pd.Series(["2023-01-05T08:30", "2023-01", None, "2023-02-30"])).dt.day.tolist()
    [5.0, nan, nan, nan]
    """
    text = values.astype("string").str.extract(_DATE, expand=False)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")


def compute_datetimes(values: pd.Series) -> pd.Series:
    """Date and time (to the minute or second) of each value; NaT when the time is not given."""
    text = values.astype("string").str.extract(_DATETIME, expand=False)
    return pd.to_datetime(text, format="ISO8601", errors="coerce").astype("datetime64[us]")


def compute_study_days(dates: pd.Series, refs: pd.Series) -> pd.Series:
    """SDTM --DY from two datetime64 series: days from ref, +1 on or after it, no day 0 (SDTMIG 4.4.4).

    >>> d = pd.to_datetime(pd.Series(["2023-01-09", "2023-01-10", "2023-01-12"]))
    >>> compute_study_days(d, pd.Series([pd.Timestamp("2023-01-10")] * 3)).tolist()
    [-1.0, 1.0, 3.0]
    """
    delta = (dates - refs).dt.days.astype("float64")
    return pd.Series(np.where(delta >= 0, delta + 1, delta), index=dates.index, dtype="float64")


def subject_reference(frame: pd.DataFrame, dm: pd.DataFrame, variable: str) -> pd.Series:
    """DM's ``variable`` (e.g. RFSTDTC) for each row of ``frame``, matched on USUBJID."""
    refs = dm.drop_duplicates("USUBJID").set_index("USUBJID")[variable]
    return frame["USUBJID"].map(refs)


def derive_seq(frame: pd.DataFrame, *, domain: str, order_by: Sequence[str]) -> pd.DataFrame:
    """--SEQ: 1..n within each USUBJID in a total, deterministic order.

    Rows are ranked by USUBJID, then ``order_by`` (nulls last), then every other visible column
    as text, so equal inputs always get equal numbers whatever order the rows arrived in.

    Parameters
    ----------
    frame : DataFrame
        Domain rows with USUBJID.
    domain : str
        Domain code; the new column is ``<domain>SEQ`` (e.g. AESEQ).
    order_by : sequence of str
        Columns giving the natural order (e.g. ``["AESTDTC", "AETERM"]``).

    Examples
    --------
    >>> ae = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "AESTDTC": ["2023-02", "2023-01-05", None],
    ...                    "AETERM": ["RASH", "NAUSEA", "FEVER"]})
    >>> derive_seq(ae, domain="AE", order_by=["AESTDTC"])["AESEQ"].tolist()
    [2, 1, 1]
    """
    visible = [c for c in frame.columns if not c.startswith("_") and c not in ("USUBJID", *order_by)]
    keys = pd.DataFrame({"USUBJID": frame["USUBJID"].astype("string")}, index=frame.index)
    for i, column in enumerate(order_by):
        keys[f"k{i}"] = frame[column]
    for i, column in enumerate(visible):
        keys[f"t{i}"] = frame[column].astype("string").fillna("")
    ordered = keys.sort_values(list(keys.columns), na_position="last", kind="mergesort")
    seq = ordered.groupby("USUBJID", sort=False).cumcount() + 1
    out = frame.copy()
    out[f"{domain}SEQ"] = seq.reindex(frame.index).astype("int64")
    return out


def derive_dy(frame: pd.DataFrame, dm: pd.DataFrame, *, dtc: str, dy: str) -> pd.DataFrame:
    """--DY from DM.RFSTDTC (SDTMIG 4.4.4): +1 on/after the reference day, no day 0; null unless
    both dates are complete.

    Examples
    --------
    >>> dm = pd.DataFrame({"USUBJID": ["S1"], "RFSTDTC": ["2023-01-10"]})
    >>> vs = pd.DataFrame({"USUBJID": ["S1", "S1", "S1"], "VSDTC": ["2023-01-09", "2023-01-10T09:00", "2023-01"]})
    >>> derive_dy(vs, dm, dtc="VSDTC", dy="VSDY")["VSDY"].tolist()
    [-1.0, 1.0, nan]
    """
    refs = compute_dates(subject_reference(frame, dm, "RFSTDTC"))
    out = frame.copy()
    out[dy] = compute_study_days(compute_dates(frame[dtc]), refs)
    return out


def read_visit_table(visits: pd.DataFrame | Sequence[Sequence]) -> pd.DataFrame:
    """A visit table (visitnum, visit, window_lo, window_hi) as a frame sorted by visitnum."""
    table = visits if isinstance(visits, pd.DataFrame) else pd.DataFrame(list(visits), columns=VISIT_TABLE_COLUMNS)
    table = table.loc[:, list(VISIT_TABLE_COLUMNS)].astype(
        {"visitnum": "float64", "window_lo": "float64", "window_hi": "float64"})
    return table.sort_values("visitnum", kind="mergesort").reset_index(drop=True)


def compute_scheduled_visitnum(days: pd.Series, table: pd.DataFrame) -> pd.Series:
    """VISITNUM of the scheduled visit whose window [lo, hi] holds each study day (NaN if none)."""
    result = pd.Series(np.nan, index=days.index, dtype="float64")
    for row in table.itertuples(index=False):
        inside = days.between(row.window_lo, row.window_hi) & result.isna()
        result[inside] = row.visitnum
    return result


def compute_previous_visitnum(days: pd.Series, table: pd.DataFrame) -> pd.Series:
    """VISITNUM of the last scheduled visit whose window opened on or before each day (0 if none)."""
    result = pd.Series(0.0, index=days.index, dtype="float64")
    for row in table.itertuples(index=False):
        result[days >= row.window_lo] = row.visitnum
    return result.where(days.notna())


def format_unscheduled_visit(visitnum: float) -> str:
    """VISIT text of an unscheduled visit, e.g. ``'UNSCHEDULED 2.01'``."""
    return f"UNSCHEDULED {visitnum:.2f}"


def derive_visit(frame: pd.DataFrame, *, dtc: str, visits: pd.DataFrame | Sequence[Sequence],
                 dm: pd.DataFrame, subject_dates: pd.DataFrame | None = None) -> pd.DataFrame:
    """VISITNUM and VISIT from the study day of ``dtc`` and a visit table with windows.

    A day inside a window gets that visit. A day outside every window is an unscheduled visit
    (SDTMIG 4.4.5): VISITNUM = the previous scheduled VISITNUM + .01, .02 ... numbered per subject
    in date order over distinct dates, VISIT ``'UNSCHEDULED <n.nn>'``. VISIT/VISITNUM already set on
    a row are kept. Rows without a complete date (or subject without RFSTDTC) stay null.

    Parameters
    ----------
    frame : DataFrame
        Domain rows with USUBJID and ``dtc``.
    dtc : str
        The date variable (e.g. ``"LBDTC"``).
    visits : DataFrame or sequence of (visitnum, visit, window_lo, window_hi)
        Scheduled visits with study-day windows (inclusive), from the study definition.
    dm : DataFrame
        USUBJID and RFSTDTC.
    subject_dates : DataFrame, optional
        USUBJID and DTC of every dated record of the study (all domains). Unscheduled visits are
        numbered over these dates together with the frame's, so one date gets the same
        unscheduled VISITNUM in every domain.

    Examples
    --------
    >>> dm = pd.DataFrame({"USUBJID": ["S1"], "RFSTDTC": ["2023-01-01"]})
    >>> visits = [(1, "DAY 1", 1, 1), (2, "WEEK 4", 22, 36)]
    >>> lb = pd.DataFrame({"USUBJID": ["S1"] * 3, "LBDTC": ["2023-01-01", "2023-01-10", "2023-01-29"]})
    >>> derive_visit(lb, dtc="LBDTC", visits=visits, dm=dm)[["VISITNUM", "VISIT"]].values.tolist()
    [[1.0, 'DAY 1'], [1.01, 'UNSCHEDULED 1.01'], [2.0, 'WEEK 4']]
    """
    table = read_visit_table(visits)
    days = compute_study_days(compute_dates(frame[dtc]), compute_dates(subject_reference(frame, dm, "RFSTDTC")))
    visitnum = compute_scheduled_visitnum(days, table)
    visit = visitnum.map(dict(zip(table["visitnum"], table["visit"]))).astype("object")
    unscheduled = days.notna() & visitnum.isna()
    numbers = number_unscheduled(frame, dtc=dtc, days=days, table=table, dm=dm, subject_dates=subject_dates)
    visitnum[unscheduled] = numbers[unscheduled]
    visit[unscheduled] = numbers[unscheduled].map(format_unscheduled_visit)
    visit = visit.where(visitnum.notna(), None)
    out = frame.copy()
    out["VISITNUM"] = keep_existing(frame, "VISITNUM", visitnum)
    out["VISIT"] = keep_existing(frame, "VISIT", visit)
    return out


def number_unscheduled(frame: pd.DataFrame, *, dtc: str, days: pd.Series, table: pd.DataFrame,
                       dm: pd.DataFrame, subject_dates: pd.DataFrame | None) -> pd.Series:
    """Unscheduled VISITNUM (previous scheduled + k/100) for every row of ``frame`` with a date."""
    dates = compute_dates(frame[dtc])
    pool = pd.DataFrame({"USUBJID": frame["USUBJID"], "date": dates, "day": days})
    if subject_dates is not None:
        extra = pd.DataFrame({"USUBJID": subject_dates["USUBJID"], "date": compute_dates(subject_dates["DTC"])})
        extra["day"] = compute_study_days(extra["date"], compute_dates(subject_reference(extra, dm, "RFSTDTC")))
        pool = pd.concat([pool, extra], ignore_index=True)
    pool = pool.dropna(subset=["date", "day"])
    pool = pool[compute_scheduled_visitnum(pool["day"], table).isna()]
    distinct = pool.drop_duplicates(["USUBJID", "date"]).sort_values(["USUBJID", "date"], kind="mergesort")
    distinct["base"] = compute_previous_visitnum(distinct["day"], table)
    distinct["k"] = distinct.groupby(["USUBJID", "base"]).cumcount() + 1
    distinct["visitnum"] = (distinct["base"] + distinct["k"] / 100).round(2)
    lookup = distinct.set_index(["USUBJID", "date"])["visitnum"]
    keys = pd.MultiIndex.from_arrays([frame["USUBJID"], dates])
    return pd.Series(lookup.reindex(keys).to_numpy(), index=frame.index, dtype="float64")


def keep_existing(frame: pd.DataFrame, column: str, derived: pd.Series) -> pd.Series:
    """``frame[column]`` where it is set, else ``derived`` (STYLE 1.6: later sources fill gaps)."""
    if column not in frame.columns:
        return derived
    existing = frame[column]
    if pd.api.types.is_numeric_dtype(existing):
        return existing.astype("float64").where(existing.notna(), derived)
    text = existing.astype("object")
    text = text.where(existing.astype("string").str.strip().fillna("") != "", None)
    merged = text.where(text.notna(), derived.astype("object"))
    return merged.where(merged.notna(), None)


def derive_epoch(frame: pd.DataFrame, se: pd.DataFrame, *, dtc: str) -> pd.DataFrame:
    """EPOCH from the subject's elements in SE (SDTMIG 5.3 SE; 4.4.10 EPOCH).

    A date belongs to the element with the latest SESTDTC on or before it, if the date is on or
    before that element's SEENDTC (or SEENDTC is null). When one element ends on the day the next
    starts, the later element wins. Compared on complete dates; otherwise EPOCH is null.

    Examples
    --------
    >>> se = pd.DataFrame({"USUBJID": ["S1", "S1"], "SESTDTC": ["2023-01-01", "2023-01-15"],
    ...                    "SEENDTC": ["2023-01-15", "2023-06-30"], "EPOCH": ["SCREENING", "TREATMENT"]})
    >>> ae = pd.DataFrame({"USUBJID": ["S1"] * 3, "AESTDTC": ["2023-01-03", "2023-01-15", "2022-12-01"]})
    >>> derive_epoch(ae, se, dtc="AESTDTC")["EPOCH"].tolist()
    ['SCREENING', 'TREATMENT', None]
    """
    left = pd.DataFrame({"USUBJID": frame["USUBJID"].astype("string"), "date": compute_dates(frame[dtc]),
                         "row": np.arange(len(frame))})
    right = pd.DataFrame({"USUBJID": se["USUBJID"].astype("string"), "start": compute_dates(se["SESTDTC"]),
                          "end": compute_dates(se["SEENDTC"]), "EPOCH": se["EPOCH"].astype("object")})
    right = right.dropna(subset=["start"]).sort_values(["start", "USUBJID"], kind="mergesort")
    dated = left.dropna(subset=["date"]).sort_values("date", kind="mergesort")
    matched = pd.merge_asof(dated, right, left_on="date", right_on="start", by="USUBJID", direction="backward")
    inside = matched["start"].notna() & (matched["end"].isna() | (matched["date"] <= matched["end"]))
    epochs = pd.Series([None] * len(frame), dtype="object")
    epochs[matched.loc[inside, "row"].to_numpy()] = matched.loc[inside, "EPOCH"].to_numpy()
    out = frame.copy()
    out["EPOCH"] = keep_existing(frame, "EPOCH", pd.Series(epochs.to_numpy(), index=frame.index, dtype="object"))
    return out


def derive_lobxfl(frame: pd.DataFrame, dm: pd.DataFrame, *, dtc: str, testcd: str, result: str,
                  flag: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """--LOBXFL: 'Y' on the last record with a non-missing result on or before DM.RFXSTDTC, per
    USUBJID and ``testcd`` (plus ``by``, e.g. ``["VSPOS"]``) (SDTMIG 4.1.3.3 / --LOBXFL).

    "On or before" compares date and time when both have a time, else the calendar dates, so a
    sample taken on the first-dose day counts. Records with partial dates never qualify. Ties on
    the same date-time go to the later row in the frame.

    Examples
    --------
    >>> dm = pd.DataFrame({"USUBJID": ["S1"], "RFXSTDTC": ["2023-01-10T09:00"]})
    >>> lb = pd.DataFrame({"USUBJID": ["S1"] * 3, "LBTESTCD": ["HGB"] * 3,
    ...                    "LBDTC": ["2023-01-02", "2023-01-10T08:00", "2023-01-10T10:00"],
    ...                    "LBORRES": ["13.1", "12.9", "12.5"]})
    >>> derive_lobxfl(lb, dm, dtc="LBDTC", testcd="LBTESTCD", result="LBORRES", flag="LBLOBXFL")["LBLOBXFL"].tolist()
    [None, 'Y', None]
    """
    ref = subject_reference(frame, dm, "RFXSTDTC")
    eligible = is_on_or_before(frame[dtc], ref) & has_value(frame[result])
    when = compute_datetimes(frame[dtc]).fillna(compute_dates(frame[dtc]))
    candidates = pd.DataFrame({"when": when, "row": np.arange(len(frame))}, index=frame.index)
    groups = ["USUBJID", testcd, *by]
    for column in groups:
        candidates[column] = frame[column].astype("string")
    candidates = candidates[eligible].sort_values(["when", "row"], kind="mergesort")
    last_rows = candidates.groupby(groups, sort=False, dropna=False)["row"].last()
    flags = np.full(len(frame), None, dtype=object)
    flags[last_rows.to_numpy()] = "Y"
    out = frame.copy()
    out[flag] = pd.Series(flags, index=frame.index, dtype="object")
    return out


def is_on_or_before(values: pd.Series, refs: pd.Series) -> pd.Series:
    """True where ``values`` (complete date) is on or before ``refs``; times compared only when both have one."""
    dates, ref_dates = compute_dates(values), compute_dates(refs)
    times, ref_times = compute_datetimes(values), compute_datetimes(refs)
    both_timed = times.notna() & ref_times.notna()
    same_day_ok = (dates == ref_dates) & (~both_timed | (times <= ref_times))
    return ((dates < ref_dates) | same_day_ok).fillna(False).astype(bool)


def has_value(values: pd.Series) -> pd.Series:
    """True where a result is present (not null, not blank)."""
    return values.notna() & (values.astype("string").str.strip().fillna("") != "")


def compute_visit_assignments(dates: pd.DataFrame, *, visits: pd.DataFrame | Sequence[Sequence],
                              dm: pd.DataFrame) -> pd.DataFrame:
    """One VISITNUM/VISIT per subject and calendar date, for every domain alike (SDTMIG 4.4.5).

    ``dates`` has USUBJID, DTC and VISIT_SOURCE (True for dates that are visits themselves, i.e. SV).
    A scheduled visit is taken by one visit date only: among the visit dates in its window, the one closest
    to the target day (VISITDY; ties: the earlier). Other visit dates in that window, and every date outside
    all windows, are unscheduled: previous scheduled VISITNUM + .01, .02 ... per subject in date order, VISIT
    ``'UNSCHEDULED n.nn'``. Other dates inside a window get the scheduled visit. Dates without a complete day,
    or subjects without RFSTDTC, get nothing.

    Examples
    --------
    >>> dm = pd.DataFrame({"USUBJID": ["S1"], "RFSTDTC": ["2023-01-01"]})
    >>> visits = pd.DataFrame({"visitnum": [1.0, 2.0], "visit": ["DAY 1", "WEEK 4"], "window_lo": [1, 22],
    ...                        "window_hi": [1, 36], "visitdy": [1, 29]})
    >>> dates = pd.DataFrame({"USUBJID": ["S1"] * 4, "DTC": ["2023-01-01", "2023-01-27", "2023-01-30", "2023-01-31"],
    ...                       "VISIT_SOURCE": [True, True, True, False]})
    >>> compute_visit_assignments(dates, visits=visits, dm=dm)[["VISITNUM", "VISIT"]].values.tolist()
    [[1.0, 'DAY 1'], [2.01, 'UNSCHEDULED 2.01'], [2.0, 'WEEK 4'], [2.0, 'WEEK 4']]
    """
    table = read_visit_table(visits)
    targets = dict(zip(table["visitnum"], visits["visitdy"] if isinstance(visits, pd.DataFrame) and "visitdy" in visits
                       else (table["window_lo"] + table["window_hi"]) / 2))
    pool = pd.DataFrame({"USUBJID": dates["USUBJID"].astype("string"), "date": compute_dates(dates["DTC"]),
                         "source": dates["VISIT_SOURCE"].astype(bool)})
    pool = pool.dropna(subset=["date"])
    pool = pool.groupby(["USUBJID", "date"], as_index=False, sort=True)["source"].max()
    refs = compute_dates(subject_reference(pool, dm, "RFSTDTC"))
    pool["day"] = compute_study_days(pool["date"], refs)
    pool = pool.dropna(subset=["day"]).reset_index(drop=True)
    pool["scheduled"] = compute_scheduled_visitnum(pool["day"], table)
    pool["distance"] = (pool["day"] - pool["scheduled"].map(targets)).abs()
    competing = pool[pool["source"] & pool["scheduled"].notna()].sort_values(
        ["USUBJID", "scheduled", "distance", "date"], kind="mergesort")
    losers = competing.duplicated(["USUBJID", "scheduled"], keep="first")
    demoted = pd.Series(False, index=pool.index)
    demoted[competing.index[losers.to_numpy()]] = True
    unscheduled = pool["scheduled"].isna() | demoted
    ordered = pool[unscheduled].sort_values(["USUBJID", "date"], kind="mergesort").copy()
    ordered["base"] = compute_previous_visitnum(ordered["day"], table)
    ordered["k"] = ordered.groupby(["USUBJID", "base"]).cumcount() + 1
    pool["VISITNUM"] = pool["scheduled"].where(~unscheduled)
    pool.loc[ordered.index, "VISITNUM"] = (ordered["base"] + ordered["k"] / 100).round(2)
    names = dict(zip(table["visitnum"], table["visit"]))
    pool["VISIT"] = [names[n] if not u else format_unscheduled_visit(n)
                     for n, u in zip(pool["VISITNUM"], unscheduled)]
    return pool.loc[:, ["USUBJID", "date", "VISITNUM", "VISIT"]]


def derive_visit_from_assignments(frame: pd.DataFrame, assignments: pd.DataFrame, *, dtc: str) -> pd.DataFrame:
    """VISITNUM/VISIT of each row from :func:`compute_visit_assignments` by USUBJID and the date of ``dtc``
    (values already set are kept)."""
    keys = pd.MultiIndex.from_arrays([frame["USUBJID"].astype("string"), compute_dates(frame[dtc])])
    lookup = assignments.set_index(["USUBJID", "date"])
    visitnum = pd.Series(lookup["VISITNUM"].reindex(keys).to_numpy(), index=frame.index, dtype="float64")
    visit = pd.Series(lookup["VISIT"].reindex(keys).to_numpy(), index=frame.index, dtype="object")
    out = frame.copy()
    out["VISITNUM"] = keep_existing(frame, "VISITNUM", visitnum)
    out["VISIT"] = keep_existing(frame, "VISIT", visit.where(visit.notna(), None))
    return out
