#!/usr/bin/env bash
# Runs the fp64 tensor-core backward kernels (attention_backward_tc.cu, v11) on the CPU, without a GPU, then the
# segment-table kernels (segments.cpp: forward v2, v9 and backward v2, v11 over chunked-prefill, KV-cache and packed
# tables, fp64 and fp32, against a long-double forward and backward over the segments): the kernel
# sources are rewritten for the host (host_sources.py: functions with inline PTX get emulated bodies), every CUDA
# thread becomes a std::thread, mma.sync is computed from the documented fragment layouts (dmma_f64.cuh) and cp.async
# copies at once. backward_v11.cpp compares dQ, dK, dV with a direct long-double backward on small routed and SOFT
# cases (every D, GQA, windows 1 to S, both lists, coefficients, dQ accumulation) and exits 1 when an error passes
# 1e-13. It checks index arithmetic, masks, the chunk schedule and the fragment plumbing before device time is spent;
# it cannot see timing-dependent hazards (a missing cp.async wait) or the hardware's summation order.
# Usage: cuda/src/test/emulator/run.sh [number of cases]   (g++ 12+, about 4 minutes on 2 cores)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/host_sources.py" "$here/../../main/cuda" "$work/src"
pids=()
for prog in backward_v11 segments; do
  g++ -std=c++20 -O2 -pthread -I"$here/inc" -I"$work/src" -o "$work/$prog" "$here/$prog.cpp" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done  # set -e: a failed compile stops here
rc=0
"$work/backward_v11" "$@" || rc=1
"$work/segments" "$@" || rc=1
exit $rc
