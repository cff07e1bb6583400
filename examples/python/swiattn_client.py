#!/usr/bin/env python3
"""A second, independent implementation of SwiAttn routed attention in plain numpy, checked against the golden files.

For each golden case it: reads the case file (route, router logits, metadata), regenerates the inputs q, k, v, dO
with the documented portable generator (golden_prng.py), computes the outputs with a plain numpy routed attention
(forward and backward, every estimator), and writes them in the golden format as a candidate file
OUT/<case name>.safetensors with __metadata__ precision = fp64 | fp32. Then `swiattn check --all OUT` judges them.

Shapes (spec/SPEC.md): q, o, dq, dO [B,Sq,Hq,D]; k, v, dk, dv [B,Sk,Hkv,D]; lse [B,Sq,Hq]; route z, logits a
[B,Sq] (suite 1: Sq = Sk = S). Query head h reads kv head h // (Hq // Hkv). The flat rows are grouped into segments
(SPEC.md 2.1: self-attention, chunked prefill, decode against a KV cache, packed batches; the case file says which,
with cache_seqlens or cu_seqlens_q/k); a query at position p = kLen - qLen + t of a segment whose keys start at row
k0 sees key rows k0 + 0..p (full branch) or k0 + max(0, p-w+1)..p (window branch).
o = z oF + (1-z) oW (SOFT: p oF + (1-p) oW, p = sigmoid(a)); lse of the branch z picks.

Usage: swiattn_client.py [--golden DIR] [--out DIR] [--precision fp64|fp32] [--max-seq N] [CASE ...]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import golden_prng
import safetensors_np


def sigmoid(a):
    return np.where(a >= 0, 1.0 / (1.0 + np.exp(-np.abs(a))), np.exp(-np.abs(a)) / (1.0 + np.exp(-np.abs(a))))


class Case:
    """A golden case: metadata, stored tensors, its segment table and the regenerated inputs' parameters."""

    def __init__(self, golden_dir, entry):
        self.entry = entry
        self.meta, self.t = safetensors_np.read(os.path.join(golden_dir, entry["file"]))
        m = self.meta
        self.name = m["name"]
        self.B, self.S, self.Hq, self.Hkv, self.D = (int(m[k]) for k in ("B", "S", "Hq", "Hkv", "D"))
        self.Sk = int(m.get("Sk", self.S))          # suite 2: key rows per batch row (suite 1: Sk = S)
        self.G = self.Hq // self.Hkv
        self.w = int(m["window"])
        self.scale = float(m["scale"])
        self.est = m["estimator"]
        self.seed = int(m["seed"])
        self.amp = {n: float(m["amp_" + n]) for n in ("q", "k", "v", "do")}
        self.backward = m["backward"] == "true"
        self.z = self.t["route"].astype(bool).reshape(-1)          # [B*Sq], one per flat query row
        self.a = self.t["router_logits"].reshape(-1)
        self.p = sigmoid(self.a)
        self.segments = segment_table(m, self.t, self.B, self.S, self.Sk)
        self.unused_nan = m.get("unused_kv") == "nan"

    def gen(self, name, shape):
        return golden_prng.golden_tensor(self.seed, name, shape, self.amp[name])

    def kv(self, name, dt):
        """K or V [B*Sk, Hkv, D] as a caller passes it: the generator's values, and NaN in the key rows of no
        segment when the case says unused_kv = nan (SPEC.md 13.2). Generated in blocks of rows to bound memory."""
        row = self.Hkv * self.D
        rows = self.B * self.Sk
        out = np.empty((rows, self.Hkv, self.D), dt)
        blk = max(1, (1 << 22) // row)
        for r0 in range(0, rows, blk):
            n = min(blk, rows - r0)
            out[r0:r0 + n] = golden_prng.golden_tensor(self.seed, name, (n, self.Hkv, self.D), self.amp[name],
                                                       first=r0 * row)
        if self.unused_nan:
            used = np.zeros(rows, bool)
            for _, _, ks, kl in self.segments:
                used[ks:ks + kl] = True
            out[~used] = np.nan
        return out


def segment_table(meta, t, B, Sq, Sk):
    """[(qStart, qLen, kStart, kLen)] over the flat rows (SPEC.md 2.1), from the case file's segment metadata."""
    form = meta.get("segments", "self")
    if form == "self":
        return self_attention(B, Sq)
    if form == "bottom_right":
        return bottom_right(B, Sq, Sk)
    if form == "kv_cache":
        return kv_cache(Sq, Sk, t["cache_seqlens"].astype(np.int64))
    if form == "packed":
        return packed(t["cu_seqlens_q"].astype(np.int64), t["cu_seqlens_k"].astype(np.int64))
    sys.exit("swiattn_client: %s: unknown segments form %r" % (meta["name"], form))


def branch(q, k, v, scale, full, w, lo_row=0):
    """One head, one branch, queries at positions lo_row .. lo_row + len(q) - 1 against keys 0 .. len(k) - 1.

    q [R,D], k, v [L,D] -> o [R,D], lse [R], P [R,L] (zero where a key is not visible).
    """
    s = scale * (q @ k.T)
    i = np.arange(lo_row, lo_row + q.shape[0])[:, None]
    j = np.arange(k.shape[0])[None, :]
    mask = j <= i
    if not full:
        mask &= j >= i - w + 1
    s = np.where(mask, s, -np.inf)
    m = s.max(axis=1, keepdims=True)
    e = np.exp(s - m)
    z = e.sum(axis=1, keepdims=True)
    P = e / z
    return P @ v, m[:, 0] + np.log(z[:, 0]), P


# ---- the generalised call (SPEC.md 2.1): segment tables, as the Java factories of org.swiattn.spec.Segments ----

def self_attention(B, S):
    """Self-attention prefill: batch row b is the segment (b*S, S, b*S, S)."""
    return [(b * S, S, b * S, S) for b in range(B)]


def bottom_right(B, Sq, Sk):
    """Chunked prefill: the Sq queries of batch row b are the last Sq positions of its Sk keys."""
    return [(b * Sq, Sq, b * Sk, Sk) for b in range(B)]


def kv_cache(Sq, Sk, cache_seqlens):
    """Decode (Sq = 1) or chunked prefill on a padded cache of capacity Sk: batch row b holds cache_seqlens[b] valid
    keys, the new tokens' keys included (FlashAttention's cache_seqlens + Sq when it appends the new k, v)."""
    return [(b * Sq, Sq, b * Sk, int(n)) for b, n in enumerate(cache_seqlens)]


def packed(cu_seqlens_q, cu_seqlens_k):
    """Packed variable-length batch (flash_attn_varlen_func): segment s = rows cu[s] .. cu[s+1]-1."""
    return [(int(cu_seqlens_q[s]), int(cu_seqlens_q[s + 1] - cu_seqlens_q[s]), int(cu_seqlens_k[s]),
             int(cu_seqlens_k[s + 1] - cu_seqlens_k[s])) for s in range(len(cu_seqlens_q) - 1)]


def routed_attention(q, k, v, segments, z, w, scale=None, mix=None):
    """Routed attention forward on flat rows: q [Nq,Hq,D], k, v [Nk,Hkv,D], segments [(qStart, qLen, kStart, kLen)],
    z [Nq] (True = full branch), window w, scale (default 1/sqrt(D)); mix = (cF, cW), each [Nq], the branch
    coefficients when they are not z and 1 - z (SOFT: p = sigmoid(a) and 1 - p = sigmoid(-a)).

    Returns o [Nq,Hq,D] and lse [Nq,Hq] (natural log, of the branch z picks). Key rows of no segment are never read.
    """
    Nq, Hq, D = q.shape
    G = Hq // k.shape[1]
    dt = q.dtype.type
    scale = dt(1.0 / np.sqrt(D) if scale is None else scale)
    o = np.zeros_like(q)
    lse = np.zeros((Nq, Hq), q.dtype)
    for qs, ql, ks, kl in segments:
        if ql == 0:
            continue
        rq, rk = slice(qs, qs + ql), slice(ks, ks + kl)
        zs = z[rq]
        cF = zs.astype(q.dtype) if mix is None else mix[0][rq]
        cW = (1 - zs).astype(q.dtype) if mix is None else mix[1][rq]
        for h in range(Hq):
            oF, lseF, _ = branch(q[rq, h], k[rk, h // G], v[rk, h // G], scale, True, w, kl - ql)
            oW, lseW, _ = branch(q[rq, h], k[rk, h // G], v[rk, h // G], scale, False, w, kl - ql)
            o[rq, h] = cF[:, None] * oF + cW[:, None] * oW
            lse[rq, h] = np.where(zs, lseF, lseW)
    return o, lse


def coefficients(c, rq, dt):
    """Branch coefficients cF, cW of flat query rows rq: z, 1-z (SOFT: p, 1-p with 1-p = sigmoid(-a))."""
    if c.est == "SOFT":
        return c.p[rq].astype(dt), sigmoid(-c.a[rq]).astype(dt)
    z = c.z[rq]
    return z.astype(dt), (1 - z).astype(dt)


def router_gradient(c, rq, router, dt):
    """dL/da of flat query rows rq from router[r] = sum_h <dO, oZ> (SB) or sum_h <dO, oF - oW> (STE, SOFT)."""
    if c.est == "SELECTED_BRANCH":
        return np.where(c.z[rq], sigmoid(-c.a[rq]), -c.p[rq]).astype(dt) * router
    if c.est != "HARD":
        return (c.p[rq] * sigmoid(-c.a[rq])).astype(dt) * router
    return np.zeros_like(router)


def whole(c, dt):
    """Every output of a WHOLE case: routed_attention for o and lse, then the backward one segment at a time (its
    queries see only its keys; key rows of no segment are never read, and their dk, dv stay 0)."""
    B, Sq, Sk, Hq, Hkv, D = c.B, c.S, c.Sk, c.Hq, c.Hkv, c.D
    q = c.gen("q", (B * Sq, Hq, D)).astype(dt)
    k = c.kv("k", dt)
    v = c.kv("v", dt)
    scale = dt(c.scale)
    every = slice(0, B * Sq)
    o, lse = routed_attention(q, k, v, c.segments, c.z, c.w, scale,
                              coefficients(c, every, dt) if c.est == "SOFT" else None)
    out = {"o": o.reshape(B, Sq, Hq, D), "lse": lse.reshape(B, Sq, Hq)}
    if not c.backward:
        return out
    dO = c.gen("do", (B * Sq, Hq, D)).astype(dt)
    dq = np.zeros_like(q)
    dk = np.zeros((B * Sk, Hkv, D), dt)
    dv = np.zeros_like(dk)
    dA = np.zeros(B * Sq, dt)
    for qs, ql, ks, kl in c.segments:
        if ql == 0:
            continue
        rq, rk = slice(qs, qs + ql), slice(ks, ks + kl)
        z = c.z[rq]
        cF, cW = coefficients(c, rq, dt)
        router = np.zeros(ql, dt)
        for h in range(Hq):
            g = h // c.G
            qh, kg, vg = q[rq, h], k[rk, g], v[rk, g]
            oF, _, PF = branch(qh, kg, vg, scale, True, c.w, kl - ql)
            oW, _, PW = branch(qh, kg, vg, scale, False, c.w, kl - ql)
            do = dO[rq, h]
            if c.est == "SELECTED_BRANCH":
                router += np.sum(do * np.where(z[:, None], oF, oW), axis=1)
            elif c.est != "HARD":
                router += np.sum(do * (oF - oW), axis=1)
            for coef, P, ob in ((cF, PF, oF), (cW, PW, oW)):
                gr = coef[:, None] * do                                  # dL/d(branch output)
                dv[rk, g] += P.T @ gr                                    # o = P v
                dP = gr @ vg.T
                dS = P * (dP - np.sum(gr * ob, axis=1, keepdims=True))   # softmax
                dq[rq, h] += scale * (dS @ kg)                           # s = scale q k^T
                dk[rk, g] += scale * (dS.T @ qh)
        dA[rq] = router_gradient(c, rq, router, dt)
    out.update({"dq": dq.reshape(B, Sq, Hq, D), "dk": dk.reshape(B, Sk, Hkv, D), "dv": dv.reshape(B, Sk, Hkv, D),
                "d_router_logit": dA.reshape(B, Sq)})
    return out


def sampled(c, dt):
    """A SAMPLED case: the sampled rows (all heads), the LSE of every query row for one head, and the gradients of
    the loss restricted to the sampled rows (dO zero elsewhere) at the sampled rows (dk, dv: at key_rows, which
    suite-1 files do not have: there they are the rows)."""
    Hq, Hkv, D, w = c.Hq, c.Hkv, c.D, c.w
    scale = dt(c.scale)
    rows = c.t["rows"].astype(np.int64)
    key_rows = c.t["key_rows"].astype(np.int64) if "key_rows" in c.t else rows
    k = c.kv("k", dt)
    v = c.kv("v", dt)
    hd = Hq * D
    idx = (rows[:, None] * hd + np.arange(hd)[None, :]).reshape(-1)
    q_rows = golden_prng.golden_at(c.seed, "q", idx, c.amp["q"]).reshape(len(rows), Hq, D).astype(dt)
    do_rows = golden_prng.golden_at(c.seed, "do", idx, c.amp["do"]).reshape(len(rows), Hq, D).astype(dt)
    # LSE of every query row for head h5 = lse_all_head: per segment, blocks of 512 rows against their visible keys
    h5 = int(c.meta["lse_all_head"])
    g5 = h5 // c.G
    nq = c.B * c.S
    all_idx = (np.arange(nq)[:, None] * hd + h5 * D + np.arange(D)[None, :]).reshape(-1)
    q5 = golden_prng.golden_at(c.seed, "q", all_idx, c.amp["q"]).reshape(nq, D).astype(dt)
    lse_all = np.zeros(nq, dt)
    blk = 512
    seg_of = np.zeros(nq, np.int64)
    for n, (qs, ql, ks, kl) in enumerate(c.segments):
        seg_of[qs:qs + ql] = n
        for i0 in range(0, ql, blk):
            i1 = min(ql, i0 + blk)
            p0, p1 = kl - ql + i0, kl - ql + i1          # positions p0 .. p1-1 of the block
            zb = c.z[qs + i0:qs + i1]
            part = lse_all[qs + i0:qs + i1]
            if zb.any():
                _, lseF, _ = branch(q5[qs + i0:qs + i1], k[ks:ks + p1, g5], v[ks:ks + p1, g5], scale, True, w, p0)
                part[zb] = lseF[zb]
            if (~zb).any():
                k0 = max(0, p0 - w + 1)
                _, lseW, _ = branch(q5[qs + i0:qs + i1], k[ks + k0:ks + p1, g5], v[ks + k0:ks + p1, g5], scale,
                                    False, w, p0 - k0)
                part[~zb] = lseW[~zb]
    # rows: forward on both branches, backward for the loss restricted to the rows
    key_of = {int(r): n for n, r in enumerate(key_rows)}
    R = len(rows)
    o_rows = np.zeros((R, Hq, D), dt)
    lse_rows = np.zeros((R, Hq), dt)
    dq_rows = np.zeros((R, Hq, D), dt)
    dk_rows = np.zeros((len(key_rows), Hkv, D), dt)
    dv_rows = np.zeros((len(key_rows), Hkv, D), dt)
    dA_rows = np.zeros(R, dt)
    for n, r in enumerate(rows):
        qs, ql, ks, kl = c.segments[seg_of[r]]
        i = kl - ql + (r - qs)                           # the query's position; its keys are rows ks + 0 .. ks + i
        z = bool(c.z[r])
        a = c.a[r]
        p, pc = dt(sigmoid(np.array(a))), dt(sigmoid(np.array(-a)))
        cF, cW = (p, pc) if c.est == "SOFT" else (dt(z), dt(1 - z))
        router = dt(0)
        kW0 = max(0, i - w + 1)
        for h in range(Hq):
            g = h // c.G
            qi = q_rows[n, h][None, :]
            oF, lseF, PF = branch(qi, k[ks:ks + i + 1, g], v[ks:ks + i + 1, g], scale, True, w, i)
            oW, lseW, PW = branch(qi, k[ks + kW0:ks + i + 1, g], v[ks + kW0:ks + i + 1, g], scale, False, w, i - kW0)
            o_rows[n, h] = cF * oF[0] + cW * oW[0]
            lse_rows[n, h] = lseF[0] if z else lseW[0]
            do = do_rows[n, h]
            if c.est == "SELECTED_BRANCH":
                router += np.dot(do, oF[0] if z else oW[0])
            elif c.est != "HARD":
                router += np.dot(do, oF[0] - oW[0])
            for coef, P, ob, k0 in ((cF, PF[0], oF[0], 0), (cW, PW[0], oW[0], kW0)):
                if coef == 0:
                    continue
                gr = coef * do
                kk, vv = k[ks + k0:ks + i + 1, g], v[ks + k0:ks + i + 1, g]
                dS = P * (vv @ gr - np.dot(gr, ob))
                dq_rows[n, h] += scale * (dS @ kk)
                for kr, m in key_of.items():
                    j = kr - ks
                    if k0 <= j <= i:
                        dv_rows[m, g] += P[j - k0] * gr
                        dk_rows[m, g] += scale * dS[j - k0] * q_rows[n, h]
        if c.est == "SELECTED_BRANCH":
            dA_rows[n] = (pc if z else -p) * router
        elif c.est != "HARD":
            dA_rows[n] = p * pc * router
    out = {"o_rows": o_rows, "lse_rows": lse_rows, "lse_all": lse_all.reshape(c.B, c.S)}
    if c.backward:
        out.update({"dq_rows": dq_rows, "dk_rows": dk_rows, "dv_rows": dv_rows, "d_router_logit_rows": dA_rows})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--golden", default=os.path.join(here, "..", "..", "golden"), help="golden folder")
    ap.add_argument("--out", default="numpy-candidates", help="folder for the candidate files")
    ap.add_argument("--precision", default="fp64", choices=["fp64", "fp32"], help="arithmetic of the numpy run")
    ap.add_argument("--max-seq", type=int, default=4096,
                    help="skip cases with more query rows per batch row (S) than this (suite-1 32K cases: 32768)")
    ap.add_argument("cases", nargs="*", help="case names or tcIds (default: every case up to --max-seq)")
    args = ap.parse_args()
    with open(os.path.join(args.golden, "manifest.json")) as f:
        manifest = json.load(f)
    entries = manifest["cases"]
    if args.cases:
        wanted = set(args.cases)
        entries = [e for e in entries if e["name"] in wanted or str(e["tcId"]) in wanted]
        unknown = wanted - {e["name"] for e in entries} - {str(e["tcId"]) for e in entries}
        if unknown:
            sys.exit("swiattn_client: unknown cases: " + ", ".join(sorted(unknown)))
    else:
        entries = [e for e in entries if e["S"] <= args.max_seq]
    dt = np.float64 if args.precision == "fp64" else np.float32
    os.makedirs(args.out, exist_ok=True)
    for e in entries:
        t0 = time.time()
        c = Case(args.golden, e)
        out = whole(c, dt) if e["kind"] == "whole" else sampled(c, dt)
        path = os.path.join(args.out, c.name + ".safetensors")
        safetensors_np.write(path, {"precision": args.precision, "case": c.name,
                                    "implementation": "examples/python/swiattn_client.py (numpy " + np.__version__
                                    + ")"}, out)
        print("%-40s %-5s %6.1f s -> %s" % (c.name, args.precision, time.time() - t0, path), flush=True)


if __name__ == "__main__":
    main()
