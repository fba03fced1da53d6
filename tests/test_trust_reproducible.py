"""Reproducible runs (issue #8): the same inputs give a byte-identical package, whatever the clock or workers.

Every file is compared byte for byte, XPT headers (creation/modification timestamps) and define.xml
``CreationDateTime`` included. The runs are seconds apart, so a timestamp taken from the clock would show.
"""

from __future__ import annotations

import re
import time

import pytest

from interop.pipeline import ConvertOptions, convert
from tests.test_trust_support import generate_cohort, package_files

STUDY = "len-cdm"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("repro")
    export = generate_cohort(STUDY, 6, 5, root / "export")
    packages = {}
    for name, workers in (("first", 1), ("second", 1), ("two workers", 2)):
        convert(ConvertOptions((export,), STUDY, root / name, workers=workers))
        packages[name] = package_files(root / name)
        time.sleep(1.1)
    return packages


def test_two_runs_give_byte_identical_packages(runs):
    assert sorted(runs["first"]) == sorted(runs["second"])
    different = [name for name in runs["first"] if runs["first"][name] != runs["second"][name]]
    assert different == []


def test_one_and_two_workers_give_byte_identical_packages(runs):
    different = sorted(set(runs["first"]) ^ set(runs["two workers"])) + \
        [name for name in runs["first"] if runs["first"][name] != runs["two workers"].get(name)]
    assert different == []


def test_timestamps_come_from_the_data_not_the_clock(runs):
    define = runs["first"]["define.xml"].decode()
    created = re.search(r'CreationDateTime="([^"]+)"', define).group(1)
    assert created[:4] in ("2022", "2023", "2024")         # the cohort's last date, not today
    header = runs["first"]["dm.xpt"][:400]
    assert time.strftime("%Y").encode()[2:] + b":" not in header or created[:4] == time.strftime("%Y")


def test_created_option_sets_every_timestamp(tmp_path):
    from datetime import datetime

    export = generate_cohort(STUDY, 2, 5, tmp_path / "export")
    convert(ConvertOptions((export,), STUDY, tmp_path / "pkg", created=datetime(2024, 7, 1, 12, 30, 5)))
    define = (tmp_path / "pkg" / "define.xml").read_text()
    assert 'CreationDateTime="2024-07-01T12:30:05"' in define
    assert b"01JUL24:12:30:05" in (tmp_path / "pkg" / "dm.xpt").read_bytes()[:400]
