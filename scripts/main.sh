#!/usr/bin/env bash
# The main job (README "Generate and check the golden files"): builds everything, regenerates the default
# golden suite from the reference into out/golden, and verifies the committed golden files.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q install -DskipTests
./swiattn golden generate --out out/golden
./swiattn golden verify
