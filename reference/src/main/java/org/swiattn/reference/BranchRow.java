package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * One query row r, head h on one branch: the whole attention mechanism in two functions.
 *
 * <pre>{@code
 *   r sits at position p of a segment whose keys start at key row k0 (Segments); it sees key rows
 *     j in [first, last],  last = k0 + p,  first = k0 (full branch) or k0 + max(0, p - w + 1) (window branch)
 *   (self-attention prefill: r = b*S + i, k0 = b*S, p = i)
 *   s_j   = scale * <q_r, k_j>                        (Dot2, kept as a pair hi + lo)
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
        final double[] scores;    // [n] high parts of s_j at j - first, then e_j; n >= visible keys of any row
        final double[] scoresLo;  // [n] low parts of s_j
        final double[] err;       // [D]

        Scratch(int keys, int dim) {
            scores = new double[keys];
            scoresLo = new double[keys];
            err = new double[dim];
        }
    }

    /**
     * The most keys a row of these inputs sees: the longest segment's key count (a segment of a packed batch
     * may span several batch rows of the key tensor, so this can exceed Sk).
     */
    static int maxVisibleKeys(AttentionInputs in) {
        int n = 1;
        for (int s = 0; s < in.segments().count(); s++) {
            n = Math.max(n, in.segments().kLen(s));
        }
        return n;
    }

    /**
     * Forward of one row on one branch.
     *
     * @param in      inputs; not modified
     * @param full    true for the full branch, false for the window branch
     * @param r       flat query row
     * @param o       output; o[oOff .. oOff + D) is overwritten with the branch output of row r, head h; modified
     * @param scratch scratch space; modified
     * @return the natural-log LSE of the row's visible scaled scores, as a pair
     */
    static AccurateMath.Pair forward(AttentionInputs in, int r, int h, boolean full, double[] o, int oOff,
                                     Scratch scratch) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        int last = Visibility.lastKeyRow(in.segments(), r);
        int qOff = sh.qRowOffset(r, h);
        double[] q = in.q();
        double[] k = in.k();
        double[] v = in.v();
        double[] s = scratch.scores;
        double[] sLo = scratch.scoresLo;

        // pass 1: scores s_j = scale * <q_r, k_j> as pairs (at t = j - first), and the index tm of their maximum m
        int n = last - first + 1;
        int tm = 0;
        for (int t = 0; t < n; t++) {
            s[t] = AccurateMath.dotPair(q, qOff, k, sh.kvRowOffset(first + t, g), dim, sLo, t);
            s[t] = AccurateMath.scalePair(in.scale(), s[t], sLo, t);
            if (s[t] > s[tm]) {
                tm = t;
            }
        }
        double mHi = s[tm];
        double mLo = sLo[tm];

        // pass 2: e_j = exp(s_j - m), Z = sum_j e_j (every e_j <= 1 and e_jm = 1, so Z in [1, n])
        AccurateMath.Sum z = new AccurateMath.Sum();
        for (int t = 0; t < n; t++) {
            s[t] = Math.exp(AccurateMath.difference(s[t], sLo[t], mHi, mLo));
            z.add(s[t]);
        }
        double zv = z.value();

        // pass 3: o = sum_j P_j v_j with P_j = e_j / Z, accumulated with compensation. Normalising first keeps
        // every partial sum a sub-convex combination of the v_j, so it cannot overflow even for |v| near 1e308
        java.util.Arrays.fill(o, oOff, oOff + dim, 0.0);
        java.util.Arrays.fill(scratch.err, 0.0);
        for (int t = 0; t < n; t++) {
            AccurateMath.axpy(o, scratch.err, oOff, 0, s[t] / zv, v, sh.kvRowOffset(first + t, g), dim);
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
     * @param r     flat query row
     * @param dqRow the row of {@code grads} that receives dQ of (r, h): at {@code (dqRow*Hq + h)*D}
     * @param grads compensated accumulators of dQ, dK, dV; modified
     */
    static void backward(AttentionInputs in, int r, int h, boolean full, double[] gOut, int gOff,
                         double[] oBr, int oOff, AccurateMath.Pair lse, int dqRow, Grads grads) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        int last = Visibility.lastKeyRow(in.segments(), r);
        int qOff = sh.qRowOffset(r, h);
        int dqOff = (dqRow * sh.qHeads() + h) * dim;
        double scale = in.scale();
        double[] q = in.q();
        double[] k = in.k();
        double[] v = in.v();

        // pass 1: Delta = <g, o>
        double delta = AccurateMath.dot(gOut, gOff, oBr, oOff, dim);
        double[] sLo = new double[1];

        // pass 2: over visible keys, recompute P_j and accumulate dV_j, dQ_i, dK_j (dK, dV of tracked keys only)
        for (int j = first; j <= last; j++) {
            int kvOff = sh.kvRowOffset(j, g);
            int kOut = grads.keyOffset(j, g);
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
     *   keyIndex   [B*Sk]       n for key row keyRows[n], -1 for a key row that is not tracked
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

        /** @param keyRows [K] distinct flat key rows in [0, B*Sk); not modified */
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
            keyIndex = new int[sh.kvRows()];
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
