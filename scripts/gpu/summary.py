# Short table of a GPU run (scripts/gpu/run_on_gpu.sh): the CUDA issue's targets as ratios against the PyTorch
# peers measured in the same run, linearity of routed time in the full fraction, backward times, worst errors.
# Usage: python3 summary.py OUT_DIR
import json, os, re, sys

out = sys.argv[1]


def load(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


bench, peers = load("bench.jsonl"), load("peers.jsonl")


def ours(prec, S, route, op="forward"):
    for r in bench:
        if r["precision"] == prec and r["S"] == S and r["route"] == route and r["op"] == op:
            return r
    return None


def peer(S, kind, dtype):
    for r in peers:
        if r["S"] == S and r["kind"] == kind and r["dtype"] == dtype:
            return r
    return None


def ms(r):
    return f"{r['ms']:.3f}" if r and r.get("ms") else "-"


def ratio(a, b):
    return f"{b['ms'] / a['ms']:.2f}x" if a and b and a.get("ms") and b.get("ms") else "n/a"


print("## Targets (B=1, Hq=32, Hkv=8, D=128, w=1024)\n")
print("| target | CUDA ms | peer | peer ms | ratio / value | goal |")
print("|---|---|---|---|---|---|")
a, b = ours("FP64", 4096, "full"), peer(4096, "sdpa_full_causal", "float64")
print(f"| fp64 full causal fwd S=4096 | {ms(a)} | SDPA fp64 | {ms(b)} | {ratio(a, b)} | >= 5x |")
a = ours("FP64", 32768, "0.25")
print(f"| fp64 routed fwd S=32768 rho=0.25 | {ms(a)} | (PyTorch fp64: "
      f"{(peer(32768, 'sdpa_dense_mask_routed_rho0.25', 'float64') or {}).get('note', '-') or 'ran'}) | - | "
      f"{a['tflops']:.1f} TFLOP/s useful | >= 15 |" if a else "| fp64 routed 32K | - | | | | >= 15 |")
a = ours("FP32", 32768, "0.25")
for kind in ["sdpa_dense_mask_routed_rho0.25", "flex_routed_mask_rho0.25"]:
    b = peer(32768, kind, "float32")
    note = (b or {}).get("note") or ""
    print(f"| fp32 routed fwd S=32768 rho=0.25 | {ms(a)} | {kind} fp32 {note} | {ms(b)} | {ratio(a, b)} | >= 3x |")

print("\n## Linearity: time(rho) vs rho*time(full) + (1-rho)*time(window), rho = measured full fraction\n")
print("| precision | S | rho | ms | linear model ms | deviation |")
print("|---|---|---|---|---|---|")
for prec in ["FP64", "FP32"]:
    for S in [4096, 32768]:
        f, w = ours(prec, S, "full"), ours(prec, S, "window")
        for rho in ["0.1", "0.25", "0.5"]:
            r = ours(prec, S, rho)
            if not (f and w and r):
                continue
            x = r["full_fraction"]
            model = x * f["ms"] + (1 - x) * w["ms"]
            print(f"| {prec} | {S} | {x:.3f} | {r['ms']:.3f} | {model:.3f} | {100 * (r['ms'] / model - 1):+.1f}% |")

print("\n## Backward at S=4096 (CUDA: delta + dK/dV + dQ, forward excluded; PyTorch: autograd backward call)\n")
print("| precision | route | CUDA bwd ms | PyTorch fwd ms | PyTorch bwd ms | ratio (bwd) |")
print("|---|---|---|---|---|---|")
for prec, dt in [("FP32", "float32"), ("FP64", "float64")]:
    for route in ["full", "0.25"]:
        a = ours(prec, 4096, route, "backward")
        pf, pb = peer(4096, f"autograd_fwd_{route}", dt), peer(4096, f"autograd_bwd_{route}", dt)
        print(f"| {prec} | {route} | {ms(a)} | {ms(pf)} | {ms(pb)} | {ratio(a, pb)} |")

print("\n## All CUDA rows\n")
print("| prec | S | route | rho | op | kernel | ms | TFLOP/s | errO (rows vs ref) | errLSE |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in bench:
    print(f"| {r['precision']} | {r['S']} | {r['route']} | {r['full_fraction']:.3f} | {r['op']} | {r['kernel']} | "
          f"{r['ms']:.3f} | {r['tflops']:.2f} | {r['err_o']} | {r['err_lse']} |")
print("\n## PyTorch peers\n")
print("| S | kind | dtype | ms | TFLOP/s | note |")
print("|---|---|---|---|---|---|")
for r in peers:
    t = f"{r['tflops']:.2f}" if r.get("tflops") else "-"
    print(f"| {r['S']} | {r['kind']} | {r['dtype']} | {ms(r)} | {t} | {r.get('note', '')} |")

# worst errors of the kernel equivalence walk
worst = {}
kl = os.path.join(out, "kernels.log")
if os.path.exists(kl):
    for line in open(kl, errors="replace"):
        m = re.match(r"(cuda-\S+) .* (O|LSE|dQ|dK|dV|dA)\s+err (\S+) bound (\S+)", line)
        if m:
            key = (m.group(1).split("-")[1], m.group(2))
            worst[key] = max(worst.get(key, 0.0), float(m.group(3)))
if worst:
    print("\n## Worst normwise relative error vs the fp64 reference (kernel equivalence walk)\n")
    print("| precision | tensor | worst error |")
    print("|---|---|---|")
    for (p, t), e in sorted(worst.items()):
        print(f"| {p} | {t} | {e:.2e} |")
st = os.path.join(out, "stages.txt")
if os.path.exists(st):
    print("\nstages: " + "; ".join(l.strip() for l in open(st)))
