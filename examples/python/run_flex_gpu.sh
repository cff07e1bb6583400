#!/usr/bin/env bash
# The FlexAttention adapter (adapters_torch.flex) on a CUDA GPU: bf16 and fp32, every golden case, the six 32K
# cases included; one table per precision, saved next to the candidates. One command:
#
#   examples/python/run_flex_gpu.sh [OUT_DIR]          (PYTHON=... to choose the interpreter)
#
# Needs torch >= 2.5 with CUDA (FlexAttention, torch.compile), numpy, Java 17 and cli/target/swiattn.jar
# (mvn -B -q -pl cli -am package -DskipTests). Cases a kernel cannot run (e.g. D = 1) are reported as NOT RUN.
# Exit status 1 when a case fails or does not run in either precision.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$(mktemp -d)}"
py="${PYTHON:-python3}"
"$py" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print("torch", torch.__version__, torch.cuda.get_device_name())' || exit 2
status=0
for p in bf16 fp32; do
  mkdir -p "$out/$p"
  "$py" "$here/harness.py" --adapter flex --precision "$p" --device cuda --max-seq 32768 --out "$out/$p" \
    | tee "$out/flex-$p.txt" || status=1
done
echo "run_flex_gpu: tables in $out/flex-bf16.txt and $out/flex-fp32.txt"
exit $status
