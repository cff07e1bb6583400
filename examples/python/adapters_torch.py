"""Example SwiAttn implementations in PyTorch, in the shape the harness (harness.py) calls:

    fn(q, k, v, route, router_logits, window, scale, estimator,
       cu_seqlens_q=None, cu_seqlens_k=None, cache_seqlens=None) -> (o, lse)

    q [B,Sq,Hq,D], k, v [B,Sk,Hkv,D]  tensors of the computation's dtype (requires_grad when gradients are checked)
    route [B,Sq] bool                 z: True = full branch, False = window branch
    router_logits [B,Sq]              a (fp64 for fp64, fp32 otherwise; requires_grad unless the estimator is HARD)
    window w (int), scale (float), estimator "HARD" | "STRAIGHT_THROUGH" | "SELECTED_BRANCH" | "SOFT"
    cu_seqlens_q, cu_seqlens_k        int32 [n+1] packed batch (B = 1; q[0] is flash_attn_varlen_func's [total_q,Hq,D])
    cache_seqlens                     int32 [B] padded KV cache: valid keys of each batch row, the new tokens' included
    o [B,Sq,Hq,D], lse [B,Sq,Hq]      lse in natural log, of the branch z selects (spec/SPEC.md sections 5, 6, 8)

Sq = Sk with no metadata is self-attention prefill (suite 1); Sq < Sk with no metadata is chunked prefill, the
queries bottom-right aligned (the last query at the last key). The segment conventions are in segments.py and
SPEC.md 2.1-2.2; key rows outside every segment may hold NaN and must not change any result.

Two adapters:

* plain(...)  dense masks, plain PyTorch (any version >= 1.13, CPU), for fp64 and fp32: the definition written the
              obvious way (in bf16 its softmax statistics and LSE would be bf16 too, which the bf16 rule rejects:
              bf16 kernels keep them in fp32).
* flex(...)   FlexAttention with block masks and enable_gqa (torch >= 2.5 and a CUDA GPU): HARD and SELECTED_BRANCH
              compute only the selected branch (one call with a routed mask), STRAIGHT_THROUGH and SOFT both.

The router gradient (SPEC.md section 10.2). torch.sigmoid's backward computes y * (1 - y) with 1 - y by subtraction,
which cancels when p -> 1 and is non-conforming: routed_gqa2_s64_w16_saturated fails d_router_logit in every
precision. The adapters therefore take p and 1 - p from `sigmoid_pair`, an autograd function whose backward is
grad * sigmoid(a) * sigmoid(-a). `router_grad="autograd"` (harness --router-grad autograd) uses plain torch.sigmoid
and 1 - p instead, to show the failure and what `swiattn check --explain` says about it.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import segments  # noqa: E402


class _Sigmoid(torch.autograd.Function):
    """p = sigmoid(a), with the derivative p (1 - p) computed as sigmoid(a) * sigmoid(-a): no 1 - p by subtraction."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return torch.sigmoid(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * torch.sigmoid(a) * torch.sigmoid(-a)


def sigmoid_pair(a, router_grad="exact"):
    """(p, 1 - p) of router logits a, both differentiable. "exact": 1 - p = sigmoid(-a) and an exact backward
    (conforming); "autograd": torch.sigmoid and 1 - p by subtraction (PyTorch's default; fails SPEC.md 10.2)."""
    if router_grad == "autograd":
        p = torch.sigmoid(a)
        return p, 1 - p
    if router_grad != "exact":
        raise ValueError("router_grad: 'exact' or 'autograd', got %r" % (router_grad,))
    return _Sigmoid.apply(a), _Sigmoid.apply(-a)


def route_outputs(oF, oW, lseF, lseW, route, router_logits, estimator, router_grad="exact"):
    """The routed output and LSE from the two branches (SPEC.md sections 6 and 8).

    oF, oW [B,S,H,D]; lseF, lseW [B,S,H]; route [B,S] bool; router_logits [B,S]. Either branch may be None where the
    estimator does not need it (HARD, SELECTED_BRANCH: the selected branch alone, passed as oF = oW = oZ).
    """
    z = route[:, :, None, None]
    lse = torch.where(route[:, :, None], lseF, lseW)
    if estimator == "HARD":
        return torch.where(z, oF, oW), lse
    # the mix in fp32 at least (bf16 coefficients would carry a 2^-9 error of their own)
    work = torch.float64 if oF.dtype == torch.float64 else torch.float32
    oF, oW = oF.to(work), oW.to(work)
    p, pc = sigmoid_pair(router_logits, router_grad)
    p = p[:, :, None, None].to(work)
    pc = pc[:, :, None, None].to(work)
    if estimator == "STRAIGHT_THROUGH":
        m = z.to(oF.dtype) + p - p.detach()                 # value z, derivative dp/da
        return m * oF + (1 - m) * oW, lse
    if estimator == "SELECTED_BRANCH":
        pz = torch.where(z, p, pc)                          # p1 = p, p0 = 1 - p
        return torch.where(z, oF, oW) * (pz / pz.detach()), lse
    if estimator == "SOFT":
        return p * oF + pc * oW, lse
    raise ValueError("estimator: unknown %r" % (estimator,))


# ---- the call's segments (SPEC.md 2.1) as per-row tables, on the tensors' device ----

def segment_rows(q, k, cu_seqlens_q=None, cu_seqlens_k=None, cache_seqlens=None):
    """q [B,Sq,Hq,D], k [B,Sk,Hkv,D] and the segment metadata -> q_seg, q_pos [B*Sq], k_seg, k_pos [B*Sk] (int64
    on q's device; k_seg = -1 for key rows in no segment). See segments.py; nothing is modified."""
    cpu = [None if x is None else x.detach().cpu().numpy() for x in (cu_seqlens_q, cu_seqlens_k, cache_seqlens)]
    return tuple(torch.as_tensor(x, device=q.device)
                 for x in segments.rows(q.shape[0], q.shape[1], k.shape[1], *cpu))


def flat_keys(k, k_seg):
    """k [B,Sk,Hkv,D] -> [B*Sk,Hkv,D] with the key rows of no segment set to 0 (a padded cache may hold NaN there,
    and 0 * NaN = NaN in a product: a real kernel must never load those rows; their gradient is exactly 0)."""
    B, Sk, Hkv, D = k.shape
    return k.reshape(B * Sk, Hkv, D).masked_fill((k_seg < 0)[:, None, None], 0)


# ---- plain PyTorch, dense masks ----

def _dense_branch(s, mask, v):
    """s [Hkv,G,Nq,Nk] scaled scores, mask [Nq,Nk] bool, v [Hkv,1,Nk,D] -> o [Hkv,G,Nq,D], lse [Hkv,G,Nq]."""
    s = s.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    return torch.exp(s - lse[..., None]) @ v, lse


def plain(q, k, v, route, router_logits, window, scale, estimator, cu_seqlens_q=None, cu_seqlens_k=None,
          cache_seqlens=None, router_grad="exact"):
    """Routed attention with dense masks over the flat rows: scores, max-subtracted softmax (logsumexp), product;
    both branches. Segments (packed, KV cache, chunked prefill) are a [B*Sq, B*Sk] visibility mask: same segment,
    key position <= query position (bottom-right aligned), and for the window branch fewer than w positions back.

    GQA: query head h = g*G + j reads kv head g = h // G (what repeat_interleave gives; repeat would give h % Hkv).
    """
    B, Sq, Hq, D = q.shape
    Hkv = k.shape[2]
    G = Hq // Hkv
    q_seg, q_pos, k_seg, k_pos = segment_rows(q, k, cu_seqlens_q, cu_seqlens_k, cache_seqlens)
    qg = q.reshape(B * Sq, Hkv, G, D).permute(1, 2, 0, 3)                  # [Hkv,G,Nq,D]
    kg = flat_keys(k, k_seg).permute(1, 0, 2)[:, None]                     # [Hkv,1,Nk,D]
    vg = flat_keys(v, k_seg).permute(1, 0, 2)[:, None]
    s = scale * (qg @ kg.transpose(-1, -2))                                # [Hkv,G,Nq,Nk]
    back = q_pos[:, None] - k_pos[None, :]                                 # how many positions the key lies back
    full = (q_seg[:, None] == k_seg[None, :]) & (back >= 0)                # keys 0 .. p of the query's segment
    local = full & (back < window)                                         # keys p-w+1 .. p: w keys, p's own included
    oF, lseF = _dense_branch(s, full, vg)
    oW, lseW = _dense_branch(s, local, vg)
    rows_o = lambda x: x.permute(2, 0, 1, 3).reshape(B, Sq, Hq, D)         # noqa: E731  [Hkv,G,Nq,D] -> [B,Sq,Hq,D]
    rows_l = lambda x: x.permute(2, 0, 1).reshape(B, Sq, Hq)               # noqa: E731
    return route_outputs(rows_o(oF), rows_o(oW), rows_l(lseF), rows_l(lseW), route, router_logits, estimator,
                         router_grad)


# ---- FlexAttention (torch >= 2.5, CUDA) ----

_compiled = {}


def _flex():
    if "flex" not in _compiled:
        import torch._dynamo
        from torch.nn.attention.flex_attention import flex_attention
        # one compiled graph per case shape and mask: without room for them dynamo falls back to a dense path
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 1024)
        if hasattr(torch._dynamo.config, "accumulated_cache_size_limit"):
            torch._dynamo.config.accumulated_cache_size_limit = max(
                torch._dynamo.config.accumulated_cache_size_limit, 4096)
        # SWIATTN_FLEX_COMPILE=0: FlexAttention's eager path (dense, for testing the masks on a CPU)
        compile_it = os.environ.get("SWIATTN_FLEX_COMPILE", "1") != "0"
        _compiled["flex"] = torch.compile(flex_attention, dynamic=False) if compile_it else flex_attention
    return _compiled["flex"]


def flex(q, k, v, route, router_logits, window, scale, estimator, cu_seqlens_q=None, cu_seqlens_k=None,
         cache_seqlens=None, router_grad="exact"):
    """Routed attention with FlexAttention block masks (enable_gqa: kv head h // (Hq // Hkv), FlexAttention's own
    GQA convention). HARD, SELECTED_BRANCH: one call whose mask_mod picks each query's branch from the route (only
    the selected branch's blocks are computed); STRAIGHT_THROUGH, SOFT: one call per branch.

    The batch is flattened into one sequence of B*Sq query and B*Sk key rows, and mask_mod reads the segment and
    position of its absolute indices q_idx, kv_idx from tables: FlexAttention has no alignment of its own, so
    bottom-right (p = kLen - qLen + t), packed documents (same segment) and cache lengths are all in the tables.
    """
    from torch.nn.attention.flex_attention import create_block_mask
    B, Sq, Hq, D = q.shape
    Hkv = k.shape[2]
    run = _flex()
    q_seg, q_pos, k_seg, k_pos = segment_rows(q, k, cu_seqlens_q, cu_seqlens_k, cache_seqlens)
    Nq, Nk = B * Sq, B * k.shape[1]
    qh = q.reshape(1, Nq, Hq, D).transpose(1, 2)                           # [1,Hq,Nq,D]
    kh = flat_keys(k, k_seg)[None].transpose(1, 2)                         # [1,Hkv,Nk,D]
    vh = flat_keys(v, k_seg)[None].transpose(1, 2)
    z = route.reshape(Nq).to(q.device)

    def visible(q_idx, kv_idx):         # same segment, key at or before the query's position
        return (q_seg[q_idx] == k_seg[kv_idx]) & (k_pos[kv_idx] <= q_pos[q_idx])

    def in_window(q_idx, kv_idx):       # w keys, the query's own included
        return q_pos[q_idx] - k_pos[kv_idx] < window

    def full_mod(b, h, q_idx, kv_idx):
        return visible(q_idx, kv_idx)

    def window_mod(b, h, q_idx, kv_idx):
        return visible(q_idx, kv_idx) & in_window(q_idx, kv_idx)

    def routed_mod(b, h, q_idx, kv_idx):
        return visible(q_idx, kv_idx) & (z[q_idx] | in_window(q_idx, kv_idx))

    def call(mod):
        mask = create_block_mask(mod, B=None, H=None, Q_LEN=Nq, KV_LEN=Nk, device=q.device)
        o, lse = run(qh.contiguous(), kh.contiguous(), vh.contiguous(), block_mask=mask, scale=scale,
                     enable_gqa=True, return_lse=True)
        lse = lse.to(torch.float32 if q.dtype != torch.float64 else q.dtype)
        return o.transpose(1, 2).reshape(B, Sq, Hq, D), lse.transpose(1, 2).reshape(B, Sq, Hq)

    if estimator in ("HARD", "SELECTED_BRANCH"):
        oZ, lseZ = call(routed_mod)
        return route_outputs(oZ, oZ, lseZ, lseZ, route, router_logits, estimator, router_grad)
    oF, lseF = call(full_mod)
    oW, lseW = call(window_mod)
    return route_outputs(oF, oW, lseF, lseW, route, router_logits, estimator, router_grad)


ADAPTERS = {"plain": plain, "flex": flex}
