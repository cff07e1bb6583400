#!/usr/bin/env python3
"""A second, independent implementation of SwiAttn routed attention in plain numpy, checked against the golden files.

For each golden case it: reads the case file (route, router logits, metadata), regenerates the inputs q, k, v, dO
with the documented portable generator (golden_prng.py), computes the outputs with a plain numpy routed attention
(forward and backward, every estimator), and writes them in the golden format as a candidate file
OUT/<case name>.safetensors with __metadata__ precision = fp64 | fp32. Then `swiattn check --all OUT` judges them.

Shapes (spec/SPEC.md): q, o, dq, dO [B,S,Hq,D]; k, v, dk, dv [B,S,Hkv,D]; lse [B,S,Hq]; route z, logits a [B,S].
Query head h reads kv head h // (Hq // Hkv). Full branch: keys 0..i; window branch: keys max(0, i-w+1)..i.
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
    """A golden case: metadata, stored tensors and the regenerated inputs' parameters."""

    def __init__(self, golden_dir, entry):
        self.entry = entry
        self.meta, self.t = safetensors_np.read(os.path.join(golden_dir, entry["file"]))
        m = self.meta
        self.name = m["name"]
        self.B, self.S, self.Hq, self.Hkv, self.D = (int(m[k]) for k in ("B", "S", "Hq", "Hkv", "D"))
        self.G = self.Hq // self.Hkv
        self.w = int(m["window"])
        self.scale = float(m["scale"])
        self.est = m["estimator"]
        self.seed = int(m["seed"])
        self.amp = {n: float(m["amp_" + n]) for n in ("q", "k", "v", "do")}
        self.backward = m["backward"] == "true"
        self.z = self.t["route"].astype(bool).reshape(self.B, self.S)
        self.a = self.t["router_logits"].reshape(self.B, self.S)
        self.p = sigmoid(self.a)

    def gen(self, name, shape):
        return golden_prng.golden_tensor(self.seed, name, shape, self.amp[name])


def branch(q, k, v, scale, full, w, lo_row=0):
    """One head, one branch, a block of query rows lo_row .. lo_row + len(q) - 1 against keys 0 .. len(k) - 1.

    q [R,D], k, v [S,D] -> o [R,D], lse [R], P [R,S] (zero where a key is not visible).
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


def whole(c, dt):
    """Every output of a WHOLE case."""
    B, S, Hq, Hkv, D = c.B, c.S, c.Hq, c.Hkv, c.D
    q = c.gen("q", (B, S, Hq, D)).astype(dt)
    k = c.gen("k", (B, S, Hkv, D)).astype(dt)
    v = c.gen("v", (B, S, Hkv, D)).astype(dt)
    dO = c.gen("do", (B, S, Hq, D)).astype(dt)
    scale = dt(c.scale)
    o = np.zeros((B, S, Hq, D), dt)
    lse = np.zeros((B, S, Hq), dt)
    dq = np.zeros_like(q)
    dk = np.zeros_like(k)
    dv = np.zeros_like(v)
    dA = np.zeros((B, S), dt)
    for b in range(B):
        z = c.z[b]
        p = c.p[b].astype(dt)
        cF = p if c.est == "SOFT" else z.astype(dt)
        cW = (sigmoid(-c.a[b]).astype(dt)) if c.est == "SOFT" else (1 - z).astype(dt)
        router = np.zeros(S, dt)
        for h in range(Hq):
            g = h // c.G
            qh, kg, vg = q[b, :, h], k[b, :, g], v[b, :, g]
            oF, lseF, PF = branch(qh, kg, vg, scale, True, c.w)
            oW, lseW, PW = branch(qh, kg, vg, scale, False, c.w)
            o[b, :, h] = cF[:, None] * oF + cW[:, None] * oW
            lse[b, :, h] = np.where(z, lseF, lseW)
            if not c.backward:
                continue
            do = dO[b, :, h]
            if c.est == "SELECTED_BRANCH":
                router += np.sum(do * np.where(z[:, None], oF, oW), axis=1)
            elif c.est != "HARD":
                router += np.sum(do * (oF - oW), axis=1)
            for coef, P, ob in ((cF, PF, oF), (cW, PW, oW)):
                gr = coef[:, None] * do                                  # dL/d(branch output)
                dv[b, :, g] += P.T @ gr                                  # o = P v
                dP = gr @ vg.T
                dS = P * (dP - np.sum(gr * ob, axis=1, keepdims=True))   # softmax
                dq[b, :, h] += scale * (dS @ kg)                         # s = scale q k^T
                dk[b, :, g] += scale * (dS.T @ qh)
        if c.est == "SELECTED_BRANCH":
            dA[b] = np.where(z, sigmoid(-c.a[b]), -c.p[b]).astype(dt) * router
        elif c.est != "HARD":
            dA[b] = (c.p[b] * sigmoid(-c.a[b])).astype(dt) * router
    out = {"o": o, "lse": lse}
    if c.backward:
        out.update({"dq": dq, "dk": dk, "dv": dv, "d_router_logit": dA})
    return out


def sampled(c, dt):
    """A SAMPLED (32K) case: the sampled rows (all heads), the LSE of every row for one head, and the gradients of
    the loss restricted to the sampled rows (dO zero elsewhere) at those rows."""
    assert c.B == 1
    S, Hq, Hkv, D, w = c.S, c.Hq, c.Hkv, c.D, c.w
    scale = dt(c.scale)
    rows = c.t["rows"].astype(np.int64)
    k = c.gen("k", (S, Hkv, D)).astype(dt)
    v = c.gen("v", (S, Hkv, D)).astype(dt)
    hd = Hq * D
    idx = (rows[:, None] * hd + np.arange(hd)[None, :]).reshape(-1)
    q_rows = golden_prng.golden_at(c.seed, "q", idx, c.amp["q"]).reshape(len(rows), Hq, D).astype(dt)
    do_rows = golden_prng.golden_at(c.seed, "do", idx, c.amp["do"]).reshape(len(rows), Hq, D).astype(dt)
    # LSE of every row for head h5 = lse_all_head: blocks of 512 rows against their visible keys
    h5 = int(c.meta["lse_all_head"])
    g5 = h5 // c.G
    all_idx = (np.arange(S)[:, None] * hd + h5 * D + np.arange(D)[None, :]).reshape(-1)
    q5 = golden_prng.golden_at(c.seed, "q", all_idx, c.amp["q"]).reshape(S, D).astype(dt)
    lse_all = np.zeros(S, dt)
    blk = 512
    for i0 in range(0, S, blk):
        i1 = min(S, i0 + blk)
        zb = c.z[0, i0:i1]
        if zb.any():
            _, lseF, _ = branch(q5[i0:i1], k[:i1, g5], v[:i1, g5], scale, True, w, i0)
            lse_all[i0:i1][zb] = lseF[zb]
        if (~zb).any():
            k0 = max(0, i0 - w + 1)
            _, lseW, _ = branch(q5[i0:i1], k[k0:i1, g5], v[k0:i1, g5], scale, False, w, i0 - k0)
            lse_all[i0:i1][~zb] = lseW[~zb]
    # rows: forward on both branches, backward for the loss restricted to the rows
    key_of = {int(r): n for n, r in enumerate(rows)}
    R = len(rows)
    o_rows = np.zeros((R, Hq, D), dt)
    lse_rows = np.zeros((R, Hq), dt)
    dq_rows = np.zeros((R, Hq, D), dt)
    dk_rows = np.zeros((R, Hkv, D), dt)
    dv_rows = np.zeros((R, Hkv, D), dt)
    dA_rows = np.zeros(R, dt)
    for n, i in enumerate(rows):
        z = bool(c.z[0, i])
        a = c.a[0, i]
        p, pc = dt(sigmoid(np.array(a))), dt(sigmoid(np.array(-a)))
        cF, cW = (p, pc) if c.est == "SOFT" else (dt(z), dt(1 - z))
        router = dt(0)
        for h in range(Hq):
            g = h // c.G
            qi = q_rows[n, h][None, :]
            kW0 = max(0, i - w + 1)
            oF, lseF, PF = branch(qi, k[:i + 1, g], v[:i + 1, g], scale, True, w, i)
            oW, lseW, PW = branch(qi, k[kW0:i + 1, g], v[kW0:i + 1, g], scale, False, w, i - kW0)
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
                kk, vv = k[k0:i + 1, g], v[k0:i + 1, g]
                dS = P * (vv @ gr - np.dot(gr, ob))
                dq_rows[n, h] += scale * (dS @ kk)
                for j, m in key_of.items():
                    if k0 <= j <= i:
                        dv_rows[m, g] += P[j - k0] * gr
                        dk_rows[m, g] += scale * dS[j - k0] * q_rows[n, h]
        if c.est == "SELECTED_BRANCH":
            dA_rows[n] = (pc if z else -p) * router
        elif c.est != "HARD":
            dA_rows[n] = p * pc * router
    out = {"o_rows": o_rows, "lse_rows": lse_rows, "lse_all": lse_all.reshape(1, S)}
    if c.backward:
        out.update({"dq_rows": dq_rows, "dk_rows": dk_rows, "dv_rows": dv_rows, "d_router_logit_rows": dA_rows})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--golden", default=os.path.join(here, "..", "..", "golden"), help="golden folder")
    ap.add_argument("--out", default="numpy-candidates", help="folder for the candidate files")
    ap.add_argument("--precision", default="fp64", choices=["fp64", "fp32"], help="arithmetic of the numpy run")
    ap.add_argument("--max-seq", type=int, default=4096, help="skip cases with S above this (32K cases: 32768)")
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
