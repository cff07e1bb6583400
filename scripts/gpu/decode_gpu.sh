#!/usr/bin/env bash
# The routed decode on the GPU machine, in one command (about 8 minutes at most): from the repository root, with
# bundle/ built by scripts/gpu/build_bundle.sh.
#   1. CudaDecodeTest (every decode version on three plans against the reference) and DecodePlanTest
#   2. swiattn bench --mode DECODE, cache 32768, routes full, window, rho 0.1 / 0.25 / 0.5, with --peers (SDPA split
#      by route on both cache layouts, FlexAttention): bf16 at B = 1, 8, 32, 128 for the versions DEC_VERSIONS
#      (default MMA); fp64 at B = 1, 8, 32 unless DEC_FP64 is empty; with DEC_PIECES (e.g. 0,1,2,4) also a sweep of
#      the piece size at B = DEC_PIECE_BATCHES (default 1,8), without peers
#   3. unless DEC_NCU is empty: ncu (--clock-control none, one launch each) of our bf16 split kernel at B = 1 (full,
#      window) and 32 (full), and of SDPA's kernels on both cache layouts: duration, DRAM throughput, occupancy
# Logs and JSON lines go to $OUT (or ./out); a short table is printed last. Limits: DEC_TEST_LIMIT 240,
# DEC_BENCH_LIMIT 420 (bf16) / 240 (others), DEC_NCU_LIMIT 150 seconds; a failing step does not stop the others.
set -uo pipefail
out="${OUT:-$PWD/out}"
mkdir -p "$out"
: >"$out/stages.txt"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
gpu_info
junit decode-tests "${DEC_TEST_LIMIT:-240}" --select-class $P.CudaDecodeTest --select-class $P.DecodePlanTest
echo "decode tests: $(count decode-tests)"
bench() {  # log limit args...: one swiattn bench run
  local log=$1 limit=$2 t0=$SECONDS
  shift 2
  timeout "$limit" $java -Xmx48g -XX:+UseParallelGC -jar bundle/swiattn.jar bench --json "$out/$log.jsonl" "$@" \
    >"$out/$log.log" 2>&1
  echo "$log rc=$? $((SECONDS - t0))s" | tee -a "$out/stages.txt"
}
R=(--mode DECODE --cache 32768 --routes full,window,0.1,0.25,0.5)
bench decode-bf16 "${DEC_BENCH_LIMIT:-420}" "${R[@]}" --peers --dtype bf16 --batches 1,8,32,128 \
  --decode-versions "${DEC_VERSIONS:-MMA}"
[[ -n "${DEC_PIECES:-}" ]] && bench decode-pieces 240 "${R[@]}" --dtype bf16 --batches "${DEC_PIECE_BATCHES:-1,8}" \
  --decode-pieces "$DEC_PIECES" --check-rows 0
[[ -n "${DEC_FP64-1}" ]] && bench decode-fp64 240 "${R[@]}" --peers --dtype fp64 --batches 1,8,32
if [[ -n "${DEC_NCU-1}" ]] && command -v ncu >/dev/null 2>&1; then
  M=gpu__time_duration.sum,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active,launch__grid_size,launch__occupancy_limit_shared_mem,launch__occupancy_limit_registers
  for case in 1:full 1:window 32:full; do
    b=${case%%:*} r=${case##*:}
    timeout "${DEC_NCU_LIMIT:-150}" ncu --clock-control none --target-processes all -k regex:swi_decode_split -c 1 \
      --metrics "$M" $java -Xmx48g -jar bundle/swiattn.jar bench --mode DECODE --cache 32768 --routes $r \
      --dtype bf16 --batches $b --warmup 0 --repeats 1 >"$out/ncu-ours-B$b-$r.txt" 2>&1
    echo "ncu ours B=$b $r rc=$?" >>"$out/stages.txt"
  done
  cat >/tmp/sdpa_decode.py <<'PY'
import sys, torch
layout, B, Sk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
HQ, HKV, D = 32, 8, 128
q = torch.randn(B, HQ, 1, D, device="cuda", dtype=torch.bfloat16)
shape = (B, Sk, HKV, D) if layout == "nhd" else (B, HKV, Sk, D)
k, v = (torch.randn(*shape, device="cuda", dtype=torch.bfloat16) for _ in range(2))
if layout == "nhd":
    k, v = k.transpose(1, 2), v.transpose(1, 2)
for _ in range(3):
    torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
torch.cuda.synchronize()
PY
  for case in hnd:32:32768 nhd:32:32768 hnd:1:1024 hnd:1:32768; do  # B = 1 at 1024 keys: the window rows
    IFS=: read -r lay b sk <<<"$case"
    timeout "${DEC_NCU_LIMIT:-150}" ncu --clock-control none -k regex:'flash|fmha|attn|cudnn|splitkv|combine' -c 4 \
      --metrics "$M" python3 /tmp/sdpa_decode.py $lay $b $sk >"$out/ncu-sdpa-$lay-B$b-$sk.txt" 2>&1
    echo "ncu sdpa $lay B=$b Sk=$sk rc=$?" >>"$out/stages.txt"
  done
fi
echo
echo "== steps"; cat "$out/stages.txt"
grep -h "slots\|FAIL\|Error\|expected" "$out/decode-tests.log" 2>/dev/null | grep -v "^\s*$" | head -60
for l in decode-bf16 decode-pieces decode-fp64; do
  [[ -f "$out/$l.log" ]] && { echo "== $l"; sed -n '/^prec  *B route/,$p' "$out/$l.log" | cut -c1-200; }
done
for f in "$out"/ncu-*.txt; do
  [[ -f "$f" ]] && { echo "== $(basename "$f")"; grep -E "^  [a-zA-Z_]|gpu__|dram__|sm__|launch__" "$f" | grep -v "==PROF==" | cut -c1-120 | head -36; }
done
