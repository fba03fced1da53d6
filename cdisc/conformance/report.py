"""Report writers: JSON (integrators), XLSX (data managers: summary then details), HTML (reading).

Each writer takes the :class:`ValidationReport` and a path; ``write_reports`` writes all three into a
folder, each file through a temporary name so a failed run leaves no half-written report.
"""

from __future__ import annotations

import collections
import html
import io
import json
import os
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from cdisc.conformance.codes import ALL_CODES
from cdisc.conformance.runner import ValidationReport

DETAIL_COLUMNS = ("source", "rule_id", "severity", "dataset", "variable", "usubjid", "row", "value",
                  "message", "hint")
DETAIL_HEADERS = ("Source", "Rule ID", "Severity", "Dataset", "Variable", "USUBJID", "Row", "Value",
                  "Message", "Fix hint")
SUMMARY_HEADERS = ("Source", "Rule ID", "Severity", "Title / CORE message", "Datasets", "Findings")
HTML_ROWS_PER_RULE = 200
SEVERITY_FILL = {"error": "F8CBAD", "warning": "FFE699", "info": "DDEBF7"}


def summary_rows(report: ValidationReport) -> list[tuple]:
    """One row per (source, rule, severity): title, datasets and count, worst first."""
    groups: dict[tuple, list] = collections.defaultdict(list)
    for f in report.findings:
        groups[(f.source, f.rule_id, f.severity)].append(f)
    rows = []
    for (source, rule_id, severity), items in groups.items():
        title = ALL_CODES[rule_id].title if rule_id in ALL_CODES else items[0].message
        datasets = ", ".join(sorted({f.dataset for f in items if f.dataset}))
        rows.append((source, rule_id, severity.value, title, datasets, len(items)))
    return sorted(rows, key=lambda r: (-{"error": 3, "warning": 2, "info": 1}[r[2]], r[1]))


def report_header(report: ValidationReport) -> dict:
    """Run facts for the top of every report (STYLE 2.6)."""
    return {"package": report.package, "define": report.define, "datasets": list(report.datasets),
            "standards": dict(report.standards), "generated": report.generated or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts_by_severity": report.counts_by_severity(), "counts_by_rule": report.counts_by_rule(),
            "core": dict(report.core) if report.core is not None else None, "notes": list(report.notes)}


def report_to_dict(report: ValidationReport) -> dict:
    """The JSON document: header facts, summary and every finding (keys are API)."""
    return {**report_header(report),
            "summary": [dict(zip(("source", "rule_id", "severity", "title", "datasets", "count"), row))
                        for row in summary_rows(report)],
            "findings": [f.to_dict() for f in report.findings]}


def write_json(report: ValidationReport, path: Path) -> Path:
    text = json.dumps(report_to_dict(report), indent=1, default=str)
    return replace_file(path, text.encode("utf-8"))


def write_xlsx(report: ValidationReport, path: Path) -> Path:
    """Workbook with 'Conformance Details', 'Issue Summary' and 'Issue Details' sheets."""
    book = Workbook()
    details = book.active
    details.title = "Conformance Details"
    header = report_header(report)
    facts = [("Package", header["package"]), ("define.xml", header["define"] or "none"),
             ("Datasets", ", ".join(header["datasets"])), ("Generated (UTC)", header["generated"])]
    facts += [(f"Standard: {k}", v or "not run") for k, v in header["standards"].items()]
    facts += [(f"Findings: {k}", v) for k, v in header["counts_by_severity"].items()]
    if report.core is not None:
        facts += [("CORE rules run", report.core.get("rules_total")),
                  ("CORE result status", json.dumps(report.core.get("result_status")))]
    facts += [("Note", n) for n in report.notes]
    for key, value in facts:
        details.append([key, str(value)])
    details.column_dimensions["A"].width, details.column_dimensions["B"].width = 28, 100
    add_table_sheet(book, "Issue Summary", SUMMARY_HEADERS, summary_rows(report), widths=(8, 14, 10, 70, 30, 10))
    rows = [tuple(f.to_dict()[c] for c in DETAIL_COLUMNS) for f in report.findings]
    add_table_sheet(book, "Issue Details", DETAIL_HEADERS, rows, widths=(8, 14, 10, 10, 16, 16, 8, 30, 80, 60))
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(header["generated"]).replace(tzinfo=None)
    book.properties.created = book.properties.modified = stamp
    buffer = io.BytesIO()
    book.save(buffer)
    return replace_file(path, normalise_zip(buffer.getvalue(), stamp))


def normalise_zip(content: bytes, stamp: datetime) -> bytes:
    """The same zip with every entry, and the document's modified date, at ``stamp`` (openpyxl uses the clock for
    both): same report, same bytes."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":      # openpyxl stamps 'modified' with the clock on save
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", data)
            target.writestr(entry, data)
    return out.getvalue()


def add_table_sheet(book: Workbook, title: str, headers: tuple, rows: list[tuple], *, widths: tuple) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    severity_col = headers.index("Severity")
    fills = {k: PatternFill("solid", fgColor=v) for k, v in SEVERITY_FILL.items()}
    for number, row in enumerate(rows, start=2):
        sheet.append(list(row))
        sheet.cell(number, severity_col + 1).fill = fills[row[severity_col]]
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{chr(ord('A') + len(headers) - 1)}{len(rows) + 1}"
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width


def write_html(report: ValidationReport, path: Path) -> Path:
    """A self-contained page: run facts, summary, details (first rows per rule; all are in JSON/XLSX)."""
    esc = lambda v: html.escape("" if v is None else str(v))  # noqa: E731
    header = report_header(report)
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in
                    [("Package", header["package"]), ("define.xml", header["define"] or "none"),
                     *header["standards"].items(), *header["counts_by_severity"].items()])
    summary = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in summary_rows(report))
    shown, per_rule = [], collections.Counter()
    for f in report.findings:
        per_rule[f.rule_id] += 1
        if per_rule[f.rule_id] <= HTML_ROWS_PER_RULE:
            shown.append(f"<tr class='{f.severity.value}'>" + "".join(
                f"<td>{esc(f.to_dict()[c])}</td>" for c in DETAIL_COLUMNS) + "</tr>")
    cut = sum(max(0, n - HTML_ROWS_PER_RULE) for n in per_rule.values())
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SDTM validation report</title>
<style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left;vertical-align:top}}
tr.error td:nth-child(3){{background:#f8cbad}}tr.warning td:nth-child(3){{background:#ffe699}}
tr.info td:nth-child(3){{background:#ddebf7}}</style></head><body>
<h1>SDTM validation report</h1><table>{facts}</table>
<h2>Summary</h2><table><tr>{''.join(f'<th>{h}</th>' for h in SUMMARY_HEADERS)}</tr>{summary}</table>
<h2>Details</h2><p>{f'{cut} further findings (over {HTML_ROWS_PER_RULE} per rule) are in validation.xlsx and validation.json.' if cut else ''}</p>
<table><tr>{''.join(f'<th>{h}</th>' for h in DETAIL_HEADERS)}</tr>{''.join(shown)}</table></body></html>
"""
    return replace_file(path, page.encode("utf-8"))


def replace_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def write_reports(report: ValidationReport, folder: Path) -> dict[str, Path]:
    """validation.json, validation.xlsx and validation.html in ``folder``."""
    return {"json": write_json(report, folder / "validation.json"),
            "xlsx": write_xlsx(report, folder / "validation.xlsx"),
            "html": write_html(report, folder / "validation.html")}
