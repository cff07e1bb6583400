#!/usr/bin/env bash
# Compiles every CUDA source under cuda/src/main/cuda (sub-folders too, e.g. bf16/) into one fatbin per .cu file:
#   PTX for compute_80 (any Ampere-or-newer GPU, JIT-compiled by the driver) + SASS for sm_90 (Hopper, H100/H200).
# Output: <out>/<relative path>/<name>.fatbin, packaged in the jar under org/swiattn/cuda/kernels/.
# Called by the Maven build (exec-maven-plugin, generate-resources). When nvcc is absent it prints one line and
# exits 0, so the module still builds and its host-side tests still run.
# A fatbin is rebuilt only when its .cu or any .cuh in the tree is newer (make-like), so repeated builds are quick.
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build_kernels.sh <output dir>}"
NVCC="${NVCC:-nvcc}"
if ! command -v "$NVCC" >/dev/null 2>&1; then
  echo "[swiattn-cuda] nvcc not found: CUDA kernels not built (host-side code and tests still build; CudaAttention will report missing kernels)"
  exit 0
fi
mkdir -p "$out"
newest_header=$(find "$src" -name '*.cuh' -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
newest_header=${newest_header:-0}
jobs=()
while IFS= read -r cu; do
  rel="${cu#$src/}"
  fb="$out/${rel%.cu}.fatbin"
  mkdir -p "$(dirname "$fb")"
  if [[ -f "$fb" ]]; then
    fbt=$(stat -c %Y "$fb"); cut=$(stat -c %Y "$cu"); ht=${newest_header%.*}
    if (( fbt >= cut && fbt >= ht )); then continue; fi
  fi
  jobs+=("$cu|$fb")
done < <(find "$src" -name '*.cu' | sort)
if (( ${#jobs[@]} == 0 )); then exit 0; fi
echo "[swiattn-cuda] nvcc: compiling ${#jobs[@]} kernel file(s) (compute_80 PTX + sm_90 SASS)"
compile() {
  local cu="${1%%|*}" fb="${1##*|}" sass="arch=compute_90,code=sm_90"
  [[ "$cu" == */bf16/* ]] && sass="arch=compute_90a,code=sm_90a"  # the bf16 wgmma kernels need sm_90a
  "$NVCC" -fatbin -O3 -std=c++17 -I"$(dirname "$cu")" -I"$2" \
    -gencode $sass -gencode arch=compute_80,code=compute_80 \
    -o "$fb.tmp" "$cu" && mv "$fb.tmp" "$fb"
}
export -f compile
export NVCC
printf '%s\n' "${jobs[@]}" | xargs -P "${SWIATTN_NVCC_JOBS:-2}" -I{} bash -c 'compile "$@"' _ {} "$src"
