# The PyTorch peers of `swiattn bench --peers` and the physical limits of the device, run in the same invocation
# as our kernels, on the same route masks (files written by the bench) and by the same timing method (timing.py).
#
#   python3 bench/peers/peers.py --dtypes bf16,fp64 --sizes 4096,32768 --routes full,window,0.1,0.25,0.5
#           --backward-sizes 4096 --backward-routes full,window,0.25 --mask-dir DIR --warmup 2 --repeats 7
#           [--timing flushed|sync] [--no-limits]
#   python3 bench/peers/peers.py --limits-only [--warmup 2 --repeats 7 --timing flushed]   (the limits alone)
#
# Output, one line per timing (other lines are progress):
#   LIMIT <name> <value> <unit>                      copy_d2d GB/s (bytes read + written, 2 GiB copy);
#                                                    gemm_bf16 / gemm_fp32 (IEEE, no TF32) / gemm_fp64 (DMMA)
#                                                    TFLOP/s, 8192^3 products on random data
#   PEER <dtype> <S> <kernel> <op> <rho> <ms> [note]  ms "nan" with a note when the peer cannot run the case
#
# Peers (B=1, Hq=32, Hkv=8, D=128, w=1024), each used the way a user would for a routed batch:
#   bf16  sdpa_full            SDPA is_causal (flash), GQA
#         flex_full            FlexAttention causal block mask
#         flex_window          FlexAttention sliding window (q - kv < w)
#         flex_routed_compact  FlexAttention routed: full-routed queries permuted to the front (the gather and the
#                              scatter of the output are timed), block mask over the compacted queries
#   fp64 / fp32  sdpa_full     SDPA is_causal (math / efficient kernels)
#         sdpa_dense_mask      SDPA with the dense boolean routed mask, K/V expanded to Hq heads
#         flex_routed          FlexAttention routed mask (fp32 only)
#   op backward: autograd of the same call, dO random, the forward outside the timing.
# Decode (--decode; "S" of the PEER line is the batch B, op "decode"; cache --cache keys, every length = capacity;
# the route of B rows from decode_mask_B<B>_rho<route>.u8):
#   sdpa_split    the batch split by route, as a user with per-route caches runs it: SDPA q_len 1 on the full rows'
#                 whole caches and on the window rows' last w keys (the caches of each group gathered before the
#                 timing), GQA; caches [B,Hkv,Sk,D] (SDPA's layout: each head's keys contiguous)
#   sdpa_split_nhd  the same on caches [B,Sk,Hkv,D] (the layout of ours, of FlashAttention's and FlashInfer's KV
#                 caches), passed to SDPA as transposed views
#   flex_routed   one FlexAttention call over the whole batch, q_len 1, a block mask keeping the window rows' last
#                 w keys (bf16 and fp32)
# Varlen (--varlen; packed documents of S rows, cu_seqlens from docs_S<S>.txt in --mask-dir, written by the bench;
# the route of the S rows from the mask files; forward and backward):
#   flex_document  FlexAttention with a document mask: same document, causal, and full-routed or within w (bf16, fp32)
#   sdpa_document  SDPA with the dense boolean mask of the same, K/V expanded to Hq heads (bf16, fp32, fp64)
import argparse, math, os, sys
import numpy as np
import torch
import torch._dynamo
from torch.nn.attention import sdpa_kernel, SDPBackend
from torch.nn.attention.flex_attention import flex_attention, create_block_mask

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import measure  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--dtypes", default="bf16")
ap.add_argument("--sizes", default="4096,32768")
ap.add_argument("--routes", default="full,window,0.25")
ap.add_argument("--backward-sizes", default="4096")
ap.add_argument("--backward-routes", default="full,window,0.25")
ap.add_argument("--mask-dir", default=None, help="mask_S<S>_rho<route>.u8 files written by swiattn bench")
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--repeats", type=int, default=7)
ap.add_argument("--timing", default="flushed")
ap.add_argument("--no-limits", action="store_true")
ap.add_argument("--limits-only", action="store_true", help="measure the limits and nothing else")
ap.add_argument("--decode", action="store_true", help="decode: one query per sequence against a KV cache")
ap.add_argument("--batches", default="1,8,32,128", help="decode batch sizes")
ap.add_argument("--cache", type=int, default=32768, help="decode cache capacity = length")
ap.add_argument("--varlen", action="store_true", help="packed documents: document mask, forward and backward")
args = ap.parse_args()

dev = "cuda"
B, HQ, HKV, D, W = 1, 32, 8, 128, 1024
G = HQ // HKV
torch.manual_seed(0)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch._dynamo.config.cache_size_limit = 256
torch._dynamo.config.accumulated_cache_size_limit = 4096
flex = torch.compile(flex_attention, dynamic=False)
DT = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp64": torch.float64}


def ints(s):
    return [int(x) for x in s.split(",") if x]


def bench(fn):
    return measure(fn, args.warmup, args.repeats, args.timing)[0]


def peer(dtype, S, kernel, op, rho, make):
    """Times make() (built inside the guard: a backward runs its forward there) and prints the PEER line; a peer
    that cannot run the case is a result too."""
    try:
        ms = bench(make())
        print(f"PEER\t{dtype}\t{S}\t{kernel}\t{op}\t{rho:.17g}\t{ms:.5f}", flush=True)
    except torch.OutOfMemoryError:
        print(f"PEER\t{dtype}\t{S}\t{kernel}\t{op}\t{rho:.17g}\tnan\tout of memory", flush=True)
    except Exception as e:
        note = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}" if str(e) else type(e).__name__
        print(f"PEER\t{dtype}\t{S}\t{kernel}\t{op}\t{rho:.17g}\tnan\t{note}", flush=True)
    torch.cuda.empty_cache()


def backward_of(fwd, leaves):
    """The timed backward of out = fwd(): autograd with a random dO, the forward outside the timing."""
    out = fwd()
    d_out = torch.randn_like(out)
    return lambda: torch.autograd.grad(out, leaves, d_out, retain_graph=True)


def inputs(name, S, op):
    """q [B,Hq,S,D], k, v [B,Hkv,S,D] ~ N(0,1) in the dtype, and timed(fwd): the forward itself, or for
    op = backward its autograd with the forward outside the timing."""
    grad = op == "backward"
    q, k, v = (torch.randn(B, h, S, D, device=dev, dtype=DT[name], requires_grad=grad) for h in (HQ, HKV, HKV))
    return q, k, v, (lambda fwd: backward_of(fwd, (q, k, v))) if grad else (lambda fwd: fwd)


def route_mask(S, route):
    """The full mask [S] of a route: full, window, or the bench's mask file of a rho route."""
    if route == "full":
        return torch.ones(S, dtype=torch.bool, device=dev)
    if route == "window":
        return torch.zeros(S, dtype=torch.bool, device=dev)
    if args.mask_dir is None:
        sys.exit(f"peers: --mask-dir is needed for the rho route {route}")
    path = os.path.join(args.mask_dir, f"mask_S{S}_rho{route}.u8")
    z = np.fromfile(path, dtype=np.uint8)
    if z.size != B * S:
        sys.exit(f"peers: {path} holds {z.size} bytes, expected {B * S}")
    return torch.from_numpy(z.astype(bool)).to(dev)


def limits():
    n = 1 << 30  # 1 GiB of fp16 = 2 GiB copied per direction
    x = torch.empty(n, dtype=torch.float16, device=dev).normal_()
    y = torch.empty_like(x)
    ms = bench(lambda: y.copy_(x))
    print(f"LIMIT\tcopy_d2d\t{2 * 2 * n / ms / 1e6:.1f}\tGB/s", flush=True)
    del x, y
    N = 8192
    for name, dt in (("gemm_bf16", torch.bfloat16), ("gemm_fp32", torch.float32), ("gemm_fp64", torch.float64)):
        a = torch.randn(N, N, device=dev, dtype=dt)
        b = torch.randn(N, N, device=dev, dtype=dt)
        ms = bench(lambda: a @ b)
        print(f"LIMIT\t{name}\t{2 * N ** 3 / ms / 1e9:.1f}\tTFLOP/s", flush=True)
        del a, b
    torch.cuda.empty_cache()


def bf16_peers(S, routes, op):
    name = "bf16"
    q, k, v, timed = inputs(name, S, op)

    causal = create_block_mask(lambda b, h, qi, ki: qi >= ki, B, None, S, S)
    swa = create_block_mask(lambda b, h, qi, ki: (qi >= ki) & (qi - ki < W), B, None, S, S)
    # the ideal of every routed row needs SDPA full and Flex window, so both run whatever the routes
    peer(name, S, "sdpa_full", op, 1.0, lambda: timed(lambda: torch.nn.functional.scaled_dot_product_attention(
        q, k, v, is_causal=True, enable_gqa=True)))
    if "full" in routes:
        peer(name, S, "flex_full", op, 1.0, lambda: timed(lambda: flex(q, k, v, block_mask=causal, enable_gqa=True)))
    peer(name, S, "flex_window", op, 0.0, lambda: timed(lambda: flex(q, k, v, block_mask=swa, enable_gqa=True)))
    for route in routes:
        if route in ("full", "window"):
            continue
        full = route_mask(S, route)
        nfull = int(full.sum())
        perm = torch.cat([torch.nonzero(full).flatten(), torch.nonzero(~full).flatten()])
        pos = perm.to(torch.int32)
        bm = create_block_mask(lambda b, h, qi, ki: (pos[qi] >= ki) & ((qi < nfull) | (pos[qi] - ki < W)),
                               B, None, S, S)

        def routed():
            o = flex(q[:, :, perm], k, v, block_mask=bm, enable_gqa=True)
            out = torch.empty_like(o)
            out[:, :, perm] = o
            return out
        peer(name, S, "flex_routed_compact", op, nfull / S, lambda: timed(routed))
    del q, k, v
    torch.cuda.empty_cache()


def dense_peer(name, S, kernel, op, rho, q, k, v, timed, keep):
    """SDPA with a dense boolean mask, causal and keep(diff) (diff = q index - k index), K/V expanded to Hq heads."""
    try:
        i = torch.arange(S, device=dev)
        diff = i[:, None] - i[None, :]
        mask = (diff >= 0) & keep(diff)

        def dense():
            with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
                return torch.nn.functional.scaled_dot_product_attention(
                    q, k.repeat_interleave(G, dim=1), v.repeat_interleave(G, dim=1), attn_mask=mask)
        peer(name, S, kernel, op, rho, lambda: timed(dense))
        del mask, diff
    except torch.OutOfMemoryError:
        print(f"PEER\t{name}\t{S}\t{kernel}\t{op}\t{rho:.17g}\tnan\tout of memory", flush=True)
    torch.cuda.empty_cache()


def fp_peers(name, S, routes, op):
    q, k, v, timed = inputs(name, S, op)

    if "full" in routes:
        peer(name, S, "sdpa_full", op, 1.0, lambda: timed(lambda: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True, enable_gqa=True)))
    for route in routes:
        if route in ("full", "window"):
            continue
        full = route_mask(S, route)
        rho = int(full.sum()) / S
        dense_peer(name, S, "sdpa_dense_mask", op, rho, q, k, v, timed, lambda diff: full[:, None] | (diff < W))
        if name == "fp32":
            bm = create_block_mask(lambda b, h, qi, ki: (qi >= ki) & (full[qi] | (qi - ki < W)), B, None, S, S)
            peer(name, S, "flex_routed", op, rho, lambda: timed(lambda: flex(q, k, v, block_mask=bm, enable_gqa=True)))
    del q, k, v
    torch.cuda.empty_cache()


DEC_FULL = None  # [B] bool, the route of the current decode case (read by the one mask function)


def decode_mask(b, h, q_idx, kv_idx):
    return DEC_FULL[b] | (kv_idx >= args.cache - W)


def decode_route(B, route):
    """The [B] bool full-route of a decode case: all, none, or the mask file swiattn bench wrote."""
    if route in ("full", "window"):
        return torch.full((B,), route == "full", dtype=torch.bool, device=dev)
    if args.mask_dir is None:
        sys.exit(f"peers: --mask-dir is needed for the rho route {route}")
    path = os.path.join(args.mask_dir, f"decode_mask_B{B}_rho{route}.u8")
    z = np.fromfile(path, dtype=np.uint8)
    if z.size != B:
        sys.exit(f"peers: {path} holds {z.size} bytes, expected {B}")
    return torch.from_numpy(z.astype(bool)).to(dev)


def decode_peers(name, B, routes):
    """sdpa_split: the batch split by route, SDPA (q_len 1, GQA) on the full rows' whole caches and on the window
    rows' last w keys, each group gathered before the timing; the caches [B,Hkv,Sk,D] (heads outer: SDPA's own
    layout). sdpa_split_nhd: the same on caches [B,Sk,Hkv,D] (ours, FlashAttention's and FlashInfer's KV-cache
    layout), passed to SDPA as transposed views. flex_routed: one FlexAttention call, block mask of the route."""
    global DEC_FULL
    Sk, dt = args.cache, DT[name]
    w = min(W, Sk)
    for layout in ("nhd", "hnd"):
        q = torch.randn(B, HQ, 1, D, device=dev, dtype=dt)
        shape = (B, Sk, HKV, D) if layout == "nhd" else (B, HKV, Sk, D)
        k, v = (torch.randn(*shape, device=dev, dtype=dt) for _ in range(2))
        for route in routes:
            full = decode_route(B, route)
            rho = int(full.sum()) / B
            iF, iW = torch.nonzero(full).flatten(), torch.nonzero(~full).flatten()
            if layout == "nhd":  # gathered in the cache layout, viewed as [B,Hkv,S,D]
                kF, vF = k[iF].transpose(1, 2), v[iF].transpose(1, 2)
                kW, vW = (t[iW, Sk - w:].contiguous().transpose(1, 2) for t in (k, v))
            else:
                kF, vF = k[iF], v[iF]
                kW, vW = (t[iW, :, Sk - w:].contiguous() for t in (k, v))
            qF, qW = q[iF], q[iW]

            def split():
                if iF.numel():
                    torch.nn.functional.scaled_dot_product_attention(qF, kF, vF, enable_gqa=True)
                if iW.numel():
                    torch.nn.functional.scaled_dot_product_attention(qW, kW, vW, enable_gqa=True)
            peer(name, B, "sdpa_split" if layout == "hnd" else "sdpa_split_nhd", "decode", rho, lambda: split)
            del qF, kF, vF, qW, kW, vW
            torch.cuda.empty_cache()
            if name != "fp64" and layout == "hnd":
                DEC_FULL = full
                bm = create_block_mask(decode_mask, B, None, 1, Sk)
                peer(name, B, "flex_routed", "decode", rho,
                     lambda: lambda: flex(q, k, v, block_mask=bm, enable_gqa=True))
        del q, k, v
        torch.cuda.empty_cache()


def varlen_peers(name, S, routes, op):
    if args.mask_dir is None:
        sys.exit("peers: --mask-dir is needed for --varlen (docs_S<S>.txt)")
    with open(os.path.join(args.mask_dir, f"docs_S{S}.txt")) as f:
        cu = [int(x) for x in f.read().strip().split(",")]
    if cu[0] != 0 or cu[-1] != S:
        sys.exit(f"peers: docs_S{S}.txt must run from 0 to {S}, got {cu[0]} .. {cu[-1]}")
    doc = torch.repeat_interleave(torch.arange(len(cu) - 1, device=dev),
                                  torch.tensor([b - a for a, b in zip(cu, cu[1:])], device=dev)).to(torch.int32)
    q, k, v, timed = inputs(name, S, op)
    for route in routes:
        full = route_mask(S, route)
        rho = int(full.sum()) / S
        if name != "fp64":
            bm = create_block_mask(lambda b, h, qi, ki: (doc[qi] == doc[ki]) & (qi >= ki) & (full[qi] | (qi - ki < W)),
                                   B, None, S, S)
            peer(name, S, "flex_document", op, rho, lambda: timed(lambda: flex(q, k, v, block_mask=bm,
                                                                               enable_gqa=True)))
        dense_peer(name, S, "sdpa_document", op, rho, q, k, v, timed,
                   lambda diff: (doc[:, None] == doc[None, :]) & (full[:, None] | (diff < W)))
    del q, k, v
    torch.cuda.empty_cache()


print(torch.__version__, torch.cuda.get_device_name(), f"timing {args.timing}, warm-up {args.warmup}, "
      f"repeats {args.repeats}", flush=True)
if not args.no_limits:
    limits()
if args.limits_only:
    sys.exit(0)
if args.decode:
    for name in args.dtypes.split(","):
        for B in ints(args.batches):
            decode_peers(name, B, args.routes.split(","))
    sys.exit(0)
if args.varlen:
    for name in args.dtypes.split(","):
        for S in ints(args.sizes):
            for op in ("forward", "backward"):
                varlen_peers(name, S, args.routes.split(","), op)
    sys.exit(0)
fwd_routes, bwd_routes = args.routes.split(","), args.backward_routes.split(",")
for name in args.dtypes.split(","):
    for S in ints(args.sizes):
        (bf16_peers if name == "bf16" else lambda s, r, o: fp_peers(name, s, r, o))(S, fwd_routes, "forward")
    for S in ints(args.backward_sizes):
        (bf16_peers if name == "bf16" else lambda s, r, o: fp_peers(name, s, r, o))(S, bwd_routes, "backward")
