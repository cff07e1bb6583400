package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * One query row (b, i, h) on one branch: the whole attention mechanism in two functions.
 *
 * <pre>{@code
 *   keys visible to query i:  j in [lo, i],  lo = 0 (full branch) or max(0, i - w + 1) (window branch)
 *   s_j   = scale * <q_i, k_j>                        (Dot2, kept as a pair hi + lo)
 *   m     = max_j s_j
 *   lse   = m + log sum_j exp(s_j - m)                  (max-subtracted, compensated sum)
 * }</pre>
 * Scores and the LSE are carried as unevaluated pairs (hi + lo, about 32 significant digits) so that the
 * differences s_j - m and s_j - lse are accurate to the last bit even for score magnitudes of 10^4, where a
 * single rounded score would already be off by 10^-12. The results are accurate to a few ulps whatever the
 * score magnitude.
 * <pre>{@code
 *   P_j   = exp(s_j - lse)
 *   o     = sum_j P_j v_j
 * }</pre>
 * Query head h reads key/value head g = h / G.
 */
final class BranchRow {
    private BranchRow() {
    }

    /** Scratch space of one thread: scores of one row and per-coordinate error terms. */
    static final class Scratch {
        final double[] scores;    // [S] high parts of s_j, then e_j
        final double[] scoresLo;  // [S] low parts of s_j
        final double[] err;       // [D]

        Scratch(Shape shape) {
            scores = new double[shape.seqLen()];
            scoresLo = new double[shape.seqLen()];
            err = new double[shape.headDim()];
        }
    }

    /**
     * Forward of one row on one branch.
     *
     * @param in      inputs; not modified
     * @param full    true for the full branch, false for the window branch
     * @param o       output; o[oOff .. oOff + D) is overwritten with the branch output of row (b, i, h); modified
     * @param scratch scratch space; modified
     * @return the natural-log LSE of the row's visible scaled scores, as a pair
     */
    static AccurateMath.Pair forward(AttentionInputs in, int b, int i, int h, boolean full, double[] o, int oOff,
                                     Scratch scratch) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int lo = Visibility.firstKey(i, full, in.window());
        int qOff = sh.qOffset(b, i, h);
        double[] q = in.q();
        double[] k = in.k();
        double[] v = in.v();
        double[] s = scratch.scores;
        double[] sLo = scratch.scoresLo;

        // pass 1: scores s_j = scale * <q_i, k_j> as pairs, and the position jm of their maximum m
        int jm = lo;
        for (int j = lo; j <= i; j++) {
            s[j] = AccurateMath.dotPair(q, qOff, k, sh.kvOffset(b, j, g), dim, sLo, j);
            s[j] = AccurateMath.scalePair(in.scale(), s[j], sLo, j);
            if (s[j] > s[jm]) {
                jm = j;
            }
        }
        double mHi = s[jm];
        double mLo = sLo[jm];

        // pass 2: e_j = exp(s_j - m), Z = sum_j e_j (every e_j <= 1 and e_jm = 1, so Z in [1, i+1])
        AccurateMath.Sum z = new AccurateMath.Sum();
        for (int j = lo; j <= i; j++) {
            s[j] = Math.exp(AccurateMath.difference(s[j], sLo[j], mHi, mLo));
            z.add(s[j]);
        }
        double zv = z.value();

        // pass 3: o = sum_j P_j v_j with P_j = e_j / Z, accumulated with compensation. Normalising first keeps
        // every partial sum a sub-convex combination of the v_j, so it cannot overflow even for |v| near 1e308
        java.util.Arrays.fill(o, oOff, oOff + dim, 0.0);
        java.util.Arrays.fill(scratch.err, 0.0);
        for (int j = lo; j <= i; j++) {
            AccurateMath.axpy(o, scratch.err, oOff, 0, s[j] / zv, v, sh.kvOffset(b, j, g), dim);
        }
        for (int d = 0; d < dim; d++) {
            o[oOff + d] += scratch.err[d];
        }
        // lse = m + log Z, as a pair
        double logZ = Math.log(zv);
        double lseHi = mHi + logZ;
        double zz = lseHi - mHi;
        double lseLo = (mHi - (lseHi - zz)) + (logZ - zz) + mLo;   // TwoSum remainder of mHi + logZ, plus mLo
        return new AccurateMath.Pair(lseHi, lseLo);
    }

    /**
     * Backward of one row on one branch. {@code gOut} is dL/d(branch output) of this row: the routed dO times the
     * branch's coefficient (z or 1 - z for hard routes, p or 1 - p for SOFT).
     *
     * <pre>{@code
     *   forward line                       backward line
     *   P_j = exp(s_j - lse)               (recomputed)
     *   o   = sum_j P_j v_j                dV_j += P_j g ;  dP_j = <g, v_j>
     *   softmax                            dS_j = P_j (dP_j - Delta),  Delta = <g, o> = sum_j P_j dP_j
     *   s_j = scale <q_i, k_j>             dQ_i += scale * sum_j dS_j k_j ;  dK_j += scale * dS_j q_i
     * }</pre>
     *
     * @param gOut  [.. D ..] dL/d(branch output) at gOff; not modified
     * @param oBr   [.. D ..] branch output of this row at oOff (from {@link #forward}); not modified
     * @param lse   the branch LSE of this row (from {@link #forward})
     * @param dqRow the row of {@code grads} that receives dQ of (b, i, h): dQ_i at {@code (dqRow*Hq + h)*D}
     * @param grads compensated accumulators of dQ, dK, dV; modified
     */
    static void backward(AttentionInputs in, int b, int i, int h, boolean full, double[] gOut, int gOff,
                         double[] oBr, int oOff, AccurateMath.Pair lse, int dqRow, Grads grads) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int lo = Visibility.firstKey(i, full, in.window());
        int qOff = sh.qOffset(b, i, h);
        int dqOff = (dqRow * sh.qHeads() + h) * dim;
        double scale = in.scale();
        double[] q = in.q();
        double[] k = in.k();
        double[] v = in.v();

        // pass 1: Delta = <g, o>
        double delta = AccurateMath.dot(gOut, gOff, oBr, oOff, dim);
        double[] sLo = new double[1];

        // pass 2: over visible keys, recompute P_j and accumulate dV_j, dQ_i, dK_j (dK, dV of tracked keys only)
        for (int j = lo; j <= i; j++) {
            int kvOff = sh.kvOffset(b, j, g);
            int kOut = grads.keyOffset(b * sh.seqLen() + j, g);
            double sHi = AccurateMath.dotPair(q, qOff, k, kvOff, dim, sLo, 0);
            sHi = AccurateMath.scalePair(scale, sHi, sLo, 0);
            double p = Math.exp(AccurateMath.difference(sHi, sLo[0], lse.hi(), lse.lo()));
            if (kOut >= 0) {
                AccurateMath.axpy(grads.dv, grads.dvErr, kOut, p, gOut, gOff, dim);
            }
            double dp = AccurateMath.dot(gOut, gOff, v, kvOff, dim);
            double ds = p * (dp - delta);
            AccurateMath.axpy(grads.dq, grads.dqErr, dqOff, scale * ds, k, kvOff, dim);
            if (kOut >= 0) {
                AccurateMath.axpy(grads.dk, grads.dkErr, kOut, scale * ds, q, qOff, dim);
            }
        }
    }

    /**
     * Compensated accumulators (value = sum + error term) of dQ at L loss rows and of dK, dV at K tracked key rows.
     *
     * <pre>{@code
     *   dq, dqErr  [L,Hq,D]     row n is loss row n
     *   dk, dkErr  [K,Hkv,D]    row n is key row keyRows[n]; likewise dv, dvErr
     *   keyIndex   [B*S]        n for key row keyRows[n], -1 for a key row that is not tracked
     * }</pre>
     */
    static final class Grads {
        final double[] dq;
        final double[] dqErr;
        final double[] dk;
        final double[] dkErr;
        final double[] dv;
        final double[] dvErr;
        private final int[] keyIndex;
        private final int kvHeads;
        private final int dim;

        /** @param keyRows [K] distinct flat key rows; not modified */
        Grads(Shape sh, int lossRows, int[] keyRows) {
            kvHeads = sh.kvHeads();
            dim = sh.headDim();
            int kvd = kvHeads * dim;
            dq = new double[lossRows * sh.qHeads() * dim];
            dqErr = new double[dq.length];
            dk = new double[keyRows.length * kvd];
            dkErr = new double[dk.length];
            dv = new double[keyRows.length * kvd];
            dvErr = new double[dv.length];
            keyIndex = new int[sh.rows()];
            java.util.Arrays.fill(keyIndex, -1);
            for (int n = 0; n < keyRows.length; n++) {
                keyIndex[keyRows[n]] = n;
            }
        }

        /** Offset of (key row, kv head g) in dk and dv, or -1 when the key row is not tracked. */
        int keyOffset(int keyRow, int g) {
            int n = keyIndex[keyRow];
            return n < 0 ? -1 : (n * kvHeads + g) * dim;
        }

        /** Folds the error terms into the sums. */
        void fold() {
            AccurateMath.fold(dq, dqErr);
            AccurateMath.fold(dk, dkErr);
            AccurateMath.fold(dv, dvErr);
        }
    }
}
