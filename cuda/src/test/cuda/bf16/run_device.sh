#!/bin/bash
# On the GPU machine (repository root; cuda/target-bf16 carried, built by cuda/src/test/cuda/bf16/build_local.sh):
#   SASS stats, correctness of every variant (bf16_test check), timing table (bf16_test time),
#   side-by-side with the PyTorch peers, and one ncu profile. Logs under $OUT (default ./out-bf16).
OUT=${OUT:-out-bf16}; mkdir -p $OUT
T=cuda/target-bf16
STEPS=${STEPS:-sass,check,time,sbs,java,ncu}
TIME_FILTER=${TIME_FILTER:-}
NCU_VARIANTS=${NCU_VARIANTS:-8}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > $OUT/gpu.txt 2>&1
cat $OUT/gpu.txt
if [[ $STEPS == *sass* ]]; then
  for f in $(cuobjdump -sass $T/attn_fwd_bf16.cubin | grep -oE "Function : [a-z0-9_]+" | awk '{print $3}'); do
    s=$(cuobjdump -sass -fun $f $T/attn_fwd_bf16.cubin)
    echo "$f HMMA=$(grep -c HMMA <<<"$s") LDSM=$(grep -c LDSM <<<"$s") MUFU=$(grep -c MUFU <<<"$s") LDL/STL=$(grep -cE 'LDL|STL' <<<"$s") BAR=$(grep -c 'BAR.SYNC' <<<"$s")"
  done > $OUT/sass_stats.txt 2>&1
  cat $OUT/sass_stats.txt
fi
if [[ $STEPS == *check* ]]; then
  timeout 150 $T/bf16_test check > $OUT/check.log 2>&1; echo "check rc=$?"
  grep -E "FAIL|SUMMARY|error" $OUT/check.log | head -20
  grep -E "S=32768" $OUT/check.log | cut -c1-200 | head -12
fi
if [[ $STEPS == *time* ]]; then
  timeout 90 $T/bf16_test time 128 "$TIME_FILTER" > $OUT/time.log 2>&1; echo "time rc=$?"
  timeout 30 $T/bf16_test time 64 "$TIME_FILTER" >> $OUT/time.log 2>&1
fi
if [[ $STEPS == *sbs* ]]; then
  timeout 200 python3 bench/peers/peer_side_by_side.py --lib $T/libswiattn_bf16.so --json $OUT/sbs.json ${SBS_ARGS} > $OUT/sbs.log 2>&1; echo "sbs rc=$?"
fi
if [[ $STEPS == *java* ]]; then
  J=$T/java
  CP=$(ls $J/lib/*.jar | grep -v console | tr '\n' ':')$J/classes:$J/test-classes
  timeout 200 $J/jre/bin/java -Xmx48g -jar $J/lib/junit-platform-console-standalone-1.13.4.jar execute --disable-ansi-colors \
    --class-path $CP --select-class org.swiattn.cuda.bf16.Bf16AttentionTest --details=tree > $OUT/java.log 2>&1; echo "java rc=$?"
  grep -E "tests (successful|failed)|S=8192|✘|Exception" $OUT/java.log | head -12
fi
if [[ $STEPS == *ncu* ]]; then
  for NV in $NCU_VARIANTS; do
  timeout 60 ncu --clock-control none -k regex:'swiattn_bf16_(fwd|wg)' --launch-count 1 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy \
    --section LaunchStats --section WarpStateStats \
    --metrics sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum \
    $T/bf16_test one $NV 32768 0.25 >> $OUT/ncu.txt 2>&1; echo "ncu $NV rc=$?"
  done
  grep -E "Duration|Throughput|hmma|bank_conflicts|wavefronts|Achieved Occupancy|Registers|Stall|Issued" $OUT/ncu.txt | head -30
fi
echo "==== timing"; grep TIME $OUT/time.log 2>/dev/null | cut -c1-130
echo "==== side by side"; grep -vE "^\s*$" $OUT/sbs.log 2>/dev/null | tail -40
