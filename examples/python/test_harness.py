#!/usr/bin/env python3
"""Tests of the harness's segment handling (run by run_harness.sh before the golden run; needs torch and the jar).

    /usr/bin/python3 examples/python/test_harness.py

1. segments.rows gives the positions of SPEC.md 2.1's examples.
2. adapters_torch.plain keeps the forms' identities: a chunk is the last rows of the one-shot prefill, a packed
   batch is its documents one by one, NaN in unused cache slots changes nothing and their dK, dV are exactly 0.
3. harness.check reports a function without segment keywords NOT SUPPORTED on the suite-2 cases (status 0), one
   that raises NotImplementedError likewise, and one that ignores cu_seqlens (attention crosses documents) FAIL.
"""
import functools
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adapters_torch  # noqa: E402
import harness  # noqa: E402
import segments  # noqa: E402

checked = []


def expect(what, ok):
    if not ok:
        sys.exit("test_harness: FAILED: " + what)
    checked.append(what)


def test_positions():
    q_seg, q_pos, k_seg, k_pos = segments.rows(1, 10, 10, cu_seqlens_q=[0, 1, 7, 10], cu_seqlens_k=[0, 1, 7, 10])
    expect("packed positions restart per document", q_pos.tolist() == [0, 0, 1, 2, 3, 4, 5, 0, 1, 2]
           and q_seg.tolist() == [0, 1, 1, 1, 1, 1, 1, 2, 2, 2])
    q_seg, q_pos, k_seg, k_pos = segments.rows(3, 1, 16, cache_seqlens=[1, 16, 5])
    expect("decode positions are cache_seqlens - 1", q_pos.tolist() == [0, 15, 4])
    expect("unused cache slots are in no segment", (k_seg[1:16] == -1).all() and (k_seg[32 + 5:] == -1).all()
           and (k_seg[16:32] == 1).all())
    _, q_pos, _, _ = segments.rows(1, 3, 8)
    expect("a chunk of 3 at offset 5 is bottom-right aligned", q_pos.tolist() == [5, 6, 7])


def inputs(B, Sq, Sk, Hq=4, Hkv=2, D=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)   # noqa: E731
    return r(B, Sq, Hq, D), r(B, Sk, Hkv, D), r(B, Sk, Hkv, D), torch.rand(B, Sq, generator=g) < 0.5, r(B, Sq)


def test_forms():
    w, scale = 3, 0.5
    q, k, v, z, a = inputs(1, 8, 8)
    o, lse = adapters_torch.plain(q, k, v, z, a, w, scale, "HARD")
    oc, lsec = adapters_torch.plain(q[:, 5:], k, v, z[:, 5:], a[:, 5:], w, scale, "HARD")
    expect("a chunk equals the last rows of the prefill", torch.allclose(oc, o[:, 5:], rtol=0, atol=1e-12)
           and torch.allclose(lsec, lse[:, 5:], rtol=0, atol=1e-12))
    cu = torch.tensor([0, 1, 7, 8], dtype=torch.int32)
    op, lsep = adapters_torch.plain(q, k, v, z, a, w, scale, "SOFT", cu_seqlens_q=cu, cu_seqlens_k=cu)
    same = True
    for s0, s1 in zip(cu[:-1].tolist(), cu[1:].tolist()):
        od, lsed = adapters_torch.plain(q[:, s0:s1], k[:, s0:s1], v[:, s0:s1], z[:, s0:s1], a[:, s0:s1], w, scale,
                                        "SOFT")
        same = same and torch.allclose(od, op[:, s0:s1], rtol=0, atol=1e-12) and torch.allclose(
            lsed, lsep[:, s0:s1], rtol=0, atol=1e-12)
    expect("a packed batch equals its documents one by one", same)
    expect("packing changes the result (the check can fail)", not torch.allclose(op, adapters_torch.plain(
        q, k, v, z, a, w, scale, "SOFT")[0]))
    q, k, v, z, a = inputs(2, 2, 6)
    lens = torch.tensor([3, 6], dtype=torch.int32)
    kn, vn = k.clone(), v.clone()
    kn[0, 3:], vn[0, 3:] = float("nan"), float("nan")
    grads = []
    for kk, vv in ((k, v), (kn, vn)):
        kk, vv = kk.clone().requires_grad_(), vv.clone().requires_grad_()
        o, _ = adapters_torch.plain(q, kk, vv, z, a, w, scale, "HARD", cache_seqlens=lens)
        o.sum().backward()
        grads.append((o.detach(), kk.grad, vv.grad))
    expect("NaN in unused slots changes no output", torch.equal(grads[0][0], grads[1][0]))
    expect("dK, dV of unused slots are exactly 0", (grads[1][1][0, 3:] == 0).all() and (grads[1][2][0, 3:] == 0).all()
           and torch.isfinite(grads[1][1]).all())


def test_harness():
    plain = functools.partial(adapters_torch.plain)

    def self_only(q, k, v, route, router_logits, window, scale, estimator):
        return plain(q, k, v, route, router_logits, window, scale, estimator)

    def refuses(q, k, v, route, router_logits, window, scale, estimator, cu_seqlens_q=None, cu_seqlens_k=None,
                cache_seqlens=None):
        if cu_seqlens_q is not None:
            raise NotImplementedError("packed batches")
        return plain(q, k, v, route, router_logits, window, scale, estimator, cache_seqlens=cache_seqlens)

    def crosses(q, k, v, route, router_logits, window, scale, estimator, cu_seqlens_q=None, cu_seqlens_k=None,
                cache_seqlens=None):
        return plain(q, k, v, route, router_logits, window, scale, estimator, cache_seqlens=cache_seqlens)

    cases = ["1", "101", "103", "104"]
    with tempfile.TemporaryDirectory() as out:
        status, rows = harness.check(self_only, "fp64", out=out, cases=cases, label="self_only")
        result = {r[0]: r[4] for r in rows}
        expect("no segment keywords: NOT SUPPORTED on suite 2, PASS on suite 1, status 0",
               result == {1: "PASS", 101: "NOT SUPPORTED", 103: "NOT SUPPORTED", 104: "NOT SUPPORTED"}
               and status == 0)
        status, rows = harness.check(refuses, "fp64", out=out, cases=cases, label="refuses")
        result = {r[0]: r[4] for r in rows}
        expect("NotImplementedError: NOT SUPPORTED on that case only",
               result == {1: "PASS", 101: "PASS", 103: "PASS", 104: "NOT SUPPORTED"} and status == 0)
        status, rows = harness.check(crosses, "fp64", out=out, cases=cases, label="crosses")
        result = {r[0]: r[4] for r in rows}
        expect("ignoring cu_seqlens FAILs the packed case, status 1", result[104] == "FAIL" and status == 1)


if __name__ == "__main__":
    torch.set_num_threads(1)
    np.seterr(all="ignore")
    test_positions()
    test_forms()
    test_harness()
    print("test_harness: %d checks pass" % len(checked))
