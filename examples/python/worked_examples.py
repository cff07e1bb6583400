#!/usr/bin/env python3
"""The four forms of one routed-attention call (SPEC.md 2.1) with the numpy client: prefill, chunked prefill, decode
against a padded KV cache, packed documents. Each form is built from the same prefill inputs so its answer can be
read off the prefill's: a chunk's rows are the prefill's last rows, a decode step is the prefill row at the cache
length - 1, a packed document is that document run alone. README "The four forms of a call" shows this file and
the same examples in Java.

Usage: worked_examples.py      (prints one line per form and exits 1 if a form disagrees with its prefill)
"""
import sys

import numpy as np

import golden_prng
from swiattn_client import bottom_right, kv_cache, packed, routed_attention, self_attention

Hq, Hkv, D, w = 2, 1, 8, 4                                   # GQA 2: head h reads kv head h // 2
q = golden_prng.golden_tensor(7, "q", (8, Hq, D))            # flat query rows [Nq, Hq, D]
k = golden_prng.golden_tensor(7, "k", (8, Hkv, D))           # flat key rows   [Nk, Hkv, D]
v = golden_prng.golden_tensor(7, "v", (8, Hkv, D))
z = np.array([1, 0, 1, 1, 0, 0, 1, 0], bool)                 # route: True = full branch

# 1. prefill: one sequence of 8 tokens, queries and keys at positions 0..7
o, lse = routed_attention(q, k, v, self_attention(1, 8), z, w)
# the definition, one row and head at a time: keys 0..i (full) or max(0, i-w+1)..i (window), softmax, LSE
direct = np.zeros((8, Hq))
for i in range(8):
    for h in range(Hq):
        j = np.arange(0 if z[i] else max(0, i - w + 1), i + 1)
        s = (k[j, h // 2] @ q[i, h]) / np.sqrt(D)
        direct[i, h] = s.max() + np.log(np.sum(np.exp(s - s.max())))

# 2. chunked prefill: the last 3 tokens (positions 5, 6, 7) against all 8 keys of the cache
o_chunk, lse_chunk = routed_attention(q[5:], k, v, bottom_right(1, 3, 8), z[5:], w)

# 3. decode: 3 sequences on a padded cache of capacity 8 holding 1, 8 and 5 keys (the new token's key included);
#    here every sequence's cache is the prefill's keys, NaN in the slots beyond its length (never read)
lens = [1, 8, 5]
k_cache = np.tile(k, (3, 1, 1))                             # [B*Sk, Hkv, D], B = 3, Sk = 8
v_cache = np.tile(v, (3, 1, 1))
for b, n in enumerate(lens):
    k_cache[b * 8 + n:(b + 1) * 8] = np.nan
    v_cache[b * 8 + n:(b + 1) * 8] = np.nan
new = [n - 1 for n in lens]                                  # each new token is the one at position length - 1
o_dec, lse_dec = routed_attention(q[new], k_cache, v_cache, kv_cache(1, 8, lens), z[new], w)

# 4. packed: documents of lengths 1, 4, 3 in one row of 8 (cu_seqlens = [0, 1, 5, 8]); positions restart per document
cu = np.array([0, 1, 5, 8])
o_pack, lse_pack = routed_attention(q, k, v, packed(cu, cu), z, w)
alone = [routed_attention(q[a:b], k[a:b], v[a:b], self_attention(1, b - a), z[a:b], w) for a, b in zip(cu, cu[1:])]

checks = [
    ("prefill", "lse vs the definition row by row", lse.ravel(), direct.ravel()),
    ("chunked prefill", "chunk rows vs prefill rows 5..7", np.concatenate([o_chunk.ravel(), lse_chunk.ravel()]),
     np.concatenate([o[5:].ravel(), lse[5:].ravel()])),
    ("decode", "step vs prefill rows 0, 7, 4", np.concatenate([o_dec.ravel(), lse_dec.ravel()]),
     np.concatenate([o[new].ravel(), lse[new].ravel()])),
    ("packed", "documents vs each alone", np.concatenate([o_pack.ravel(), lse_pack.ravel()]),
     np.concatenate([np.concatenate([a[0] for a in alone]).ravel(), np.concatenate([a[1] for a in alone]).ravel()])),
]
failed = 0
for form, what, got, want in checks:
    diff = float(np.max(np.abs(got - want)))
    ok = np.all(np.isfinite(got)) and diff <= 1e-15 * max(1.0, float(np.max(np.abs(want))))
    failed += not ok
    print("%-16s %-34s max |diff| %.1e  %s" % (form, what, diff, "ok" if ok else "DIFFERS"))
print("prefill lse[7] =", " ".join("%.17g" % x for x in lse[7]))
print("packed  lse[5] =", " ".join("%.17g" % x for x in lse_pack[5]), "(position 0 of the third document)")
sys.exit(1 if failed else 0)
