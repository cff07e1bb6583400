package org.swiattn.reference;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.Visibility;

/**
 * A second, independent formulation of the forward pass in matrix form with EJML, kept as a cross-check of
 * {@link ReferenceAttention} (which works row by row). Per (segment, query head h, branch), the segment holding
 * nq query rows and nk key rows (self-attention: a segment is a batch row, nq = nk = S):
 *
 * <pre>{@code
 *   Qh [nq,D], Kg [nk,D], Vg [nk,D]      g = h / G
 *   Sc = scale * Qh Kg^T                 [nq,nk]
 *   query t sits at position p = nk - nq + t (bottom-right aligned);
 *   Sc_tj = -inf where key j is not visible to position p on the branch
 *   P  = rowwise softmax(Sc)             [nq,nk]  (max-subtracted)
 *   Ob = P Vg                            [nq,D],  lse_t = log sum_j exp(Sc_tj)
 *   O_t = z_t O_F,t + (1 - z_t) O_W,t     (SOFT: p_t O_F,t + (1 - p_t) O_W,t)
 * }</pre>
 * Plain fp64 matrix products (no compensation): it agrees with the reference to rounding, not bit for bit.
 * Memory is O(nq * nk) per (segment, h): for small and medium segments only.
 */
public final class MatrixAttention {

    /**
     * Forward pass. O [B*Sq,Hq,D], LSE [B*Sq,Hq].
     *
     * @param in validated inputs; not modified
     */
    public ForwardResult forward(AttentionInputs in) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        Route route = in.route();
        Segments seg = in.segments();
        for (int s = 0; s < seg.count(); s++) {
            int nq = seg.qLen(s);
            int nk = seg.kLen(s);
            if (nq == 0) {
                continue;
            }
            for (int h = 0; h < sh.qHeads(); h++) {
                int g = sh.kvHeadOf(h);
                DMatrixRMaj qh = new DMatrixRMaj(nq, dim);
                DMatrixRMaj kg = new DMatrixRMaj(nk, dim);
                DMatrixRMaj vg = new DMatrixRMaj(nk, dim);
                for (int d = 0; d < dim; d++) {
                    for (int t = 0; t < nq; t++) {
                        qh.set(t, d, in.q()[sh.qRowOffset(seg.qStart(s) + t, h) + d]);
                    }
                    for (int j = 0; j < nk; j++) {
                        kg.set(j, d, in.k()[sh.kvRowOffset(seg.kStart(s) + j, g) + d]);
                        vg.set(j, d, in.v()[sh.kvRowOffset(seg.kStart(s) + j, g) + d]);
                    }
                }
                DMatrixRMaj scores = new DMatrixRMaj(nq, nk);
                CommonOps_DDRM.multTransB(in.scale(), qh, kg, scores);
                double[] lseF = new double[nq];
                double[] lseW = new double[nq];
                DMatrixRMaj oF = branch(scores, vg, true, in.window(), lseF);
                DMatrixRMaj oW = branch(scores, vg, false, in.window(), lseW);
                for (int t = 0; t < nq; t++) {
                    int r = seg.qStart(s) + t;
                    boolean z = route.isFull(r);
                    double cF = z ? 1 : 0;
                    if (in.estimator() == Estimator.SOFT) {
                        cF = Sigmoid.of(route.logit(r));
                    }
                    double cW = in.estimator() == Estimator.SOFT ? Sigmoid.complement(route.logit(r)) : 1 - cF;
                    for (int d = 0; d < dim; d++) {
                        o[sh.qRowOffset(r, h) + d] = cF * oF.get(t, d) + cW * oW.get(t, d);
                    }
                    lse[r * sh.qHeads() + h] = z ? lseF[t] : lseW[t];
                }
            }
        }
        return new ForwardResult(sh, o, lse);
    }

    /**
     * Masked softmax of scores [nq,nk] and product with V; query t at position nk - nq + t.
     *
     * @param scores not modified
     * @param lse    [nq] modified
     */
    private static DMatrixRMaj branch(DMatrixRMaj scores, DMatrixRMaj v, boolean full, int window, double[] lse) {
        int nq = scores.numRows;
        int nk = scores.numCols;
        DMatrixRMaj p = new DMatrixRMaj(nq, nk);
        double[] sums = new double[nq];
        for (int t = 0; t < nq; t++) {
            int pos = nk - nq + t;
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < nk; j++) {
                if (Visibility.visible(pos, j, full, window)) {
                    m = Math.max(m, scores.get(t, j));
                }
            }
            double sum = 0;
            for (int j = 0; j < nk; j++) {
                double e = Visibility.visible(pos, j, full, window) ? Math.exp(scores.get(t, j) - m) : 0.0;
                p.set(t, j, e);
                sum += e;
            }
            sums[t] = sum;
            lse[t] = m + Math.log(sum);
        }
        CommonOps_DDRM.divideRows(sums, p);   // rowwise softmax: P_tj = e_tj / sum_j e_tj
        DMatrixRMaj out = new DMatrixRMaj(nq, v.numCols);
        CommonOps_DDRM.mult(p, v, out);
        return out;
    }
}
