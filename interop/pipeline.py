"""``interop convert``: FHIR inputs -> a complete SDTM package, written atomically.

    ingest (stream, group per patient) -> run_subject (per patient, pure; a process pool)
    -> assemble (derive, shape, SUPP--, trial design) -> write (XPT, Dataset-JSON, define.xml, reports)
    -> [validate] -> manifest -> swap the folder into place

The package (``out/<study>/``): ``*.xpt``, ``define.xml`` + ``define2-1.xsl``, ``datasetjson/*.json``,
``reconciliation.json`` (+ ``reconciliation.md``), ``provenance.csv``, ``issues.json``, ``outcomes/``,
``validation/`` (with ``--validate``), ``reviewer-notes.md``, ``manifest.json``.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from pathlib import Path

import orjson
import yaml

from cdisc import define as define_xml
from cdisc.datasetjson import DatasetJsonInfo, write_dataset_json
from cdisc.define_build import DatasetInput, build_define
from cdisc.issues import Issue, Severity
from cdisc.standards import load_ct, load_sdtmig
from cdisc.xpt import write_xpt
from interop import __version__
from interop.assemble import Assembled, assemble
from interop.engines import open_engine
from interop.normalize.inputs import Ingest
from interop.normalize.pseudonym import PseudonymKey, compute_pseudonym, load_pseudonym_key
from interop.normalize.record import SubjectRecord
from interop.package import atomic_folder, sha256_file, write_manifest
from interop.reconcile import build_reconciliation, render_reconciliation
from interop.reviewer_notes import render_reviewer_notes
from mappings.instruments import list_assumptions
from interop.subject_run import SubjectOutput, mappers, run_subject
from mappings.study import StudyDefinition, load_study

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
SPONSOR_CODELIST_VARIABLES = frozenset({"ARMCD", "ARM", "ACTARMCD", "ACTARM", "ETCD", "ELEMENT", "IETESTCD",
                                        "VISIT", "QSTESTCD", "QSTEST", "QSCAT", "QNAM"})


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    inputs: tuple[Path, ...]
    study: str
    out: Path
    created: datetime | None = None        # XPT header / define.xml CreationDateTime; else from the data
    workers: int | None = None              # worker processes; None: every core (same output for any number)
    validate: bool = False
    run_core: bool = True
    meddra: Path | None = None              # MedDRA ASCII distribution folder (licensed; the user's own)
    pseudonym_key_file: Path | None = None  # secret for keyed pseudonyms (else $FHIR2CDISC_PSEUDONYM_KEY)
    engine: str = "local"                   # local | spark (interop.engines; spark master from $SPARK_MASTER)


@dataclass(slots=True)
class ConvertResult:
    out: Path
    rows: dict[str, int] = field(default_factory=dict)
    reconciliation: dict = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    subjects: Counter = field(default_factory=Counter)
    validation: object | None = None

    @property
    def worst(self) -> Severity | None:
        """The worst severity among the conversion issues and, with --validate, the conformance findings."""
        ranked = [i.severity for i in self.issues]
        ranked += [f.severity for f in getattr(self.validation, "findings", ())]
        return max(ranked, key=lambda s: s.rank) if ranked else None


@dataclass(slots=True)
class Gathered:
    """Everything the per-patient step produced, gathered in patient-key order."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    mapped: dict[str, Counter] = field(default_factory=dict)
    evidence: set[str] = field(default_factory=set)
    unmapped: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    subjects: Counter = field(default_factory=Counter)
    outputs: list[SubjectOutput] = field(default_factory=list)

    def add(self, output: SubjectOutput) -> None:
        for domain, rows in output.rows.items():
            self.rows.setdefault(domain, []).extend(rows)
        self.issues.extend(output.issues)
        self.mapped.update(output.mapped)
        self.evidence.update(output.evidence)
        self.unmapped.update(output.unmapped)
        self.sources.update(output.sources)
        self.subjects[output.status] += 1
        output.rows = {}
        self.outputs.append(output)


@dataclass(frozen=True, slots=True)
class ConvertSubject:
    """``record -> SubjectOutput`` for one study: :func:`run_subject` as a picklable task for the engines.

    The SUBJID fallback for patients without an enrolment identifier is a keyed pseudonym, if a key is set.
    """

    study_key: str
    pseudonym_key: PseudonymKey | None = None
    meddra: str | None = None

    def __call__(self, record: SubjectRecord) -> SubjectOutput:
        fallback = compute_pseudonym(record.key, self.pseudonym_key) if self.pseudonym_key is not None else None
        return run_subject(record, study=load_study(self.study_key), subjid_fallback=fallback, meddra=self.meddra)


def map_subjects(ingest: Ingest, *, study: StudyDefinition, engine, on_subject: Callable[[], None] | None = None,
                 pseudonym_key: PseudonymKey | None = None, meddra: Path | None = None) -> Iterator[SubjectOutput]:
    """Run :func:`run_subject` over every record of ``ingest`` on ``engine`` (:mod:`interop.engines`), in
    patient-key order, so the output is the same for any engine and number of workers."""
    mappers(None)  # import (declare the issue codes of) every mapper here too: the notes look titles up
    task = ConvertSubject(study.key, pseudonym_key, str(meddra) if meddra else None)
    for output in engine.map_records(task, ingest):
        yield output
        if on_subject:
            on_subject()


@cache
def load_origins() -> dict:
    with (MAPPINGS_DIR / "origins.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def origin_rule(dataset: str, variable: str) -> tuple[define_xml.Origin, str | None]:
    """define.xml Origin and MethodOID of a variable, from ``mappings/origins.yaml`` (first match wins)."""
    for rule in load_origins()["rules"]:
        if fnmatch.fnmatchcase(f"{dataset}.{variable}", rule["match"]):
            return define_xml.Origin(rule["type"], rule.get("source")), rule.get("method")
    return define_xml.Origin("Collected", "Investigator"), None


def compute_created(options: ConvertOptions, gathered: Gathered) -> datetime:
    """The package timestamp: the option, else the latest complete date in the data (never the clock)."""
    if options.created is not None:
        return options.created.replace(microsecond=0, tzinfo=None)
    latest = "1970-01-01"
    for rows in gathered.rows.values():
        for row in rows:
            for key, value in row.items():
                if key.endswith("DTC") and isinstance(value, str) and len(value) >= 10 and value[:10] > latest:
                    latest = value[:10]
    return datetime.fromisoformat(latest + "T00:00:00")


def write_provenance(assembled: Assembled, sources: dict[str, str], path: Path) -> None:
    """provenance.csv: dataset, USUBJID, --SEQ, the source resources (pinned by version or hash), the rule."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", "usubjid", "seq", "sources", "rule"])
    for name in sorted(assembled.datasets):
        prov = assembled.datasets[name].provenance
        if prov is None or prov.empty or "_src" not in prov.columns:
            continue
        seq_col = f"{name}SEQ" if f"{name}SEQ" in prov.columns else None
        for data in prov.to_dict("records"):  # not itertuples: namedtuples rename the hidden _src/_rule columns
            keys = data.get("_src") or ()
            pinned = ";".join(f"{k}@{sources.get(k, '')}" for k in keys)
            seq = data.get(seq_col) if seq_col else ""
            seq = int(seq) if isinstance(seq, float) and seq == seq else seq
            writer.writerow([name, data.get("USUBJID"), seq, pinned, data.get("_rule") or ""])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def write_issues(issues: list[Issue], path: Path) -> None:
    items = sorted((i.to_dict() for i in issues), key=lambda d: (d["code"], orjson.dumps(d["where"], option=orjson.OPT_SORT_KEYS), d["message"]))
    path.write_bytes(orjson.dumps(items, option=orjson.OPT_INDENT_2) + b"\n")


def write_datasets(assembled: Assembled, folder: Path, *, created: datetime, study: StudyDefinition) -> list[Issue]:
    """Every dataset as XPT v5 and Dataset-JSON 1.1, from the same shaped frames.

    A dataset the XPT writer refuses is written in neither format and removed from ``assembled`` (so define.xml
    describes exactly the files written); its errors are returned.
    """
    sdtmig = load_sdtmig()
    issues: list[Issue] = []
    (folder / "datasetjson").mkdir(exist_ok=True)
    info = DatasetJsonInfo(created=created, study_oid=study_oid(study), metadata_version_oid=f"MDV.{study_oid(study)}",
                           originator="fhir2cdisc")
    for name in sorted(assembled.datasets):
        dataset = assembled.datasets[name]
        spec = sdtmig.domain(name)
        written = write_xpt(dataset.frame, folder / f"{name.lower()}.xpt", spec=spec, created=created)
        issues += written
        if any(i.severity is Severity.ERROR for i in written):
            del assembled.datasets[name]  # the same frame must not exist in one format only
            continue
        issues += write_dataset_json(dataset.frame, folder / "datasetjson" / f"{name.lower()}.json", spec=spec,
                                     info=info)
    return issues


def study_oid(study: StudyDefinition) -> str:
    return f"STDY.{study.studyid}"


def build_define_document(assembled: Assembled, study: StudyDefinition, *, created: datetime):
    """The define.xml model of the datasets written (methods and comment targets from origins.yaml)."""
    sdtmig = load_sdtmig()
    origins = load_origins()
    written = [DatasetInput(name, ds.frame, sdtmig.domain(name)) for name, ds in assembled.datasets.items()]
    methods = [define_xml.Method(oid, m["name"], m["type"], m["description"])
               for oid, m in sorted(origins["methods"].items())]
    return build_define(written, ct=load_ct(), origin_rule=origin_rule, study_oid=study_oid(study),
                        study_name=study.studyid, study_description=study.title, protocol_name=study.studyid,
                        creation_datetime=created.isoformat(timespec="seconds"), tool_version=__version__,
                        methods=methods, assumptions=[(a.where, a.text) for a in study.assumptions],
                        comment_targets=[(c["where"], c["target"]) for c in origins.get("comments", ())],
                        sponsor_codelist_variables=SPONSOR_CODELIST_VARIABLES)


def screening_label(output: SubjectOutput, position: int) -> str:
    """How the package's screening report names a patient: USUBJID for trial subjects, else a positional label
    (never a hospital identifier or a name)."""
    return output.usubjid or f"PRESCREEN-{position:05d}"


def write_screening_files(gathered: Gathered, study: StudyDefinition, folder: Path) -> list[Path]:
    """screening/<study>/screening.{json,csv,html}: every patient's eligibility verdicts with their evidence."""
    from interop.screening import PatientScreening, ScreeningReport, StudyScreening, write_reports

    patients = [PatientScreening(screening_label(o, i), o.screening)
                for i, o in enumerate(gathered.outputs, start=1) if o.screening is not None]
    report = ScreeningReport({study.key: StudyScreening(study.key, patients)}, as_of=None,
                             naming="Trial subjects are named by USUBJID, pre-screened patients by their position "
                                    "(PRESCREEN-n).")
    return write_reports(report, folder)


def write_outcome_files(assembled: Assembled, study: StudyDefinition, folder: Path, mapper=map) -> list[Path]:
    """The trial outcome table (CSV) and a plot per subject, from the derived QS (and LB for muscle enzymes);
    ``mapper`` draws the plots (the local engine's ordered map draws them in its workers)."""
    from mappings.outcomes import derive_outcome_table, write_outcomes

    if "QS" not in assembled.datasets:
        return []
    lb = assembled.datasets["LB"].frame if "LB" in assembled.datasets else None
    table = derive_outcome_table(assembled.datasets["QS"].frame, study=study, lb=lb)
    folder.mkdir(exist_ok=True)
    return write_outcomes(table, folder, mapper=mapper)


def load_explanations() -> dict[str, str]:
    """Why each remaining conformance finding is acceptable: the reasons of ``core_severity.yaml`` for CORE rules
    we downgraded, and ``mappings/conformance_explanations.yaml`` for the rest."""
    from cdisc.conformance.core_adapter import load_core_severity

    explanations = dict(load_core_severity().reasons)
    with (MAPPINGS_DIR / "conformance_explanations.yaml").open(encoding="utf-8") as fh:
        explanations.update({str(k): " ".join(str(v).split()) for k, v in (yaml.safe_load(fh) or {}).items()})
    return explanations


def run_validation(folder: Path, *, run_core: bool, label: str, generated: str):
    """CDISC CORE + our CONF checks on the package being written, reports into ``validation/`` (reproducible:
    named by the package's name, stamped with the package date, no run durations)."""
    from cdisc.conformance.runner import validate_package

    return validate_package(folder, out=folder / "validation", define=folder / "define.xml", run_core=run_core,
                            label=label, generated=generated)


def optional_pseudonym_key(file: Path | None):
    """The pseudonym key from the file or the environment; None when neither is configured."""
    from interop.normalize.pseudonym import DEFAULT_ENV

    if file is None and not os.environ.get(DEFAULT_ENV):
        return None
    return load_pseudonym_key(file=file)


def input_files(paths: tuple[Path, ...]) -> list[dict]:
    files = []
    for root in paths:
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            files.append({"path": path.as_posix(), "sha256": sha256_file(path), "bytes": path.stat().st_size})
    return files


def convert(options: ConvertOptions, *, on_subject: Callable[[], None] | None = None,
            on_stage: Callable[[str], None] | None = None) -> ConvertResult:
    """Convert FHIR inputs into the SDTM package at ``options.out`` (written atomically)."""
    stage = on_stage or (lambda _name: None)
    study = load_study(options.study)
    sdtmig, ct = load_sdtmig(), load_ct()
    gathered = Gathered()
    stage("reading and mapping")
    pseudonym_key = optional_pseudonym_key(options.pseudonym_key_file)
    meddra_issues = []
    if options.meddra is not None:
        from interop.subject_run import load_dictionary
        _dictionary, meddra_issues = load_dictionary(str(options.meddra))
    engine = open_engine(options.engine, workers=options.workers) if options.engine == "local" \
        else open_engine(options.engine)
    with engine.open(list(options.inputs), timezone=study.timezone) as ingest:
        for output in map_subjects(ingest, study=study, engine=engine, on_subject=on_subject,
                                   pseudonym_key=pseudonym_key, meddra=options.meddra):
            gathered.add(output)
        inventory = list(ingest.inventory)
        ingest_issues = list(ingest.issues)
    stage("deriving and shaping")
    from mappings.ti import build_ti
    assembled = assemble(gathered.rows, study=study, sdtmig=sdtmig, ct=ct, ti_rows=build_ti(study))
    created = compute_created(options, gathered)
    reconciliation = build_reconciliation(inventory, mapped=gathered.mapped, evidence=gathered.evidence,
                                          unmapped=gathered.unmapped)
    result = ConvertResult(out=options.out, reconciliation=reconciliation, subjects=gathered.subjects,
                           rows={name: len(ds.frame) for name, ds in sorted(assembled.datasets.items())})
    result.issues = meddra_issues + ingest_issues + gathered.issues + assembled.issues
    stage("writing the package")
    with atomic_folder(options.out) as folder:
        result.issues += write_datasets(assembled, folder, created=created, study=study)
        define_doc = build_define_document(assembled, study, created=created)
        result.issues += define_xml.check_define_model(define_doc)
        define_path, define_errors = define_xml.write_define(define_doc, folder)
        if define_errors:
            from cdisc.codes import DEF001
            from cdisc.issues import issue as make_issue
            result.issues += [make_issue(DEF001, e) for e in define_errors]
        write_provenance(assembled, gathered.sources, folder / "provenance.csv")
        # plots are files: drawn in the local engine's workers (same machine), on the driver with Spark
        plot_mapper = partial(engine.map, batch=1) if engine.name == "local" else map
        write_outcome_files(assembled, study, folder / "outcomes", mapper=plot_mapper)
        write_screening_files(gathered, study, folder / "screening")
        (folder / "reconciliation.json").write_bytes(orjson.dumps(reconciliation, option=orjson.OPT_INDENT_2) + b"\n")
        (folder / "reconciliation.md").write_text(render_reconciliation(reconciliation), encoding="utf-8")
        if options.validate:
            stage("validating (CDISC CORE and our checks)")
            result.validation = run_validation(folder, run_core=options.run_core, label=options.out.name,
                                               generated=created.isoformat(timespec="seconds"))
        write_issues(result.issues, folder / "issues.json")
        (folder / "reviewer-notes.md").write_text(render_reviewer_notes(
            study=study, created=created.isoformat(timespec="seconds"), tool_version=__version__,
            subjects=dict(gathered.subjects), reconciliation=reconciliation, issues=result.issues,
            instrument_assumptions=list_assumptions(), validation=result.validation,
            explanations=load_explanations()), encoding="utf-8")
        write_manifest(folder, extra={
            "tool": {"name": "fhir2cdisc", "version": __version__},
            "standards": {"SDTMIG": sdtmig.version, "SDTM CT": ct.date},
            "study": study.key, "created": created.isoformat(timespec="seconds"),
            "inputs": input_files(options.inputs),
        })
    return result
