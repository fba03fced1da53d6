#!/usr/bin/env bash
# The test command: set everything up on this machine (project venv, the CDISC CORE venv, headless Chromium),
# once per run, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# optional extra for the Spark engine tests (a large download, installed once per machine)
.venv/bin/python -c "import pyspark" 2>/dev/null || .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[spark,test]"
bash scripts/setup-core.sh
bash scripts/setup-browser.sh
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
exit $rc
