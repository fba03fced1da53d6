"""The CORE data shipped in cdisc/conformance/core/data: small, JSON (no pickles), matching its manifest,
and rebuilt by the driver into the pickle cache the engine reads."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import pickle

from cdisc.conformance import core

MANIFEST = json.loads((core.DATA_DIR / "manifest.json").read_text(encoding="utf-8"))


def load_driver():
    spec = importlib.util.spec_from_file_location("core_driver", core.DRIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_match_the_manifest_and_stay_small():
    shipped = sorted(p.name for p in core.DATA_DIR.iterdir() if p.name != "manifest.json")
    assert shipped == sorted(MANIFEST["files"])
    for name, digest in MANIFEST["files"].items():
        assert hashlib.sha256((core.DATA_DIR / name).read_bytes()).hexdigest() == digest, name
    assert not any(p.suffix == ".pkl" for p in core.DATA_DIR.iterdir())
    assert sum(p.stat().st_size for p in core.DATA_DIR.iterdir()) < 2_000_000
    assert MANIFEST["engine"] == f"cdisc-rules-engine=={core.ENGINE_VERSION}"


def test_rules_are_the_sdtmig_3_4_set():
    with gzip.open(core.DATA_DIR / "rules_dictionary.json.gz") as fh:
        ids = json.load(fh)["sdtmig/3-4"]
    with gzip.open(core.DATA_DIR / "rules.json.gz") as fh:
        rules = json.load(fh)
    assert len(ids) == 430 and set(rules) == set(ids)
    assert all(rule_id.startswith("CORE-") for rule_id in ids)


def test_driver_rebuilds_the_pickle_cache_once(tmp_path):
    driver = load_driver()
    built = driver.build_pickle_cache(str(core.DATA_DIR), str(tmp_path / "cache"))
    cache = type(tmp_path)(built)
    assert cache.parent == tmp_path / "cache"
    names = sorted(p.name for p in cache.iterdir())
    assert "rules.pkl" in names and f"{core.CT_PACKAGE}.pkl" in names and "published_ct_packages.json" in names
    with (cache / "standards_details.pkl").open("rb") as fh:
        details = pickle.load(fh)["standards/sdtmig/3-4"]
    assert isinstance(details["dataset_names"], set) and "DM" in details["dataset_names"]
    stamp = (cache / driver.CACHE_STAMP).stat().st_mtime_ns
    assert driver.build_pickle_cache(str(core.DATA_DIR), str(tmp_path / "cache")) == built
    assert (cache / driver.CACHE_STAMP).stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cache.name]
