package org.swiattn.spec;

/**
 * The sizes of one attention call: B, Sq, Hq, Hkv, D and Sk (see the shape legend in {@code package-info}).
 *
 * <p>Layout is row-major BSHD: element (b, i, h, d) of Q lives at {@code ((b*Sq + i)*Hq + h)*D + d}, element
 * (b, j, g, d) of K or V at {@code ((b*Sk + j)*Hkv + g)*D + d}, and LSE (b, i, h) at {@code (b*Sq + i)*Hq + h}.
 * Query head h reads key/value head {@code h / (Hq/Hkv)} (grouped-query attention, GQA).
 *
 * <p>Equivalently Q is [B*Sq flat query rows, Hq, D] and K, V are [B*Sk flat key rows, Hkv, D]: flat query row
 * {@code r = b*Sq + i}, flat key row {@code kr = b*Sk + j}. Which key rows a query row sees is said by
 * {@link Segments}. The five-argument constructor is the self-attention prefill shape of spec 1.x (Sk = Sq = S).
 *
 * @param seqLen   Sq, query rows per batch row (S in self-attention)
 * @param kvSeqLen Sk, key rows per batch row (the cache capacity in decode; the packed key total for B = 1)
 */
public record Shape(int batch, int seqLen, int qHeads, int kvHeads, int headDim, int kvSeqLen) {

    public Shape {
        InvalidInputException.require(batch >= 1, "batch", "must be >= 1, got " + batch);
        InvalidInputException.require(seqLen >= 1, "seqLen", "must be >= 1, got " + seqLen);
        InvalidInputException.require(kvSeqLen >= 1, "kvSeqLen", "must be >= 1, got " + kvSeqLen);
        InvalidInputException.require(qHeads >= 1, "qHeads", "must be >= 1, got " + qHeads);
        InvalidInputException.require(kvHeads >= 1, "kvHeads", "must be >= 1, got " + kvHeads);
        InvalidInputException.require(headDim >= 1, "headDim", "must be >= 1, got " + headDim);
        InvalidInputException.require(qHeads % kvHeads == 0, "qHeads",
                "qHeads % kvHeads must be 0, got qHeads=" + qHeads + ", kvHeads=" + kvHeads);
        long q = (long) batch * seqLen * qHeads * headDim;
        InvalidInputException.require(q <= Integer.MAX_VALUE - 8, "shape",
                "B*Sq*Hq*D = " + q + " exceeds the largest Java array; split the batch");
        long kv = (long) batch * kvSeqLen * kvHeads * headDim;
        InvalidInputException.require(kv <= Integer.MAX_VALUE - 8, "shape",
                "B*Sk*Hkv*D = " + kv + " exceeds the largest Java array; split the batch");
    }

    /** The self-attention prefill shape: queries and keys share positions 0..S-1 (Sk = Sq = S). */
    public Shape(int batch, int seqLen, int qHeads, int kvHeads, int headDim) {
        this(batch, seqLen, qHeads, kvHeads, headDim, seqLen);
    }

    /** G = Hq / Hkv, the number of query heads that share one key/value head. */
    public int groupSize() {
        return qHeads / kvHeads;
    }

    /** The key/value head read by query head h: {@code h / G}. */
    public int kvHeadOf(int h) {
        return h / groupSize();
    }

    /** Number of elements of Q, O, dQ, dO: B*Sq*Hq*D. */
    public int qSize() {
        return batch * seqLen * qHeads * headDim;
    }

    /** Number of elements of K, V, dK, dV: B*Sk*Hkv*D. */
    public int kvSize() {
        return batch * kvSeqLen * kvHeads * headDim;
    }

    /** Number of elements of LSE: B*Sq*Hq. */
    public int lseSize() {
        return batch * seqLen * qHeads;
    }

    /** Number of flat query rows: B*Sq; the length of the route and of the router logits. */
    public int rows() {
        return batch * seqLen;
    }

    /** Number of flat key rows: B*Sk. */
    public int kvRows() {
        return batch * kvSeqLen;
    }

    /** Whether queries and keys have the same number of rows (Sq = Sk), as in self-attention prefill. */
    public boolean squareRows() {
        return seqLen == kvSeqLen;
    }

    /** Offset of element (b, i, h, 0) in Q / O / dQ / dO. */
    public int qOffset(int b, int i, int h) {
        return ((b * seqLen + i) * qHeads + h) * headDim;
    }

    /** Offset of element (b, j, g, 0) in K / V / dK / dV. */
    public int kvOffset(int b, int j, int g) {
        return ((b * kvSeqLen + j) * kvHeads + g) * headDim;
    }

    /** Offset of element (r, h, 0) in Q / O / dQ / dO for a flat query row r = b*Sq + i. */
    public int qRowOffset(int r, int h) {
        return (r * qHeads + h) * headDim;
    }

    /** Offset of element (kr, g, 0) in K / V / dK / dV for a flat key row kr = b*Sk + j. */
    public int kvRowOffset(int kr, int g) {
        return (kr * kvHeads + g) * headDim;
    }

    /** Offset of element (b, i, h) in LSE. */
    public int lseOffset(int b, int i, int h) {
        return (b * seqLen + i) * qHeads + h;
    }

    /** The default scale 1/sqrt(D). */
    public double defaultScale() {
        return 1.0 / Math.sqrt(headDim);
    }

    @Override
    public String toString() {
        return "B=" + batch + " S=" + seqLen + (squareRows() ? "" : " Sk=" + kvSeqLen) + " Hq=" + qHeads
                + " Hkv=" + kvHeads + " D=" + headDim;
    }
}
