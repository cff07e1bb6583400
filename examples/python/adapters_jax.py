#!/usr/bin/env python3
"""UNTESTED. A JAX adapter for the harness, written the same way as adapters_torch.plain; JAX could not be installed
where it was written, so it has never run. Treat it as a sketch to start from, and report what it prints.

    python3 examples/python/adapters_jax.py --precision fp64      # needs jax; fp64 needs jax_enable_x64

fn(q, k, v, route, router_logits, window, scale, estimator) -> (o, lse) with jnp arrays, shapes as in
adapters_torch.py; gradients with jax.vjp for the cotangents (dO, 0). The router's sigmoid has a custom JVP
p' = sigmoid(a) * sigmoid(-a): jax.nn.sigmoid's own derivative is y * (1 - y), the 1 - p by subtraction that
SPEC.md section 10.2 rules out (routed_gqa2_s64_w16_saturated would fail d_router_logit).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

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
    """s [B,H,S,S], mask [S,S] -> o [B,H,S,D], lse [B,H,S] (natural log)."""
    s = jnp.where(mask, s, -jnp.inf)
    lse = jax.scipy.special.logsumexp(s, axis=-1)
    return jnp.exp(s - lse[..., None]) @ v, lse


def plain(q, k, v, route, router_logits, window, scale, estimator):
    """Dense-mask routed attention; GQA by jnp.repeat along heads (= repeat_interleave)."""
    B, S, Hq, D = q.shape
    G = Hq // k.shape[2]
    kh = jnp.repeat(k, G, axis=2).transpose(0, 2, 1, 3)
    vh = jnp.repeat(v, G, axis=2).transpose(0, 2, 1, 3)
    s = scale * (q.transpose(0, 2, 1, 3) @ kh.transpose(0, 1, 3, 2))
    i = jnp.arange(S)[:, None]
    j = jnp.arange(S)[None, :]
    full = j <= i
    oF, lseF = _branch(s, full, vh)
    oW, lseW = _branch(s, full & (i - j < window), vh)
    oF, oW = oF.transpose(0, 2, 1, 3), oW.transpose(0, 2, 1, 3)
    lse = jnp.where(route[:, :, None], lseF.transpose(0, 2, 1), lseW.transpose(0, 2, 1))
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
    (o, lse), vjp = jax.vjp(lambda q_, k_, v_, a_: fn(q_, k_, v_, route, a_, c.w, c.scale, c.est), q, k, v, a)
    host_dtype = np.float64 if precision == "fp64" else np.float32
    host = {"o": o, "lse": lse}
    if c.backward:
        dq, dk, dv, da = vjp((do.astype(o.dtype), jnp.zeros_like(lse)))
        host.update({"dq": dq, "dk": dk, "dv": dv, "d_router_logit": da})
    return harness.golden_names(c, {n: np.asarray(x.astype(jnp.float32 if host_dtype == np.float32 else x.dtype),
                                                  dtype=host_dtype) for n, x in host.items()})


def main():
    ap = argparse.ArgumentParser(description="UNTESTED: the harness on the JAX plain adapter")
    ap.add_argument("--precision", default="fp64", choices=harness.PRECISIONS)
    ap.add_argument("--max-seq", type=int, default=4096)
    ap.add_argument("--out", default=None)
    ap.add_argument("--explain", action="store_true")
    ap.add_argument("cases", nargs="*")
    args = ap.parse_args()
    status, _ = harness.check(plain, args.precision, None, args.out, args.cases, args.max_seq, "default",
                              args.explain, "adapters_jax.plain (jax %s)" % jax.__version__, runner=run_case)
    return status


if __name__ == "__main__":
    sys.exit(main())
