#!/bin/bash
# Builds the bf16 kernels here (no GPU needed) into cuda/target-bf16 (git-ignored via .git/info/exclude): cubin (resource report), the standalone
# harness bf16_test, and libswiattn_bf16.so for bench/peers/peer_side_by_side.py. Run from the repository root.
set -e
H=cuda/src/test/cuda/bf16
T=cuda/target-bf16
G="-gencode arch=compute_90a,code=sm_90a -Icuda/src/main/cuda/bf16"
mkdir -p $T
nvcc -O3 -std=c++17 $G -Xptxas -v -cubin -o $T/attn_fwd_bf16.cubin cuda/src/main/cuda/bf16/attn_fwd_bf16.cu 2> $T/ptxas.txt
grep -E "entry|registers|spill" $T/ptxas.txt | paste - - - | sed -E 's/ptxas info *: //g' | awk '{print $4, $0}' | cut -c1-220
nvcc -O3 -std=c++17 $G -o $T/bf16_test $H/bf16_test.cu
nvcc -O3 -std=c++17 $G -shared -Xcompiler -fPIC -o $T/libswiattn_bf16.so $H/bf16_lib.cu
ls -la $T
