"""The trial outcome table (study level, pure on frames) and its writer (CSV + one PNG per subject).

One row per subject and time point (VISIT): the instrument scores of the study's outcomes, their baseline and
change from baseline (len-cdm: CDASI activity, DLQI, RAND-36 scales, IMACS TIS, category and definition of
improvement; len-cle: CLASI activity). Scores are read from the QS derived records (QSDRVFL 'Y'), so the table
shows exactly what QS submits. Baseline = the record flagged QSLOBXFL (else QSBLFL) 'Y', else the subject's earliest
visit with the score (stated in the reviewer notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from mappings.instruments.definitions import load_instruments
from mappings.instruments.imacs import (CoreSet, compute_imacs_doi, compute_imacs_tis, compute_imacs_tis_category,
                                        select_most_abnormal_enzyme)
from mappings.study import StudyDefinition

ENZYMES = ("CK", "ALDOLASE", "LDH", "ALT", "AST")


def _code(instrument: str, score: str) -> str:
    return load_instruments()[instrument].score_def(score).link_id


def _item(instrument: str, component: str) -> str:
    return next(i.link_id for i in load_instruments()[instrument].items if i.attrs.get("csm") == component
                and i.unit == "cm")


def outcome_measures(study_key: str) -> list[tuple[str, str, str]]:
    """(column, QSCAT instrument key, score) of the outcome table, per study (from the study's outcomes)."""
    if study_key == "len-cle":
        return [("CLASI_A", "CLASI", "activity")]
    rand = [(f"RAND36_{s}", "RAND-36", s) for s in ("PF", "RP", "RE", "EF", "EW", "SF", "BP", "GH")]
    return [("CDASI_A", "CDASI", "activity"), ("DLQI", "DLQI", "total"), *rand]


def _baseline_mask(frame: pd.DataFrame) -> pd.Series:
    for flag in ("QSLOBXFL", "QSBLFL"):
        if flag in frame.columns and (frame[flag] == "Y").any():
            return frame[flag] == "Y"
    earliest = frame.groupby(["USUBJID", "QSTESTCD"])["VISITNUM"].transform("min")
    return frame["VISITNUM"] == earliest


def _scores_long(qs: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    derived = qs[qs["QSTESTCD"].isin(codes) & qs["QSSTRESN"].notna()].copy()
    derived["BASE"] = _baseline_mask(derived)
    return derived


def derive_outcome_table(qs: pd.DataFrame, *, study: StudyDefinition, lb: pd.DataFrame | None = None) -> pd.DataFrame:
    """Outcome table: one row per USUBJID and VISIT with each score, its baseline value (``_BL``) and change
    (``_CHG``); for len-cdm also IMACS_TIS, IMACS_CATEGORY and IMACS_DOI (needs ``lb`` for the muscle enzymes).

    ``qs`` needs USUBJID, VISITNUM, VISIT, QSTESTCD, QSSTRESN (and QSDRVFL/QSLOBXFL when present).
    """
    measures = outcome_measures(study.key)
    code_to_col = {_code(inst, score): col for col, inst, score in measures}
    long = _scores_long(qs, list(code_to_col))
    long["COL"] = long["QSTESTCD"].map(code_to_col)
    keys = ["USUBJID", "VISITNUM", "VISIT"]
    table = long.pivot_table(index=keys, columns="COL", values="QSSTRESN", aggfunc="last").reset_index()
    base = long[long["BASE"]].groupby(["USUBJID", "COL"])["QSSTRESN"].last().unstack()
    for col, _, _ in measures:
        if col not in table:
            table[col] = float("nan")
        baseline = table["USUBJID"].map(base[col]) if col in base else float("nan")
        table[f"{col}_BL"] = baseline
        table[f"{col}_CHG"] = table[col] - baseline
    if study.key == "len-cdm":
        table = derive_imacs_columns(table, qs, lb)
    table.columns.name = None
    return table.sort_values(["USUBJID", "VISITNUM"]).reset_index(drop=True)


def _core_sets(qs: pd.DataFrame, lb: pd.DataFrame | None) -> dict[tuple[str, float], dict]:
    """Core set measure values by (USUBJID, VISITNUM)."""
    codes = {_item("MYOGLOBAL", "physician_global"): "physician_global",
             _item("MYOGLOBAL", "patient_global"): "patient_global",
             _item("MYOGLOBAL", "extramuscular"): "extramuscular",
             _code("MMT-8", "unilateral"): "mmt", _code("HAQ-DI", "disability_index"): "haq", "HAQ02DI": "haq"}
    out: dict[tuple[str, float], dict] = {}
    rows = qs[qs["QSTESTCD"].isin(codes) & qs["QSSTRESN"].notna()]
    for row in rows.itertuples(index=False):
        out.setdefault((row.USUBJID, row.VISITNUM), {})[codes[row.QSTESTCD]] = float(row.QSSTRESN)
    if lb is not None and len(lb):
        enz = lb[lb["LBTESTCD"].isin(ENZYMES) & lb["LBSTRESN"].notna()]
        for row in enz.itertuples(index=False):
            out.setdefault((row.USUBJID, row.VISITNUM), {}).setdefault("enzymes", {})[row.LBTESTCD] = (
                float(row.LBSTRESN), float(row.LBSTNRHI) if pd.notna(row.LBSTNRHI) else None)
    return out


def derive_imacs_columns(table: pd.DataFrame, qs: pd.DataFrame, lb: pd.DataFrame | None) -> pd.DataFrame:
    """IMACS_TIS, IMACS_CATEGORY, IMACS_DOI and IMACS_REASON against each subject's earliest core-set visit."""
    sets = _core_sets(qs, lb)
    out = table.copy()
    tis, cats, dois, reasons = [], [], [], []
    for row in out.itertuples(index=False):
        visits = sorted(v for (s, v) in sets if s == row.USUBJID)
        if not visits or row.VISITNUM == visits[0]:
            tis.append(None); cats.append(None); dois.append(None); reasons.append(None)
            continue
        base_raw, follow_raw = sets[(row.USUBJID, visits[0])], sets.get((row.USUBJID, row.VISITNUM), {})
        enzyme = select_most_abnormal_enzyme(base_raw.get("enzymes", {}))
        base, follow = (CoreSet(**{k: raw.get(k) for k in ("physician_global", "patient_global", "mmt", "haq",
                                                           "extramuscular")},
                                enzyme=(raw.get("enzymes", {}).get(enzyme) or (None,))[0] if enzyme else None)
                        for raw in (base_raw, follow_raw))
        result, doi = compute_imacs_tis(base, follow), compute_imacs_doi(base, follow)
        tis.append(result.value); cats.append(compute_imacs_tis_category(result.value))
        dois.append(None if doi.value is None else ("Y" if doi.value else "N")); reasons.append(result.reason)
    out["IMACS_TIS"], out["IMACS_CATEGORY"], out["IMACS_DOI"], out["IMACS_REASON"] = tis, cats, dois, reasons
    return out


@dataclass(frozen=True, slots=True)
class PlotAxes:
    """The axes every subject's plot shares: each scheduled visit on x, 0 to the largest score on y."""

    column: str
    ticks: tuple[float, ...]
    labels: tuple[str, ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]


SubjectSeries = tuple[str, tuple[float, ...], tuple[float, ...]]   # (USUBJID, VISITNUM values, scores)
PLOT_BATCHES = 8    # subjects' plots are drawn in this many batches (in parallel when ``map`` is a pool's)


def write_outcomes(frame: pd.DataFrame, folder: Path, *, score_column: str | None = None, mapper=map) -> list[Path]:
    """Write ``outcomes.csv`` and ``<USUBJID>.png`` (the course of the CDASI/CLASI activity score per subject).

    PNGs are deterministic: Agg canvas, fixed size/dpi and margins, no Software/date metadata, and axes fixed
    for the whole table (:class:`PlotAxes`), so a subject's PNG does not depend on which process draws it or
    what it drew before. ``mapper`` runs :func:`draw_plots` over batches of subjects (an engine's ordered map
    draws them in parallel; the files are the same bytes).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "outcomes.csv"]
    frame.to_csv(written[0], index=False, lineterminator="\n")
    column = score_column or next((c for c in ("CDASI_A", "CLASI_A") if c in frame.columns), None)
    if column is None or frame[column].dropna().empty:
        return written
    axes = plot_axes(frame, column)
    series = [(str(usubjid), tuple(rows["VISITNUM"]), tuple(rows[column]))
              for usubjid, rows in ((u, r.dropna(subset=[column]).sort_values("VISITNUM"))
                                    for u, r in frame.groupby("USUBJID", sort=True))]
    size = max(1, -(-len(series) // PLOT_BATCHES))
    batches = [series[start:start + size] for start in range(0, len(series), size)]
    for paths in mapper(partial(draw_plots, axes, folder), batches):
        written.extend(paths)
    return written


def plot_axes(frame: pd.DataFrame, column: str) -> PlotAxes:
    visits = frame.dropna(subset=["VISITNUM"]).drop_duplicates("VISITNUM").sort_values("VISITNUM")
    scheduled = visits[visits["VISITNUM"] == visits["VISITNUM"].round()]
    return PlotAxes(column, tuple(float(v) for v in scheduled["VISITNUM"]), tuple(str(v) for v in scheduled["VISIT"]),
                    (float(visits["VISITNUM"].min()) - 0.5, float(visits["VISITNUM"].max()) + 0.5),
                    (0.0, float(frame[column].max()) * 1.1 + 1))


def draw_plots(axes: PlotAxes, folder: Path, series: list[SubjectSeries]) -> list[Path]:
    """Draw ``<USUBJID>.png`` for each subject of a batch on one reused figure (only the line and title
    change per subject, which keeps a plot to a few milliseconds)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.3)
    ax = fig.add_subplot()
    ax.set_xticks(list(axes.ticks), list(axes.labels), rotation=45, ha="right", fontsize=7)
    ax.set_xlim(*axes.xlim)
    ax.set_ylim(*axes.ylim)
    ax.set_ylabel(axes.column.replace("_A", " activity"))
    (line,) = ax.plot([], [], marker="o", color="tab:blue")
    title = ax.set_title("")
    written = []
    for usubjid, visitnums, scores in series:
        line.set_data(list(visitnums), list(scores))
        title.set_text(usubjid)
        path = folder / f"{usubjid}.png"
        fig.savefig(path, format="png", metadata={"Software": None})
        written.append(path)
    return written
