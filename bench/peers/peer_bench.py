# PyTorch peers of the CUDA routed attention benchmark (swiattn bench), measured in the same run on the same GPU.
# Project-owned copy of shared/gpu/peer_bench.py, adapted to the fp64 / fp32 targets of the CUDA issue:
#   fp64 / fp32 SDPA full causal forward at S=4096                      (target: CUDA fp64 >= 5x SDPA fp64)
#   fp32 routed forward at S=32768, rho=0.25, the same kind of mask:    (target: CUDA fp32 >= 3x PyTorch fp32)
#       SDPA with a dense boolean mask (memory-efficient kernel, K/V expanded to Hq heads) and FlexAttention (fp32,
#       block-sparse routed mask, IEEE fp32 dots)
#   fp64 routed forward at S=32768 (expected: out of memory, PyTorch's fp64 path needs the whole score matrix)
#   backward (autograd) at S=4096: fp32 / fp64, full causal and routed rho=0.25: forward ms and backward ms
# Useful FLOPs count only visible (query, key) pairs, 4*D per pair per head (the same rule as swiattn bench).
# Usage: python3 peer_bench.py [--json FILE] [--skip-flex]
import sys, json, math, argparse, torch
import triton.testing as tt
from torch.nn.attention import sdpa_kernel, SDPBackend

ap = argparse.ArgumentParser()
ap.add_argument("--json", default=None)
ap.add_argument("--skip-flex", action="store_true")
args = ap.parse_args()
torch.manual_seed(0)
dev = "cuda"
B, HQ, HKV, D, W = 1, 32, 8, 128, 1024
G = HQ // HKV
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
rows = []


def bench(fn, rep=100):
    return tt.do_bench(fn, warmup=25, rep=rep, return_mode="median")


def pairs(full, S):
    i = torch.arange(S, device=dev, dtype=torch.float64) + 1
    return float((full.double() * i + (~full).double() * torch.clamp(i, max=W)).sum())


def record(S, kind, dtype, ms, flops, note=""):
    r = dict(S=S, kind=kind, dtype=str(dtype).replace("torch.", ""), ms=ms,
             tflops=(flops / ms / 1e9) if (ms and flops) else None, note=note)
    rows.append(r)
    t = f"{r['tflops']:8.2f}" if r["tflops"] else "       -"
    m = f"{ms:10.3f}" if ms else "         -"
    print(f"{S:>6} {kind:<34} {r['dtype']:<8} {m} ms {t} TFLOP/s  {note}", flush=True)


def attempt(S, kind, dtype, flops, fn, rep=100):
    try:
        ms = bench(fn, rep)
        record(S, kind, dtype, ms, flops)
    except torch.OutOfMemoryError as e:
        record(S, kind, dtype, None, None, "out of memory")
    except Exception as e:  # a backend refusing the case is a result too
        record(S, kind, dtype, None, None, f"{type(e).__name__}: {str(e).splitlines()[0][:90]}")
    torch.cuda.empty_cache()


def routed_mask(S, full):
    i = torch.arange(S, device=dev)
    diff = i[:, None] - i[None, :]
    return (diff >= 0) & (full[:, None] | (diff < W))


def inputs(S, dtype, grad=False):
    q = torch.randn(B, HQ, S, D, device=dev, dtype=dtype, requires_grad=grad)
    k = torch.randn(B, HKV, S, D, device=dev, dtype=dtype, requires_grad=grad)
    v = torch.randn(B, HKV, S, D, device=dev, dtype=dtype, requires_grad=grad)
    return q, k, v


print(torch.__version__, torch.cuda.get_device_name(), flush=True)

# 1. full causal forward at 4K, fp64 and fp32
S = 4096
causal_flops = 4 * D * HQ * B * S * (S + 1) / 2
for dt in [torch.float64, torch.float32]:
    q, k, v = inputs(S, dt)
    attempt(S, "sdpa_full_causal", dt, causal_flops,
            lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True))
    del q, k, v

# 2. routed forward at 4K and 32K, rho = 0.25: dense-mask SDPA (fp32, fp64) and FlexAttention (fp32)
for S in [4096, 32768]:
    full = torch.rand(S, device=dev) < 0.25
    useful = 4 * D * HQ * B * pairs(full, S)
    mask = routed_mask(S, full)
    for dt in [torch.float32, torch.float64]:
        q, k, v = inputs(S, dt)
        ke, ve = k.repeat_interleave(G, dim=1), v.repeat_interleave(G, dim=1)

        def sdpa_mask():
            with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
                return torch.nn.functional.scaled_dot_product_attention(q, ke, ve, attn_mask=mask)
        attempt(S, "sdpa_dense_mask_routed_rho0.25", dt, useful, sdpa_mask, rep=50)
        del q, k, v, ke, ve
        torch.cuda.empty_cache()
    if not args.skip_flex:
        try:
            from torch.nn.attention.flex_attention import flex_attention, create_block_mask
            import torch._dynamo
            torch._dynamo.config.cache_size_limit = 256
            flex = torch.compile(flex_attention, dynamic=False)
            fl = full
            bm = create_block_mask(lambda b, h, qi, ki: (qi >= ki) & (fl[qi] | (qi - ki < W)), B, None, S, S)
            q, k, v = inputs(S, torch.float32)
            attempt(S, "flex_routed_mask_rho0.25", torch.float32, useful,
                    lambda: flex(q, k, v, block_mask=bm, enable_gqa=True), rep=50)
            del q, k, v
        except Exception as e:
            record(S, "flex_routed_mask_rho0.25", torch.float32, None, None, f"{type(e).__name__}: {str(e)[:80]}")
    del mask
    torch.cuda.empty_cache()

# 3. backward (autograd) at 4K: fp32 and fp64, full causal and routed rho = 0.25; forward and backward times
S = 4096
full = torch.rand(S, device=dev) < 0.25
mask = routed_mask(S, full)
for dt in [torch.float32, torch.float64]:
    for route in ["full", "0.25"]:
        q, k, v = inputs(S, dt, grad=True)
        fl = causal_flops if route == "full" else 4 * D * HQ * B * pairs(full, S)

        def fwd():
            if route == "full":
                return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
                return torch.nn.functional.scaled_dot_product_attention(
                    q, k.repeat_interleave(G, dim=1), v.repeat_interleave(G, dim=1), attn_mask=mask)
        try:
            record(S, f"autograd_fwd_{route}", dt, bench(fwd, 50), fl)
            out = fwd()
            g = torch.randn_like(out)
            record(S, f"autograd_bwd_{route}", dt,
                   tt.do_bench(lambda: out.backward(g, retain_graph=True), warmup=25, rep=50,
                               grad_to_none=[q, k, v], return_mode="median"), 2.5 * fl)
            del out, g
        except torch.OutOfMemoryError:
            record(S, f"autograd_{route}", dt, None, None, "out of memory")
        del q, k, v
        torch.cuda.empty_cache()

if args.json:
    with open(args.json, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
