package org.swiattn.spec;

/**
 * The sizes of one attention call: B, S, Hq, Hkv, D (see the shape legend in {@code package-info}).
 *
 * <p>Layout is row-major BSHD: element (b, i, h, d) of Q lives at {@code ((b*S + i)*Hq + h)*D + d}, element
 * (b, j, g, d) of K or V at {@code ((b*S + j)*Hkv + g)*D + d}, and LSE (b, i, h) at {@code (b*S + i)*Hq + h}.
 * Query head h reads key/value head {@code h / (Hq/Hkv)} (grouped-query attention, GQA).
 */
public record Shape(int batch, int seqLen, int qHeads, int kvHeads, int headDim) {

    public Shape {
        InvalidInputException.require(batch >= 1, "batch", "must be >= 1, got " + batch);
        InvalidInputException.require(seqLen >= 1, "seqLen", "must be >= 1, got " + seqLen);
        InvalidInputException.require(qHeads >= 1, "qHeads", "must be >= 1, got " + qHeads);
        InvalidInputException.require(kvHeads >= 1, "kvHeads", "must be >= 1, got " + kvHeads);
        InvalidInputException.require(headDim >= 1, "headDim", "must be >= 1, got " + headDim);
        InvalidInputException.require(qHeads % kvHeads == 0, "qHeads",
                "qHeads % kvHeads must be 0, got qHeads=" + qHeads + ", kvHeads=" + kvHeads);
        long q = (long) batch * seqLen * qHeads * headDim;
        InvalidInputException.require(q <= Integer.MAX_VALUE - 8, "shape",
                "B*S*Hq*D = " + q + " exceeds the largest Java array; split the batch");
    }

    /** G = Hq / Hkv, the number of query heads that share one key/value head. */
    public int groupSize() {
        return qHeads / kvHeads;
    }

    /** The key/value head read by query head h: {@code h / G}. */
    public int kvHeadOf(int h) {
        return h / groupSize();
    }

    /** Number of elements of Q, O, dQ, dO: B*S*Hq*D. */
    public int qSize() {
        return batch * seqLen * qHeads * headDim;
    }

    /** Number of elements of K, V, dK, dV: B*S*Hkv*D. */
    public int kvSize() {
        return batch * seqLen * kvHeads * headDim;
    }

    /** Number of elements of LSE: B*S*Hq. */
    public int lseSize() {
        return batch * seqLen * qHeads;
    }

    /** Number of (batch, token) rows: B*S; the length of the route and of the router logits. */
    public int rows() {
        return batch * seqLen;
    }

    /** Offset of element (b, i, h, 0) in Q / O / dQ / dO. */
    public int qOffset(int b, int i, int h) {
        return ((b * seqLen + i) * qHeads + h) * headDim;
    }

    /** Offset of element (b, j, g, 0) in K / V / dK / dV. */
    public int kvOffset(int b, int j, int g) {
        return ((b * seqLen + j) * kvHeads + g) * headDim;
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
        return "B=" + batch + " S=" + seqLen + " Hq=" + qHeads + " Hkv=" + kvHeads + " D=" + headDim;
    }
}
