#!/usr/bin/env bash
# The cross-language client in CI: numpy regenerates the inputs of the golden cases (suite 1 and suite 2: chunked
# prefill, decode, packed), computes routed attention forward and backward, writes candidate files, and
# `swiattn check --all` judges them (exit status 1 on a tolerance failure, 2 on bad input). First the README's
# worked examples (worked_examples.py) check the four forms of a call against each other.
#
#   examples/python/run_check.sh [OUT_DIR]
#
# Environment: SWIATTN_NUMPY_MAX_SEQ  largest S (query rows per batch row) checked in fp64 (default 4096, which
#                                     covers every suite-2 case, the 32K-cache ones included; 32768 adds the six
#                                     suite-1 32K cases, several minutes more)
#              SWIATTN_NUMPY_FP32_MAX_SEQ  largest S also checked as an fp32 candidate (default 512)
# Needs cli/target/swiattn.jar (the launcher says how to build it) and numpy (installed from Debian's
# python3-numpy with apt-get when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$(mktemp -d)}"
max_seq="${SWIATTN_NUMPY_MAX_SEQ:-4096}"
fp32_max_seq="${SWIATTN_NUMPY_FP32_MAX_SEQ:-512}"

py=python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "run_check: numpy is missing; installing python3-numpy" >&2
  if [[ "$(id -u)" == 0 ]]; then apt-get update -qq && apt-get install -y -qq python3-numpy >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq python3-numpy >/dev/null; fi
  # python3 may be another interpreter (pyenv, venv) than the one Debian's package serves
  "$py" -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
fi
echo "run_check: $("$py" -c 'import sys, numpy; print("python", sys.version.split()[0], "numpy", numpy.__version__)')"

start=$(date +%s)
"$py" -B "$here/worked_examples.py"
"$py" -B "$here/swiattn_client.py" --golden "$root/golden" --out "$out/fp64" --precision fp64 --max-seq "$max_seq"
"$root/swiattn" check --golden "$root/golden" --all "$out/fp64"
"$py" -B "$here/swiattn_client.py" --golden "$root/golden" --out "$out/fp32" --precision fp32 --max-seq "$fp32_max_seq"
"$root/swiattn" check --golden "$root/golden" --all "$out/fp32"
echo "run_check: numpy client conforms (fp64 up to S=$max_seq, fp32 up to S=$fp32_max_seq) in $(( $(date +%s) - start )) s"
