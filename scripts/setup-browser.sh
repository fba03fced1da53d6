#!/usr/bin/env bash
# Install headless Chromium from Debian's packages for the browser tests (pytest -m browser).
# Idempotent: does nothing when /usr/bin/chromium and chromedriver are already there.
# Usage: bash scripts/setup-browser.sh   (needs root or sudo for apt-get)
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "chromium present: $(chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
chromium --version
