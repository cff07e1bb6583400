#!/usr/bin/env bash
# On the GPU machine, from the repository root, with cuda/target-bf16/bundle.tar.xz carried (build_bundle_bf16.sh):
#   stage 1, in parallel (correctness: mostly CPU work for the reference and naive yardsticks):
#     tests      Bf16BackwardTest (every estimator, both backward versions, vs reference by the bf16 rule),
#                Bf16AttentionTest (every forward variant), Bf16GoldenTest (golden cases, swiattn check logic)
#     props-*    the jqwik property suite on bf16 (Forward | Conformance+Gradient | Oracle+Validation)
#     sanitizer  compute-sanitizer memcheck + racecheck on a small `swiattn bench --dtype bf16` (forward, both
#                backward versions)
#     peerwarm   the peer script once (fills the Triton / Inductor caches, so stage 2 spends no time compiling)
#   stage 2, alone on the GPU:
#     bench      swiattn bench --dtype bf16 --peers (S = 4096, 32768; forward full/window/0.25, backward
#                full/window/0.25, the peers forward and backward in the same invocation), ratios last
# Logs under $OUT (default ./out-bf16); a short table last. Env: STAGE1_LIMIT, BENCH_LIMIT (seconds), STAGES.
set -uo pipefail
OUT=${OUT:-out-bf16}
mkdir -p "$OUT"
B=cuda/target-bf16/bundle
[[ -x $B/jre/bin/java ]] || rm -rf $B; [[ -x $B/jre/bin/java ]] || tar -xJf cuda/target-bf16/bundle.tar.xz -C cuda/target-bf16 || { echo "no bundle"; exit 2; }
java=$B/jre/bin/java
cp="$B/swiattn.jar:$B/test-classes:$(ls $B/lib/*.jar | tr '\n' ':')"
STAGES=${STAGES:-tests,props,sanitizer,peerwarm,bench}
L1=${STAGE1_LIMIT:-130}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,memory.used --format=csv \
  >"$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
t0=$SECONDS
stage() {  # name limit command...: runs in the background, logs to $OUT/name.log, rc and seconds to stages.txt
  local name=$1 limit=$2
  shift 2
  [[ ",$STAGES," == *",${name%%-*},"* ]] || return 0
  ( s=$SECONDS; timeout "$limit" "$@" >"$OUT/$name.log" 2>&1; echo "$name rc=$? $((SECONDS - s))s" >>"$OUT/stages.txt" ) &
}
junit=($java -Xmx20g -XX:+UseParallelGC -XX:ParallelGCThreads=2 -jar $B/junit.jar execute --disable-banner
       --disable-ansi-colors --details=tree --class-path "$cp")  # an array: `timeout` cannot run a shell function
small=(--dtype bf16 --seq 300 --routes 0.3,full --head-dim 64 --q-heads 4 --kv-heads 2 --window 37 --warmup 0
       --repeats 1 --backward-seq 300 --check-rows 0)
P=org.swiattn.cuda.bf16
stage tests "$L1" "${junit[@]}" --select-class $P.Bf16BackwardTest --select-class $P.Bf16AttentionTest \
  --select-class $P.Bf16GoldenTest --select-class $P.Bf16BenchTest
stage props-fwd "$L1" "${junit[@]}" --select-class $P.Bf16ForwardProperties
stage props-conf "$L1" "${junit[@]}" --select-class $P.Bf16ConformanceProperties --select-class $P.Bf16GradientProperties
stage props-val "$L1" "${junit[@]}" --select-class $P.Bf16OracleProperties --select-class $P.Bf16ValidationProperties
stage sanitizer "$L1" bash -c "compute-sanitizer --tool memcheck --error-exitcode 9 $java -Xmx4g -cp '$cp' \
  org.swiattn.cli.BenchCommand ${small[*]} > '$OUT/memcheck.txt' 2>&1; m=\$?; \
  compute-sanitizer --tool racecheck --error-exitcode 9 $java -Xmx4g -cp '$cp' \
  org.swiattn.cli.BenchCommand ${small[*]} > '$OUT/racecheck.txt' 2>&1; r=\$?; \
  tail -n 2 '$OUT/memcheck.txt' '$OUT/racecheck.txt'; echo memcheck rc=\$m racecheck rc=\$r; exit \$((m + r))"
stage peerwarm "$L1" python3 bench/peers/peer_side_by_side.py --peers-only --backward --sizes 4096 32768
wait
echo "stage 1 done at $((SECONDS - t0))s"
if [[ ",$STAGES," == *",bench,"* ]]; then
  s=$SECONDS
  timeout "${BENCH_LIMIT:-170}" $java -Xmx48g -XX:+UseParallelGC -cp "$cp" org.swiattn.cli.BenchCommand \
    --dtype bf16 --seq 4096,32768 --routes full,window,0.25 --backward-seq 4096,32768 --check-rows 6 --peers \
    --json "$OUT/bench.jsonl" >"$OUT/bench.log" 2>&1
  echo "bench rc=$? $((SECONDS - s))s" >>"$OUT/stages.txt"
fi
echo "==== stages (total $((SECONDS - t0))s)"; cat "$OUT/stages.txt"
echo "==== tests"; grep -E "worst err/bound|golden: [0-9]+ checked|S=8192|tests (successful|failed)|MethodSource|✘" \
  "$OUT/tests.log" | head -20
grep -E " FAIL" "$OUT/tests.log" | head -8
for f in props-fwd props-conf props-val; do
  echo "==== $f: $(grep -E "tests (successful|failed|aborted)" "$OUT/$f.log" 2>/dev/null | tr -s ' ' | tr '\n' ' ')"
  grep -E "✘" "$OUT/$f.log" 2>/dev/null | head -4
done
echo "==== sanitizer"; tail -n 3 "$OUT/sanitizer.log" 2>/dev/null
echo "==== peer warm-up"; grep -E "^PEER" "$OUT/peerwarm.log" 2>/dev/null | tr '\n' ' ' | cut -c1-600; echo
tail -n 3 "$OUT/peerwarm.log" 2>/dev/null | cut -c1-200
echo "==== bench"; sed -n '/^prec /,$p' "$OUT/bench.log" 2>/dev/null
tail -n 2 "$OUT/bench.log"
