#!/usr/bin/env bash
# The main job (README "Generate and check the golden files"): builds everything, regenerates the default
# golden suite (suite 1 and suite 2, every committed case) from the reference into a fresh out/golden, and
# verifies the committed golden files: a file the regeneration reproduced byte for byte is verified by that, any
# other is recomputed and compared within the fp64 tolerance (CI's `golden verify` recomputes every file).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q install -DskipTests
rm -rf out/golden
./swiattn golden generate --out out/golden
./swiattn golden verify --regenerated out/golden
