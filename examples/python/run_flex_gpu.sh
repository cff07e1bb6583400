#!/usr/bin/env bash
# The FlexAttention adapter (adapters_torch.flex) on a CUDA GPU against every golden case of both suites (suite 1
# with its six 32K cases, suite 2's chunked prefill, KV cache, decode and packed cases: document masks and
# bottom-right positions read from tables by mask_mod), in bf16 and fp32 at once (two processes on one GPU), each
# judged by `swiattn check`; logs under OUT_DIR, one table per precision printed last. One command:
#
#   examples/python/run_flex_gpu.sh [OUT_DIR]      (default $OUT, else a new temporary folder)
#
# Environment: PYTHON (default python3: torch >= 2.5 with CUDA, numpy), FLEX_TIME_LIMIT (default 240: seconds after
# which a precision's cases not yet started are NOT RUN; the check of the others still runs), FLEX_ARGS (more
# harness options, e.g. case names). swiattn: bundle/ from scripts/gpu/build_bundle.sh (bundle/jre,
# bundle/swiattn.jar; no Java needed on the machine), else cli/target/swiattn.jar with java on the PATH.
# Cases run smallest first. Exit status 1 when a case fails or does not run in either precision, 2 on a bad setup.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-${OUT:-$(mktemp -d)}}"
py="${PYTHON:-python3}"
limit="${FLEX_TIME_LIMIT:-240}"
mkdir -p "$out"
if [[ -x "$root/bundle/jre/bin/java" && -f "$root/bundle/swiattn.jar" ]]; then
  export SWIATTN="$root/bundle/jre/bin/java -XX:MaxRAMPercentage=40 -jar $root/bundle/swiattn.jar"
elif [[ -f "$root/cli/target/swiattn.jar" ]] && command -v java >/dev/null; then
  export SWIATTN="$root/swiattn"
else
  echo "run_flex_gpu: no swiattn: build bundle/ (scripts/gpu/build_bundle.sh) or cli/target/swiattn.jar" >&2
  exit 2
fi
"$py" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"
from torch.nn.attention.flex_attention import flex_attention
print("torch", torch.__version__, torch.cuda.get_device_name())' >"$out/env.txt" 2>&1 || { cat "$out/env.txt" >&2; exit 2; }
$SWIATTN --version >>"$out/env.txt" 2>&1 || true
cat "$out/env.txt"
cand="$(mktemp -d)"   # candidate files stay on the machine; only logs come back
t0=$SECONDS
pids=()
for p in bf16 fp32; do
  # shellcheck disable=SC2086
  "$py" "$here/harness.py" --adapter flex --precision "$p" --device cuda --all --time-limit "$limit" \
    --out "$cand/$p" ${FLEX_ARGS:-} >"$out/flex-$p.log" 2>&1 &
  pids+=($!)
done
status=0
for i in 0 1; do
  wait "${pids[$i]}"; rc=$?
  echo "run_flex_gpu: $([[ $i == 0 ]] && echo bf16 || echo fp32) exit status $rc" | tee -a "$out/stages.txt"
  (( rc == 0 )) || status=$(( rc == 2 ? 2 : (status == 2 ? 2 : 1) ))
done
echo "run_flex_gpu: $((SECONDS - t0)) s; logs in $out"
for p in bf16 fp32; do
  echo
  echo "== FlexAttention $p"
  sed -n '/^tcId  case/,$p' "$out/flex-$p.log"
  grep -q '^tcId  case' "$out/flex-$p.log" || tail -20 "$out/flex-$p.log"
done
exit $status
