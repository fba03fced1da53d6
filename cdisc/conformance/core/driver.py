"""Offline driver for the CDISC CORE rules engine (PyPI ``cdisc-rules-engine``), run by the CORE venv.

Adapted from ``shared/tools/core_validate.py`` (the team's offline CORE runner): the PyPI package
ships no ``core.py`` CLI, so this wires the public classes together (library metadata -> data
service -> RulesEngine per rule). Differences from the original:

- the cache is rebuilt from the project's gzipped JSON (``data/``, made by
  ``tools/gen_core_data.py``) into pickles in ``--cache-dir``, once per data version (STYLE 5.6:
  no pickles in the repository);
- without a readable define.xml (none, or Define-XML 1.0 which the engine cannot read) the rules
  of type "Define Item Metadata Check..." are not run and a note says so;
- output is one compact JSON document for ``cdisc.conformance.core_adapter``: only the results
  that reported issues or failed, plus status counts and notes. No XLSX/JSON CORE reports.

This file must import nothing from the project: it runs under Python 3.12 with pandas 3 in
``.core-venv``. Exit codes: 0 engine ran, 2 usage/setup error, 3 engine failure.
- the engine's in-memory cache returns, on a miss, the very dataset object it stored, and some
  dataset builders then add a ``row_number`` column to it; later rules (e.g. CORE-000852, column
  order) saw that column or not depending on which rule ran first in a worker, so results varied
  between runs. :func:`copying_cache` stores a copy instead, which makes runs repeatable.

No pandas-3 XPT reader workaround proved necessary with cdisc-rules-engine 0.17.1 (it reads XPT
through pyreadstat with the given encoding).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import os
import pickle
import sys
import tempfile
import time
from multiprocessing import Pool

CACHE_STAMP = ".built-from"


def die(message: str, code: int = 2) -> None:
    print(f"core-driver: error: {message}", file=sys.stderr)
    sys.exit(code)


def decode_sets(obj: dict):
    """JSON object hook: ``{"__set__": [...]}`` -> set (inverse of gen_core_data.encode_sets)."""
    if len(obj) == 1 and "__set__" in obj:
        return set(obj["__set__"])
    return obj


def read_json_gz(path: str):
    with gzip.open(path, "rb") as fh:
        return json.loads(fh.read(), object_hook=decode_sets)


def data_fingerprint(data_dir: str) -> str:
    """SHA-256 of the shipped manifest: the pickle cache is rebuilt when it changes."""
    with open(os.path.join(data_dir, "manifest.json"), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def build_pickle_cache(data_dir: str, cache_root: str) -> str:
    """Turn ``data/*.json.gz`` into the engine's ``*.pkl`` cache; returns the cache folder.

    The folder is ``cache_root/<data fingerprint>``, built in a temporary folder and renamed into
    place, never rewritten: concurrent runs either reuse it or lose the rename race and use the
    winner's copy.
    """
    stamp = data_fingerprint(data_dir)
    final = os.path.join(os.path.abspath(cache_root), stamp[:16])
    if os.path.isfile(os.path.join(final, CACHE_STAMP)):
        return final
    os.makedirs(cache_root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".building-", dir=cache_root)
    for name in sorted(os.listdir(data_dir)):
        if name.endswith(".json.gz"):
            with open(os.path.join(tmp, name[: -len(".json.gz")] + ".pkl"), "wb") as fh:
                pickle.dump(read_json_gz(os.path.join(data_dir, name)), fh, protocol=4)
    with open(os.path.join(data_dir, "published_ct_packages.json"), encoding="utf-8") as src, \
            open(os.path.join(tmp, "published_ct_packages.json"), "w", encoding="utf-8") as dst:
        dst.write(src.read())
    with open(os.path.join(tmp, CACHE_STAMP), "w", encoding="utf-8") as fh:
        fh.write(stamp)
    try:
        os.rename(tmp, final)
    except OSError:  # another run renamed its copy first: use that one, drop ours
        for name in os.listdir(tmp):
            os.remove(os.path.join(tmp, name))
        os.rmdir(tmp)
    return final


def load_pickle(path: str):
    with open(path, "rb") as fh:
        return pickle.load(fh)


def load_rules(cache_dir: str, standard: str, version: str, only: list, exclude: list,
               with_define: bool) -> tuple[list, list]:
    """The cached rules for the standard, filtered; returns (rules, notes)."""
    from cdisc_rules_engine.utilities.utils import get_rules_cache_key

    rules_data = load_pickle(os.path.join(cache_dir, "rules.pkl"))
    rules_dict = load_pickle(os.path.join(cache_dir, "rules_dictionary.pkl"))
    ids = list(rules_dict.get(get_rules_cache_key(standard, version, None)) or [])
    if not ids:
        die(f"no CORE rules for {standard} {version} in the shipped data")
    if only:
        ids = [i for i in ids if i in set(only)]
    ids = [i for i in ids if i not in set(exclude) and i in rules_data]
    notes = []
    if not with_define:
        define_rules = [i for i in ids if str(rules_data[i].get("rule_type", "")).startswith("Define")]
        if define_rules:
            notes.append(f"no readable define.xml: {len(define_rules)} define rules not run "
                         f"({', '.join(define_rules)})")
        ids = [i for i in ids if i not in set(define_rules)]
    return [rules_data[i] for i in ids], notes


def load_library_metadata(cache_dir: str, standard: str, version: str, ct_packages: list,
                          define_path: str | None):
    """Engine library metadata (IG, model, variables, codelist map, CT) from the pickle cache."""
    from cdisc_rules_engine.models.library_metadata_container import LibraryMetadataContainer
    from cdisc_rules_engine.utilities.utils import (
        get_library_variables_metadata_cache_key,
        get_model_details_cache_key_from_ig,
        get_standard_codelist_cache_key,
        get_standard_details_cache_key,
    )

    std_meta = load_pickle(os.path.join(cache_dir, "standards_details.pkl")).get(
        get_standard_details_cache_key(standard, version, None), {}) or {}
    model_meta = {}
    if std_meta:
        model_meta = load_pickle(os.path.join(cache_dir, "standards_models.pkl")).get(
            get_model_details_cache_key_from_ig(std_meta), {}) or {}
    var_meta = load_pickle(os.path.join(cache_dir, "variables_metadata.pkl")).get(
        get_library_variables_metadata_cache_key(standard, version, None), {}) or {}
    codelist_map = load_pickle(os.path.join(cache_dir, "variable_codelist_maps.pkl")).get(
        get_standard_codelist_cache_key(standard, version)) or {}
    available = {f[:-4] for f in os.listdir(cache_dir) if f.endswith(".pkl") and "ct-" in f}
    missing = [c for c in ct_packages if c not in available]
    if missing:
        die(f"CT package(s) not shipped: {', '.join(missing)}; shipped: {', '.join(sorted(available))}")
    ct_data = {c: load_pickle(os.path.join(cache_dir, c + ".pkl")) for c in ct_packages}
    published = set(available)
    with open(os.path.join(cache_dir, "published_ct_packages.json"), encoding="utf-8") as fh:
        published |= set(json.load(fh))
    if define_path:
        from cdisc_rules_engine.services.define_xml.define_xml_reader_factory import DefineXMLReaderFactory

        ct_data["extensible"] = DefineXMLReaderFactory.from_filename(define_path) \
            .get_extensible_codelist_mappings()
    return LibraryMetadataContainer(
        standard_metadata=std_meta, standard_schema_definition={}, model_metadata=model_meta,
        variable_codelist_map=codelist_map, variables_metadata=var_meta,
        ct_package_metadata=ct_data, published_ct_packages=published, cache_path=cache_dir,
    )


def readable_define(define: str | None) -> tuple[str | None, list]:
    """The define.xml path if the engine can read it (Define-XML 2.0/2.1), else None and a note."""
    if not define:
        return None, []
    from cdisc_rules_engine.services.define_xml.define_xml_reader_factory import DefineXMLReaderFactory

    try:
        DefineXMLReaderFactory.from_filename(define).class_define_xml_version()
    except Exception as exc:  # the engine raises several types for Define-XML 1.0; we only note it
        return None, [f"define.xml not used by CORE (it reads Define-XML 2.0/2.1 only): {type(exc).__name__}"]
    return define, []


# ---------------------------------------------------------------- per-worker engine
_WORKER: dict = {}


def copying_cache():
    """An InMemoryCacheService that stores copies of datasets, so callers cannot mutate its entries."""
    from cdisc_rules_engine.models.dataset import PandasDataset
    from cdisc_rules_engine.services.cache import InMemoryCacheService

    class CopyingCacheService(InMemoryCacheService):
        def add(self, cache_key, data):
            if type(data) is PandasDataset:
                data = PandasDataset(data.data.copy(deep=True))
            super().add(cache_key, data)

    return CopyingCacheService()


def init_worker(state: dict) -> None:
    from cdisc_rules_engine.services import logger as engine_logger

    _WORKER.clear()
    _WORKER.update(state)
    engine_logger.disabled = True


def worker_engine():
    if "engine" not in _WORKER:
        from cdisc_rules_engine.rules_engine import RulesEngine

        _WORKER["engine"] = RulesEngine(
            cache=copying_cache(), standard=_WORKER["standard"],
            standard_version=_WORKER["version"], standard_substandard=None,
            ct_packages=_WORKER["ct"], define_xml_path=_WORKER["define"],
            library_metadata=_WORKER["library_metadata"], max_dataset_size=_WORKER["max_size"],
            dataset_paths=_WORKER["paths"], validate_xml=False, jsonata_custom_functions=(),
            max_errors_per_rule=None, errors_per_dataset_flag=False, encoding=_WORKER["encoding"],
        )
    return _WORKER["engine"]


def run_rule(rule: dict) -> dict:
    """Run one rule; return its id, outcome message, executability and per-dataset results."""
    from cdisc_rules_engine.models.rule_conditions import ConditionCompositeFactory

    rule = dict(rule)
    message = ((rule.get("actions") or [{}])[0].get("params") or {}).get("message", "")
    try:
        rule["conditions"] = ConditionCompositeFactory.get_condition_composite(rule["conditions"])
        per_dataset = worker_engine().validate_single_rule(rule)
        results = [r for items in per_dataset.values() for r in items]
    except Exception as exc:  # backstop: the engine reports most errors itself, as results
        results = [{"executionStatus": "execution error", "dataset": None, "variables": [],
                    "errors": [{"error": "driver", "message": f"{type(exc).__name__}: {exc}"}]}]
    return {"rule_id": rule["core_id"], "message": message,
            "executability": rule.get("executability"), "rule_type": rule.get("rule_type"),
            "description": rule.get("description"),
            "results": [compact_result(r) for r in results if isinstance(r, dict)]}


def compact_result(result: dict) -> dict:
    keep = result.get("executionStatus") in ("issue reported", "execution error")
    return {"status": result.get("executionStatus"), "dataset": result.get("dataset"),
            "variables": list(result.get("variables") or []),
            "errors": [dict(e) for e in (result.get("errors") or [])] if keep else []}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder with .xpt files")
    p.add_argument("--define", default=None)
    p.add_argument("--shipped", required=True, help="the project's cdisc/conformance/core/data folder")
    p.add_argument("--cache-dir", required=True, help="root folder of the engine's pickle caches (one per data version)")
    p.add_argument("--out", required=True, help="result JSON file")
    p.add_argument("--standard", default="sdtmig")
    p.add_argument("--version", default="3-4")
    p.add_argument("--ct", action="append", default=[])
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--rule", action="append", default=[])
    p.add_argument("--exclude-rule", action="append", default=[])
    p.add_argument("--pool-size", type=int, default=1)
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    paths = sorted(os.path.join(os.path.abspath(a.data), f) for f in os.listdir(a.data)
                   if f.lower().endswith(".xpt"))
    if not paths:
        die(f"no .xpt files in {a.data}")
    try:
        from importlib.metadata import version as dist_version

        from cdisc_rules_engine.services import logger as engine_logger

        engine_logger.disabled = True
        t0 = time.time()
        cache_dir = build_pickle_cache(a.shipped, a.cache_dir)
        define, notes = readable_define(os.path.abspath(a.define) if a.define else None)
        rules, rule_notes = load_rules(cache_dir, a.standard, a.version, a.rule, a.exclude_rule,
                                       with_define=define is not None)
        notes += rule_notes
        library = load_library_metadata(cache_dir, a.standard, a.version, a.ct, define)
        state = dict(standard=a.standard, version=a.version, ct=a.ct, define=define,
                     library_metadata=library, max_size=max(os.path.getsize(p) for p in paths),
                     paths=paths, encoding=a.encoding)
        t1 = time.time()
        if a.pool_size > 1:
            with Pool(a.pool_size, initializer=init_worker, initargs=(state,)) as pool:
                outcomes = list(pool.imap(run_rule, rules))
        else:
            init_worker(state)
            outcomes = [run_rule(r) for r in rules]
        t2 = time.time()
    except SystemExit:
        raise
    except Exception as exc:
        import traceback

        traceback.print_exc()
        die(f"engine failed: {type(exc).__name__}: {exc}", 3)
    status = collections.Counter(r["status"] for o in outcomes for r in o["results"])
    document = {
        "engine": "cdisc-rules-engine", "engine_version": dist_version("cdisc-rules-engine"),
        "standard": a.standard, "version": a.version, "ct_packages": a.ct,
        "define_used": define is not None, "encoding": a.encoding,
        "datasets": [os.path.basename(p) for p in paths], "rules_total": len(outcomes),
        "result_status": dict(status), "notes": notes,
        "seconds_setup": round(t1 - t0, 1), "seconds_rules": round(t2 - t1, 1),
        "outcomes": [dict(o, results=[r for r in o["results"] if r["errors"]]) for o in outcomes],
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(document, fh, default=str)
    os.replace(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
