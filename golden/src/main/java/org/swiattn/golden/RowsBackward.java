package org.swiattn.golden;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.swiattn.reference.AccurateMath;
import org.swiattn.reference.RowGradients;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.Visibility;

/**
 * The fp64 reference backward for a loss restricted to a few query rows, in O(L * S * Hq * D) work instead of
 * O(S^2 * Hq * D): what makes 32K gradient rows affordable.
 *
 * <p>It is {@code ReferenceAttention.backward} with every row whose dO is zero skipped (those rows add exact zeros
 * to every accumulator). The branch outputs and LSEs come from the reference's own
 * {@link ReferenceAttention#forwardRows} (all-full and all-window routes); the accumulation below follows the
 * reference's row backward (compensated Dot2 products and compensated sums from {@link AccurateMath}, per kv head g:
 * query heads of the group ascending, rows ascending, full branch then window branch, keys ascending). It is a
 * second implementation, not a copy: {@code RowsBackwardTest} checks that it agrees with
 * {@code ReferenceAttention.backward} to a normwise relative 1e-14 on every estimator, a hundred times below the
 * fp64 tolerance.
 *
 * <pre>
 *   forward line                       backward line (per loss row i, head h, branch with coefficient c)
 *   o = cF oF + cW oW                  g = c * dO_ih       (cF = z, cW = 1 - z; SOFT: p, 1 - p)
 *   P_j = exp(s_j - lse)               (recomputed)
 *   o_br = sum_j P_j v_j               dV_j += P_j g ;  dP_j = &lt;g, v_j&gt;
 *   softmax                            dS_j = P_j (dP_j - Delta),  Delta = &lt;g, o_br&gt;
 *   s_j = scale &lt;q_i, k_j&gt;          dQ_i += scale dS_j k_j ;  dK_j += scale dS_j q_i
 *   router                             STE, SOFT: p(1-p) sum_h &lt;dO, oF - oW&gt;;  SB: (z - p) sum_h &lt;dO, oZ&gt;
 * </pre>
 */
public final class RowsBackward {
    private RowsBackward() {
    }

    /**
     * Gradients at chosen rows for dO that is zero outside {@code lossRows}.
     *
     * @param in       validated inputs; not modified
     * @param lossRows [L] flat rows, strictly ascending; not modified
     * @param dORows   [L,Hq,D] dO at the loss rows; not modified
     * @param keyRows  [K] flat rows whose dK, dV are wanted, any order, distinct; not modified
     */
    public static RowGradients backward(AttentionInputs in, int[] lossRows, double[] dORows, int[] keyRows) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int hd = sh.qHeads() * dim;
        int kvd = sh.kvHeads() * dim;
        RowGradients.checkRows(in, lossRows, keyRows);
        if (dORows.length != lossRows.length * hd) {
            throw new IllegalArgumentException("dORows: length must be L*Hq*D = " + lossRows.length * hd + ", got "
                    + dORows.length);
        }
        Estimator est = in.estimator();
        Route route = in.route();
        boolean both = est == Estimator.STRAIGHT_THROUGH || est == Estimator.SOFT;

        // pass 1: branch outputs of the loss rows from the reference (full where needed, window where needed)
        ReferenceAttention ref = new ReferenceAttention();
        int[] fIndex = new int[lossRows.length];
        int[] wIndex = new int[lossRows.length];
        int[] fRows = pick(lossRows, n -> route.isFull(lossRows[n]) || both, fIndex);
        int[] wRows = pick(lossRows, n -> !route.isFull(lossRows[n]) || both, wIndex);
        AttentionInputs allFull = in.toBuilder().route(Route.allFull(sh.batch(), sh.seqLen()))
                .estimator(Estimator.HARD).build();
        AttentionInputs allWindow = in.toBuilder().route(Route.allWindow(sh.batch(), sh.seqLen()))
                .estimator(Estimator.HARD).build();
        RowsResult oF = ref.forwardRows(allFull, fRows);
        RowsResult oW = ref.forwardRows(allWindow, wRows);

        // pass 2: router-logit gradient of each loss row
        double[] dA = new double[lossRows.length];
        if (est != Estimator.HARD) {
            for (int n = 0; n < lossRows.length; n++) {
                int r = lossRows[n];
                double a = route.logit(r);
                double p = Sigmoid.of(a);
                double pc = Sigmoid.complement(a);
                boolean z = route.isFull(r);
                AccurateMath.Sum sum = new AccurateMath.Sum();
                if (est == Estimator.SELECTED_BRANCH) {
                    sum.add(z ? AccurateMath.dot(dORows, n * hd, oF.o(), fIndex[n] * hd, hd)
                            : AccurateMath.dot(dORows, n * hd, oW.o(), wIndex[n] * hd, hd));
                    dA[n] = (z ? pc : -p) * sum.value();
                } else {
                    sum.add(AccurateMath.dot(dORows, n * hd, oF.o(), fIndex[n] * hd, hd));
                    sum.add(-AccurateMath.dot(dORows, n * hd, oW.o(), wIndex[n] * hd, hd));
                    dA[n] = p * pc * sum.value();
                }
            }
        }

        // pass 3: dQ, dK, dV; one task per (b, kv head g), in the reference's order
        int[] keyIndex = new int[sh.rows()];
        Arrays.fill(keyIndex, -1);
        for (int n = 0; n < keyRows.length; n++) {
            keyIndex[keyRows[n]] = n;
        }
        double[] dq = new double[lossRows.length * hd];
        double[] dqErr = new double[dq.length];
        double[] dk = new double[keyRows.length * kvd];
        double[] dkErr = new double[dk.length];
        double[] dv = new double[keyRows.length * kvd];
        double[] dvErr = new double[dv.length];
        IntStream.range(0, sh.batch() * sh.kvHeads()).parallel().forEach(task -> {
            int b = task / sh.kvHeads();
            int g = task % sh.kvHeads();
            double[] gBuf = new double[dim];
            for (int h = g * sh.groupSize(); h < (g + 1) * sh.groupSize(); h++) {
                for (int n = 0; n < lossRows.length; n++) {
                    int r = lossRows[n];
                    if (r / sh.seqLen() != b) {
                        continue;
                    }
                    int i = r % sh.seqLen();
                    boolean z = route.isFull(r);
                    double cF;
                    double cW;
                    if (est == Estimator.SOFT) {
                        cF = Sigmoid.of(route.logit(r));
                        cW = Sigmoid.complement(route.logit(r));
                    } else {
                        cF = z ? 1.0 : 0.0;
                        cW = z ? 0.0 : 1.0;
                    }
                    int doOff = n * hd + h * dim;
                    if (cF != 0.0) {
                        scaled(dORows, doOff, cF, gBuf, dim);
                        branch(in, b, i, h, true, gBuf, oF.o(), fIndex[n] * hd + h * dim,
                                oF.lse()[fIndex[n] * sh.qHeads() + h], n, keyIndex, dq, dqErr, dk, dkErr, dv, dvErr);
                    }
                    if (cW != 0.0) {
                        scaled(dORows, doOff, cW, gBuf, dim);
                        branch(in, b, i, h, false, gBuf, oW.o(), wIndex[n] * hd + h * dim,
                                oW.lse()[wIndex[n] * sh.qHeads() + h], n, keyIndex, dq, dqErr, dk, dkErr, dv, dvErr);
                    }
                }
            }
        });
        AccurateMath.fold(dq, dqErr);
        AccurateMath.fold(dk, dkErr);
        AccurateMath.fold(dv, dvErr);
        return new RowGradients(lossRows.clone(), keyRows.clone(), dq, dk, dv, dA);
    }

    /**
     * One loss row on one branch: the reference's BranchRow.backward, accumulating dQ into row n of dq and dK, dV
     * into the tracked key rows only.
     *
     * @param gOut [D] dL/d(branch output); not modified
     * @param oBr  branch output of the row at oOff; not modified
     * @param dq   [L,Hq,D] accumulators (with dqErr); modified
     * @param dk   [K,Hkv,D] accumulators (with dkErr), likewise dv; modified
     */
    private static void branch(AttentionInputs in, int b, int i, int h, boolean full, double[] gOut, double[] oBr,
                               int oOff, double lse, int n, int[] keyIndex, double[] dq, double[] dqErr,
                               double[] dk, double[] dkErr, double[] dv, double[] dvErr) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int lo = Visibility.firstKey(i, full, in.window());
        int qOff = sh.qOffset(b, i, h);
        int dqOff = (n * sh.qHeads() + h) * dim;
        double scale = in.scale();
        double[] q = in.q();
        double[] k = in.k();
        double[] v = in.v();
        // pass 1: Delta = <g, o>
        double delta = AccurateMath.dot(gOut, 0, oBr, oOff, dim);
        // pass 2: over visible keys, recompute P_j and accumulate dV_j, dQ_i, dK_j
        for (int j = lo; j <= i; j++) {
            int kvOff = sh.kvOffset(b, j, g);
            int kn = keyIndex[b * sh.seqLen() + j];
            double p = Math.exp(scale * AccurateMath.dot(q, qOff, k, kvOff, dim) - lse);
            if (kn >= 0) {
                AccurateMath.axpy(dv, dvErr, (kn * sh.kvHeads() + g) * dim, p, gOut, 0, dim);
            }
            double dp = AccurateMath.dot(gOut, 0, v, kvOff, dim);
            double ds = p * (dp - delta);
            AccurateMath.axpy(dq, dqErr, dqOff, scale * ds, k, kvOff, dim);
            if (kn >= 0) {
                AccurateMath.axpy(dk, dkErr, (kn * sh.kvHeads() + g) * dim, scale * ds, q, qOff, dim);
            }
        }
    }

    private static void scaled(double[] x, int off, double c, double[] out, int dim) {
        for (int d = 0; d < dim; d++) {
            out[d] = c * x[off + d];
        }
    }

    /** The loss rows where the predicate holds; index[n] = position of lossRows[n] in the result (or -1). */
    static int[] pick(int[] rows, java.util.function.IntPredicate keep, int[] index) {
        int[] out = new int[rows.length];
        int m = 0;
        for (int n = 0; n < rows.length; n++) {
            if (keep.test(n)) {
                index[n] = m;
                out[m++] = rows[n];
            } else {
                index[n] = -1;
            }
        }
        return Arrays.copyOf(out, m);
    }
}
