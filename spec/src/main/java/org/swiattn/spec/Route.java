package org.swiattn.spec;

import java.util.Arrays;

/**
 * The routing decision of one layer: one hard decision per (batch, token), shared by all heads.
 *
 * <pre>{@code
 *   z [B,S]   z_r = 1 (full branch) or 0 (window branch), r = b*S + i
 *   a [B,S]   optional router logits; when present z_r = [a_r > 0] (a_r == 0 routes to the window branch)
 *   p [B,S]   p_r = sigmoid(a_r)
 * }</pre>
 * A route built from logits always agrees with its logits. Immutable: arrays are copied in and out.
 */
public final class Route {
    private final int batch;
    private final int seqLen;
    private final boolean[] full;   // [B,S]
    private final double[] logits;  // [B,S] or null

    private Route(int batch, int seqLen, boolean[] full, double[] logits) {
        this.batch = batch;
        this.seqLen = seqLen;
        this.full = full;
        this.logits = logits;
    }

    /**
     * A route from a hard mask.
     *
     * @param batch  B
     * @param seqLen S
     * @param full   [B,S] true = full branch; not modified (copied)
     */
    public static Route ofMask(int batch, int seqLen, boolean[] full) {
        checkSizes(batch, seqLen);
        InvalidInputException.require(full != null, "route", "mask is null");
        InvalidInputException.require(full.length == (long) batch * seqLen, "route",
                "mask length must be B*S = " + ((long) batch * seqLen) + ", got " + full.length);
        return new Route(batch, seqLen, full.clone(), null);
    }

    /**
     * A route from router logits: {@code z = [a > 0], p = sigmoid(a)}.
     *
     * @param batch  B
     * @param seqLen S
     * @param logits [B,S] router logits a; not modified (copied); every value must be finite
     */
    public static Route ofLogits(int batch, int seqLen, double[] logits) {
        checkSizes(batch, seqLen);
        InvalidInputException.require(logits != null, "routerLogits", "is null");
        InvalidInputException.require(logits.length == (long) batch * seqLen, "routerLogits",
                "length must be B*S = " + ((long) batch * seqLen) + ", got " + logits.length);
        boolean[] z = new boolean[logits.length];
        for (int r = 0; r < logits.length; r++) {
            InvalidInputException.require(Double.isFinite(logits[r]), "routerLogits",
                    "non-finite value " + logits[r] + " at index " + r);
            z[r] = logits[r] > 0;
        }
        return new Route(batch, seqLen, z, logits.clone());
    }

    /** Every token on the full branch. */
    public static Route allFull(int batch, int seqLen) {
        checkSizes(batch, seqLen);
        boolean[] z = new boolean[batch * seqLen];
        Arrays.fill(z, true);
        return new Route(batch, seqLen, z, null);
    }

    /** Every token on the window branch. */
    public static Route allWindow(int batch, int seqLen) {
        checkSizes(batch, seqLen);
        return new Route(batch, seqLen, new boolean[batch * seqLen], null);
    }

    private static void checkSizes(int batch, int seqLen) {
        InvalidInputException.require(batch >= 1, "batch", "must be >= 1, got " + batch);
        InvalidInputException.require(seqLen >= 1, "seqLen", "must be >= 1, got " + seqLen);
    }

    public int batch() {
        return batch;
    }

    public int seqLen() {
        return seqLen;
    }

    /** z for flat row r = b*S + i. */
    public boolean isFull(int r) {
        return full[r];
    }

    /** z for (b, i). */
    public boolean isFull(int b, int i) {
        return full[b * seqLen + i];
    }

    /** Whether router logits are present (needed by every estimator but HARD). */
    public boolean hasLogits() {
        return logits != null;
    }

    /** a_r; throws if the route carries no logits. */
    public double logit(int r) {
        if (logits == null) {
            throw new IllegalStateException("this route was built from a mask and carries no router logits");
        }
        return logits[r];
    }

    /** p_r = sigmoid(a_r), computed without overflow for any finite a. */
    public double probability(int r) {
        return Sigmoid.of(logit(r));
    }

    /** [B,S] copy of the hard mask. */
    public boolean[] mask() {
        return full.clone();
    }

    /** [B,S] copy of the logits, or null. */
    public double[] logits() {
        return logits == null ? null : logits.clone();
    }

    /** Number of (b, i) routed to the full branch. */
    public int fullCount() {
        int n = 0;
        for (boolean f : full) {
            n += f ? 1 : 0;
        }
        return n;
    }

    @Override
    public String toString() {
        return "Route[B=" + batch + ", S=" + seqLen + ", full=" + fullCount() + "/" + full.length
                + (logits != null ? ", with logits" : "") + "]";
    }
}
