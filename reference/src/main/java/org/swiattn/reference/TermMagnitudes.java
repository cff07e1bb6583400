package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.Visibility;

/**
 * The term-magnitude tensors T of the tolerance policy (spec 1.1, SPEC.md section 10): for every tensor the
 * reference computes, the same formula evaluated on absolute values. A computed sum satisfies
 * {@code |fl(sum a_i) - sum a_i| <= gamma_n sum |a_i|}, so an implementation's error is measured against
 * max(||ref||, ||T||) ({@link org.swiattn.spec.ErrorMeasures#normwiseRelative(double[], double[], double)}), not
 * against a result that may have cancelled to (near) zero.
 *
 * <p>What it is for: the denominators of the property suite's comparisons. Only the norms of T matter, so this is
 * plain fp64 (max-subtracted softmax, uncompensated sums) in O(B*S^2*Hq*D) loops, one branch row at a time, read
 * next to {@link BranchRow} and {@link ReferenceAttention#backward}, whose structure it follows line by line.
 *
 * <pre>{@code
 *   shape legend: B batch, Sq query rows and Sk key rows per batch row, Hq query heads, Hkv kv heads,
 *                 G = Hq/Hkv, D head dim, R selected rows
 *   q, o, dq, dO  [B*Sq,Hq,D]   k, v, dk, dv  [B*Sk,Hkv,D]   lse [B*Sq,Hq]   route, dRouterLogit [B*Sq]
 *
 *   per branch row (r, h), g = h / G, key rows j in [first, last] of the branch (Visibility.firstKeyRow,
 *   lastKeyRow), s_j = scale <q_r, k_j>:
 *     m = max_j s_j,  l = sum_j exp(s_j - m),  P_j = exp(s_j - m) / l,  oB = sum_j P_j v_j
 *   forward:
 *     T_O[r,h,:]    = sum_j P_j |v_j|                  of the selected branch z (SOFT: p T_F + (1-p) T_W)
 *     T_LSE[r,h]    = |m| + |log l|                    of the selected branch z (every estimator)
 *   backward, branch coefficients c (HARD, STE, SB: z and 1-z; SOFT: p and 1-p), for each branch with c != 0:
 *     T_dV[j,g,:]  += c P_j |dO_r|
 *     T_dS_j        = c P_j (sum_k |dO_rk| |v_jk| + sum_k |dO_rk| |oB_rk|)
 *     T_dQ[r,h,:]  += scale T_dS_j |k_j|
 *     T_dK[j,g,:]  += scale T_dS_j |q_r|
 *   router logit, per row r (sums over h and k):
 *     HARD 0;  STE, SOFT p(1-p) sum |dO| (|oF| + |oW|);  SELECTED_BRANCH |z - p| sum |dO| |oZ|
 * }</pre>
 * Every T is elementwise at least the absolute value of the exact tensor it stands for (triangle inequality on
 * the same formula), so max(||ref||, ||T||) = ||T|| up to rounding.
 */
public record TermMagnitudes(Shape shape, double[] o, double[] lse, double[] dq, double[] dk, double[] dv,
                             double[] dRouterLogit) {

    /**
     * T for the forward outputs only: o [B*Sq,Hq,D] and lse [B*Sq,Hq]; dq, dk, dv and dRouterLogit are null.
     *
     * @param in validated inputs; not modified
     */
    public static TermMagnitudes forward(AttentionInputs in) {
        Shape sh = in.shape();
        RowsResult all = forwardRows(in, allRows(sh));
        return new TermMagnitudes(sh, all.o(), all.lse(), null, null, null, null);
    }

    /**
     * T for the forward outputs of chosen rows, in O(sum over chosen rows of visible keys * Hq * D) work.
     *
     * @param in   validated inputs; not modified
     * @param rows [R] flat query rows r = b*Sq + i; not modified
     * @return T_O [R,Hq,D] in {@code o()} and T_LSE [R,Hq] in {@code lse()}
     */
    public static RowsResult forwardRows(AttentionInputs in, int[] rows) {
        in.checkRows(rows);
        Shape sh = in.shape();
        int hq = sh.qHeads();
        int dim = sh.headDim();
        boolean soft = in.estimator() == Estimator.SOFT;
        double[] tO = new double[rows.length * hq * dim];
        double[] tLse = new double[rows.length * hq];
        double[] p = new double[BranchRow.maxVisibleKeys(in)];
        for (int n = 0; n < rows.length; n++) {
            int r = rows[n];
            boolean z = in.route().isFull(r);
            for (int h = 0; h < hq; h++) {
                int out = (n * hq + h) * dim;
                // pass 1: the selected branch: T_LSE = |m| + |log l|, T_O = sum_j P_j |v_j|
                tLse[n * hq + h] = weights(in, r, h, z, p);
                double cZ = soft ? coefficient(in, r, z) : 1.0;
                accumulate(in, r, h, z, p, cZ, tO, out);
                // pass 2 (SOFT only): the other branch with its coefficient, T_O = p T_F + (1-p) T_W
                if (soft) {
                    weights(in, r, h, !z, p);
                    accumulate(in, r, h, !z, p, coefficient(in, r, !z), tO, out);
                }
            }
        }
        return new RowsResult(sh, rows.clone(), tO, tLse);
    }

    /**
     * T for every tensor: the forward ones and the gradients of the inputs' estimator given dO.
     *
     * @param in   validated inputs; not modified
     * @param dOut dL/dO [B*Sq,Hq,D]; not modified
     */
    public static TermMagnitudes of(AttentionInputs in, double[] dOut) {
        in.checkOutputGradient(dOut);
        Shape sh = in.shape();
        TermMagnitudes fwd = forward(in);
        RowTerms terms = new RowTerms(in, absolute(dOut), true);
        double[] tDq = new double[sh.qSize()];
        double[] tDa = new double[sh.rows()];
        for (int r = 0; r < sh.rows(); r++) {
            int base = sh.qRowOffset(r, 0);
            tDa[r] = terms.row(r, base, tDq, base);
        }
        return new TermMagnitudes(sh, fwd.o(), fwd.lse(), tDq, terms.tDk, terms.tDv, tDa);
    }

    /**
     * T of the backward tensors that belong to query rows, at chosen rows: dQ and the router logit. (T_dK and
     * T_dV of a key row sum over every query row that sees it; they need {@link #of}.)
     *
     * @param rows the flat query rows r = b*Sq + i
     * @param dq   T_dQ [R,Hq,D] of those rows
     * @param dRouterLogit T of dL/da [R] of those rows
     */
    public record BackwardRows(int[] rows, double[] dq, double[] dRouterLogit) {
    }

    /**
     * T of dQ and of the router-logit gradient at chosen rows, in O(sum over chosen rows of visible keys * Hq * D)
     * work: the rows of {@link #of} (same formulas, same order), without the key-row sums.
     *
     * @param in     validated inputs; not modified
     * @param rows   [R] flat query rows r = b*Sq + i; not modified
     * @param dORows dL/dO at those rows [R,Hq,D], in the order of rows; not modified
     */
    public static BackwardRows backwardRows(AttentionInputs in, int[] rows, double[] dORows) {
        in.checkRows(rows);
        Shape sh = in.shape();
        int hd = sh.qHeads() * sh.headDim();
        InvalidInputException.require(dORows != null && dORows.length == (long) rows.length * hd, "dORows",
                "length rows * Hq * D = " + (long) rows.length * hd + " expected, got "
                        + (dORows == null ? "null" : Integer.toString(dORows.length)));
        RowTerms terms = new RowTerms(in, absolute(dORows), false);
        double[] tDq = new double[rows.length * hd];
        double[] tDa = new double[rows.length];
        for (int n = 0; n < rows.length; n++) {
            tDa[n] = terms.row(rows[n], n * hd, tDq, n * hd);
        }
        return new BackwardRows(rows.clone(), tDq, tDa);
    }

    /**
     * The backward terms of one query row at a time (the body of {@link #of}), with T_dK, T_dV accumulated over the
     * rows visited when asked for.
     */
    private static final class RowTerms {
        private final AttentionInputs in;
        private final Shape sh;
        private final double[] absQ, absK, absV, absDo;
        private final double[] tDk, tDv;   // [B*Sk,Hkv,D], or null
        private final double[] p, oB;

        /** @param absDo |dO| of the rows to be visited; not modified (kept) */
        RowTerms(AttentionInputs in, double[] absDo, boolean keyRows) {
            this.in = in;
            this.sh = in.shape();
            this.absQ = absolute(in.q());
            this.absK = absolute(in.k());
            this.absV = absolute(in.v());
            this.absDo = absDo;
            this.tDk = keyRows ? new double[sh.kvSize()] : null;
            this.tDv = keyRows ? new double[sh.kvSize()] : null;
            this.p = new double[BranchRow.maxVisibleKeys(in)];
            this.oB = new double[sh.headDim()];
        }

        /**
         * Adds row r's terms: T_dQ of the row into tDq at dqBase (+ h*D), T_dK, T_dV of its keys when kept.
         *
         * @param doBase offset of (r, head 0) in absDo
         * @param tDq    modified at [dqBase, dqBase + Hq*D)
         * @return T of dL/da at row r
         */
        double row(int r, int doBase, double[] tDq, int dqBase) {
            int dim = sh.headDim();
            Estimator est = in.estimator();
            double scale = in.scale();
            boolean z = in.route().isFull(r);
            // |dO_r| . |oF_r| and |dO_r| . |oW_r| summed over the heads, for the router-logit term
            double[] dotBranch = new double[2];   // [0] window, [1] full
            for (int h = 0; h < sh.qHeads(); h++) {
                int qOff = sh.qRowOffset(r, h);
                int doOff = doBase + h * dim;
                int dqOff = dqBase + h * dim;
                for (boolean full : new boolean[] {true, false}) {
                    // forward line: c^B = z, 1-z (HARD, STE, SB) or p, 1-p (SOFT); a branch with c = 0 adds nothing
                    double c = est == Estimator.SOFT ? coefficient(in, r, full) : (full == z ? 1.0 : 0.0);
                    boolean needed = c != 0.0 || (full != z && est == Estimator.STRAIGHT_THROUGH);
                    if (!needed) {
                        continue;
                    }
                    // pass 1: P_j and the branch output oB = sum_j P_j v_j (plain fp64)
                    weights(in, r, h, full, p);
                    java.util.Arrays.fill(oB, 0.0);
                    int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
                    int last = Visibility.lastKeyRow(in.segments(), r);
                    int g = sh.kvHeadOf(h);
                    for (int j = first; j <= last; j++) {
                        int kvOff = sh.kvRowOffset(j, g);
                        for (int d = 0; d < dim; d++) {
                            oB[d] += p[j - first] * in.v()[kvOff + d];
                        }
                    }
                    // Delta_i = <G_i, oB_i>: its term size sum_k |dO_ik| |oB_ik|
                    double deltaTerms = 0;
                    for (int d = 0; d < dim; d++) {
                        deltaTerms += absDo[doOff + d] * Math.abs(oB[d]);
                    }
                    dotBranch[full ? 1 : 0] += deltaTerms;
                    if (c == 0.0) {
                        continue;
                    }
                    // pass 2: over visible keys
                    for (int j = first; j <= last; j++) {
                        int kvOff = sh.kvRowOffset(j, g);
                        double pj = p[j - first];
                        // dV_j += P_j G_r
                        if (tDv != null) {
                            for (int d = 0; d < dim; d++) {
                                tDv[kvOff + d] += c * pj * absDo[doOff + d];
                            }
                        }
                        // dS_j = P_j (<G_i, v_j> - Delta_i)
                        double dpTerms = 0;
                        for (int d = 0; d < dim; d++) {
                            dpTerms += absDo[doOff + d] * absV[kvOff + d];
                        }
                        double tDs = c * pj * (dpTerms + deltaTerms);
                        // dQ_i += scale dS_j k_j ;  dK_j += scale dS_j q_i
                        for (int d = 0; d < dim; d++) {
                            tDq[dqOff + d] += scale * tDs * absK[kvOff + d];
                        }
                        if (tDk != null) {
                            for (int d = 0; d < dim; d++) {
                                tDk[kvOff + d] += scale * tDs * absQ[qOff + d];
                            }
                        }
                    }
                }
            }
            // pass 3: router logit of row r (sums over heads in dotBranch)
            switch (est) {
                case HARD:
                    return 0.0;
                case STRAIGHT_THROUGH:
                case SOFT: {
                    // dL/da = p(1-p) sum_h <dO, oF - oW>
                    double a = in.route().logit(r);
                    return Sigmoid.of(a) * Sigmoid.complement(a) * (dotBranch[1] + dotBranch[0]);
                }
                case SELECTED_BRANCH: {
                    // dL/da = (z - p) sum_h <dO, oZ>;  |z - p| = 1-p for z = 1, p for z = 0
                    double zMinusP = z ? Sigmoid.complement(in.route().logit(r)) : Sigmoid.of(in.route().logit(r));
                    return zMinusP * dotBranch[z ? 1 : 0];
                }
                default:
                    throw new IllegalArgumentException("estimator: unknown " + est);
            }
        }
    }

    /**
     * The softmax weights of one branch row, in plain fp64: P_j = exp(s_j - m) / l for key rows j in
     * [first, last], at p[j - first].
     *
     * @param p [n] receives P_j at j - first (n at least the row's visible keys); modified
     * @return T_LSE of the row, |m| + |log l|
     */
    private static double weights(AttentionInputs in, int r, int h, boolean full, double[] p) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        int n = Visibility.lastKeyRow(in.segments(), r) - first + 1;
        int qOff = sh.qRowOffset(r, h);
        // pass 1: s_j = scale <q_r, k_j> and m = max_j s_j
        double m = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < n; t++) {
            int kvOff = sh.kvRowOffset(first + t, g);
            double s = 0;
            for (int d = 0; d < dim; d++) {
                s += in.q()[qOff + d] * in.k()[kvOff + d];
            }
            p[t] = in.scale() * s;
            m = Math.max(m, p[t]);
        }
        // pass 2: l = sum_j exp(s_j - m) (in [1, n]) and P_j = exp(s_j - m) / l
        double l = 0;
        for (int t = 0; t < n; t++) {
            p[t] = Math.exp(p[t] - m);
            l += p[t];
        }
        for (int t = 0; t < n; t++) {
            p[t] /= l;
        }
        return Math.abs(m) + Math.abs(Math.log(l));
    }

    /**
     * out[off + d] += c * sum_j P_j |v_j|[d] over the branch's keys.
     *
     * @param p    [n] weights from {@link #weights}; not modified
     * @param out  modified at [off, off + D)
     */
    private static void accumulate(AttentionInputs in, int r, int h, boolean full, double[] p, double c,
                                   double[] out, int off) {
        Shape sh = in.shape();
        int g = sh.kvHeadOf(h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        int last = Visibility.lastKeyRow(in.segments(), r);
        for (int j = first; j <= last; j++) {
            int kvOff = sh.kvRowOffset(j, g);
            for (int d = 0; d < sh.headDim(); d++) {
                out[off + d] += c * p[j - first] * Math.abs(in.v()[kvOff + d]);
            }
        }
    }

    /** The SOFT coefficient of a branch at row r: p = sigmoid(a) (full) or 1 - p = sigmoid(-a) (window). */
    private static double coefficient(AttentionInputs in, int r, boolean full) {
        double a = in.route().logit(r);
        return full ? Sigmoid.of(a) : Sigmoid.complement(a);
    }

    /** |x| elementwise. @param x not modified */
    private static double[] absolute(double[] x) {
        double[] y = new double[x.length];
        for (int n = 0; n < x.length; n++) {
            y[n] = Math.abs(x[n]);
        }
        return y;
    }

    private static int[] allRows(Shape sh) {
        int[] rows = new int[sh.rows()];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = r;
        }
        return rows;
    }
}
