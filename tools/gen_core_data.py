"""Generate the CDISC CORE data shipped in ``cdisc/conformance/core/data/`` (STYLE 2.3, 5.6).

Reads the offline CORE cache in ``shared/cdisc-core-cache`` (pickles of plain data, see its
README: rules/rules_dictionary/variable_codelist_maps copied from cdisc-org/cdisc-rules-engine
``resources/cache`` at commit af87535c; standards metadata and the SDTM CT 2025-03-28 package
rebuilt there from CDISC's SDTMIG v3.4 / SDTM v2.0 exports and NCI EVS "SDTM Terminology.txt")
and writes the part our runs need as gzipped JSON, never pickles:

- ``rules.json.gz``                 the CORE rules listed for SDTMIG 3-4 (only those)
- ``rules_dictionary.json.gz``      ``{"sdtmig/3-4": [ids]}``
- ``variable_codelist_maps.json.gz`` the ``sdtmig-3-4-codelists`` entry
- ``standards_details.json.gz``, ``standards_models.json.gz``, ``variables_metadata.json.gz``
- ``sdtmct-2025-03-28.json.gz``     codelists and terms without definitions and synonyms (the
  engine's operations read submission values, C-codes, names, preferred terms, extensibility)
- ``published_ct_packages.json``    names of published CT packages (for CORE-000761), a JSON list
- ``manifest.json``                 source, engine version, file list with SHA-256

Python ``set`` values (the engine keeps ``dataset_names`` as a set) are written as
``{"__set__": [...]}``; the driver (``cdisc/conformance/core/driver.py``) turns them back.

Run from the repo root with any Python 3.11+: ``python tools/gen_core_data.py``.
Standards data belongs to CDISC and NCI EVS; the CORE rules are CDISC's (MIT-licensed engine repo).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO.parent / "shared" / "cdisc-core-cache"
DEFAULT_OUT = REPO / "cdisc" / "conformance" / "core" / "data"
STANDARD_KEY = "sdtmig/3-4"
CODELIST_KEY = "sdtmig-3-4-codelists"
CT_PACKAGES = ("sdtmct-2025-03-28",)
ENGINE_VERSION = "0.17.1"
DROPPED_TERM_FIELDS = ("definition", "synonyms")


def load_pickle(path: Path):
    """Read one cache pickle (plain data only, written by CDISC or by build_core_cache.py)."""
    with path.open("rb") as fh:
        return pickle.load(fh)


def encode_sets(value):
    """JSON ``default`` hook: a set becomes ``{"__set__": sorted list}``."""
    if isinstance(value, (set, frozenset)):
        return {"__set__": sorted(value, key=str)}
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_json_gz(path: Path, data) -> str:
    """Write compact, reproducible gzipped JSON (mtime 0); return its SHA-256."""
    raw = json.dumps(data, default=encode_sets, separators=(",", ":"), sort_keys=True).encode("utf-8")
    blob = gzip.compress(raw, compresslevel=9, mtime=0)
    path.write_bytes(blob)
    return hashlib.sha256(blob).hexdigest()


def slim_ct_package(package: dict) -> dict:
    """Drop the long text fields the engine does not read from a CT package."""
    out = {"package": package["package"], "codelists": []}
    for codelist in package["codelists"]:
        slim = {k: v for k, v in codelist.items() if k not in DROPPED_TERM_FIELDS}
        slim["terms"] = [{k: v for k, v in t.items() if k not in DROPPED_TERM_FIELDS}
                         for t in codelist.get("terms", [])]
        out["codelists"].append(slim)
    return out


def build(cache: Path) -> dict[str, object]:
    """Select the SDTMIG 3-4 part of the cache; returns file name -> data."""
    rules_dictionary = load_pickle(cache / "rules_dictionary.pkl")
    rule_ids = list(rules_dictionary[STANDARD_KEY])
    all_rules = load_pickle(cache / "rules.pkl")
    files: dict[str, object] = {
        "rules.json.gz": {rid: all_rules[rid] for rid in rule_ids if rid in all_rules},
        "rules_dictionary.json.gz": {STANDARD_KEY: rule_ids},
        "variable_codelist_maps.json.gz": {
            CODELIST_KEY: load_pickle(cache / "variable_codelist_maps.pkl")[CODELIST_KEY]},
        "standards_details.json.gz": load_pickle(cache / "standards_details.pkl"),
        "standards_models.json.gz": load_pickle(cache / "standards_models.pkl"),
        "variables_metadata.json.gz": load_pickle(cache / "variables_metadata.pkl"),
    }
    for package in CT_PACKAGES:
        files[f"{package}.json.gz"] = slim_ct_package(load_pickle(cache / f"{package}.pkl"))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "generator": "tools/gen_core_data.py",
        "engine": f"cdisc-rules-engine=={ENGINE_VERSION}",
        "standard": STANDARD_KEY,
        "ct_packages": list(CT_PACKAGES),
        "source": "shared/cdisc-core-cache (rules: cdisc-org/cdisc-rules-engine resources/cache @af87535c; "
                  "standards metadata: CDISC SDTMIG v3.4 / SDTM v2.0 exports; CT: NCI EVS SDTM CT 2025-03-28)",
        "dropped": f"CT term/codelist fields {list(DROPPED_TERM_FIELDS)}",
        "files": {},
    }
    for name, data in build(args.cache).items():
        manifest["files"][name] = write_json_gz(args.out / name, data)
    lines = (args.cache / "published_ct_packages.txt").read_text(encoding="utf-8").splitlines()
    published = json.dumps(sorted(n.strip() for n in lines if n.strip() and not n.startswith("#")), indent=0) + "\n"
    (args.out / "published_ct_packages.json").write_text(published, encoding="utf-8")
    manifest["files"]["published_ct_packages.json"] = hashlib.sha256(published.encode()).hexdigest()
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    total = sum((args.out / n).stat().st_size for n in manifest["files"])
    print(f"gen_core_data: wrote {len(manifest['files'])} files, {total / 1e6:.2f} MB, into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
