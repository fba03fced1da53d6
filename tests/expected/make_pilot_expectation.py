"""Regenerate ``tests/expected/cdiscpilot01.json``: finding counts per rule id on the CDISC pilot.

The CDISC pilot package (``shared/reference/cdiscpilot01``: SDTMIG 3.1.2-era data, cp1252 XPTs,
define.xml 1.0) is a real package that is not ours, so findings are expected. Recorded:

- ``full.ours``  : our CONF rules on the whole package (checked by tests/test_validate_pilot.py);
- ``full.core``  : CORE on the whole package (about a minute on 2 cores; recorded for reference,
  checked with ``--check``);
- ``subset``     : ours + CORE on the small datasets in ``SUBSET`` (the ``@pytest.mark.core`` test).

Usage (repo root): ``.venv/bin/python tests/expected/make_pilot_expectation.py [--check]``.
Needs ``.core-venv`` (``bash scripts/setup-core.sh``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from cdisc.conformance import validate_package

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO.parent / "shared" / "reference" / "cdiscpilot01"
EXPECTED = Path(__file__).resolve().parent / "cdiscpilot01.json"
SUBSET = ("dm", "ds", "ex", "ta", "te", "ts", "tv")


def split_counts(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """Rule id -> count, split into ours (CONF*) and CORE (CORE-*)."""
    return {"ours": {k: v for k, v in counts.items() if k.startswith("CONF")},
            "core": {k: v for k, v in counts.items() if k.startswith("CORE")}}


def copy_subset(target: Path) -> Path:
    """The SUBSET datasets (no define.xml) copied into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in SUBSET:
        shutil.copy(PILOT / f"{name}.xpt", target / f"{name}.xpt")
    return target


def build() -> dict:
    full = validate_package(PILOT, out=None)
    with tempfile.TemporaryDirectory() as tmp:
        subset = validate_package(copy_subset(Path(tmp) / "subset"), out=None)
    return {
        "package": "shared/reference/cdiscpilot01 (CDISC pilot; SDTMIG 3.1.2-era, cp1252, define.xml 1.0)",
        "generator": "tests/expected/make_pilot_expectation.py",
        "standards": dict(full.standards),
        "full": split_counts(full.counts_by_rule()),
        "subset": {"datasets": list(SUBSET), **split_counts(subset.counts_by_rule())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = parser.parse_args(argv)
    result = build()
    if args.check:
        same = json.loads(EXPECTED.read_text(encoding="utf-8")) == result
        print("pilot expectation " + ("matches" if same else "DIFFERS"))
        return 0 if same else 1
    EXPECTED.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
