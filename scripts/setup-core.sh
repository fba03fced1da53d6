#!/usr/bin/env bash
# Set up the CDISC CORE rules engine in its own venv (.core-venv): cdisc-rules-engine needs
# Python 3.12 and pandas 3, which clash with nothing in .venv but must not share it.
# Idempotent: when the venv already has the pinned engine, this is a fast no-op.
# Usage: bash scripts/setup-core.sh      Environment: CORE_VENV (default .core-venv),
#        CORE_PYTHON (a python3.12; default: first one found on PATH or under pyenv).
# Adapted from shared/tools/core-validate (venv part).
set -euo pipefail
cd "$(dirname "$0")/.."
CORE_ENGINE_VERSION="0.17.1"   # keep in step with cdisc/conformance/core/__init__.py ENGINE_VERSION
VENV="${CORE_VENV:-.core-venv}"

have_engine() {
  [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('cdisc-rules-engine') != '$CORE_ENGINE_VERSION')" 2>/dev/null
}
if have_engine; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  py="${CORE_PYTHON:-}"
  if [ -z "$py" ]; then
    for cand in python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
      if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
        py="$cand"; break
      fi
    done
  fi
  if [ -z "$py" ]; then
    echo "setup-core: cdisc-rules-engine $CORE_ENGINE_VERSION needs Python 3.12; none found (set CORE_PYTHON)" >&2
    exit 2
  fi
  echo "setup-core: creating $VENV with $py" >&2
  "$py" -m venv "$VENV"
fi
echo "setup-core: installing cdisc-rules-engine==$CORE_ENGINE_VERSION into $VENV (about a minute)" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cdisc-rules-engine==$CORE_ENGINE_VERSION"
have_engine || { echo "setup-core: engine still not importable from $VENV" >&2; exit 2; }
