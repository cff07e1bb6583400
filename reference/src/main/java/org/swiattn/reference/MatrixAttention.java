package org.swiattn.reference;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.Visibility;

/**
 * A second, independent formulation of the forward pass in matrix form with EJML, kept as a cross-check of
 * {@link ReferenceAttention} (which works row by row). Per (batch b, query head h, branch):
 *
 * <pre>{@code
 *   Qh [S,D], Kg [S,D], Vg [S,D]      g = h / G
 *   Sc = scale * Qh Kg^T              [S,S]
 *   Sc_ij = -inf where key j is not visible to query i on the branch
 *   P  = rowwise softmax(Sc)          [S,S]  (max-subtracted)
 *   Ob = P Vg                         [S,D],  lse_i = log sum_j exp(Sc_ij)
 *   O_i = z_i O_F,i + (1 - z_i) O_W,i  (SOFT: p_i O_F,i + (1 - p_i) O_W,i)
 * }</pre>
 * Plain fp64 matrix products (no compensation): it agrees with the reference to rounding, not bit for bit.
 * Memory is O(S^2) per (b, h): for small and medium S only.
 */
public final class MatrixAttention {

    /**
     * Forward pass. O [B,S,Hq,D], LSE [B,S,Hq].
     *
     * @param in validated inputs; not modified
     */
    public ForwardResult forward(AttentionInputs in) {
        Shape sh = in.shape();
        int n = sh.seqLen();
        int dim = sh.headDim();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        Route route = in.route();
        for (int b = 0; b < sh.batch(); b++) {
            for (int h = 0; h < sh.qHeads(); h++) {
                int g = sh.kvHeadOf(h);
                DMatrixRMaj qh = new DMatrixRMaj(n, dim);
                DMatrixRMaj kg = new DMatrixRMaj(n, dim);
                DMatrixRMaj vg = new DMatrixRMaj(n, dim);
                for (int i = 0; i < n; i++) {
                    for (int d = 0; d < dim; d++) {
                        qh.set(i, d, in.q()[sh.qOffset(b, i, h) + d]);
                        kg.set(i, d, in.k()[sh.kvOffset(b, i, g) + d]);
                        vg.set(i, d, in.v()[sh.kvOffset(b, i, g) + d]);
                    }
                }
                DMatrixRMaj scores = new DMatrixRMaj(n, n);
                CommonOps_DDRM.multTransB(in.scale(), qh, kg, scores);
                double[] lseF = new double[n];
                double[] lseW = new double[n];
                DMatrixRMaj oF = branch(scores, vg, true, in.window(), lseF);
                DMatrixRMaj oW = branch(scores, vg, false, in.window(), lseW);
                for (int i = 0; i < n; i++) {
                    int r = b * n + i;
                    boolean z = route.isFull(r);
                    double cF = z ? 1 : 0;
                    if (in.estimator() == Estimator.SOFT) {
                        cF = Sigmoid.of(route.logit(r));
                    }
                    double cW = in.estimator() == Estimator.SOFT ? Sigmoid.complement(route.logit(r)) : 1 - cF;
                    for (int d = 0; d < dim; d++) {
                        o[sh.qOffset(b, i, h) + d] = cF * oF.get(i, d) + cW * oW.get(i, d);
                    }
                    lse[sh.lseOffset(b, i, h)] = z ? lseF[i] : lseW[i];
                }
            }
        }
        return new ForwardResult(sh, o, lse);
    }

    /** Masked softmax of scores and product with V. @param scores not modified @param lse [S] modified */
    private static DMatrixRMaj branch(DMatrixRMaj scores, DMatrixRMaj v, boolean full, int window, double[] lse) {
        int n = scores.numRows;
        DMatrixRMaj p = new DMatrixRMaj(n, n);
        double[] sums = new double[n];
        for (int i = 0; i < n; i++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                if (Visibility.visible(i, j, full, window)) {
                    m = Math.max(m, scores.get(i, j));
                }
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                double e = Visibility.visible(i, j, full, window) ? Math.exp(scores.get(i, j) - m) : 0.0;
                p.set(i, j, e);
                sum += e;
            }
            sums[i] = sum;
            lse[i] = m + Math.log(sum);
        }
        CommonOps_DDRM.divideRows(sums, p);   // rowwise softmax: P_ij = e_ij / sum_j e_ij
        DMatrixRMaj out = new DMatrixRMaj(n, v.numCols);
        CommonOps_DDRM.mult(p, v, out);
        return out;
    }
}
