#!/usr/bin/env bash
# The test command: set everything up on this machine (project venv, the CDISC CORE venv, headless Chromium),
# once per run, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-core.sh
bash scripts/setup-browser.sh
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
exit $rc
