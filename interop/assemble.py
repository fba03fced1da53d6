"""Study-level assembly: gathered per-subject rows -> derived, shaped SDTM datasets (+ SUPP--, trial design).

The per-domain settings (which date drives VISIT, EPOCH, --DY; the natural order behind --SEQ; baseline flags)
live once in ``mappings/domains.yaml``; the derivations themselves are the generic ``cdisc.derive`` functions.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from cdisc import derive
from cdisc.issues import Issue, Location, issue
from cdisc.shape import Qualifier, build_supp, shape_domain, split_long_text, MAX_TEXT
from cdisc.standards import ControlledTerminology, Sdtmig
from mappings.study import StudyDefinition
from mappings import trial_design
from mappings.codes import MAP_CODING_BY_PRECEDENT, MAP_SAME_DAY_VISITS

MEDDRA_VARIABLES = ("AEDECOD", "AEPTCD", "AELLT", "AELLTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD",
                    "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD")

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"


@dataclass(slots=True)
class Dataset:
    name: str                      # "LB", "SUPPLB", "TS"
    frame: pd.DataFrame            # shaped, SDTMIG order
    provenance: pd.DataFrame       # USUBJID, --SEQ and hidden _src/_rule columns (empty for trial design)


@dataclass(slots=True)
class Assembled:
    datasets: dict[str, Dataset] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    qualifiers: dict[str, Qualifier] = field(default_factory=dict)


@cache
def load_domain_settings() -> dict:
    with (MAPPINGS_DIR / "domains.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def load_qualifiers() -> dict[str, dict[str, Qualifier]]:
    """Supplemental qualifier labels per domain from ``mappings/supp_qualifiers.csv``."""
    table: dict[str, dict[str, Qualifier]] = {}
    with (MAPPINGS_DIR / "supp_qualifiers.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            table.setdefault(row["domain"], {})[row["QNAM"]] = Qualifier(
                row["QNAM"], row["QLABEL"], row.get("QORIG") or "Collected", row.get("QEVAL") or None)
    return table


def visit_table(study: StudyDefinition) -> pd.DataFrame:
    """The study's scheduled visits with windows and target days (one place: the study definition)."""
    return pd.DataFrame({"visitnum": [v.visitnum for v in study.visits], "visit": [v.visit for v in study.visits],
                         "window_lo": [v.window[0] for v in study.visits],
                         "window_hi": [v.window[1] for v in study.visits], "visitdy": [v.day for v in study.visits]})


def collapse_same_day_visits(sv: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One SV record per subject and visit: encounters that fall on one visit (the same day) are one visit
    (earliest start, latest end, every source kept).

    >>> sv = pd.DataFrame({"USUBJID": ["S1", "S1"], "VISITNUM": [4.0, 4.0], "SVSTDTC": ["2024-11-15T08:30", "2024-11-15T09:00"],
    ...                    "SVENDTC": ["2024-11-15T11:45", "2024-11-15T10:00"], "_src": [("Encounter/a",), ("Encounter/b",)]})
    >>> out, merged = collapse_same_day_visits(sv)
    >>> out[["SVSTDTC", "SVENDTC"]].values.tolist(), out["_src"].tolist(), merged
    ([['2024-11-15T08:30', '2024-11-15T11:45']], [('Encounter/a', 'Encounter/b')], 1)
    """
    if "VISITNUM" not in sv.columns:
        return sv, 0
    keys = ["USUBJID", "VISITNUM"]
    duplicated = sv.duplicated(keys, keep=False) & sv["VISITNUM"].notna()
    if not duplicated.any():
        return sv, 0
    merged = []
    for _, rows in sv[duplicated].groupby(keys, sort=False):
        first = rows.sort_values("SVSTDTC", kind="mergesort").iloc[0].copy()
        if "SVENDTC" in rows.columns:
            ends = rows["SVENDTC"].dropna()
            first["SVENDTC"] = ends.max() if len(ends) else None
        if "_src" in rows.columns:
            first["_src"] = tuple(dict.fromkeys(k for src in rows["_src"] for k in (src or ())))
        merged.append(first)
    out = pd.concat([sv[~duplicated], pd.DataFrame(merged)], ignore_index=True)
    return out, int(duplicated.sum()) - len(merged)


def collect_visit_dates(frames: dict[str, pd.DataFrame], settings: dict) -> pd.DataFrame:
    """Every date that takes part in visit derivation (USUBJID, DTC, VISIT_SOURCE: True for SV's own dates), so
    one date gets one visit in every domain and each scheduled visit is taken by one SV record."""
    parts = []
    for domain, conf in settings.items():
        dtc = (conf or {}).get("visit")
        if dtc and domain in frames and dtc in frames[domain].columns:
            parts.append(pd.DataFrame({"USUBJID": frames[domain]["USUBJID"], "DTC": frames[domain][dtc],
                                       "VISIT_SOURCE": domain == "SV"}))
    if not parts:
        return pd.DataFrame({"USUBJID": [], "DTC": [], "VISIT_SOURCE": []})
    return pd.concat(parts, ignore_index=True)


def visit_reference(dm: pd.DataFrame, study: StudyDefinition, first_visits: pd.Series | None = None) -> pd.DataFrame:
    """DM with RFSTDTC for visit windows: subjects never dosed (screen failures) get a surrogate so that their
    consent date (without one: their first visit, ``first_visits`` by USUBJID) falls on the first scheduled
    visit's target day (their records are screening-visit records).

    >>> from mappings.study import load_study
    >>> dm = pd.DataFrame({"USUBJID": ["A", "B"], "RFSTDTC": ["2023-01-20", None], "RFICDTC": ["2023-01-02", "2023-03-01"]})
    >>> visit_reference(dm, load_study("len-cdm"))["RFSTDTC"].tolist()
    ['2023-01-20', '2023-03-15']
    """
    first_day = study.visits[0].day
    out = dm.copy()
    if "RFICDTC" not in out.columns:
        return out
    consent = derive.compute_dates(out["RFICDTC"])
    if first_visits is not None:
        consent = consent.fillna(derive.compute_dates(out["USUBJID"].map(first_visits)))
    surrogate = (consent - pd.to_timedelta(first_day, unit="D")).dt.strftime("%Y-%m-%d")
    missing = out["RFSTDTC"].isna() if "RFSTDTC" in out.columns else pd.Series(True, index=out.index)
    out["RFSTDTC"] = out.get("RFSTDTC", pd.Series(None, index=out.index)).where(~missing, surrogate.where(consent.notna(), None))
    return out


def derive_coding_by_precedent(ae: pd.DataFrame, *, variables: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """Fill the dictionary variables of uncoded AEs from coded AEs of the study with the same verbatim term
    (case-insensitive): a sponsor's usual "previously coded terms" step. Returns the frame and how many rows were filled.

    >>> ae = pd.DataFrame({"AETERM": ["Rash", "rash", "Fever"], "AEDECOD": ["Rash", None, None]})
    >>> coded, filled = derive_coding_by_precedent(ae, variables=("AEDECOD",))
    >>> coded["AEDECOD"].fillna("-").tolist(), filled
    (['Rash', 'Rash', '-'], 1)
    """
    present = [v for v in variables if v in ae.columns]
    if "AETERM" not in ae.columns or "AEDECOD" not in present:
        return ae, 0
    key = ae["AETERM"].astype("string").str.strip().str.casefold()
    coded = ae[ae["AEDECOD"].notna()].assign(_key=key).drop_duplicates("_key").set_index("_key")[present]
    todo = ae["AEDECOD"].isna() & key.isin(coded.index)
    if not todo.any():      # nothing to fill (pandas refuses even an empty assignment into an int64 column)
        return ae, 0
    out = ae.copy()
    for variable in present:
        out.loc[todo, variable] = key[todo].map(coded[variable]).to_numpy()
    if "_rule" in out.columns:
        out.loc[todo, "_rule"] = out.loc[todo, "_rule"].astype("string") + "+coding-by-precedent"
    return out, int(todo.sum())


def derive_sv_planned(sv: pd.DataFrame, *, study: StudyDefinition) -> pd.DataFrame:
    """SVPRESP 'Y' on scheduled visits (VISITNUM in TV) and SVOCCUR 'Y' (they took place); both null on
    unscheduled visits (SDTMIG 3.4 SV assumptions; CORE-000038: SVOCCUR only with SVPRESP 'Y').

    >>> from mappings.study import load_study
    >>> derive_sv_planned(pd.DataFrame({"VISITNUM": [1.0, 1.01]}), study=load_study("len-cdm"))["SVPRESP"].tolist()
    ['Y', None]
    """
    planned = {v.visitnum for v in study.visits}
    out = sv.copy()
    out["SVPRESP"] = pd.Series(["Y" if n in planned else None for n in out["VISITNUM"]], index=out.index, dtype="object")
    out["SVOCCUR"] = out["SVPRESP"]
    return out


def kept_study_days(frame: pd.DataFrame, conf: dict) -> frozenset[str]:
    """--DY variables to keep even when all null: their --DTC is populated (CORE expects the pair)."""
    return frozenset(dy for dtc, dy in conf.get("dy", ()) if dtc in frame.columns and frame[dtc].notna().any())


def derive_domain(frame: pd.DataFrame, domain: str, conf: dict, *, study: StudyDefinition, dm: pd.DataFrame,
                  se: pd.DataFrame | None, visits: pd.DataFrame) -> pd.DataFrame:
    """Apply the study-wide derivations named in ``conf`` to one domain frame."""
    if conf.get("visit") and conf["visit"] in frame.columns:
        frame = derive.derive_visit_from_assignments(frame, visits, dtc=conf["visit"])
    if conf.get("epoch") and se is not None and conf["epoch"] in frame.columns:
        frame = derive.derive_epoch(frame, se, dtc=conf["epoch"])
    for dtc, dy in conf.get("dy", ()):
        if dtc in frame.columns:
            frame = derive.derive_dy(frame, dm, dtc=dtc, dy=dy)
    baseline = conf.get("baseline")
    if baseline and baseline["testcd"] in frame.columns:
        frame = derive.derive_lobxfl(frame, dm, dtc=conf["visit"], testcd=baseline["testcd"],
                                     result=baseline["result"], flag=baseline["flag"],
                                     by=[c for c in baseline.get("by", ()) if c in frame.columns])
    if conf.get("seq_order") is not None:
        frame = derive.derive_seq(frame, domain=domain, order_by=[c for c in conf["seq_order"] if c in frame.columns])
    return frame


def _split_long_values(frame: pd.DataFrame, spec) -> tuple[pd.DataFrame, list[Qualifier], list[Issue]]:
    qualifiers, issues = [], []
    for column in list(frame.columns):
        var = spec.variable(column) if isinstance(column, str) and not column.startswith("_") else None
        if var is None or var.is_numeric:
            continue
        lengths = frame[column].map(lambda v: len(v) if isinstance(v, str) else 0)
        if len(lengths) and lengths.max() > MAX_TEXT:
            frame, used, found = split_long_text(frame, spec, variable=column)
            qualifiers += used
            issues += found
    return frame, qualifiers, issues


def compute_ts_from_data(dm: pd.DataFrame) -> dict:
    """TS values only the data can give: ACTSUB (subjects with a planned arm) and SSTDTC (first informed consent).

    >>> compute_ts_from_data(pd.DataFrame({"ARMCD": ["A", None, "B"], "RFICDTC": ["2024-02-01T09:00", "2024-01-05", None]}))
    {'ACTSUB': 2, 'SSTDTC': '2024-01-05'}
    """
    out: dict = {}
    if "ARMCD" in dm.columns:
        out["ACTSUB"] = int(dm["ARMCD"].notna().sum())
    consents = derive.compute_dates(dm["RFICDTC"]).dropna() if "RFICDTC" in dm.columns else pd.Series([], dtype="datetime64[ns]")
    if len(consents):
        out["SSTDTC"] = consents.min().strftime("%Y-%m-%d")
    return out


def assemble(rows: dict[str, list[dict]], *, study: StudyDefinition, sdtmig: Sdtmig,
             ct: ControlledTerminology, ti_rows: list[dict] | None = None) -> Assembled:
    """Build every dataset of the package from the gathered rows."""
    settings = load_domain_settings()
    qualifier_table = load_qualifiers()
    result = Assembled()
    frames = {d: pd.DataFrame(r) for d, r in rows.items() if r}
    frames = {d: f.assign(STUDYID=study.studyid) for d, f in frames.items()}
    dm = frames.get("DM", pd.DataFrame({"USUBJID": [], "RFSTDTC": [], "RFXSTDTC": []}))
    first_visits = (frames["SV"].groupby("USUBJID")["SVSTDTC"].min()
                    if "SV" in frames and "SVSTDTC" in frames["SV"].columns else None)
    visit_dm = visit_reference(dm, study, first_visits)
    se = frames.get("SE")
    if "AE" in frames:
        frames["AE"], filled = derive_coding_by_precedent(frames["AE"], variables=MEDDRA_VARIABLES)
        if filled:
            result.issues.append(issue(MAP_CODING_BY_PRECEDENT,
                                       f"{filled} uncoded adverse events coded from coded events with the same verbatim term",
                                       Location(dataset="AE", variable="AEDECOD")))
    visits = derive.compute_visit_assignments(collect_visit_dates(frames, settings), visits=visit_table(study),
                                              dm=visit_dm)
    for domain, conf in settings.items():
        if domain not in frames:
            continue
        frame = derive_domain(frames[domain], domain, conf or {}, study=study, dm=dm, se=se,
                              visits=visits)
        if domain == "SE":
            se = frame
        if domain == "SV":
            frame, merged = collapse_same_day_visits(frame)
            if merged:
                result.issues.append(issue(MAP_SAME_DAY_VISITS, f"{merged} encounter(s) merged into the SV record "
                                                                f"of another encounter of the same visit",
                                           Location(dataset="SV", variable="VISITNUM")))
            frame = derive_sv_planned(frame, study=study)
        spec = sdtmig.domain(domain)
        frame, split_qualifiers, issues = _split_long_values(frame, spec)
        result.issues += issues
        qualifiers = {**qualifier_table.get(domain, {}), **{q.qnam: q for q in split_qualifiers}}
        supp, supp_issues = build_supp(frame, domain=domain, qualifiers=qualifiers)
        result.issues += supp_issues
        result.qualifiers.update({f"{domain}.{k}": v for k, v in qualifiers.items()})
        shaped = shape_domain(frame, spec, studyid=study.studyid, keep=kept_study_days(frame, conf or {}))
        result.issues += shaped.issues
        result.datasets[domain] = Dataset(domain, shaped.frame, shaped.provenance)
        if len(supp):
            supp_shaped = shape_domain(supp, sdtmig.domain(f"SUPP{domain}"), studyid=study.studyid)
            result.issues += supp_shaped.issues
            result.datasets[f"SUPP{domain}"] = Dataset(f"SUPP{domain}", supp_shaped.frame, pd.DataFrame())
    design = {
        "TA": trial_design.build_ta(study),
        "TE": trial_design.build_te(study),
        "TV": trial_design.build_tv(study),
        "TS": trial_design.build_ts(study, ct=ct, ct_version=ct.date, from_data=compute_ts_from_data(dm)),
        "TI": ti_rows or [],
    }
    for name, design_rows in design.items():
        if not design_rows:
            continue
        shaped = shape_domain(pd.DataFrame(design_rows), sdtmig.domain(name), studyid=study.studyid)
        result.issues += shaped.issues
        result.datasets[name] = Dataset(name, shaped.frame, pd.DataFrame())
    return result
