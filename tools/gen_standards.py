"""Generate ``cdisc/standards/*`` from CDISC's machine-readable sources (STYLE 2.3).

Run from the repository root::

    .venv/bin/python tools/gen_standards.py [--shared ../shared]

Reads (under ``<shared>/cdisc``):

- ``sdtmig/sdtmig_variables.csv``: SDTMIG v3.4 variable metadata (CDISC export joined with CT).
- ``sdtmig/raw/Datasets.csv``: dataset label, class and structure.
- ``reference-submission/sdtm-msg-v2.0-cdiscpilot01/define.xml``: key variables (``KeySequence``)
  of CDISC's own SDTM-MSG v2.0 sample; the SDTMIG export carries no keys.
- ``ct/sdtm_ct.tsv``: NCI EVS "SDTM Terminology.txt", package 2025-03-28.
- ``ct/define-xml_ct_2025-09-26.csv``: Define-XML CT 2025-09-26.

Writes (the product reads only these; nobody edits them by hand):

- ``cdisc/standards/sdtmig_3_4.json``
- ``cdisc/standards/sdtm_ct_2025-03-28.json.gz`` (compact, deterministic gzip: mtime 0)
- ``cdisc/standards/define_xml_ct_2025-09-26.json``
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "cdisc" / "standards"
GENERATOR = "tools/gen_standards.py"
SDTM_CT_DATE = "2025-03-28"
DEFINE_CT_DATE = "2025-09-26"
REFERENCE_DEFINE = "reference-submission/sdtm-msg-v2.0-cdiscpilot01/define.xml"
ODM_NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}

# Natural keys by SDTM class, used only where the reference define.xml has no dataset
# ("--" is replaced by the domain prefix; variables absent from the domain are skipped).
CLASS_KEY_RULES = {
    "Findings": ["STUDYID", "USUBJID", "--TESTCD", "VISITNUM", "--DTC"],
    "Findings About": ["STUDYID", "USUBJID", "--TESTCD", "--OBJ", "VISITNUM", "--DTC"],
    "Events": ["STUDYID", "USUBJID", "--DECOD", "--TERM", "--STDTC"],
    "Interventions": ["STUDYID", "USUBJID", "--TRT", "--STDTC"],
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def read_reference_keys(define_path: Path) -> dict[str, list[str]]:
    """Key variables per dataset name from a define.xml (ItemRef/@KeySequence).

    QS is split in the sample (QSPH, QSSL): the first split gives QS its keys; SUPPDM gives SUPPQUAL.
    """
    tree = etree.parse(str(define_path), etree.XMLParser(no_network=True, resolve_entities=False))
    keys: dict[str, list[str]] = {}
    for group in tree.iterfind(".//odm:ItemGroupDef", ODM_NS):
        refs = [(int(ref.get("KeySequence")), ref.get("ItemOID").rsplit(".", 1)[-1])
                for ref in group.iterfind("odm:ItemRef", ODM_NS) if ref.get("KeySequence")]
        name = group.get("Name")
        if name.startswith("SUPP"):
            name = "SUPPQUAL"
        elif group.get("Domain") and group.get("Domain") != name:
            name = group.get("Domain")
        keys.setdefault(name, [variable for _, variable in sorted(refs)])
    return keys


def keys_by_class_rule(domain: str, klass: str, variables: list[str]) -> list[str]:
    rule = CLASS_KEY_RULES.get(klass, ["STUDYID", "USUBJID"])
    candidates = [name.replace("--", domain) for name in rule]
    return [name for name in candidates if name in variables]


def build_sdtmig(shared: Path) -> dict:
    variables_csv = shared / "cdisc/sdtmig/sdtmig_variables.csv"
    datasets_csv = shared / "cdisc/sdtmig/raw/Datasets.csv"
    define_xml = shared / "cdisc" / REFERENCE_DEFINE
    datasets = {row["Dataset Name"]: row for row in read_csv(datasets_csv)}
    reference_keys = read_reference_keys(define_xml)
    by_domain: dict[str, list[dict]] = defaultdict(list)
    for row in read_csv(variables_csv):
        by_domain[row["dataset"]].append(row)
    domains = []
    for name in sorted(by_domain):
        rows = sorted(by_domain[name], key=lambda r: int(r["order"]))
        meta = datasets[name]
        names = [r["variable"] for r in rows]
        ref = [k for k in reference_keys.get(name, []) if k in names]
        keys, keys_source = (ref, "reference define.xml") if ref else (
            keys_by_class_rule(name, meta["Class"], names), "class rule")
        domains.append({
            "name": name,
            "label": meta["Dataset Label"],
            "class": meta["Class"],
            "structure": meta["Structure"],
            "keys": keys,
            "keys_source": keys_source,
            "variables": [variable_entry(r) for r in rows],
        })
    return {
        "standard": "SDTMIG",
        "version": "3.4",
        "generated_by": GENERATOR,
        "source": {
            "variables": {"file": "shared/cdisc/sdtmig/sdtmig_variables.csv", "sha256": sha256(variables_csv)},
            "datasets": {"file": "shared/cdisc/sdtmig/raw/Datasets.csv", "sha256": sha256(datasets_csv)},
            "keys": {"file": f"shared/cdisc/{REFERENCE_DEFINE}", "sha256": sha256(define_xml),
                     "note": "KeySequence of CDISC SDTM-MSG v2.0 sample (SDTMIG 3.3); other domains: "
                             "natural keys by class rule in tools/gen_standards.py"},
            "copyright": "SDTMIG content (c) CDISC, used under the CDISC IP policy",
        },
        "domains": domains,
    }


def variable_entry(row: dict[str, str]) -> dict:
    entry = {
        "name": row["variable"],
        "label": row["label"],
        "type": row["type"],
        "role": row["role"],
        "core": row["core"],
        "order": int(row["order"]),
        "codelists": [c for c in row["codelist_codes"].split(";") if c],
    }
    if row["described_value_domain"]:
        entry["value_domain"] = row["described_value_domain"]
    if row["value_list"]:
        entry["value_list"] = row["value_list"]
    return entry


def split_synonyms(text: str) -> list[str]:
    return [s.strip() for s in text.split(";") if s.strip()] if text else []


def build_ct(rows: list[dict[str, str]], *, package: str, date: str, source: dict) -> dict:
    """Compact CT: {code: {submission_value, name, extensible, terms: [[code, value, synonyms]]}}."""
    codelists: dict[str, dict] = {}
    for row in rows:
        if not row["Codelist Code"]:
            codelists[row["Code"]] = {
                "submission_value": row["CDISC Submission Value"],
                "name": row["Codelist Name"],
                "extensible": row["Codelist Extensible (Yes/No)"] == "Yes",
                "terms": [],
            }
    for row in rows:
        if row["Codelist Code"]:
            codelists[row["Codelist Code"]]["terms"].append([
                row["Code"], row["CDISC Submission Value"], split_synonyms(row["CDISC Synonym(s)"]),
            ])
    for codelist in codelists.values():
        codelist["terms"].sort(key=lambda t: (t[1], t[0]))
    return {
        "package": package,
        "date": date,
        "generated_by": GENERATOR,
        "source": source,
        "term_fields": ["code", "submission_value", "synonyms"],
        "codelists": dict(sorted(codelists.items())),
    }


def dumps_lines(value, depth: int = 0) -> str:
    """JSON with one line per innermost object or list (readable diffs, a third of indent's size)."""
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if depth >= 4 or not isinstance(value, (dict, list)) or len(compact) < 100:
        return compact
    pad = " " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}:{dumps_lines(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    items = [pad + dumps_lines(v, depth + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * depth + "]"


def write_json(path: Path, data: dict) -> None:
    path.write_text(dumps_lines(data) + "\n", encoding="utf-8")


def write_json_gz(path: Path, data: dict) -> None:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(raw)
    path.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args(argv)
    shared = args.shared
    write_json(OUT / "sdtmig_3_4.json", build_sdtmig(shared))

    sdtm_ct = shared / "cdisc/ct/sdtm_ct.tsv"
    credit = "CDISC Controlled Terminology, maintained and distributed by NCI EVS (https://evs.nci.nih.gov)"
    write_json_gz(OUT / f"sdtm_ct_{SDTM_CT_DATE}.json.gz", build_ct(
        read_csv(sdtm_ct, delimiter="\t"), package="SDTM CT", date=SDTM_CT_DATE,
        source={"file": "shared/cdisc/ct/sdtm_ct.tsv (NCI EVS 'SDTM Terminology.txt')",
                "sha256": sha256(sdtm_ct), "credit": credit}))

    define_ct = shared / f"cdisc/ct/define-xml_ct_{DEFINE_CT_DATE}.csv"
    write_json(OUT / f"define_xml_ct_{DEFINE_CT_DATE}.json", build_ct(
        read_csv(define_ct), package="Define-XML CT", date=DEFINE_CT_DATE,
        source={"file": f"shared/cdisc/ct/define-xml_ct_{DEFINE_CT_DATE}.csv",
                "sha256": sha256(define_ct), "credit": credit}))


if __name__ == "__main__":
    main()
