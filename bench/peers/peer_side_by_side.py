# Side-by-side benchmark: the PyTorch peers and the project's bf16 routed-attention kernels, one process, one GPU.
#
#   python3 bench/peers/peer_side_by_side.py --lib cuda/target/bf16/libswiattn_bf16.so [--sizes 4096 32768]
#           [--rho 0.25] [--json out.json] [--backward]
#   python3 bench/peers/peer_side_by_side.py --peers-only --backward      (what `swiattn bench --dtype bf16 --peers`
#           runs: the peers alone, forward and backward; one machine-readable line per timing:
#           "PEER<TAB>S<TAB>kernel<TAB>op<TAB>ms<TAB>rho"; the Java side prints the ratios against its own timings)
#
# --backward adds the peers' backward (autograd of the same call, dO random, forward outside the timing):
# SDPA full causal, FlexAttention full causal, FlexAttention window, FlexAttention routed with compacted queries
# (the gather of the permuted queries and the scatter of the output are part of the timed graph, as in forward).
#
# Peers (settings of ../shared/gpu/peer_bench.py): SDPA full causal (flash), FlexAttention sliding window, and
# FlexAttention routed with queries compacted (full-routed queries permuted to the front, output scattered back),
# B=1, Hq=32, Hkv=8, D=128, w=1024, bf16. Ours: libswiattn_bf16.so (ctypes), every D=128 variant, on the same
# tensors (re-laid out to BSHD) and the same route; timing includes our route compaction kernel (and, for the wgmma
# versions, the V -> V^T transpose).
# Timing: triton.testing.do_bench median (it flushes L2 before each rep), for every kernel alike.
# Ratios printed: routed  flex_compact/ours (target > 1) and ours/ideal, ideal = rho*SDPA + (1-rho)*FlexWindow
# (goal <= 1.1); full  ours throughput / SDPA throughput (target >= 0.6); window  flexWindow/ours (target > 1).
# Each of our outputs is also compared with the peer computing the same function (normwise relative error).
import argparse, ctypes, json, math, sys, time
import torch
import torch._dynamo
import triton.testing as tt
from torch.nn.attention.flex_attention import flex_attention, create_block_mask

ap = argparse.ArgumentParser()
ap.add_argument("--lib", default=None, help="libswiattn_bf16.so (ours); required unless --peers-only")
ap.add_argument("--peers-only", action="store_true", help="time the peers only (no --lib)")
ap.add_argument("--backward", action="store_true", help="also time the peers' backward")
ap.add_argument("--sizes", type=int, nargs="*", default=[4096, 32768])
ap.add_argument("--rho", type=float, default=0.25)
ap.add_argument("--json", default=None)
ap.add_argument("--variants", default="", help="comma-separated variant names (default: all with D=128)")
args = ap.parse_args()
if args.lib is None and not args.peers_only:
    ap.error("--lib is required unless --peers-only")

torch.manual_seed(0)
dev = "cuda"
B, HQ, HKV, D, W = 1, 32, 8, 128, 1024
torch._dynamo.config.cache_size_limit = 256
torch._dynamo.config.accumulated_cache_size_limit = 4096
flex = torch.compile(flex_attention, dynamic=False)

lib, variants = None, []
if not args.peers_only:
    lib = ctypes.CDLL(args.lib)
    lib.swiattn_bf16_variant_name.restype = ctypes.c_char_p
    lib.swiattn_bf16_forward.argtypes = [ctypes.c_int] + [ctypes.c_void_p] * 9 + [ctypes.c_int] * 5 + \
        [ctypes.c_float, ctypes.c_void_p]
    variants = [(n, lib.swiattn_bf16_variant_name(n).decode()) for n in range(lib.swiattn_bf16_num_variants())
                if lib.swiattn_bf16_variant_d(n) == D]
if args.variants:
    keep = set(args.variants.split(","))
    variants = [v for v in variants if v[1] in keep]


def bench(fn):
    return tt.do_bench(fn, warmup=25, rep=100, return_mode="median")


def peer_line(S, kernel, op, ms, rho):
    print(f"PEER\t{S}\t{kernel}\t{op}\t{ms:.5f}\t{rho:.5f}", flush=True)


def backward_ms(fwd, leaves):
    """Median ms of the backward of out = fwd() for a random dO (forward outside the timing); leaves get grads."""
    out = fwd()
    d_out = torch.randn_like(out)
    def run():
        torch.autograd.grad(out, leaves, d_out, retain_graph=True)
    run()
    torch.cuda.synchronize()
    ms = bench(run)
    del out, d_out
    return ms


def pairs_of(full, S):
    pos = torch.arange(S, device=dev, dtype=torch.float64) + 1
    return (full.double() * pos).sum().item() + ((~full).double() * pos.clamp(max=W)).sum().item()


def rel(a, b):
    a, b = a.float(), b.float()
    return ((a - b).norm() / b.norm()).item()


rows, results = [], []
for S in args.sizes:
    q = torch.randn(B, HQ, S, D, device=dev, dtype=torch.bfloat16)
    k = torch.randn(B, HKV, S, D, device=dev, dtype=torch.bfloat16)
    v = torch.randn(B, HKV, S, D, device=dev, dtype=torch.bfloat16)
    qs, ks, vs = (x.transpose(1, 2).contiguous() for x in (q, k, v))  # BSHD for ours
    full = torch.rand(S, device=dev) < args.rho
    nfull = int(full.sum())
    rho = nfull / S
    # peers
    o_sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    t_sdpa = bench(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True))
    swa = lambda b, h, qi, ki: (qi >= ki) & (qi - ki < W)
    bm_w = create_block_mask(swa, B, None, S, S)
    o_flexw = flex(q, k, v, block_mask=bm_w, enable_gqa=True)
    t_flexw = bench(lambda: flex(q, k, v, block_mask=bm_w, enable_gqa=True))
    perm = torch.cat([torch.nonzero(full).flatten(), torch.nonzero(~full).flatten()])
    pos = perm.to(torch.int32)

    def routed_c(b, h, qi, ki):
        p = pos[qi]
        return (p >= ki) & ((qi < nfull) | (p - ki < W))

    bm_rc = create_block_mask(routed_c, B, None, S, S)
    qp = q[:, :, perm]

    def run_c():
        o = flex(qp, k, v, block_mask=bm_rc, enable_gqa=True)
        out = torch.empty_like(o)
        out[:, :, perm] = o
        return out

    o_flexr = run_c()
    t_flexr = bench(run_c)
    causal = lambda b, h, qi, ki: qi >= ki
    bm_f = create_block_mask(causal, B, None, S, S)
    t_flexf = bench(lambda: flex(q, k, v, block_mask=bm_f, enable_gqa=True))
    ideal = rho * t_sdpa + (1 - rho) * t_flexw
    for kern, ms in (("sdpa_full", t_sdpa), ("flex_full", t_flexf), ("flex_window", t_flexw),
                     ("flex_routed_compact", t_flexr)):
        peer_line(S, kern, "forward", ms, 1.0 if "full" in kern else 0.0 if "window" in kern else rho)
    bwd = {}
    if args.backward:
        qg, kg, vg = (x.detach().clone().requires_grad_(True) for x in (q, k, v))
        leaves = (qg, kg, vg)

        def routed_c_grad():
            o = flex(qg[:, :, perm], kg, vg, block_mask=bm_rc, enable_gqa=True)
            out = torch.empty_like(o)
            out[:, :, perm] = o
            return out

        for kern, fwd in (("sdpa_full", lambda: torch.nn.functional.scaled_dot_product_attention(
                              qg, kg, vg, is_causal=True, enable_gqa=True)),
                          ("flex_full", lambda: flex(qg, kg, vg, block_mask=bm_f, enable_gqa=True)),
                          ("flex_window", lambda: flex(qg, kg, vg, block_mask=bm_w, enable_gqa=True)),
                          ("flex_routed_compact", routed_c_grad)):
            try:
                bwd[kern] = backward_ms(fwd, leaves)
                peer_line(S, kern, "backward", bwd[kern],
                          1.0 if "full" in kern else 0.0 if "window" in kern else rho)
            except Exception as e:  # a backend refusing the case is a result too
                print(f"{S} {kern} backward failed: {type(e).__name__}: {str(e).splitlines()[0][:100]}", flush=True)
            torch.cuda.empty_cache()
        del qg, kg, vg, leaves
    f_causal = 4 * D * HQ * B * S * (S + 1) / 2
    f_window = 4 * D * HQ * B * sum(min(i + 1, W) for i in range(S))
    f_routed = 4 * D * HQ * B * pairs_of(full, S)
    rows.append((S, "peer sdpa_full", t_sdpa, f_causal / t_sdpa / 1e9, ""))
    rows.append((S, "peer flex_full", t_flexf, f_causal / t_flexf / 1e9, ""))
    rows.append((S, "peer flex_window", t_flexw, f_window / t_flexw / 1e9, ""))
    rows.append((S, f"peer flex_routed_compact rho={rho:.3f}", t_flexr, f_routed / t_flexr / 1e9, ""))
    rows.append((S, f"ideal rho*sdpa+(1-rho)*flexw", ideal, f_routed / ideal / 1e9, ""))
    for kern, ms in bwd.items():  # backward: 2.5x the forward's useful FLOPs (5 products of the 2)
        fl = {"sdpa_full": f_causal, "flex_full": f_causal, "flex_window": f_window}.get(kern, f_routed) * 2.5
        rows.append((S, f"peer {kern} backward", ms, fl / ms / 1e9, ""))
    rec = dict(S=S, rho=rho, sdpa_ms=t_sdpa, flex_full_ms=t_flexf, flex_window_ms=t_flexw,
               flex_routed_compact_ms=t_flexr, ideal_ms=ideal, backward_ms=bwd, ours={})
    # ours
    o = torch.empty(B, S, HQ, D, device=dev, dtype=torch.bfloat16)
    lse = torch.empty(B, S, HQ, device=dev, dtype=torch.float32)
    order = torch.empty(B, S, device=dev, dtype=torch.int32)
    nf = torch.empty(B, device=dev, dtype=torch.int32)
    vt = torch.empty(B * HKV * D * ((S + 63) // 64 * 64), device=dev, dtype=torch.bfloat16)  # V^T scratch (wgmma)
    routes = {"full": torch.ones(B, S, device=dev, dtype=torch.uint8),
              "window": torch.zeros(B, S, device=dev, dtype=torch.uint8),
              "routed": full.to(torch.uint8).reshape(B, S).contiguous()}
    peer_out = {"full": o_sdpa, "window": o_flexw, "routed": o_flexr}
    scale = 1.0 / math.sqrt(D)
    for vi, name in variants:
        for kind, z in routes.items():
            def call():
                e = lib.swiattn_bf16_forward(vi, qs.data_ptr(), ks.data_ptr(), vs.data_ptr(), o.data_ptr(),
                                             lse.data_ptr(), z.data_ptr(), order.data_ptr(), nf.data_ptr(), vt.data_ptr(), B, S, HQ,
                                             HKV, W, scale, torch.cuda.current_stream().cuda_stream)
                if e != 0:
                    raise RuntimeError(f"swiattn_bf16_forward({name}) returned {e}")
            o.fill_(float("nan"))
            call()
            torch.cuda.synchronize()
            err = rel(o.transpose(1, 2), peer_out[kind])
            t = bench(call)
            fl = {"full": f_causal, "window": f_window, "routed": f_routed}[kind]
            if kind == "full":
                ratio = f"SDPA-throughput ratio {t_sdpa / t:.3f} (target >= 0.6)"
            elif kind == "window":
                ratio = f"flexW/ours {t_flexw / t:.3f} (target > 1)"
            else:
                ratio = f"flexRC/ours {t_flexr / t:.3f} (target > 1), ours/ideal {t / ideal:.3f} (goal <= 1.1)"
            rows.append((S, f"ours {name} {kind}", t, fl / t / 1e9, f"err_vs_peer={err:.2e}  {ratio}"))
            rec["ours"][f"{name}/{kind}"] = dict(ms=t, err_vs_peer=err)
    results.append(rec)
    del q, k, v, qs, ks, vs, o_sdpa, o_flexw, o_flexr, qp, o
    torch.cuda.empty_cache()

print(torch.__version__, torch.cuda.get_device_name())
for S, kind, ms, tf, extra in rows:
    print(f"{S:>6} {kind:<44} {ms:9.3f} ms {tf:7.1f} TFLOP/s  {extra}")
if args.json:
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
