#!/usr/bin/env bash
# The main job: set everything up, then convert both trials' bundled samples into validated SDTM packages
# (out/len-cdm, out/len-cle), each with define.xml, Dataset-JSON, reports and a conformance report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-core.sh
for study in len-cdm len-cle; do
  .venv/bin/interop convert "fhir_samples/$study/ndjson" --study "$study" --out "out/$study" --validate
done
