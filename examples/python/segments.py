"""The segment metadata of a call (spec/SPEC.md section 2.1) as per-row tables that a dense mask or a FlexAttention
mask_mod reads: which segment each flat query and key row belongs to, and its position there.

The metadata come in FlashAttention's convention (the harness passes them to the user's function that way):

    cu_seqlens_q, cu_seqlens_k  int32 [n+1]  packed variable-length batch (flash_attn_varlen_func): segment s is
                                             flat query rows cu_q[s] .. cu_q[s+1]-1 and key rows cu_k[s] .. cu_k[s+1]-1
    cache_seqlens               int32 [B]    padded KV cache of capacity Sk: batch row b holds cache_seqlens[b] valid
                                             keys, the new tokens' keys included (flash_attn_with_kvcache counts them
                                             before it appends k, v: that is cache_seqlens - Sq)
    neither                                  one segment per batch row, all Sk keys: self-attention when Sq = Sk,
                                             chunked prefill (bottom-right aligned) when Sq < Sk

Queries are bottom-right aligned in every segment: query t of a segment of qLen queries and kLen keys is at
position p = kLen - qLen + t, and sees the keys at positions 0..p (full) or max(0, p-w+1)..p (window).

    import segments
    q_seg, q_pos, k_seg, k_pos = segments.rows(B, Sq, Sk, cu_seqlens_q, cu_seqlens_k, cache_seqlens)
    visible_full   = (q_seg[:, None] == k_seg[None, :]) & (k_pos[None, :] <= q_pos[:, None])    # [B*Sq, B*Sk]
    visible_window = visible_full & (q_pos[:, None] - k_pos[None, :] < w)

Key rows in no segment (padded cache slots) have k_seg = -1: no query sees them, and they may hold NaN.
"""
import numpy as np

import swiattn_client


def table(B, Sq, Sk, cu_seqlens_q=None, cu_seqlens_k=None, cache_seqlens=None):
    """[(qStart, qLen, kStart, kLen)] of the call (the client's segment table, SPEC.md 2.1). Arrays may be numpy
    arrays or CPU tensors; not modified."""
    if (cu_seqlens_q is None) != (cu_seqlens_k is None):
        raise ValueError("segments: cu_seqlens_q and cu_seqlens_k come together, got only %s"
                         % ("cu_seqlens_q" if cu_seqlens_k is None else "cu_seqlens_k"))
    if cu_seqlens_q is not None and cache_seqlens is not None:
        raise ValueError("segments: cu_seqlens_q/k and cache_seqlens are two forms; pass one")
    if cu_seqlens_q is not None:
        return swiattn_client.packed(np.asarray(cu_seqlens_q, np.int64), np.asarray(cu_seqlens_k, np.int64))
    if cache_seqlens is not None:
        return swiattn_client.kv_cache(Sq, Sk, np.asarray(cache_seqlens, np.int64))
    return swiattn_client.bottom_right(B, Sq, Sk)


def rows(B, Sq, Sk, cu_seqlens_q=None, cu_seqlens_k=None, cache_seqlens=None):
    """Per flat row: q_seg, q_pos [B*Sq] and k_seg, k_pos [B*Sk] (int64 numpy; k_seg = -1 outside every segment)."""
    q_seg = np.full(B * Sq, -1, np.int64)
    q_pos = np.zeros(B * Sq, np.int64)
    k_seg = np.full(B * Sk, -1, np.int64)
    k_pos = np.zeros(B * Sk, np.int64)
    for s, (qs, ql, ks, kl) in enumerate(table(B, Sq, Sk, cu_seqlens_q, cu_seqlens_k, cache_seqlens)):
        if ql > kl or qs + ql > B * Sq or ks + kl > B * Sk:
            raise ValueError("segments: segment %d = (qStart %d, qLen %d, kStart %d, kLen %d) does not fit %d query "
                             "and %d key rows with qLen <= kLen" % (s, qs, ql, ks, kl, B * Sq, B * Sk))
        q_seg[qs:qs + ql] = s
        q_pos[qs:qs + ql] = np.arange(kl - ql, kl)          # bottom-right: the last query at the last key
        k_seg[ks:ks + kl] = s
        k_pos[ks:ks + kl] = np.arange(kl)
    if (q_seg < 0).any():
        raise ValueError("segments: query row %d lies in no segment" % int(np.argmax(q_seg < 0)))
    return q_seg, q_pos, k_seg, k_pos
