#!/usr/bin/env bash
# The PyTorch harness in CI: the plain dense-mask adapter (adapters_torch.plain) against every golden case up to
# S = 4096, in fp64 and fp32, judged by `swiattn check`; prints one table per precision. Exit status 1 on a failure.
#
#   examples/python/run_harness.sh [OUT_DIR]
#
# The six 32K cases are left to the GPU (harness.py --adapter flex --device cuda --max-seq 32768): the dense adapter
# materialises [Hq,S,S] scores (32 x 32768^2) and needs about 10^13 flops per case, hours on 2 CPU cores.
# Needs cli/target/swiattn.jar and torch: Debian's python3-torch (a CPU build of torch 1.13 for the system
# Python /usr/bin/python3; `python3` on PATH may be another interpreter, e.g. pyenv's, without it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$(mktemp -d)}"
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  if python3 -c 'import torch' 2>/dev/null; then py=python3
  else echo "run_harness: torch is missing; install it with: apt-get install -y python3-torch" >&2; exit 2; fi
fi
echo "run_harness: $("$py" -c 'import sys, torch, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__)')"
start=$(date +%s)
"$py" "$here/harness.py" --adapter plain --precision fp64 --out "$out/fp64"
"$py" "$here/harness.py" --adapter plain --precision fp32 --out "$out/fp32"
echo "run_harness: plain PyTorch adapter conforms (fp64, fp32; every case up to S=4096) in $(( $(date +%s) - start )) s"
