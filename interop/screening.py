"""Screen a population against one or both trials in one streaming pass, writing the site's reports as it goes.

Usage (``interop screen`` is a thin layer over this)::

    summary = run_screening([Path("export/")], studies=("len-cdm", "len-cle"), namer=pseudonym_namer(key),
                            out=Path("out/screening"))  # out/screening/<study>/screening.{json,csv,html}
    summary.studies["len-cdm"].counts()                  # {"eligible": ..., "ineligible": ..., "needs review": ...}

Patients are read and screened on an engine (:mod:`interop.engines`; local on every core by default, or
Spark) with :func:`mappings.eligibility.screen_subject` for every study; the worker that screened a patient
also renders their report parts (:class:`ScreenAndRender`). Each patient's parts go straight to a
:class:`StudyReportWriter` per study, which writes the CSV rows at once, parks the patient's JSON object and
HTML block in temporary files, and keeps only counters (:class:`ScreeningTally`): memory stays flat however
many patients are screened (the issues the results raise are kept). The reports are written in a hidden folder beside ``out`` and moved into ``out``
only when the whole run succeeded (:func:`staged_output`).

Callers that hold every patient already (the package's screening report, tests) build a
:class:`StudyScreening` and use :func:`write_reports`; both paths share the pieces below (one patient's JSON
object, CSV rows and HTML block, the counters, the page), so they write the same bytes.

Reports name patients by ``namer``: a keyed pseudonym by default, the hospital identifier (MRN) only when
asked; never names or addresses. The site clock is the first study's time zone (both trials' inputs come
from one hospital export).
"""

from __future__ import annotations

import csv
import html
import io
import os
import shutil
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from string import Template
from typing import Callable, Iterable, Iterator

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
REPORT_NAMES = ("screening.json", "screening.csv", "screening.html")   # per study, in the order returned
Namer = Callable[[SubjectRecord], str]
DEFAULT_NAMING = "Patients are named by pseudonym unless the report was asked for hospital identifiers."


# ---- counting: the status counts and the funnel, one patient at a time ------------------------------

@dataclass(slots=True)
class ScreeningTally:
    """Running counts of one study's screening: enough for the status counts and the funnel without keeping
    the patients (the only place these numbers are computed, streamed or not)."""

    study: str
    screened: int = 0
    statuses: Counter = field(default_factory=Counter)       # status value -> patients
    failing: Counter = field(default_factory=Counter)        # criterion id -> patients failing it
    first_failing: Counter = field(default_factory=Counter)  # criterion id -> patients whose first failure it is
    open: Counter = field(default_factory=Counter)           # criterion id -> patients it leaves open

    def add(self, result: ScreeningResult) -> None:
        """Count one patient's result."""
        self.add_counts(*result_counts(result))

    def add_counts(self, status: str, failing: tuple[str, ...], open_: tuple[str, ...]) -> None:
        """Count one patient from :func:`result_counts` (criterion ids in protocol order)."""
        self.screened += 1
        self.statuses[status] += 1
        if failing:
            self.first_failing[failing[0]] += 1
        self.failing.update(failing)
        self.open.update(open_)

    def counts(self) -> dict[str, int]:
        """Patients per status, every status present (zero when none)."""
        return {s.value: self.statuses.get(s.value, 0) for s in PatientStatus}

    def funnel(self) -> list[dict]:
        """Per criterion in protocol order: patients failing it, patients whose *first* failing criterion it
        is, patients still in after it, and patients left open by it."""
        remaining = self.screened
        rows = []
        for criterion in load_criteria_set(self.study).criteria:
            remaining -= self.first_failing[criterion.id]
            rows.append({"id": criterion.id, "category": criterion.category, "ietest": criterion.ietest,
                         "failing": self.failing[criterion.id], "first_failing": self.first_failing[criterion.id],
                         "remaining": remaining, "open": self.open[criterion.id]})
        return rows


def result_counts(result: ScreeningResult) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What the tally needs of one result: its status, the criteria it fails and those it leaves open."""
    return (result.status.value, tuple(r.criterion.id for r in result.results if r.fails),
            tuple(r.criterion.id for r in result.results if r.open))


def tally_results(study: str, results: Iterable[ScreeningResult]) -> ScreeningTally:
    """The :class:`ScreeningTally` of ``results``."""
    tally = ScreeningTally(study)
    for result in results:
        tally.add(result)
    return tally


@dataclass(slots=True)
class PatientScreening:
    label: str                       # pseudonym or hospital identifier, never a name
    result: ScreeningResult


@dataclass(slots=True)
class StudyScreening:
    """Every patient's result for one study, held in memory (for callers that have them all anyway)."""

    study: str
    patients: list[PatientScreening] = field(default_factory=list)

    def tally(self) -> ScreeningTally:
        return tally_results(self.study, (p.result for p in self.patients))

    def counts(self) -> dict[str, int]:
        return self.tally().counts()


@dataclass(slots=True)
class ScreeningReport:
    studies: dict[str, StudyScreening]
    as_of: date | None
    issues: list[Issue] = field(default_factory=list)
    naming: str = DEFAULT_NAMING       # how the page says patients are named

    @property
    def worst(self):
        return worst(self.issues)


@dataclass(slots=True)
class ScreeningSummary:
    """What a streamed run keeps: per study the counters, the report files written, and the issues.

    ``issues`` are the ingest issues, then each result's issues in patient order: they grow with the number
    of patients that raise any (most raise none).
    """

    studies: dict[str, ScreeningTally]
    files: list[Path]
    issues: list[Issue] = field(default_factory=list)

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


# ---- screening ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RenderedPatient:
    """One patient's part of one study's reports, rendered where the patient was screened (a worker), so the
    process writing the reports only appends text and counts."""

    counts: tuple[str, tuple[str, ...], tuple[str, ...]]   # result_counts
    csv_text: str
    json_item: bytes              # the patient's object, indented as an item of the "patients" list
    html: str
    issues: tuple[Issue, ...]


def render_patient(label: str, result: ScreeningResult) -> RenderedPatient:
    """The report parts of one patient for one study (pure)."""
    rows = io.StringIO(newline="")
    csv.writer(rows).writerows(patient_csv_rows(label, result))
    return RenderedPatient(result_counts(result), rows.getvalue(),
                           json_list_item(orjson.dumps(patient_to_dict(label, result), option=orjson.OPT_INDENT_2)),
                           patient_html(label, result), tuple(result.issues))


@dataclass(frozen=True, slots=True)
class ScreenAndRender:
    """``record -> [RenderedPatient per study]``: :class:`~interop.engines.tasks.ScreenPatient`, then
    :func:`render_patient` (picklable: runs in the engines' workers)."""

    screen: ScreenPatient

    def __call__(self, record: SubjectRecord) -> list[RenderedPatient]:
        label, results = self.screen(record)
        return [render_patient(label, result) for result in results]


def each_result(screened: Iterable[tuple[str, list[ScreeningResult]]], *, studies: tuple[str, ...],
                on_patient: Callable[[], None] | None = None) -> Iterator[tuple[str, str, ScreeningResult]]:
    """``(study, label, result)`` for every patient and study of ``(label, [result per study])`` pairs, in the
    order given; ``on_patient`` is called once each patient's results have all been consumed."""
    for label, results in screened:
        for study, result in zip(studies, results, strict=True):
            yield study, label, result
        if on_patient is not None:
            on_patient()


def screen_records(records: Iterable[SubjectRecord], *, studies: tuple[str, ...], namer: Namer,
                   as_of: date | None = None, on_patient: Callable[[], None] | None = None) -> ScreeningReport:
    """Screen each record for each study in this process (pure apart from the ``on_patient`` progress callback)."""
    task = ScreenPatient(studies, as_of, namer)
    return collect_screening(map(task, records), studies=studies, as_of=as_of, on_patient=on_patient)


def collect_screening(screened: Iterable[tuple[str, list[ScreeningResult]]], *, studies: tuple[str, ...],
                      as_of: date | None, on_patient: Callable[[], None] | None = None) -> ScreeningReport:
    """The report of ``(label, [result per study])`` pairs, in the order given (every patient kept)."""
    report = ScreeningReport({s: StudyScreening(s) for s in studies}, as_of)
    for study, label, result in each_result(screened, studies=studies, on_patient=on_patient):
        report.studies[study].patients.append(PatientScreening(label, result))
        report.issues.extend(result.issues)
    return report


def run_screening(paths: Iterable[Path], *, studies: tuple[str, ...], namer: Namer, out: Path,
                  as_of: date | None = None, on_patient: Callable[[], None] | None = None,
                  workers: int | None = None, engine: str = "local") -> ScreeningSummary:
    """Read the inputs (bundle, folder, Bulk NDJSON), screen every patient for every study in one pass, and
    write ``<out>/<study>/screening.{json,csv,html}`` while screening (see :class:`StudyReportWriter`).

    Runs on ``engine`` (:mod:`interop.engines`): ``local`` with ``workers`` processes (default every core), or
    ``spark``; the same reports either way. ``namer`` must be picklable (:class:`PseudonymNamer`,
    :func:`identifier_namer`). The reports appear in ``out`` only if the whole run succeeds
    (:func:`staged_output`).
    """
    from interop.engines import open_engine

    engine = open_engine(engine, workers=workers) if engine == "local" else open_engine(engine)
    timezone = load_study(studies[0]).timezone
    result_issues: list[Issue] = []
    with engine.open(list(paths), timezone=timezone) as ingest, staged_output(out) as work, ExitStack() as writing:
        writers = {s: writing.enter_context(StudyReportWriter(s, work / s, as_of=as_of)) for s in studies}
        rendered = engine.map_records(ScreenAndRender(ScreenPatient(studies, as_of, namer)), ingest)
        for parts in rendered:
            for study, part in zip(studies, parts, strict=True):
                writers[study].add_rendered(part)
                result_issues.extend(part.issues)
            if on_patient is not None:
                on_patient()
        for writer in writers.values():
            writer.finish()
        issues = [*ingest.issues, *result_issues]
    files = [out / study / name for study in studies for name in REPORT_NAMES]
    return ScreeningSummary({s: w.tally for s, w in writers.items()}, files, issues)


@contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """Yield a hidden work folder beside ``out``; when the block succeeds every file written in it is moved to
    the same place under ``out`` (other files already in ``out`` are kept), when it fails nothing reaches
    ``out``. The folder is named like a package's partial folder, so a killed run's folder is removed by the
    next run (:func:`interop.package.remove_stale_partials`)."""
    from interop.package import PARTIAL_MARK, remove_stale_partials

    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out)
    work = out.parent / f".{out.name}{PARTIAL_MARK}{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        yield work
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            target = out / path.relative_to(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- one patient's parts of the reports (shared by the streamed and the in-memory writers) -----------

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


def patient_to_dict(label: str, result: ScreeningResult) -> dict:
    """One patient's object in the JSON report's ``patients`` list."""
    return {"patient": label, "status": result.status.value,
            "screening_date": result.screening_date,
            "screening_date_source": result.screening_date_source,
            "reasons": list(result.reasons),
            "criteria": _masked([r.to_dict() for r in result.results], result.patient_key),
            "issues": _masked([i.to_dict() for i in result.issues], result.patient_key)}


def patient_csv_rows(label: str, result: ScreeningResult) -> list[list]:
    """One patient's CSV rows: one per criterion, in :data:`CSV_COLUMNS` order."""
    return [[label, result.status.value, result.screening_date or "", result.screening_date_source,
             r.criterion.id, r.criterion.category, r.verdict.value, "Y" if r.fails else "N",
             _evidence_text(r, result.patient_key), "; ".join(r.outcome.missing), "; ".join(r.outcome.notes)]
            for r in result.results]


def patient_html(label: str, result: ScreeningResult) -> str:
    """One patient's ``<details>`` block on the page: status, reasons, and every criterion with its evidence."""
    esc = html.escape
    rows = "".join(f'<tr class="v-{esc(r.verdict.name.lower())}"><td>{esc(r.criterion.id)}</td>'
                   f'<td>{esc(r.verdict.value)}</td><td>{esc(_evidence_text(r, result.patient_key))}</td>'
                   f'<td>{esc("; ".join(r.outcome.missing + r.outcome.notes))}</td></tr>'
                   for r in result.results)
    return (f'<details class="patient s-{esc(result.status.name.lower())}"><summary>'
            f'{esc(label)}: <b>{esc(result.status.value)}</b> '
            f'{esc(", ".join(result.reasons))} (screening date {esc(result.screening_date or "none")},'
            f' {esc(result.screening_date_source)})</summary><table><tr><th>criterion</th>'
            f'<th>verdict</th><th>evidence</th><th>missing / notes</th></tr>{rows}</table></details>')


# ---- whole reports: everything but the patients, then the patients --------------------------------

HTML_PATIENT_SEPARATOR = "\n"
JSON_INDENT = b"  "                         # orjson.OPT_INDENT_2
JSON_EMPTY_PATIENTS_END = b'"patients": []\n}'


def compute_funnel(screening: StudyScreening) -> list[dict]:
    """The funnel of a held screening (:meth:`ScreeningTally.funnel`). The first row's ``remaining`` counts
    everyone screened minus those falling first at it."""
    return screening.tally().funnel()


def report_header(study: str, as_of: date | None, tally: ScreeningTally) -> dict:
    """The JSON report of one study without its ``patients`` (which come last; keys are the CLI's API)."""
    criteria = load_criteria_set(study)
    return {
        "study": study, "studyid": load_study(study).studyid,
        "criteria_version": criteria.version, "as_of": as_of.isoformat() if as_of else None,
        "counts": tally.counts(), "funnel": tally.funnel(),
        "criteria": [{"id": c.id, "category": c.category, "ietest": c.ietest, "text": c.text}
                     for c in criteria.criteria],
    }


def screening_to_dict(screening: StudyScreening, as_of: date | None) -> dict:
    """The JSON report of one study (keys are part of the CLI's API)."""
    return {**report_header(screening.study, as_of, screening.tally()),
            "patients": [patient_to_dict(p.label, p.result) for p in screening.patients]}


def json_list_item(item: bytes, depth: int = 1) -> bytes:
    r"""An ``OPT_INDENT_2`` document indented as an item of a list ``depth`` levels deep, as orjson would write
    it inside the enclosing document (JSON strings never hold a raw newline, so every line is shifted).

    >>> json_list_item(orjson.dumps({"a": [1]}, option=orjson.OPT_INDENT_2))
    b'    {\n      "a": [\n        1\n      ]\n    }'
    """
    prefix = JSON_INDENT * (depth + 1)
    return b"\n".join(prefix + line for line in item.split(b"\n"))


def json_report_ends(header: dict) -> tuple[bytes, bytes]:
    r"""The bytes of the JSON report before and after its ``patients`` list: between them goes ``[]`` when
    there are no patients, else ``[``, the items (:func:`json_list_item`) joined by ``,``, and ``]``, each on
    its own line as orjson writes them.

    >>> json_report_ends({"study": "x"})
    (b'{\n  "study": "x",\n  "patients": ', b'\n}')
    """
    document = orjson.dumps({**header, "patients": []}, option=orjson.OPT_INDENT_2)
    if not document.endswith(JSON_EMPTY_PATIENTS_END):
        raise ValueError("the JSON report's last key must be 'patients'")
    return document[:-len(b"[]\n}")], b"\n}"


def write_json(screening: StudyScreening, as_of: date | None, path: Path) -> Path:
    path.write_bytes(orjson.dumps(screening_to_dict(screening, as_of), option=orjson.OPT_INDENT_2))
    return path


def write_csv(screening: StudyScreening, path: Path) -> Path:
    """One row per patient and criterion."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for p in screening.patients:
            writer.writerows(patient_csv_rows(p.label, p.result))
    return path


def render_page(study_key: str, as_of: date | None, naming: str, tally: ScreeningTally, patients: str) -> str:
    """The coordinator's page with ``patients`` (the joined :func:`patient_html` blocks) in its place."""
    esc = html.escape
    total = max(tally.screened, 1)
    funnel_rows = [f'<tr class="funnel-row" data-criterion="{esc(row["id"])}"><td>{esc(row["id"])}</td>'
                   f'<td>{esc(row["ietest"])}</td><td class="n">{row["failing"]}</td>'
                   f'<td class="n">{row["first_failing"]}</td><td class="n">{row["open"]}</td>'
                   f'<td class="n">{row["remaining"]}</td><td><div class="bar" style="width:'
                   f'{100 * row["remaining"] / total:.1f}%"></div></td></tr>'
                   for row in tally.funnel()]
    counts = tally.counts()
    study = load_study(study_key)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=esc(f"{study.studyid} eligibility screening"), study=esc(study.title),
        as_of=esc(as_of.isoformat() if as_of else "per patient (consent or screening visit)"),
        screened=tally.screened, eligible=counts["eligible"], ineligible=counts["ineligible"],
        review=counts["needs review"], funnel_rows="\n".join(funnel_rows), patients=patients,
        naming=esc(naming))


def html_page_ends(study_key: str, as_of: date | None, naming: str, tally: ScreeningTally) -> tuple[str, str]:
    """The page before and after its patient blocks."""
    mark = "\x00patients\x00"                 # html.escape leaves NUL, but no escaped value holds one
    parts = render_page(study_key, as_of, naming, tally, mark).split(mark)
    if len(parts) != 2:
        raise ValueError("the screening page must hold its patients once")
    return parts[0], parts[1]


def render_html(screening: StudyScreening, as_of: date | None, naming: str = DEFAULT_NAMING) -> str:
    """The coordinator's page: counts, the funnel (bars), and per patient the criteria with evidence."""
    return render_page(screening.study, as_of, naming, screening.tally(),
                       HTML_PATIENT_SEPARATOR.join(patient_html(p.label, p.result) for p in screening.patients))


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


class StudyReportWriter:
    """Write one study's ``screening.{json,csv,html}`` into ``folder`` one patient at a time.

    :meth:`add` writes the patient's CSV rows at once and appends their JSON object and HTML block to
    temporary files beside the reports; only the counters (:class:`ScreeningTally`) stay in memory.
    :meth:`finish` writes the JSON and the page (header, the parked patient parts, the rest) and removes the
    temporary files. The bytes equal :func:`write_reports`' for the same patients. Use as a context manager:
    leaving it closes the files (a writer left without :meth:`finish` leaves partial files: write into a
    folder you can throw away, as :func:`run_screening` does).
    """

    def __init__(self, study: str, folder: Path, *, as_of: date | None, naming: str = DEFAULT_NAMING):
        self.study, self.folder, self.as_of, self.naming = study, folder, as_of, naming
        self.tally = ScreeningTally(study)
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = [folder / name for name in REPORT_NAMES]
        self._json_parts_path = folder / "screening.json.patients.tmp"
        self._html_parts_path = folder / "screening.html.patients.tmp"
        self._csv_file = self.paths[1].open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(CSV_COLUMNS)
        self._json_parts = self._json_parts_path.open("wb")
        self._html_parts = self._html_parts_path.open("w", encoding="utf-8", newline="")

    def __enter__(self) -> "StudyReportWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, label: str, result: ScreeningResult) -> None:
        """Write one patient's parts and count them."""
        self.add_rendered(render_patient(label, result))

    def add_rendered(self, part: RenderedPatient) -> None:
        """Write one patient's rendered parts (:func:`render_patient`) and count them."""
        first = self.tally.screened == 0
        self.tally.add_counts(*part.counts)
        self._csv_file.write(part.csv_text)
        self._json_parts.write((b"" if first else b",\n") + part.json_item)
        self._html_parts.write(("" if first else HTML_PATIENT_SEPARATOR) + part.html)

    def finish(self) -> list[Path]:
        """Write the JSON and HTML reports around the parked patient parts; returns the three report paths."""
        self.close()
        before, after = json_report_ends(report_header(self.study, self.as_of, self.tally))
        with self.paths[0].open("wb") as handle, self._json_parts_path.open("rb") as parts:
            handle.write(before)
            if self.tally.screened:
                handle.write(b"[\n")
                shutil.copyfileobj(parts, handle)
                handle.write(b"\n" + JSON_INDENT + b"]")
            else:
                handle.write(b"[]")
            handle.write(after)
        before, after = html_page_ends(self.study, self.as_of, self.naming, self.tally)
        with self.paths[2].open("w", encoding="utf-8") as handle, \
                self._html_parts_path.open(encoding="utf-8", newline="") as parts:
            handle.write(before)
            shutil.copyfileobj(parts, handle)
            handle.write(after)
        self._json_parts_path.unlink()
        self._html_parts_path.unlink()
        return self.paths

    def close(self) -> None:
        """Close the files being written (idempotent)."""
        for handle in (self._csv_file, self._json_parts, self._html_parts):
            handle.close()
