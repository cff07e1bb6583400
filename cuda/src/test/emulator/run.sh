#!/usr/bin/env bash
# Runs CUDA kernels on the CPU, without a GPU: the kernel sources are rewritten for the host (host_sources.py:
# functions with inline PTX get emulated bodies), every CUDA thread becomes a fiber (the threads of a block take
# turns at their barriers; a deadlock stops the program naming where each thread waits), mma.sync is computed from
# the documented fragment layouts (fp64: dmma_f64.cuh; bf16: the PTX ISA's m16n8k16 layouts), ldmatrix and cp.async
# act on the emulated shared block, and the sm_90a wgmma (bf16/wgmma_ops.cuh: m64n64k16 with A and B in shared
# memory, m64n64k16 and m64n128k16 with A in registers; the host copy is built as sm_90a) is a warpgroup collective
# that decodes its matrix descriptors (128-byte swizzle, LBO, SBO) per the PTX ISA and reads its shared operands when
# the whole warpgroup has issued it (inc/emu_cuda.h, inc/emu_machine.h; x86-64). The programs:
#   primitives    the emulated primitives against their PTX ISA definitions, written out independently: bf16
#                 conversions, ldmatrix x4 (.trans), mma.sync m16n8k16 bf16, shuffles, cp.async zero fill, wgmma
#                 (the three shapes against a plain product, operands in the swizzled layouts)
#   backward_v11  the fp64 tensor-core backward (attention_backward_tc.cu, v11): dQ, dK, dV against a direct
#                 long-double backward on small routed and SOFT cases (every D, GQA, windows 1 to S, both lists,
#                 coefficients, dQ accumulation); exit 1 when an error passes 1e-13
#   segments      the segment-table kernels (forward v2, v9 and backward v2, v11 over chunked-prefill, KV-cache and
#                 packed tables, fp64 and fp32) against a long-double forward and backward over the segments
#   decode_bf16   the bf16 tensor-core decode (bf16/decode_bf16.cu, both D; one launch, the pieces merged by the
#                 last of each pair, decode.cuh) over DecodePlan work lists of three piece sizes with mixed cache
#                 lengths and routes, against a long-double decode (the bf16 SIMT split kernel of decode.cu beside
#                 it, for comparison)
#   attn_bf16     the bf16 tensor-core forward (bf16/attn_fwd_bf16.cu: version 1, the mma.sync variants, and
#                 version 3, the wgmma variants, beside it) and backward (bf16/attn_bwd_bf16.cu, the dK/dV and dQ
#                 mma2 and wgmma kernels; the SIMT v2 backward beside them), chained as Bf16Attention chains them (HARD and
#                 SOFT, D 64 and 128, GQA; the _seg forward and the _seg backward of every version over segment
#                 tables), against a long-double forward and backward
# They check index arithmetic, masks, schedules and the fragment plumbing before device time is spent; they see
# timing-dependent hazards only in part (a missing barrier when the emulated order exposes it, see --shuffle; a
# missing cp.async or wgmma wait, or wgmma.fence, only with --deferred-async) and not the hardware's summation order.
# Shared-memory addresses of ldmatrix, cp.async and wgmma are bounds-checked, a block that writes past its dynamic
# shared bytes stops the program, and so does a wgmma that reads bytes a cp.async wrote before the writing thread's
# fence.proxy.async (plain shared stores are not tracked).
# Usage: cuda/src/test/emulator/run.sh [--src DIR] [--deferred-async] [--shuffle N] [PROGRAM ...] [number of cases]
#   PROGRAM: any of the above (default: all; about 1.5 minutes on 2 cores; decode_bf16
#     alone about 5 s);
#   --src DIR: kernel sources to emulate, laid out as cuda/src/main/cuda (.cu/.cuh files, bf16/ beside them): its
#     files replace those of cuda/src/main/cuda, so DIR may hold a whole copy or just the modified files, e.g.
#     run.sh --src /tmp/k decode_bf16   with /tmp/k/bf16/decode_bf16.cu edited;
#   --deferred-async: cp.async writes shared memory only when a cp.async.wait_group completes its group (the latest
#     moment the PTX ISA allows) instead of at once, so a tile read before its wait sees stale data or NaN poison;
#     a wgmma's accumulator holds NaN until a wgmma.wait_group completes it (its shared operands are still read at
#     issue), and a wgmma that starts an accumulator needs a wgmma.fence since the thread's last wgmma wait.
#   --shuffle N: the threads of a block run in a random order (seed N > 0) between their barriers instead of in
#     thread order, so shared-memory writes and reads that no barrier orders meet in other orders.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
main="$here/../../main/cuda"
src=""
all=(primitives backward_v11 segments decode_bf16 attn_bf16)
progs=()
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --src) src="$2"; shift 2 ;;
    --deferred-async) export EMU_ASYNC=deferred; shift ;;
    --shuffle) export EMU_SCHED_SEED="$2"; shift 2 ;;
    [0-9]*) args+=("$1"); shift ;;
    *)
      [ -f "$here/$1.cpp" ] || { echo "run.sh: no program $1 (have: ${all[*]})" >&2; exit 2; }
      progs+=("$1"); shift ;;
  esac
done
[ ${#progs[@]} -gt 0 ] || progs=("${all[@]}")
[ -z "$src" ] || [ -d "$src" ] || { echo "run.sh: no source directory $src" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/host_sources.py" "$main" "$work/src"
if [ -n "$src" ]; then
  python3 "$here/host_sources.py" "$src" "$work/src"
  changed=$(cd "$src" && for f in $(find . -maxdepth 2 \( -name '*.cu' -o -name '*.cuh' \) | sed 's|^\./||' | sort); do
    cmp -s "$f" "$main/$f" || printf ' %s' "$f"; done)
  echo "run.sh: sources from $src; differing from cuda/src/main/cuda:${changed:- none}"
fi
pids=()
for prog in "${progs[@]}"; do
  g++ -std=c++20 -O2 -pthread -I"$here/inc" -I"$work/src" -o "$work/$prog" "$here/$prog.cpp" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done  # set -e: a failed compile stops here
rc=0
for prog in "${progs[@]}"; do
  "$work/$prog" ${args[@]+"${args[@]}"} || rc=1
done
exit $rc
