package org.swiattn.reference;

import java.util.stream.IntStream;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The fp64 reference of routed (Switch) attention, written to be read next to spec/SPEC.md.
 *
 * <p>What it is for: to say exactly what SwiAttn computes, and to produce trusted outputs. It is plain loops over
 * one query row at a time ({@link BranchRow}), with max-subtracted softmax, compensated (Dot2) dot products and
 * compensated sums, so its error against the exact result is a few units in the last place
 * ({@link DfpOracle} checks this). Rows are independent in the forward pass, so {@link #forwardRows} answers
 * for chosen rows without computing the others. Work is spread over threads without changing any result: every
 * output element is computed by exactly one thread in a fixed order.
 *
 * <pre>
 *   route:      z_r in {0, 1}, r = b*S + i;  p_r = sigmoid(a_r) when the route has logits
 *   branches:   oF, lseF over keys [0, i];   oW, lseW over keys [max(0, i-w+1), i]
 *   forward:    o = z oF + (1-z) oW           (HARD, STRAIGHT_THROUGH, SELECTED_BRANCH)
 *               o = p oF + (1-p) oW           (SOFT)
 *               lse = z lseF + (1-z) lseW     (every estimator)
 * </pre>
 */
public final class ReferenceAttention implements SwitchAttention {

    private final boolean parallel;

    /** A reference that uses all available cores (results do not depend on the thread count). */
    public ReferenceAttention() {
        this(true);
    }

    /** @param parallel whether to spread rows over the common fork-join pool */
    public ReferenceAttention(boolean parallel) {
        this.parallel = parallel;
    }

    @Override
    public String name() {
        return "reference-fp64";
    }

    @Override
    public Precision precision() {
        return Precision.FP64;
    }

    /**
     * Forward pass. O [B,S,Hq,D], LSE [B,S,Hq].
     *
     * @param in validated inputs; not modified
     */
    @Override
    public ForwardResult forward(AttentionInputs in) {
        Shape sh = in.shape();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        int hq = sh.qHeads();
        // one task per (row r = b*S + i, head h); it writes o[(r*Hq + h)*D ..) and lse[r*Hq + h] only
        rows(sh.rows() * hq).forEach(t -> routedRowHead(in, t / hq, t % hq, o, t * sh.headDim(), lse, t,
                scratch(sh)));
        return new ForwardResult(sh, o, lse);
    }

    /**
     * Forward pass for chosen rows only, in O(sum over chosen rows of visible keys) work.
     *
     * @param in   validated inputs; not modified
     * @param rows [R] flat row indices r = b*S + i; not modified
     * @return o [R,Hq,D] and lse [R,Hq]
     */
    @Override
    public RowsResult forwardRows(AttentionInputs in, int[] rows) {
        in.checkRows(rows);
        Shape sh = in.shape();
        int hq = sh.qHeads();
        double[] o = new double[rows.length * hq * sh.headDim()];
        double[] lse = new double[rows.length * hq];
        // one task per (selected row n, head h): it writes o[(n*Hq + h)*D ..) and lse[n*Hq + h] only
        rows(rows.length * hq).forEach(t -> routedRowHead(in, rows[t / hq], t % hq, o, t * sh.headDim(), lse, t,
                scratch(sh)));
        return new RowsResult(sh, rows.clone(), o, lse);
    }

    /**
     * Head h of one routed row r = (b, i).
     *
     * @param o   receives the row's head-h output at [oOff, oOff + D); modified
     * @param lse receives its LSE at lseIdx; modified
     */
    private static void routedRowHead(AttentionInputs in, int r, int h, double[] o, int oOff, double[] lse,
                                      int lseIdx, BranchRow.Scratch scratch) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int b = r / sh.seqLen();
        int i = r % sh.seqLen();
        Route route = in.route();
        boolean z = route.isFull(r);
        if (in.estimator() != Estimator.SOFT) {
            // o = oZ: only the selected branch is computed
            lse[lseIdx] = BranchRow.forward(in, b, i, h, z, o, oOff, scratch);
            return;
        }
        // o = p oF + (1-p) oW, with 1-p computed as sigmoid(-a) (no cancellation)
        double[] ow = new double[dim];
        double lseF = BranchRow.forward(in, b, i, h, true, o, oOff, scratch);
        double lseW = BranchRow.forward(in, b, i, h, false, ow, 0, scratch);
        double p = AccurateMath.sigmoid(route.logit(r));
        double pc = AccurateMath.sigmoid(-route.logit(r));
        for (int d = 0; d < dim; d++) {
            o[oOff + d] = p * o[oOff + d] + pc * ow[d];
        }
        lse[lseIdx] = z ? lseF : lseW;
    }

    /**
     * Backward pass for the inputs' estimator (SPEC.md section "Training estimators").
     *
     * <pre>
     *   coefficients of the branches in the backward pass (the forward value of m is z):
     *     HARD, STRAIGHT_THROUGH, SELECTED_BRANCH:  cF = z, cW = 1 - z
     *     SOFT:                                     cF = p, cW = 1 - p
     *   dL/doF_i = cF_i dO_i,  dL/doW_i = cW_i dO_i  -&gt; {@link BranchRow#backward} for each branch
     *   router logit a_i:
     *     HARD              0
     *     STRAIGHT_THROUGH  p(1-p) sum_h &lt;dO_ih, oF_ih - oW_ih&gt;
     *     SOFT              p(1-p) sum_h &lt;dO_ih, oF_ih - oW_ih&gt;
     *     SELECTED_BRANCH   (z - p) sum_h &lt;dO_ih, oZ_ih&gt;
     * </pre>
     *
     * @param in   validated inputs; not modified
     * @param dOut dL/dO [B,S,Hq,D]; not modified
     */
    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        in.checkOutputGradient(dOut);
        Shape sh = in.shape();
        int dim = sh.headDim();
        Estimator est = in.estimator();
        Route route = in.route();
        boolean bothBranches = est == Estimator.STRAIGHT_THROUGH || est == Estimator.SOFT;

        // pass 1: branch forwards. oF/lseF are filled where the full branch is needed (z = 1, or both branches),
        // oW/lseW where the window branch is needed (z = 0, or both branches)
        double[] oF = new double[sh.qSize()];
        double[] oW = new double[sh.qSize()];
        double[] lseF = new double[sh.lseSize()];
        double[] lseW = new double[sh.lseSize()];
        double[] lseFLo = new double[sh.lseSize()];   // low parts of the LSE pairs (see BranchRow)
        double[] lseWLo = new double[sh.lseSize()];
        rows(sh.rows()).forEach(r -> {
            BranchRow.Scratch scratch = scratch(sh);
            int b = r / sh.seqLen();
            int i = r % sh.seqLen();
            boolean z = route.isFull(r);
            for (int h = 0; h < sh.qHeads(); h++) {
                int off = sh.qOffset(b, i, h);
                int l = sh.lseOffset(b, i, h);
                if (z || bothBranches) {
                    lseF[l] = BranchRow.forward(in, b, i, h, true, oF, off, scratch);
                    lseFLo[l] = scratch.lseLo;
                }
                if (!z || bothBranches) {
                    lseW[l] = BranchRow.forward(in, b, i, h, false, oW, off, scratch);
                    lseWLo[l] = scratch.lseLo;
                }
            }
        });

        // pass 2: router-logit gradient, one value per row r
        double[] dA = new double[sh.rows()];
        if (est != Estimator.HARD) {
            rows(sh.rows()).forEach(r -> dA[r] = routerGradient(in, r, dOut, oF, oW));
        }

        // pass 3: dQ, dK, dV. One task per (b, kv head g): its dK/dV rows and the dQ rows of its G query heads
        // are written by that task alone, in a fixed order (deterministic whatever the thread count)
        BranchRow.Grads grads = new BranchRow.Grads(sh);
        rows(sh.batch() * sh.kvHeads()).forEach(task -> {
            int b = task / sh.kvHeads();
            int g = task % sh.kvHeads();
            double[] gBuf = new double[dim];
            for (int h = g * sh.groupSize(); h < (g + 1) * sh.groupSize(); h++) {
                for (int i = 0; i < sh.seqLen(); i++) {
                    int r = b * sh.seqLen() + i;
                    int off = sh.qOffset(b, i, h);
                    int l = sh.lseOffset(b, i, h);
                    boolean z = route.isFull(r);
                    double cF;
                    double cW;
                    if (est == Estimator.SOFT) {
                        cF = AccurateMath.sigmoid(route.logit(r));
                        cW = AccurateMath.sigmoid(-route.logit(r));
                    } else {
                        cF = z ? 1.0 : 0.0;
                        cW = z ? 0.0 : 1.0;
                    }
                    if (cF != 0.0) {
                        scaled(dOut, off, cF, gBuf, dim);
                        BranchRow.backward(in, b, i, h, true, gBuf, 0, oF, off, lseF[l], lseFLo[l], grads);
                    }
                    if (cW != 0.0) {
                        scaled(dOut, off, cW, gBuf, dim);
                        BranchRow.backward(in, b, i, h, false, gBuf, 0, oW, off, lseW[l], lseWLo[l], grads);
                    }
                }
            }
        });
        grads.fold();
        return new BackwardResult(sh, grads.dq, grads.dk, grads.dv, dA);
    }

    /** dL/da_r for STRAIGHT_THROUGH, SOFT and SELECTED_BRANCH (see {@link #backward}). */
    private static double routerGradient(AttentionInputs in, int r, double[] dOut, double[] oF, double[] oW) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int hd = sh.qHeads() * dim;
        double a = in.route().logit(r);
        double p = AccurateMath.sigmoid(a);
        double pc = AccurateMath.sigmoid(-a);
        boolean z = in.route().isFull(r);
        AccurateMath.Sum sum = new AccurateMath.Sum();
        if (in.estimator() == Estimator.SELECTED_BRANCH) {
            // sum_h <dO_ih, oZ_ih> over the row's Hq*D contiguous elements
            sum.add(AccurateMath.dot(dOut, r * hd, z ? oF : oW, r * hd, hd));
            double zMinusP = z ? pc : -p;   // z - p, exactly 1 - p = sigmoid(-a) when z = 1
            return zMinusP * sum.value();
        }
        // sum_h <dO_ih, oF_ih - oW_ih> = <dO, oF> - <dO, oW>
        sum.add(AccurateMath.dot(dOut, r * hd, oF, r * hd, hd));
        sum.add(-AccurateMath.dot(dOut, r * hd, oW, r * hd, hd));
        return p * pc * sum.value();
    }

    /** out[d] = c * x[off + d]. @param x not modified @param out modified */
    private static void scaled(double[] x, int off, double c, double[] out, int dim) {
        for (int d = 0; d < dim; d++) {
            out[d] = c * x[off + d];
        }
    }

    /** Per-thread scratch space, reused across tasks and calls while large enough. */
    private static final ThreadLocal<BranchRow.Scratch> SCRATCH = new ThreadLocal<>();

    private static BranchRow.Scratch scratch(Shape sh) {
        BranchRow.Scratch s = SCRATCH.get();
        if (s == null || s.scores.length < sh.seqLen() || s.err.length != sh.headDim()) {
            s = new BranchRow.Scratch(sh);
            SCRATCH.set(s);
        }
        return s;
    }

    private IntStream rows(int n) {
        IntStream s = IntStream.range(0, n);
        return parallel ? s.parallel() : s;
    }
}
