"""Example SwiAttn implementations in PyTorch, in the shape the harness (harness.py) calls:

    fn(q, k, v, route, router_logits, window, scale, estimator) -> (o, lse)

    q [B,S,Hq,D], k, v [B,S,Hkv,D]   tensors of the computation's dtype (requires_grad when gradients are checked)
    route [B,S] bool                  z: True = full branch, False = window branch
    router_logits [B,S]               a (fp64 for fp64, fp32 otherwise; requires_grad unless the estimator is HARD)
    window w (int), scale (float), estimator "HARD" | "STRAIGHT_THROUGH" | "SELECTED_BRANCH" | "SOFT"
    o [B,S,Hq,D], lse [B,S,Hq]        lse in natural log, of the branch z selects (spec/SPEC.md sections 5, 6, 8)

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
import torch


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


# ---- plain PyTorch, dense masks ----

def _dense_branch(s, mask, v):
    """s [B,H,S,S] scaled scores, mask [S,S] bool, v [B,H,S,D] -> o [B,H,S,D], lse [B,H,S]."""
    s = s.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    return torch.exp(s - lse[..., None]) @ v, lse


def plain(q, k, v, route, router_logits, window, scale, estimator, router_grad="exact"):
    """Routed attention with dense [S,S] masks: scores, max-subtracted softmax (logsumexp), product; both branches.

    GQA: query head h reads kv head h // (Hq // Hkv), i.e. K and V repeat_interleave'd (not repeat'ed).
    """
    B, S, Hq, D = q.shape
    G = Hq // k.shape[2]
    kh = k.repeat_interleave(G, dim=2).transpose(1, 2)      # [B,Hq,S,D]
    vh = v.repeat_interleave(G, dim=2).transpose(1, 2)
    s = scale * (q.transpose(1, 2) @ kh.transpose(-1, -2))  # [B,Hq,S,S]
    i = torch.arange(S, device=q.device)[:, None]
    j = torch.arange(S, device=q.device)[None, :]
    full = j <= i                                           # keys 0 .. i
    local = full & (i - j < window)                         # keys i-w+1 .. i: w keys, the query's own included
    oF, lseF = _dense_branch(s, full, vh)
    oW, lseW = _dense_branch(s, local, vh)
    o, lse = route_outputs(oF.transpose(1, 2), oW.transpose(1, 2), lseF.transpose(1, 2), lseW.transpose(1, 2),
                           route, router_logits, estimator, router_grad)
    return o, lse


# ---- FlexAttention (torch >= 2.5, CUDA) ----

_compiled = {}


def _flex():
    if "flex" not in _compiled:
        from torch.nn.attention.flex_attention import flex_attention
        _compiled["flex"] = torch.compile(flex_attention, dynamic=False)
    return _compiled["flex"]


def flex(q, k, v, route, router_logits, window, scale, estimator, router_grad="exact"):
    """Routed attention with FlexAttention block masks (enable_gqa: kv head h // (Hq // Hkv), FlexAttention's own
    GQA convention). HARD, SELECTED_BRANCH: one call whose mask_mod picks each query's branch from the route (only
    the selected branch's blocks are computed); STRAIGHT_THROUGH, SOFT: one call per branch."""
    from torch.nn.attention.flex_attention import create_block_mask
    B, S, Hq, D = q.shape
    run = _flex()
    qh, kh, vh = (t.transpose(1, 2).contiguous() for t in (q, k, v))   # [B,H,S,D]
    z = route.to(q.device)

    def full_mod(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    def window_mod(b, h, q_idx, kv_idx):
        return (q_idx >= kv_idx) & (q_idx - kv_idx < window)

    def routed_mod(b, h, q_idx, kv_idx):
        return (q_idx >= kv_idx) & (z[b, q_idx] | (q_idx - kv_idx < window))

    def call(mod, batch):
        mask = create_block_mask(mod, B=batch, H=None, Q_LEN=S, KV_LEN=S, device=q.device)
        o, lse = run(qh, kh, vh, block_mask=mask, scale=scale, enable_gqa=True, return_lse=True)
        return o.transpose(1, 2), lse.transpose(1, 2).to(torch.float32 if q.dtype != torch.float64 else q.dtype)

    if estimator in ("HARD", "SELECTED_BRANCH"):
        oZ, lseZ = call(routed_mod, B)
        return route_outputs(oZ, oZ, lseZ, lseZ, route, router_logits, estimator, router_grad)
    oF, lseF = call(full_mod, None)
    oW, lseW = call(window_mod, None)
    return route_outputs(oF, oW, lseF, lseW, route, router_logits, estimator, router_grad)


ADAPTERS = {"plain": plain, "flex": flex}
