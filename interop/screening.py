"""Screen a population against one or both trials in one streaming pass, and write the site's reports.

Usage (``interop screen`` is a thin layer over this)::

    report = run_screening([Path("export/")], studies=("len-cdm", "len-cle"), namer=pseudonym_namer(key))
    write_reports(report, Path("out/screening"))     # out/screening/<study>/screening.{json,csv,html}

Patients are read and screened on the local engine (:mod:`interop.engines`; every core by default) with
:func:`mappings.eligibility.screen_subject` for every study. Reports name patients by ``namer``: a keyed
pseudonym by default, the hospital identifier (MRN) only when asked; never names or addresses. Only the
per-patient results are kept (small), so memory grows with the number of patients, not the input size.
The site clock is the first study's time zone (both trials' inputs come from one hospital export).
"""

from __future__ import annotations

import csv
import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from string import Template
from typing import Callable, Iterable

import orjson

from cdisc.issues import Issue, worst
from interop.normalize.pseudonym import PseudonymKey, compute_pseudonym
from interop.engines.tasks import ScreenPatient
from interop.normalize.record import SubjectRecord
from mappings.eligibility import PatientStatus, ScreeningResult, load_criteria_set
from mappings.study import load_study

TEMPLATE = Path(__file__).resolve().parent / "templates" / "screening.html"
CSV_COLUMNS = ("patient", "status", "screening_date", "screening_date_source", "criterion", "category", "verdict",
               "fails", "evidence", "missing", "notes")
Namer = Callable[[SubjectRecord], str]
DEFAULT_NAMING = "Patients are named by pseudonym unless the report was asked for hospital identifiers."


@dataclass(slots=True)
class PatientScreening:
    label: str                       # pseudonym or hospital identifier, never a name
    result: ScreeningResult


@dataclass(slots=True)
class StudyScreening:
    study: str
    patients: list[PatientScreening] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = Counter(p.result.status.value for p in self.patients)
        return {s.value: found.get(s.value, 0) for s in PatientStatus}


@dataclass(slots=True)
class ScreeningReport:
    studies: dict[str, StudyScreening]
    as_of: date | None
    issues: list[Issue] = field(default_factory=list)
    naming: str = DEFAULT_NAMING       # how the page says patients are named

    @property
    def worst(self):
        return worst(self.issues)


@dataclass(frozen=True, slots=True)
class PseudonymNamer:
    """Name patients by the keyed pseudonym of their canonical key (the ingest engineer's scheme); picklable,
    so the engines' workers can name the patients they screen."""

    key: PseudonymKey

    def __call__(self, record: SubjectRecord) -> str:
        return compute_pseudonym(record.key, self.key)


def pseudonym_namer(key: PseudonymKey) -> Namer:
    """The :class:`PseudonymNamer` of ``key``."""
    return PseudonymNamer(key)


def identifier_namer(record: SubjectRecord) -> str:
    """The hospital identifier: ``Patient.identifier`` typed MR (docs/FHIR-INPUT.md, Patient), else the key."""
    for ident in record.patient.get("identifier") or []:
        types = {c.get("code") for c in ((ident.get("type") or {}).get("coding") or []) if isinstance(c, dict)}
        if "MR" in types and ident.get("value"):
            return str(ident["value"])
    return record.key


def screen_records(records: Iterable[SubjectRecord], *, studies: tuple[str, ...], namer: Namer,
                   as_of: date | None = None, on_patient: Callable[[], None] | None = None) -> ScreeningReport:
    """Screen each record for each study in this process (pure apart from the ``on_patient`` progress callback)."""
    task = ScreenPatient(studies, as_of, namer)
    return collect_screening(map(task, records), studies=studies, as_of=as_of, on_patient=on_patient)


def collect_screening(screened: Iterable[tuple[str, list[ScreeningResult]]], *, studies: tuple[str, ...],
                      as_of: date | None, on_patient: Callable[[], None] | None = None) -> ScreeningReport:
    """The report of ``(label, [result per study])`` pairs, in the order given."""
    report = ScreeningReport({s: StudyScreening(s) for s in studies}, as_of)
    for label, results in screened:
        for study, result in zip(studies, results, strict=True):
            report.studies[study].patients.append(PatientScreening(label, result))
            report.issues.extend(result.issues)
        if on_patient is not None:
            on_patient()
    return report


def run_screening(paths: Iterable[Path], *, studies: tuple[str, ...], namer: Namer, as_of: date | None = None,
                  on_patient: Callable[[], None] | None = None, workers: int | None = None) -> ScreeningReport:
    """Read the inputs (bundle, folder, Bulk NDJSON) and screen every patient for every study in one pass.

    Runs on the local engine (``workers`` processes, default every core; the same report for any number).
    ``namer`` must be picklable when ``workers`` > 1 (:class:`PseudonymNamer`, :func:`identifier_namer`).
    """
    from interop.engines import LocalEngine

    engine = LocalEngine(workers=workers)
    timezone = load_study(studies[0]).timezone
    with engine.open(list(paths), timezone=timezone) as ingest:
        screened = engine.map_records(ScreenPatient(studies, as_of, namer), ingest)
        report = collect_screening(screened, studies=studies, as_of=as_of, on_patient=on_patient)
        report.issues[:0] = ingest.issues
    return report


# ---- funnel and serialisation ---------------------------------------------------------------------

def compute_funnel(screening: StudyScreening) -> list[dict]:
    """Per criterion in protocol order: patients failing it, patients whose *first* failing criterion it is,
    patients still in after it, and patients left open by it. The first row is everyone screened."""
    criteria = load_criteria_set(screening.study).criteria
    remaining = len(screening.patients)
    rows = []
    for criterion in criteria:
        failing = [p for p in screening.patients if p.result.result(criterion.id).fails]
        first = [p for p in failing
                 if next(r.criterion.id for r in p.result.results if r.fails) == criterion.id]
        remaining -= len(first)
        rows.append({"id": criterion.id, "category": criterion.category, "ietest": criterion.ietest,
                     "failing": len(failing), "first_failing": len(first), "remaining": remaining,
                     "open": sum(1 for p in screening.patients if p.result.result(criterion.id).open)})
    return rows


def screening_to_dict(screening: StudyScreening, as_of: date | None) -> dict:
    """The JSON report of one study (keys are part of the CLI's API)."""
    criteria = load_criteria_set(screening.study)
    return {
        "study": screening.study, "studyid": load_study(screening.study).studyid,
        "criteria_version": criteria.version, "as_of": as_of.isoformat() if as_of else None,
        "counts": screening.counts(), "funnel": compute_funnel(screening),
        "criteria": [{"id": c.id, "category": c.category, "ietest": c.ietest, "text": c.text}
                     for c in criteria.criteria],
        "patients": [{"patient": p.label, "status": p.result.status.value,
                      "screening_date": p.result.screening_date,
                      "screening_date_source": p.result.screening_date_source,
                      "reasons": list(p.result.reasons),
                      "criteria": _masked([r.to_dict() for r in p.result.results], p.result.patient_key),
                      "issues": _masked([i.to_dict() for i in p.result.issues], p.result.patient_key)}
                     for p in screening.patients],
    }


PATIENT_MASK = "Patient"   # the patient's own resource key is an identifier: reports show only the label


def _masked(value, patient_key: str):
    """``value`` (str, list or dict, recursively) with the patient's resource key replaced by ``Patient``."""
    if isinstance(value, str):
        return value.replace(patient_key, PATIENT_MASK)
    if isinstance(value, list):
        return [_masked(v, patient_key) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, patient_key) for k, v in value.items()}
    return value


def _evidence_text(result, patient_key: str) -> str:
    return _masked("; ".join(f"{e.resource or '-'}: {e.fact}" + (f" ({e.date})" if e.date else "")
                             for e in result.outcome.evidence), patient_key)


def write_json(screening: StudyScreening, as_of: date | None, path: Path) -> Path:
    path.write_bytes(orjson.dumps(screening_to_dict(screening, as_of), option=orjson.OPT_INDENT_2))
    return path


def write_csv(screening: StudyScreening, path: Path) -> Path:
    """One row per patient and criterion."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for p in screening.patients:
            for r in p.result.results:
                writer.writerow([p.label, p.result.status.value, p.result.screening_date or "",
                                 p.result.screening_date_source, r.criterion.id, r.criterion.category,
                                 r.verdict.value, "Y" if r.fails else "N", _evidence_text(r, p.result.patient_key),
                                 "; ".join(r.outcome.missing), "; ".join(r.outcome.notes)])
    return path


def render_html(screening: StudyScreening, as_of: date | None, naming: str = DEFAULT_NAMING) -> str:
    """The coordinator's page: counts, the funnel (bars), and per patient the criteria with evidence."""
    esc = html.escape
    total = max(len(screening.patients), 1)
    funnel_rows = [f'<tr class="funnel-row" data-criterion="{esc(row["id"])}"><td>{esc(row["id"])}</td>'
                   f'<td>{esc(row["ietest"])}</td><td class="n">{row["failing"]}</td>'
                   f'<td class="n">{row["first_failing"]}</td><td class="n">{row["open"]}</td>'
                   f'<td class="n">{row["remaining"]}</td><td><div class="bar" style="width:'
                   f'{100 * row["remaining"] / total:.1f}%"></div></td></tr>'
                   for row in compute_funnel(screening)]
    patients = []
    for p in screening.patients:
        rows = "".join(f'<tr class="v-{esc(r.verdict.name.lower())}"><td>{esc(r.criterion.id)}</td>'
                       f'<td>{esc(r.verdict.value)}</td><td>{esc(_evidence_text(r, p.result.patient_key))}</td>'
                       f'<td>{esc("; ".join(r.outcome.missing + r.outcome.notes))}</td></tr>'
                       for r in p.result.results)
        patients.append(f'<details class="patient s-{esc(p.result.status.name.lower())}"><summary>'
                        f'{esc(p.label)}: <b>{esc(p.result.status.value)}</b> '
                        f'{esc(", ".join(p.result.reasons))} (screening date {esc(p.result.screening_date or "none")},'
                        f' {esc(p.result.screening_date_source)})</summary><table><tr><th>criterion</th>'
                        f'<th>verdict</th><th>evidence</th><th>missing / notes</th></tr>{rows}</table></details>')
    counts = screening.counts()
    study = load_study(screening.study)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=esc(f"{study.studyid} eligibility screening"), study=esc(study.title),
        as_of=esc(as_of.isoformat() if as_of else "per patient (consent or screening visit)"),
        screened=len(screening.patients), eligible=counts["eligible"], ineligible=counts["ineligible"],
        review=counts["needs review"], funnel_rows="\n".join(funnel_rows), patients="\n".join(patients),
        naming=esc(naming))


def write_html(screening: StudyScreening, as_of: date | None, path: Path, naming: str = DEFAULT_NAMING) -> Path:
    path.write_text(render_html(screening, as_of, naming), encoding="utf-8")
    return path


def write_reports(report: ScreeningReport, out: Path) -> list[Path]:
    """Write ``<out>/<study>/screening.{json,csv,html}`` for every study screened; returns the paths."""
    written = []
    for study, screening in report.studies.items():
        folder = out / study
        folder.mkdir(parents=True, exist_ok=True)
        written += [write_json(screening, report.as_of, folder / "screening.json"),
                    write_csv(screening, folder / "screening.csv"),
                    write_html(screening, report.as_of, folder / "screening.html", report.naming)]
    return written
