package org.swiattn.reference;

import java.util.stream.IntStream;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

/**
 * The fp64 reference of routed (Switch) attention, written to be read next to spec/SPEC.md.
 *
 * <p>What it is for: to say exactly what SwiAttn computes, and to produce trusted outputs. It is plain loops over
 * one query row at a time ({@link BranchRow}), with max-subtracted softmax, compensated (Dot2) dot products and
 * compensated sums, so its error against the exact result is a few units in the last place
 * ({@link DfpOracle} checks this). Rows are independent in the forward pass, so {@link #forwardRows} answers
 * for chosen rows without computing the others, and {@link #backwardRows} answers the gradients of a loss on a
 * few rows without visiting the others. Work is spread over threads without changing any result: every
 * output element is computed by exactly one thread in a fixed order.
 *
 * <pre>{@code
 *   rows:       query row r = b*Sq + i of q [B*Sq,Hq,D]; key row j of k, v [B*Sk,Hkv,D]
 *   segments:   r sits at position p of a segment whose keys start at key row k0 (in.segments())
 *   route:      z_r in {0, 1};  p_r = sigmoid(a_r) when the route has logits
 *   branches:   oF, lseF over key rows k0 + [0, p];   oW, lseW over key rows k0 + [max(0, p-w+1), p]
 *   forward:    o = z oF + (1-z) oW           (HARD, STRAIGHT_THROUGH, SELECTED_BRANCH)
 *               o = p oF + (1-p) oW           (SOFT)
 *               lse = z lseF + (1-z) lseW     (every estimator)
 * }</pre>
 * Every {@link Segments} table is computed (self-attention prefill, chunked prefill, decode against a KV cache,
 * packed batches): a query row reads only its own segment's key rows, so key rows outside every segment are never
 * read and get dK = dV = 0. Self-attention inputs give exactly the results of spec 1.x.
 */
public final class ReferenceAttention extends Fp64Attention implements RowsComputation {

    private final boolean parallel;

    /** A reference that uses all available cores (results do not depend on the thread count). */
    public ReferenceAttention() {
        this(true);
    }

    /** @param parallel whether to spread rows over the common fork-join pool */
    public ReferenceAttention(boolean parallel) {
        super("reference-fp64");
        this.parallel = parallel;
    }

    /**
     * Forward pass. O [B*Sq,Hq,D], LSE [B*Sq,Hq].
     *
     * @param in validated inputs; not modified
     */
    @Override
    public ForwardResult forward(AttentionInputs in) {
        Shape sh = in.shape();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        int hq = sh.qHeads();
        int keys = BranchRow.maxVisibleKeys(in);
        // one task per (query row r, head h); it writes o[(r*Hq + h)*D ..) and lse[r*Hq + h] only
        rows(sh.rows() * hq).forEach(t -> routedRowHead(in, t / hq, t % hq, o, t * sh.headDim(), lse, t,
                scratch(keys, sh.headDim())));
        return new ForwardResult(sh, o, lse);
    }

    /**
     * Forward pass for chosen rows only, in O(sum over chosen rows of visible keys) work.
     *
     * @param in   validated inputs; not modified
     * @param rows [R] flat query rows r = b*Sq + i; not modified
     * @return o [R,Hq,D] and lse [R,Hq]
     */
    @Override
    public RowsResult forwardRows(AttentionInputs in, int[] rows) {
        in.checkRows(rows);
        Shape sh = in.shape();
        int hq = sh.qHeads();
        double[] o = new double[rows.length * hq * sh.headDim()];
        double[] lse = new double[rows.length * hq];
        int keys = BranchRow.maxVisibleKeys(in);
        // one task per (selected row n, head h): it writes o[(n*Hq + h)*D ..) and lse[n*Hq + h] only
        rows(rows.length * hq).forEach(t -> routedRowHead(in, rows[t / hq], t % hq, o, t * sh.headDim(), lse, t,
                scratch(keys, sh.headDim())));
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
        int dim = in.shape().headDim();
        Route route = in.route();
        boolean z = route.isFull(r);
        if (in.estimator() != Estimator.SOFT) {
            // o = oZ: only the selected branch is computed
            lse[lseIdx] = BranchRow.forward(in, r, h, z, o, oOff, scratch).hi();
            return;
        }
        // o = p oF + (1-p) oW, with 1-p computed as sigmoid(-a) (no cancellation)
        double[] ow = new double[dim];
        double lseF = BranchRow.forward(in, r, h, true, o, oOff, scratch).hi();
        double lseW = BranchRow.forward(in, r, h, false, ow, 0, scratch).hi();
        double p = Sigmoid.of(route.logit(r));
        double pc = Sigmoid.complement(route.logit(r));
        for (int d = 0; d < dim; d++) {
            o[oOff + d] = p * o[oOff + d] + pc * ow[d];
        }
        lse[lseIdx] = z ? lseF : lseW;
    }

    /**
     * Backward pass for the inputs' estimator (SPEC.md section "Training estimators"): {@link #backwardRows} with
     * every query row a loss row and every key row tracked: dQ [B*Sq,Hq,D] of every query row, dK and dV
     * [B*Sk,Hkv,D] of every key row (exactly 0 on key rows outside every segment), dL/da [B*Sq].
     *
     * <pre>{@code
     *   coefficients of the branches in the backward pass (the forward value of m is z):
     *     HARD, STRAIGHT_THROUGH, SELECTED_BRANCH:  cF = z, cW = 1 - z
     *     SOFT:                                     cF = p, cW = 1 - p
     *   dL/doF_i = cF_i dO_i,  dL/doW_i = cW_i dO_i  -> BranchRow.backward for each branch
     *   router logit a_i:
     *     HARD              0
     *     STRAIGHT_THROUGH  p(1-p) sum_h <dO_ih, oF_ih - oW_ih>
     *     SOFT              p(1-p) sum_h <dO_ih, oF_ih - oW_ih>
     *     SELECTED_BRANCH   (z - p) sum_h <dO_ih, oZ_ih>
     * }</pre>
     *
     * @param in   validated inputs; not modified
     * @param dOut dL/dO [B*Sq,Hq,D]; not modified
     */
    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        in.checkOutputGradient(dOut);
        Shape sh = in.shape();
        int[] allQueries = IntStream.range(0, sh.rows()).toArray();
        int[] allKeys = IntStream.range(0, sh.kvRows()).toArray();
        RowGradients g = backwardRows(in, allQueries, dOut, allKeys);
        return new BackwardResult(sh, g.dq(), g.dk(), g.dv(), g.dA());
    }

    /**
     * Backward pass for a loss whose dO is zero outside {@code lossRows}, answered at chosen rows, in O(sum over
     * loss rows of visible keys) work: what makes gradient rows at 32K affordable. Rows whose dO is zero add exact
     * zeros to every accumulator, so the values equal those of {@link #backward} on the whole dO (up to the sign of
     * a zero); see {@link #backward} for the formulas.
     *
     * <pre>{@code
     *   lossRows [L]        flat query rows where dO may be non-zero, strictly ascending
     *   dORows   [L,Hq,D]   dO at the loss rows
     *   keyRows  [K]        flat key rows (in [0, B*Sk)) whose dK, dV are wanted, distinct, any order
     *   result: dq [L,Hq,D], dk and dv [K,Hkv,D], dA [L] (see RowGradients)
     * }</pre>
     *
     * @param in       validated inputs; not modified
     * @param lossRows [L] not modified
     * @param dORows   [L,Hq,D] not modified
     * @param keyRows  [K] not modified
     */
    public RowGradients backwardRows(AttentionInputs in, int[] lossRows, double[] dORows, int[] keyRows) {
        RowGradients.checkRows(in, lossRows, keyRows);
        Shape sh = in.shape();
        int dim = sh.headDim();
        int hq = sh.qHeads();
        int hd = hq * dim;
        if (dORows == null || dORows.length != lossRows.length * hd) {
            throw new IllegalArgumentException("dORows: length must be L*Hq*D = " + lossRows.length * hd + ", got "
                    + (dORows == null ? "null" : Integer.toString(dORows.length)));
        }
        Estimator est = in.estimator();
        Route route = in.route();
        boolean bothBranches = est == Estimator.STRAIGHT_THROUGH || est == Estimator.SOFT;
        int nLoss = lossRows.length;
        int keys = BranchRow.maxVisibleKeys(in);

        // pass 1: branch forwards of the loss rows, [L,Hq,D] and [L,Hq]. oF/lseF are filled where the full
        // branch is needed (z = 1, or both branches), oW/lseW where the window branch is needed
        double[] oF = new double[nLoss * hd];
        double[] oW = new double[nLoss * hd];
        AccurateMath.Pair[] lseF = new AccurateMath.Pair[nLoss * hq];
        AccurateMath.Pair[] lseW = new AccurateMath.Pair[nLoss * hq];
        rows(nLoss).forEach(n -> {
            BranchRow.Scratch scratch = scratch(keys, dim);
            int r = lossRows[n];
            boolean z = route.isFull(r);
            for (int h = 0; h < hq; h++) {
                int off = n * hd + h * dim;
                if (z || bothBranches) {
                    lseF[n * hq + h] = BranchRow.forward(in, r, h, true, oF, off, scratch);
                }
                if (!z || bothBranches) {
                    lseW[n * hq + h] = BranchRow.forward(in, r, h, false, oW, off, scratch);
                }
            }
        });

        // pass 2: router-logit gradient, one value per loss row
        double[] dA = new double[nLoss];
        if (est != Estimator.HARD) {
            rows(nLoss).forEach(n -> dA[n] = routerGradient(in, lossRows[n], dORows, n * hd, oF, oW));
        }

        // pass 3: dQ, dK, dV. One task per (segment s, kv head g): the key rows of a segment are its own, so its
        // dK/dV rows and the dQ rows of its G query heads are written by that task alone, in a fixed order
        // (deterministic whatever the thread count; in self-attention a segment is a batch row)
        BranchRow.Grads grads = new BranchRow.Grads(sh, nLoss, keyRows);
        Segments seg = in.segments();
        int[] firstOfSegment = firstLossRowOfEachSegment(seg, lossRows);
        rows(seg.count() * sh.kvHeads()).forEach(task -> {
            int s = task / sh.kvHeads();
            int g = task % sh.kvHeads();
            double[] gBuf = new double[dim];
            for (int h = g * sh.groupSize(); h < (g + 1) * sh.groupSize(); h++) {
                for (int n = firstOfSegment[s]; n < firstOfSegment[s + 1]; n++) {
                    int r = lossRows[n];
                    int off = n * hd + h * dim;
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
                    if (cF != 0.0) {
                        scaled(dORows, off, cF, gBuf, dim);
                        BranchRow.backward(in, r, h, true, gBuf, 0, oF, off, lseF[n * hq + h], n, grads);
                    }
                    if (cW != 0.0) {
                        scaled(dORows, off, cW, gBuf, dim);
                        BranchRow.backward(in, r, h, false, gBuf, 0, oW, off, lseW[n * hq + h], n, grads);
                    }
                }
            }
        });
        grads.fold();
        return new RowGradients(lossRows.clone(), keyRows.clone(), grads.dq, grads.dk, grads.dv, dA);
    }

    /**
     * first [n+1]: the loss rows of segment s are lossRows[first[s] .. first[s+1]) (segments tile the query rows
     * in order and lossRows ascend, so each segment's loss rows are contiguous).
     *
     * @param lossRows [L] strictly ascending; not modified
     */
    private static int[] firstLossRowOfEachSegment(Segments seg, int[] lossRows) {
        int[] first = new int[seg.count() + 1];
        int n = 0;
        for (int s = 0; s <= seg.count(); s++) {
            while (n < lossRows.length && seg.segmentOf(lossRows[n]) < s) {
                n++;
            }
            first[s] = n;
        }
        return first;
    }

    /**
     * dL/da_r for STRAIGHT_THROUGH, SOFT and SELECTED_BRANCH (see {@link #backward}).
     *
     * @param dO     dO of row r at [off, off + Hq*D); not modified
     * @param oF     full-branch outputs of row r at the same offset; not modified
     * @param oW     window-branch outputs of row r at the same offset; not modified
     */
    private static double routerGradient(AttentionInputs in, int r, double[] dO, int off, double[] oF,
                                         double[] oW) {
        Shape sh = in.shape();
        int hd = sh.qHeads() * sh.headDim();
        double a = in.route().logit(r);
        double p = Sigmoid.of(a);
        double pc = Sigmoid.complement(a);
        boolean z = in.route().isFull(r);
        AccurateMath.Sum sum = new AccurateMath.Sum();
        if (in.estimator() == Estimator.SELECTED_BRANCH) {
            // sum_h <dO_ih, oZ_ih> over the row's Hq*D contiguous elements
            sum.add(AccurateMath.dot(dO, off, z ? oF : oW, off, hd));
            double zMinusP = z ? pc : -p;   // z - p, exactly 1 - p = sigmoid(-a) when z = 1
            return zMinusP * sum.value();
        }
        // sum_h <dO_ih, oF_ih - oW_ih> = <dO, oF> - <dO, oW>
        sum.add(AccurateMath.dot(dO, off, oF, off, hd));
        sum.add(-AccurateMath.dot(dO, off, oW, off, hd));
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

    /** @param keys at least the visible keys of any row ({@link BranchRow#maxVisibleKeys}) */
    private static BranchRow.Scratch scratch(int keys, int dim) {
        BranchRow.Scratch s = SCRATCH.get();
        if (s == null || s.scores.length < keys || s.err.length != dim) {
            s = new BranchRow.Scratch(keys, dim);
            SCRATCH.set(s);
        }
        return s;
    }

    private IntStream rows(int n) {
        IntStream s = IntStream.range(0, n);
        return parallel ? s.parallel() : s;
    }
}
