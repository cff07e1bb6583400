#!/usr/bin/env bash
# bf16 on the spec 2.0 segment tables (chunked prefill, packed batches) on the GPU machine, in one command (6 to 7
# minutes; at most 11 with every step at its limit): from the repository root, after
# `tar -xJf target/bundle.tar.xz` (bundle/ built by scripts/gpu/build_bundle.sh --xz).
#   1. in parallel JVMs: Bf16GoldenTest (every golden case of golden/ with D <= 128, the SAMPLED ones included; in
#      three JVMs, -Dswiattn.golden.part=0/3, 1/3, 2/3, which share the 32K cases' CPU work) and
#      Bf16SegmentProperties and Bf16SimtSegmentProperties (the segment property suite on the bf16 implementation
#      with the tensor-core and the SIMT backward, one JVM each)
#   2. swiattn bench --mode CHUNK --dtype bf16: a 512-row chunk at offset 32256 of 32768 on the mma.sync segment
#      forward against the same rows of the one-shot prefill (the same kernel: ratio and bit-for-bit comparison; the
#      default wgmma kernel: ratio), sampled rows judged against the fp64 reference, the device limits of the run
#   3. swiattn bench --mode VARLEN --dtype bf16,fp32 --seq 8192 with --peers (FlexAttention with a document mask
#      and SDPA with the dense document mask, in bf16 and fp32, same documents, routes and timing) when torch is
#      importable, and the device limits of the run
#   4. the same at --seq 32768 when the time so far leaves room within the budget (BF16_SEG_BUDGET, 360 s)
# Usage: bash scripts/gpu/bf16_segments_gpu.sh OUTDIR
# OUTDIR receives two files: bf16_segments_logs.tar.gz (every log and JSON-lines file, stages.txt, gpu.txt) and
# summary.txt (the short table printed last). Every step has a time limit (BF16_GOLDEN_LIMIT 240, BF16_PROPS_LIMIT
# 240, BF16_CHUNK_LIMIT 120, BF16_VARLEN_LIMIT 300 seconds; the 32K step runs when at least BF16_VARLEN_32K_MIN 150
# seconds of the budget are left, limited to what is left) and a failing step does not stop the others. Exit status
# 0 when every step exited 0, else 1.
set -uo pipefail
dest="${1:?usage: bash scripts/gpu/bf16_segments_gpu.sh OUTDIR}"
mkdir -p "$dest"
out="$(mktemp -d /tmp/bf16-segments.XXXXXX)"
: >"$out/stages.txt"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
budget="${BF16_SEG_BUDGET:-360}"
gpu_info
for part in 0 1 2; do
  JAVA_OPTS="-Xmx24g -XX:+UseParallelGC -Dswiattn.golden.part=$part/3" junit "bf16-golden-$part" \
    "${BF16_GOLDEN_LIMIT:-240}" --select-class $P.bf16.Bf16GoldenTest &
done
junit bf16-seg-props "${BF16_PROPS_LIMIT:-240}" --include-classname '.*Properties' \
  --select-class $P.bf16.Bf16SegmentProperties &
junit bf16-seg-props-simt "${BF16_PROPS_LIMIT:-240}" --include-classname '.*Properties' \
  --select-class $P.bf16.Bf16SimtSegmentProperties &
parallel_stage "bf16 golden cases and segment properties"
bench() {  # log limit args...: one swiattn bench run
  local log=$1 limit=$2 t0=$SECONDS
  shift 2
  timeout "$limit" $java -Xmx48g -XX:+UseParallelGC -jar bundle/swiattn.jar bench \
    --json "$out/$log.jsonl" "$@" >"$out/$log.log" 2>&1
  echo "$log rc=$? $((SECONDS - t0))s" | tee -a "$out/stages.txt"
}
bench bench-chunk "${BF16_CHUNK_LIMIT:-120}" --mode CHUNK --dtype bf16 --cache 32768 --chunk 512 \
  --routes full,window,0.25 --warmup 2 --repeats 5 --check-rows 4
peers=()
python3 -c 'import torch' >/dev/null 2>&1 && peers=(--peers)
varlen=(--mode VARLEN --dtype bf16,fp32 --routes full,window,0.25 --warmup 2 --repeats 5 --check-rows 4)
bench bench-varlen-8192 "${BF16_VARLEN_LIMIT:-300}" "${varlen[@]}" --seq 8192 ${peers[@]+"${peers[@]}"}
left=$((budget - SECONDS))
if (( left >= ${BF16_VARLEN_32K_MIN:-150} )); then
  bench bench-varlen-32768 "$left" "${varlen[@]}" --seq 32768 ${peers[@]+"${peers[@]}"}
else
  echo "bench-varlen-32768 not run: ${left}s of the ${budget}s budget left" | tee -a "$out/stages.txt"
fi
# the short table: steps, verdicts, ours vs the limits and the peers
{
  echo "== steps ($SECONDS s in all)"; cat "$out/stages.txt"
  for l in bf16-golden-0 bf16-golden-1 bf16-golden-2 bf16-seg-props bf16-seg-props-simt; do
    [[ -f "$out/$l.log" ]] && echo "$l: $(count $l)"
  done
  grep -h "^golden: \| FAIL" "$out"/bf16-golden-*.log 2>/dev/null | head -12
  for l in bench-chunk bench-varlen-8192 bench-varlen-32768; do
    [[ -f "$out/$l.log" ]] || continue
    echo "== $l"
    grep -h "sampled rows vs the fp64 reference" "$out/$l.log" | sed 's/^# //'
    grep -h "rows of the one-shot prefill\|^limits measured in this run\|^limits: not measured" "$out/$l.log"
    sed -n '/^ours vs the limits/,/^$/p; /^varlen vs FlexAttention/,/^$/p; /^sampled-row checks FAILED/,$p' \
      "$out/$l.log"
  done
} >"$out/summary.txt" 2>&1
cp "$out/summary.txt" "$dest/summary.txt"
tar -czf "$dest/bf16_segments_logs.tar.gz" -C "$out" .
cat "$out/summary.txt"
! grep -q "rc=[1-9]" "$out/stages.txt"
