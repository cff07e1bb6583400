#!/usr/bin/env python3
"""A JAX adapter for the harness (harness.py), written the same way as adapters_torch.plain: dense masks over the
flat rows, gradients with jax.vjp for the cotangents (dO, 0) instead of autograd.

    /tmp/jaxvenv/bin/pip install jax            # CPU build from PyPI (not in CI: CI installs without PyPI)
    /tmp/jaxvenv/bin/python examples/python/adapters_jax.py --precision fp64      # and --precision fp32

fn(q, k, v, route, router_logits, window, scale, estimator, cu_seqlens_q=None, cu_seqlens_k=None,
cache_seqlens=None) -> (o, lse) with jnp arrays, shapes and segment conventions as in harness.py and
adapters_torch.py. fp64 needs jax_enable_x64 (set below; fp32 arrays stay fp32). The router's sigmoid has a custom
JVP p' = sigmoid(a) * sigmoid(-a): jax.nn.sigmoid's own derivative is y * (1 - y), the 1 - p by subtraction that
SPEC.md section 10.2 rules out (routed_gqa2_s64_w16_saturated would fail d_router_logit).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import segments  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

jax.config.update("jax_enable_x64", True)


@jax.custom_jvp
def sigmoid(a):
    return jax.nn.sigmoid(a)


@sigmoid.defjvp
def _sigmoid_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    return sigmoid(a), t * jax.nn.sigmoid(a) * jax.nn.sigmoid(-a)


def _branch(s, mask, v):
    """s [Hkv,G,Nq,Nk], mask [Nq,Nk], v [Hkv,1,Nk,D] -> o [Hkv,G,Nq,D], lse [Hkv,G,Nq] (natural log)."""
    s = jnp.where(mask, s, -jnp.inf)
    lse = jax.scipy.special.logsumexp(s, axis=-1)
    return jnp.exp(s - lse[..., None]) @ v, lse


def plain(q, k, v, route, router_logits, window, scale, estimator, cu_seqlens_q=None, cu_seqlens_k=None,
          cache_seqlens=None):
    """Dense-mask routed attention over the flat rows (as adapters_torch.plain); GQA: query head h = g*G + j reads
    kv head g = h // G. Key rows of no segment are zeroed before any product (they may be NaN)."""
    B, Sq, Hq, D = q.shape
    Sk, Hkv = k.shape[1], k.shape[2]
    G = Hq // Hkv
    q_seg, q_pos, k_seg, k_pos = segments.rows(B, Sq, Sk, *(None if x is None else np.asarray(x)
                                                             for x in (cu_seqlens_q, cu_seqlens_k, cache_seqlens)))
    used = (k_seg >= 0)[:, None, None]
    qg = q.reshape(B * Sq, Hkv, G, D).transpose(1, 2, 0, 3)                           # [Hkv,G,Nq,D]
    kg = jnp.where(used, k.reshape(B * Sk, Hkv, D), 0).transpose(1, 0, 2)[:, None]    # [Hkv,1,Nk,D]
    vg = jnp.where(used, v.reshape(B * Sk, Hkv, D), 0).transpose(1, 0, 2)[:, None]
    s = scale * (qg @ kg.transpose(0, 1, 3, 2))                                       # [Hkv,G,Nq,Nk]
    back = q_pos[:, None] - k_pos[None, :]
    full = (q_seg[:, None] == k_seg[None, :]) & (back >= 0)
    oF, lseF = _branch(s, full, vg)
    oW, lseW = _branch(s, full & (back < window), vg)
    oF, oW = (x.transpose(2, 0, 1, 3).reshape(B, Sq, Hq, D) for x in (oF, oW))
    lseF, lseW = (x.transpose(2, 0, 1).reshape(B, Sq, Hq) for x in (lseF, lseW))
    lse = jnp.where(route[:, :, None], lseF, lseW)
    z = route[:, :, None, None]
    if estimator == "HARD":
        return jnp.where(z, oF, oW), lse
    work = jnp.float64 if q.dtype == jnp.float64 else jnp.float32
    oF, oW = oF.astype(work), oW.astype(work)
    p = sigmoid(router_logits)[:, :, None, None].astype(work)
    pc = sigmoid(-router_logits)[:, :, None, None].astype(work)
    if estimator == "STRAIGHT_THROUGH":
        m = z.astype(work) + p - jax.lax.stop_gradient(p)
        return m * oF + (1 - m) * oW, lse
    if estimator == "SELECTED_BRANCH":
        pz = jnp.where(z, p, pc)
        return jnp.where(z, oF, oW) * (pz / jax.lax.stop_gradient(pz)), lse
    if estimator == "SOFT":
        return p * oF + pc * oW, lse
    raise ValueError("estimator: unknown %r" % (estimator,))


def run_case(fn, c, precision, device):
    """The harness's runner for JAX functions: jax.vjp instead of autograd."""
    dtype = {"fp64": jnp.float64, "fp32": jnp.float32, "bf16": jnp.bfloat16}[precision]
    qn, kn, vn, don, zn, an = harness.case_arrays(c)
    q, k, v, do = (jnp.asarray(x, dtype=dtype) for x in (qn, kn, vn, don))
    a = jnp.asarray(an, dtype=jnp.float64 if precision == "fp64" else jnp.float32)
    route = jnp.asarray(zn, dtype=bool)
    to_int = lambda x: jnp.asarray(x, dtype=jnp.int32)   # noqa: E731
    (o, lse), vjp = jax.vjp(lambda q_, k_, v_, a_: harness.call_fn(fn, c, to_int, q_, k_, v_, route, a_), q, k, v, a)
    host_dtype = np.float64 if precision == "fp64" else np.float32
    host = {"o": o, "lse": lse}
    if c.backward:
        dq, dk, dv, da = vjp((do.astype(o.dtype), jnp.zeros_like(lse)))
        host.update({"dq": dq, "dk": dk, "dv": dv, "d_router_logit": da})
    return harness.golden_names(c, {n: np.asarray(x.astype(jnp.float32 if host_dtype == np.float32 else x.dtype),
                                                  dtype=host_dtype) for n, x in host.items()})


def main(argv=None):
    args = harness.arguments("the harness on the JAX plain adapter", adapters=False).parse_args(argv)
    return harness.run_args(args, plain, "adapters_jax.plain (jax %s)" % jax.__version__, run_case)


if __name__ == "__main__":
    sys.exit(main())
