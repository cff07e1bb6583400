#!/usr/bin/env bash
# The FlexAttention adapter (adapters_torch.flex) on a CUDA GPU against every golden case of both suites (suite 1
# with its six 32K cases, suite 2's chunked prefill, KV cache, decode and packed cases: document masks and
# bottom-right positions read from tables by mask_mod), in bf16 and fp32, in six processes on the one GPU (per
# precision: the cases within the dense size limit, the six 32K cases, suite 2's large cases), each judged by
# `swiattn check`; logs under OUT_DIR (flex-<precision>-<group>.log, the full tables), one table of every case in
# both precisions printed last (summary.txt), in about 6 minutes at most. One command:
#
#   examples/python/run_flex_gpu.sh [OUT_DIR]      (default $OUT, else a new temporary folder)
#
# Environment:
#   PYTHON           default python3 (torch >= 2.5 with CUDA, numpy)
#   FLEX_TIME_LIMIT  default 200: seconds after which a process's cases not yet started are NOT RUN (the check of the
#                    others still runs); each process is killed 150 s after that
#   FLEX_GROUPS      default small,32k,suite2-large
#   FLEX_SHARDS      default 4: processes per precision for the small group (its cases dealt round-robin; each
#                    case compiles its own Flex kernels, about 25 s, so one process reaches only some in the limit)
#   FLEX_ARGS        more harness options
#   FLEX_DEVICE      default cuda; cpu with SWIATTN_FLEX_COMPILE=0 tries the script on a machine without a GPU
#                    (FlexAttention's eager path has no backward there: every case with gradients is NOT SUPPORTED,
#                    the forward-only ones are checked)
# swiattn: bundle/ from scripts/gpu/build_bundle.sh (bundle/jre, bundle/swiattn.jar; no Java needed on the
# machine), else cli/target/swiattn.jar with java on the PATH.
# Cases run smallest first. Exit status 1 when a case fails or does not run in any process, 2 on a bad setup.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-${OUT:-$(mktemp -d)}}"
py="${PYTHON:-python3}"
limit="${FLEX_TIME_LIMIT:-200}"
device="${FLEX_DEVICE:-cuda}"
only="${FLEX_GROUPS:-small,32k,suite2-large}"
mkdir -p "$out"
if [[ -x "$root/bundle/jre/bin/java" && -f "$root/bundle/swiattn.jar" ]]; then
  export SWIATTN="$root/bundle/jre/bin/java -Xmx12g -jar $root/bundle/swiattn.jar"
elif [[ -f "$root/cli/target/swiattn.jar" ]] && command -v java >/dev/null; then
  export SWIATTN="$root/swiattn"
else
  echo "run_flex_gpu: no swiattn: build bundle/ (scripts/gpu/build_bundle.sh) or cli/target/swiattn.jar" >&2
  exit 2
fi
"$py" - "$device" >"$out/env.txt" 2>&1 <<'PY' || { cat "$out/env.txt" >&2; exit 2; }
import sys, torch
from torch.nn.attention.flex_attention import flex_attention  # noqa: F401
cuda = sys.argv[1] == "cuda"
assert torch.cuda.is_available() or not cuda, "no CUDA device"
print("torch", torch.__version__, torch.cuda.get_device_name() if cuda else sys.argv[1])
PY
$SWIATTN --version >>"$out/env.txt" 2>&1 || true
cat "$out/env.txt"
cand="$(mktemp -d)"   # candidate files stay on the machine; only logs come back
# three groups per precision, six processes on the one GPU: the cases within the dense size limit (suites 1 and 2),
# the six suite-1 32K cases, and suite 2's large cases (decode at 32768, chunks, production shape at 4096)
groups=$("$py" - "$root/golden/manifest.json" "${FLEX_SHARDS:-4}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1].rsplit("/golden/", 1)[0] + "/examples/python")
import harness
small, large = harness.select(json.load(open(sys.argv[1]))["cases"])
big1 = [e["tcId"] for e, _ in large if e["tcId"] < 100]
big2 = [e["tcId"] for e, _ in large if e["tcId"] > 100]
n = int(sys.argv[2])
for i in range(n):
    print("small%s:" % ("" if n == 1 else "-%d" % (i + 1)) + ",".join(str(e["tcId"]) for e in small[i::n]))
print("32k:" + ",".join(map(str, big1)))
print("suite2-large:" + ",".join(map(str, big2)))
PY
) || { echo "run_flex_gpu: cannot read the manifest" >&2; exit 2; }
t0=$SECONDS
names=()
pids=()
for p in bf16 fp32; do
  while IFS=: read -r g ids; do
    [[ -n "$ids" && ",$only," == *",${g%-[0-9]*},"* ]] || continue
    # shellcheck disable=SC2086
    timeout $((limit + 150)) "$py" "$here/harness.py" --adapter flex --precision "$p" --device "$device" --all \
      --time-limit "$limit" --out "$cand/$p-$g" ${FLEX_ARGS:-} ${ids//,/ } >"$out/flex-$p-$g.log" 2>&1 &
    pids+=($!)
    names+=("$p-$g")
  done <<<"$groups"
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"; rc=$?
  echo "run_flex_gpu: ${names[$i]} exit status $rc" | tee -a "$out/stages.txt"
  (( rc == 0 )) || status=$(( rc == 2 || status == 2 ? 2 : 1 ))
done
echo "run_flex_gpu: $((SECONDS - t0)) s; logs in $out"
for n in "${names[@]}"; do   # a process that printed no table: its last lines
  grep -q '^tcId  case' "$out/flex-$n.log" || { echo "== ${n}: no table"; tail -15 "$out/flex-$n.log"; }
done
# one table: every case, bf16 and fp32 side by side (the full tables are in the logs)
"$py" - "$out" <<'PY' | tee "$out/summary.txt"
import glob, re, sys
row = re.compile(r"\s*(\d+)\s+(\S+)\s+(bf16|fp32)\s+[\d.]+\s+(PASS|FAIL|NOT RUN|NOT SUPPORTED|SKIPPED|NOT CHECKED)"
                 r"\s+(\S+)\s*(.*)$")
cases, res = {}, {}
for path in sorted(glob.glob(sys.argv[1] + "/flex-*.log")):
    table = False
    for line in open(path):
        table = table or line.startswith("tcId  case")
        m = row.match(line.rstrip()) if table else None
        if m and m.group(4) != "SKIPPED":
            t = int(m.group(1))
            cases[t] = m.group(2)
            res[t, m.group(3)] = "%-13s %9s  %s" % (m.group(4), m.group(5), m.group(6)[:34])
print()
print("%4s  %-34s  %-60s  %s" % ("tcId", "case", "bf16: result, err/bound, tensor / note", "fp32"))
for t in sorted(cases):
    print("%4d  %-34s  %-60s  %s" % (t, cases[t], res.get((t, "bf16"), "-"), res.get((t, "fp32"), "-")))
for p in ("bf16", "fp32"):
    got = [v[:13].strip() for (t, q), v in res.items() if q == p]
    print("%s: of %d cases %s" % (p, len(cases), ", ".join("%d %s" % (got.count(r), r) for r in
          ("PASS", "FAIL", "NOT RUN", "NOT SUPPORTED", "NOT CHECKED"))))
PY
exit $status
