#!/usr/bin/env bash
# The PyTorch harness in CI: the plain dense-mask adapter (adapters_torch.plain) against every golden case of both
# suites within the harness's default size limit, in fp64 and fp32, judged by `swiattn check`; prints one table per
# precision. First test_harness.py checks the segment handling itself. Exit status 1 on a failure.
#
#   examples/python/run_harness.sh [OUT_DIR] [HARNESS OPTIONS...]     e.g. --all, or case names / tcIds
#
# What runs (harness.py --max-size, default 2^25 = max(B*Hq*Sq*Sk, B*Sk*Hkv*D)): suite 1 up to S = 4096 (tcId 1-30)
# and suite 2's chunked prefill, KV cache with NaN slots, decode (4096, production shape) and packed cases (101-107,
# 111). Listed as SKIPPED, with their size: the six suite-1 32K cases (31-36) and suite 2's 108-110 and 112-114
# (decode at 32768, chunks of 4096 and 32768, production-shape packed and self-attention 4K), which a dense adapter
# holds as [Hq, Sq, Sk] scores: minutes to hours each on 2 CPU cores. `--all` runs them (109 took 140 s in fp64,
# 108 97 s, here); the GPU runs every case (run_flex_gpu.sh).
# Needs cli/target/swiattn.jar and torch: Debian's python3-torch (a CPU build of torch 1.13 for the system
# Python /usr/bin/python3; `python3` on PATH may be another interpreter, e.g. pyenv's, without it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
shift || true
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  if python3 -c 'import torch' 2>/dev/null; then py=python3
  else echo "run_harness: torch is missing; install it with: apt-get install -y python3-torch" >&2; exit 2; fi
fi
echo "run_harness: $("$py" -c 'import sys, torch, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__)')"
start=$(date +%s)
"$py" "$here/test_harness.py" >"$out/test_harness.log" 2>&1 || { tail -20 "$out/test_harness.log"; exit 1; }
tail -1 "$out/test_harness.log"
"$py" "$here/harness.py" --adapter plain --precision fp64 --out "$out/fp64" "$@"
"$py" "$here/harness.py" --adapter plain --precision fp32 --out "$out/fp32" "$@"
echo "run_harness: plain PyTorch adapter conforms (fp64, fp32; suites 1 and 2 within --max-size) in $(( $(date +%s) - start )) s"
