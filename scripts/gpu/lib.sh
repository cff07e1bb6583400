# Helpers of the GPU scripts (sourced by run_on_gpu.sh and segments_gpu.sh, from the repository root with bundle/
# built by build_bundle.sh). Needs: out (the log folder).
java=bundle/jre/bin/java
cp="bundle/swiattn.jar:bundle/test-classes:$(ls bundle/lib/*.jar 2>/dev/null | tr '\n' ':')"
P=org.swiattn.cuda
export PYTHONUNBUFFERED=1
junit() {  # log limit selectors...: one JUnit console run, its exit status to stages.txt
  # Each JVM gets its own java.io.tmpdir: JCuda unpacks its native library there, and JVMs started together that
  # share one folder rewrite the library while another maps it (SIGBUS in ld.so, SIGSEGV in libcuda).
  local log=$1 limit=$2
  shift 2
  mkdir -p "/tmp/jvm-$log"
  timeout "$limit" $java ${JAVA_OPTS:--Xmx12g -XX:+UseParallelGC} -Djava.io.tmpdir="/tmp/jvm-$log" \
    -jar bundle/junit.jar execute --disable-banner \
    --details=tree --config "jqwik.database=/tmp/jqwik-$log" --class-path "$cp" "$@" >"$out/$log.log" 2>&1
  echo "$log rc=$?" >>"$out/stages.txt"
}
parallel_stage() {  # name: waits for the queued junit calls and reports the time
  local name=$1 t0=$SECONDS
  wait
  echo "== $name $((SECONDS - t0))s" | tee -a "$out/stages.txt"
}
count() {  # log: the launcher's closing counts
  grep -E "tests (successful|failed|aborted)|containers failed" "$out/$1.log" 2>/dev/null | tr -s ' ' | tr '\n' ' '
}
gpu_info() {  # the device, to $out/gpu.txt and the console
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,memory.used --format=csv \
    >"$out/gpu.txt" 2>&1
  cat "$out/gpu.txt"
}
