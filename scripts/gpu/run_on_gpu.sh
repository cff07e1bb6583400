#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with bundle/ built by scripts/gpu/build_bundle.sh:
#   kernels     CUDA device tests + every kernel version against the fp64 reference (CudaKernelEquivalenceTest)
#   bench       swiattn bench: fp64 and fp32, S = 4096 and 32768, routes full/window/0.1/0.25/0.5, backward at 4K
#   peers       PyTorch peers of the same shapes (bench/peers/peer_bench.py)
#   sanitizer   compute-sanitizer memcheck and racecheck on a small case (every kernel family, both precisions)
#   properties  the jqwik property suite against CUDA fp64 and fp32
# then prints a short table (scripts/gpu/summary.py). Logs go to $OUT (the device tool's folder) or ./out.
# Environment: STAGES (comma list, default all, in the order above), BENCH_ARGS (extra swiattn bench options),
# PEER_ARGS (extra peer_bench.py options, e.g. --skip-flex),
# JAVA_OPTS (default -Xmx48g). Each stage has its own time limit; a failing stage does not stop the others.
set -uo pipefail
out="${OUT:-$PWD/out}"
mkdir -p "$out"
stages="${STAGES:-kernels,bench,peers,sanitizer,properties}"
java=bundle/jre/bin/java
cp="bundle/swiattn.jar:bundle/test-classes:$(ls bundle/lib/*.jar | tr '\n' ':')"
jopts="${JAVA_OPTS:--Xmx48g -XX:+UseParallelGC}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,memory.used --format=csv \
  >"$out/gpu.txt" 2>&1
cat "$out/gpu.txt"

run_stage() {  # name limit command...
  local name=$1 limit=$2
  shift 2
  [[ ",$stages," == *",$name,"* ]] || return 0
  local t0=$SECONDS
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $((SECONDS - t0))s" | tee -a "$out/stages.txt"
  tail -n 4 "$out/$name.log"
}
junit=($java $jopts -jar bundle/junit.jar execute --disable-banner --details=tree --class-path "$cp")
small=(--seq 300 --precision FP64,FP32 --routes 0.3,full --head-dim 64 --q-heads 4 --kv-heads 2 --window 37
       --warmup 0 --repeats 1 --backward-seq 300 --check-rows 0 --versions default,V1,V2)

run_stage kernels 240 "${junit[@]}" --select-class org.swiattn.cuda.CudaDeviceTest \
  --select-class org.swiattn.cuda.CudaKernelEquivalenceTest --select-class org.swiattn.cuda.CudaGoldenTest
# shellcheck disable=SC2086
run_stage bench 300 $java $jopts -cp "$cp" org.swiattn.cli.BenchCommand --json "$out/bench.jsonl" \
  ${BENCH_ARGS:-}
# shellcheck disable=SC2086
run_stage peers 300 python3 bench/peers/peer_bench.py --json "$out/peers.jsonl" ${PEER_ARGS:-}
run_stage sanitizer 240 bash -c "compute-sanitizer --tool memcheck --error-exitcode 9 $java -Xmx4g -cp '$cp' \
  org.swiattn.cli.BenchCommand ${small[*]} > '$out/memcheck.log' 2>&1; m=\$?; \
  compute-sanitizer --tool racecheck --error-exitcode 9 $java -Xmx4g -cp '$cp' \
  org.swiattn.cli.BenchCommand ${small[*]} > '$out/racecheck.log' 2>&1; r=\$?; \
  tail -n 3 '$out/memcheck.log' '$out/racecheck.log'; grep -m 6 -E 'Race reported|Warning|Error' \
  '$out/racecheck.log' '$out/memcheck.log'; echo memcheck rc=\$m racecheck rc=\$r; exit \$((m + r))"
python3 scripts/gpu/summary.py "$out" >"$out/summary.md"
run_stage properties "${PROPERTIES_LIMIT:-300}" "${junit[@]}" --include-classname '.*Properties' \
  --select-package org.swiattn.cuda.properties
grep -E "tests (successful|failed|aborted)|containers failed" "$out/properties.log" 2>/dev/null | tr -s ' ' | tr '\n' ' '
echo
cat "$out/summary.md"
