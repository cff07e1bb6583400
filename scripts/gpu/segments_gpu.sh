#!/usr/bin/env bash
# The spec 2.0 segment tables (chunked prefill, KV cache, packed batches) on the GPU machine, in one command (about
# 7 minutes at most): from the repository root, with bundle/ built by scripts/gpu/build_bundle.sh.
#   1. in parallel JVMs: the segment property classes on CUDA fp64 and fp32 (SegmentProperties,
#      SegmentValidationProperties) and bf16 (refusals); CudaGoldenTest (suites 1 and 2, fp64 and fp32),
#      CudaDecodeTest and CudaKernelEquivalenceTest (self-attention: every kernel version against the reference)
#   2. swiattn bench --mode CHUNK: a 512-row chunk at offset 32256 of 32768 against the same rows of the one-shot
#      prefill (ratio, target <= 1.2; outputs compared bit for bit), fp64 and fp32
#   3. swiattn bench --mode VARLEN: packed documents totalling 8192 rows, forward and backward, with --peers
#      (FlexAttention with a document mask, same timing method) when torch is importable
# Logs and JSON lines go to $OUT (or ./out); a short table is printed last. Every step has a time limit
# (SEG_PROPS_LIMIT 210, SEG_TESTS_LIMIT 210, SEG_BENCH_LIMIT 90 for the chunk, SEG_VARLEN_LIMIT 150 seconds) and a
# failing step does not stop the others.
set -uo pipefail
out="${OUT:-$PWD/out}"
mkdir -p "$out"
: >"$out/stages.txt"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
gpu_info
L="${SEG_PROPS_LIMIT:-210}"
junit seg-props-fp64 "$L" --include-classname '.*Properties' --select-class $P.properties.CudaFp64SegmentProperties \
  --select-class $P.properties.CudaFp64SegmentValidationProperties &
junit seg-props-fp32 "$L" --include-classname '.*Properties' --select-class $P.properties.CudaFp32SegmentProperties \
  --select-class $P.properties.CudaFp32SegmentValidationProperties &
junit seg-props-bf16 "$L" --include-classname '.*Properties' --select-class $P.bf16.Bf16SegmentProperties \
  --select-class $P.bf16.Bf16SegmentValidationProperties &
junit seg-golden "${SEG_TESTS_LIMIT:-210}" --select-class $P.CudaGoldenTest --select-class $P.CudaDecodeTest &
junit seg-equivalence "${SEG_TESTS_LIMIT:-210}" --select-class $P.CudaKernelEquivalenceTest &
parallel_stage "segment properties and tests"
bench() {  # log args...: one swiattn bench run
  local log=$1 t0=$SECONDS
  shift
  timeout "${SEG_BENCH_LIMIT:-90}" $java -Xmx48g -XX:+UseParallelGC -jar bundle/swiattn.jar bench \
    --json "$out/$log.jsonl" "$@" >"$out/$log.log" 2>&1
  echo "$log rc=$? $((SECONDS - t0))s" | tee -a "$out/stages.txt"
}
bench bench-chunk --mode CHUNK --dtype fp64,fp32 --cache 32768 --chunk 512 --routes full,window,0.25 \
  --warmup 2 --repeats 5
peers=()
python3 -c 'import torch' >/dev/null 2>&1 && peers=(--peers)
SEG_BENCH_LIMIT="${SEG_VARLEN_LIMIT:-150}" bench bench-varlen --mode VARLEN --dtype fp64,fp32 --seq 8192 \
  --routes full,window,0.25 --warmup 2 --repeats 5 --check-rows 4 ${peers[@]+"${peers[@]}"}
echo
echo "== steps"; cat "$out/stages.txt"
for l in seg-props-fp64 seg-props-fp32 seg-props-bf16 seg-golden seg-equivalence; do
  [[ -f "$out/$l.log" ]] && echo "$l: $(count $l)"
done
grep -h "golden: \|FAIL" "$out"/seg-golden.log 2>/dev/null | head -8
for l in bench-chunk bench-varlen; do
  [[ -f "$out/$l.log" ]] && { echo "== $l"; sed -n '/^prec /,$p' "$out/$l.log" | grep -v "^  \[peers\]"; }
done
grep -h "rows of the one-shot" "$out/bench-chunk.log" 2>/dev/null
