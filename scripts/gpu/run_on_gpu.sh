#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with bundle/ built by scripts/gpu/build_bundle.sh. Stages (in
# this order; STAGES picks a comma list, default tests,properties,bench):
#   tests       GPU tests in parallel JVMs: device harness + every fp64/fp32 kernel version against the fp64
#               reference (CudaKernelEquivalenceTest) + every decode version (CudaDecodeTest) + golden cases
#               (CudaGoldenTest); bf16 forward versions and
#               exported configurations (Bf16AttentionTest) + bf16 golden cases (Bf16GoldenTest); bf16 backward
#               (Bf16BackwardTest)
#   properties  the jqwik property suite on CUDA fp64, fp32 (org.swiattn.cuda.properties, the spec 2.0 segment
#               classes included) and bf16 (its segment classes too), parallel JVMs
#   sanitizer   compute-sanitizer memcheck and racecheck on a small bench case (every kernel family, fp64 and fp32)
#   baseline    the bench of another build ($BASELINE_JAR, a swiattn.jar) with $BASELINE_ARGS, for before/after
#   bench       swiattn bench $BENCH_ARGS (default: every precision's defaults, with --peers)
# Logs go to $OUT (if set) or ./out; a short table is printed last. Each stage has a time limit
# (TESTS_LIMIT, PROPERTIES_LIMIT, BENCH_LIMIT, seconds); a failing stage does not stop the others.
# JAVA_OPTS: per JVM (default -Xmx12g for the parallel stages, -Xmx48g for the bench).
set -uo pipefail
out="${OUT:-$PWD/out}"
mkdir -p "$out"
stages="${STAGES:-tests,properties,bench}"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
gpu_info
want() { [[ ",$stages," == *",$1,"* ]]; }
if want tests; then
  junit tests-fp "${TESTS_LIMIT:-240}" --select-class $P.CudaDeviceTest --select-class $P.CudaKernelEquivalenceTest \
    --select-class $P.CudaGoldenTest --select-class $P.CudaDecodeTest &
  junit tests-bf16 "${TESTS_LIMIT:-240}" --select-class $P.bf16.Bf16AttentionTest --select-class $P.bf16.Bf16GoldenTest &
  junit tests-bf16-backward "${TESTS_LIMIT:-240}" --select-class $P.bf16.Bf16BackwardTest &
fi
if want properties; then  # queued beside the tests: one wait for both
  L="${PROPERTIES_LIMIT:-240}"
  junit props-fp64 "$L" --include-classname '.*CudaFp64.*Properties' --select-package $P.properties &
  junit props-fp32 "$L" --include-classname '.*CudaFp32.*Properties' --select-package $P.properties &
  junit props-bf16-forward "$L" --include-classname '.*Bf16ForwardProperties' --select-class $P.bf16.Bf16ForwardProperties &
  junit props-bf16-conformance "$L" --include-classname '.*Properties' \
    --select-class $P.bf16.Bf16ConformanceProperties --select-class $P.bf16.Bf16GradientProperties &
  junit props-bf16-validation "$L" --include-classname '.*Properties' \
    --select-class $P.bf16.Bf16ValidationProperties --select-class $P.bf16.Bf16OracleProperties &
  junit props-bf16-segments "$L" --include-classname '.*Properties' \
    --select-class $P.bf16.Bf16SegmentProperties --select-class $P.bf16.Bf16SegmentValidationProperties &
fi
want tests || want properties && parallel_stage "tests and properties"
if want sanitizer; then
  small=(--seq 300 --precision FP64,FP32 --routes 0.3,full --head-dim 64 --q-heads 4 --kv-heads 2 --window 37
         --warmup 0 --repeats 1 --backward-seq 300 --check-rows 0 --versions default,V1,V2 --timing SYNC)
  for tool in memcheck racecheck; do
    timeout 240 compute-sanitizer --tool $tool --error-exitcode 9 $java -Xmx4g -jar bundle/swiattn.jar bench \
      "${small[@]}" >"$out/$tool.log" 2>&1
    echo "$tool rc=$?" | tee -a "$out/stages.txt"
  done
fi
if want baseline; then
  # shellcheck disable=SC2086
  timeout "${BASELINE_LIMIT:-150}" $java -Xmx48g -XX:+UseParallelGC -jar "$BASELINE_JAR" bench ${BASELINE_ARGS:-} \
    >"$out/baseline.log" 2>&1
  echo "baseline rc=$?" | tee -a "$out/stages.txt"
fi
if want bench; then
  # shellcheck disable=SC2086
  timeout "${BENCH_LIMIT:-330}" $java -Xmx48g -XX:+UseParallelGC -jar bundle/swiattn.jar bench \
    --json "$out/bench.jsonl" ${BENCH_ARGS:---peers} >"$out/bench.log" 2>&1
  echo "bench rc=$?" | tee -a "$out/stages.txt"
fi
echo
echo "== stages"; cat "$out/stages.txt"
for l in tests-fp tests-bf16 tests-bf16-backward props-fp64 props-fp32 props-bf16-forward props-bf16-conformance \
         props-bf16-validation props-bf16-segments; do
  [[ -f "$out/$l.log" ]] && echo "$l: $(count $l)"
done
grep -h "checked\|MISMATCH\|FAIL" "$out"/tests-*.log 2>/dev/null | head -5
[[ -f "$out/baseline.log" ]] && { echo "== baseline"; sed -n '/^prec /,$p' "$out/baseline.log" | head -30; }
[[ -f "$out/bench.log" ]] && { echo "== bench"; sed -n '/^prec /,$p' "$out/bench.log" | grep -v "^  \[peers\]"; }
