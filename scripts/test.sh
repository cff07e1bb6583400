#!/usr/bin/env bash
# The project's test command (README "Run the tests"; CI runs it through .ci/run).
# Works on a fresh machine with Java 17 and Maven: it installs what else it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. numpy for the cross-language client (Debian's package; the machine has no PyPI)
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "[test] numpy missing: installing python3-numpy from Debian"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy) >/dev/null
fi

# 1b. PyTorch for the harness: Debian's CPU build serves the system Python (/usr/bin/python3), which `python3` on PATH
#     need not be (a pyenv or venv interpreter); --no-install-recommends keeps the compilers and headers out
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "[test] torch missing: installing python3-torch from Debian"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch) \
    >/dev/null
fi

# 2. build every module and run every unit and property test (GPU tests skip without a CUDA device)
mvn -B -ntp install

# 3. conformance of the committed golden files, and the numpy client against them
if [ -x ./swiattn ] && [ -f golden/manifest.json ]; then
  ./swiattn golden verify
fi
if [ -x examples/python/run_check.sh ]; then
  bash examples/python/run_check.sh
fi
if [ -x examples/python/run_harness.sh ]; then
  bash examples/python/run_harness.sh
fi
# 4. one closing line over every JUnit/jqwik test of every module (GPU tests count as skipped without a GPU)
python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
t = f = e = sk = 0
for x in glob.glob('*/target/surefire-reports/TEST-*.xml'):
    r = ET.parse(x).getroot()
    t += int(r.get('tests', 0)); f += int(r.get('failures', 0)); e += int(r.get('errors', 0)); sk += int(r.get('skipped', 0))
print(f"tests: {t - f - e - sk} passed, {f + e} failed, {sk} skipped")
PY
echo "[test] all steps passed"
