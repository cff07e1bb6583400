package org.swiattn.reference;

import java.util.Arrays;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

/**
 * The transforms that plant a {@link Mistake}: each one rewrites the inputs or the outputs of an unchanged
 * {@link RowsComputation} (the reference), so no second copy of the algorithm exists. Shapes as in
 * {@link RowsOutputs}: o [R,Hq,D], lse [R,Hq], dq [R,Hq,D], dk, dv [R,Hkv,D], dA [R] at the rows asked.
 */
final class MistakePlanting {
    private MistakePlanting() {
    }

    // ---- input transforms ----

    /** The inputs with window w + delta, or null when that is below 1 (w = MAX_VALUE already covers every key). */
    static AttentionInputs window(AttentionInputs in, int delta) {
        long w = in.window() == Integer.MAX_VALUE ? Integer.MAX_VALUE : (long) in.window() + delta;
        return w < 1 ? null : in.toBuilder().window((int) Math.min(w, Integer.MAX_VALUE)).build();
    }

    /** The inputs with another scale. */
    static AttentionInputs scale(AttentionInputs in, double scale) {
        return in.toBuilder().scale(scale).build();
    }

    /**
     * Ties sent to the full branch: every logit a = 0 becomes the smallest positive double, so {@code z = [a > 0] = 1}
     * while p = sigmoid(a) stays 1/2 exactly. Null for a route without logits (it has no ties).
     */
    static AttentionInputs tiesToFull(AttentionInputs in) {
        Route route = in.route();
        if (!route.hasLogits()) {
            return null;
        }
        double[] a = route.logits();
        for (int r = 0; r < a.length; r++) {
            a[r] = a[r] == 0.0 ? Double.MIN_VALUE : a[r];
        }
        return in.withRoute(Route.ofLogits(route.batch(), route.seqLen(), a));
    }

    // ---- output transforms ----

    /** lse / divisor, everything else as computed. */
    static RowsOutputs lseDividedBy(RowsOutputs out, double divisor) {
        double[] lse = out.forward().lse().clone();
        for (int n = 0; n < lse.length; n++) {
            lse[n] /= divisor;
        }
        return withForward(out, out.forward().o(), lse);
    }

    /** The LSE of the branch the route did not select: the LSE of the HARD run on the inverted route. */
    static RowsOutputs lseOfOtherBranch(AttentionInputs in, int[] rows, RowsOutputs out, RowsComputation c) {
        boolean[] z = in.route().mask();
        for (int r = 0; r < z.length; r++) {
            z[r] = !z[r];
        }
        AttentionInputs other = in.toBuilder().route(Route.ofMask(in.shape().batch(), in.shape().seqLen(), z))
                .estimator(Estimator.HARD).build();
        return withForward(out, out.forward().o(), c.forwardRows(other, rows).lse());
    }

    /**
     * dA with 1 - p computed as the difference 1 - fl(p) (fl: the candidate's arithmetic) instead of sigmoid(-a):
     * dA * (1 - p) / sigmoid(-a) on the rows whose formula has the factor 1 - p (STRAIGHT_THROUGH, SOFT: p(1-p);
     * SELECTED_BRANCH: z - p on z = 1).
     */
    static RowsOutputs routerGradientBySubtraction(AttentionInputs in, int[] rows, RowsOutputs out,
                                                   Precision arithmetic) {
        Estimator est = in.estimator();
        if (out.gradients() == null || est == Estimator.HARD) {
            return out;
        }
        double[] dA = out.gradients().dA().clone();
        for (int n = 0; n < rows.length; n++) {
            int r = rows[n];
            if (est == Estimator.SELECTED_BRANCH && !in.route().isFull(r)) {
                continue;   // z - p = -p: no subtraction
            }
            double a = in.route().logit(r);
            double pc = Sigmoid.complement(a);
            double p = Sigmoid.of(a);
            // fl(p) and 1 - fl(p) in the candidate's arithmetic (bf16 candidates compute p in fp32); the
            // difference itself is exact (Sterbenz) where it matters, p >= 1/2
            double byDifference = arithmetic == Precision.FP64 ? 1.0 - p : (double) (1.0f - (float) p);
            dA[n] = pc == 0.0 ? 0.0 : dA[n] * (byDifference / pc);
        }
        RowGradients g = out.gradients();
        return new RowsOutputs(out.forward(), new RowGradients(g.lossRows(), g.keyRows(), g.dq(), g.dk(), g.dv(), dA));
    }

    // ---- transforms of inputs and outputs together ----

    /**
     * Query head h reads kv head h % Hkv instead of h / G: the reference on queries whose heads are permuted by
     * pi(h) = (h % Hkv) * G + h / Hkv (so that pi(h) / G = h % Hkv), outputs read back through pi. dk, dv and dA
     * are sums over heads and need no permutation.
     */
    static RowsOutputs gqaModulo(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c) {
        Shape sh = in.shape();
        int[] pi = new int[sh.qHeads()];
        for (int h = 0; h < pi.length; h++) {
            pi[h] = (h % sh.kvHeads()) * sh.groupSize() + h / sh.kvHeads();
        }
        AttentionInputs permuted = in.toBuilder().q(scatterHeads(in.q(), pi, sh.headDim())).build();
        RowsOutputs out = RowsOutputs.of(c, permuted, rows, dORows == null ? null
                : scatterHeads(dORows, pi, sh.headDim()));
        RowsResult f = out.forward();
        RowsResult fwd = new RowsResult(sh, f.rows(), gatherHeads(f.o(), pi, sh.headDim()), gatherHeads(f.lse(), pi,
                1));
        RowGradients g = out.gradients();
        return new RowsOutputs(fwd, g == null ? null : new RowGradients(g.lossRows(), g.keyRows(),
                gatherHeads(g.dq(), pi, sh.headDim()), g.dk(), g.dv(), g.dA()));
    }

    /**
     * A future key visible: row i sees keys up to i + 1 on both branches (full: 0 .. i+1; window: i-w+1 .. i+1).
     * That is row i+1 of the reference on inputs shifted by one position (q'_{i+1} = q_i, a'_{i+1} = a_i, window
     * w + 1; keys unchanged); the last row of a sequence has no future key and is the reference's own row. dK, dV
     * add the two parts.
     */
    static RowsOutputs causalLate(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c) {
        Shape sh = in.shape();
        int s = sh.seqLen();
        int hd = sh.qHeads() * sh.headDim();
        // pass 1: the shifted inputs
        double[] q = new double[in.q().length];
        boolean[] z = new boolean[sh.rows()];
        double[] a = in.route().hasLogits() ? new double[sh.rows()] : null;
        for (int r = 0; r < sh.rows(); r++) {
            int from = r % s == 0 ? r : r - 1;
            System.arraycopy(in.q(), from * hd, q, r * hd, hd);
            z[r] = in.route().isFull(from);
            if (a != null) {
                a[r] = in.route().logit(from);
            }
        }
        Route shiftedRoute = a != null ? Route.ofLogits(sh.batch(), s, a) : Route.ofMask(sh.batch(), s, z);
        AttentionInputs shifted = window(in.toBuilder().q(q).route(shiftedRoute).build(), 1);
        // pass 2: rows with a future key (computed as row r + 1 of the shifted inputs), and the last rows
        int[] early = Arrays.stream(rows).filter(r -> r % s != s - 1).toArray();
        int[] last = Arrays.stream(rows).filter(r -> r % s == s - 1).toArray();
        int[] earlyShifted = Arrays.stream(early).map(r -> r + 1).toArray();
        // (keys keep their positions in the shifted inputs, so dK, dV are asked at the rows themselves)
        RowsOutputs e = early.length == 0 ? null : part(c, shifted, earlyShifted, dORows == null ? null
                : rowsOf(dORows, rows, early, hd), rows);
        RowsOutputs l = last.length == 0 ? null : part(c, in, last, dORows == null ? null
                : rowsOf(dORows, rows, last, hd), rows);
        // pass 3: put the two parts back in the order of rows
        double[] o = new double[rows.length * hd];
        double[] lse = new double[rows.length * sh.qHeads()];
        double[] dq = dORows == null ? null : new double[rows.length * hd];
        double[] dA = dORows == null ? null : new double[rows.length];
        int kvd = sh.kvHeads() * sh.headDim();
        double[] dk = dORows == null ? null : new double[rows.length * kvd];
        double[] dv = dORows == null ? null : new double[rows.length * kvd];
        for (RowsOutputs part : new RowsOutputs[] {e, l}) {
            if (part == null) {
                continue;
            }
            int[] partRows = part == e ? early : last;
            int m = 0;
            for (int n = 0; n < rows.length && m < partRows.length; n++) {
                if (rows[n] != partRows[m]) {
                    continue;
                }
                System.arraycopy(part.forward().o(), m * hd, o, n * hd, hd);
                System.arraycopy(part.forward().lse(), m * sh.qHeads(), lse, n * sh.qHeads(), sh.qHeads());
                if (dq != null) {
                    System.arraycopy(part.gradients().dq(), m * hd, dq, n * hd, hd);
                    dA[n] = part.gradients().dA()[m];
                }
                m++;
            }
            if (dk != null) {
                add(dk, part.gradients().dk(), 1);
                add(dv, part.gradients().dv(), 1);
            }
        }
        RowsResult fwd = new RowsResult(sh, rows.clone(), o, lse);
        return new RowsOutputs(fwd, dORows == null ? null : new RowGradients(rows.clone(), rows.clone(), dq, dk, dv,
                dA));
    }

    /**
     * The route applied per head: head h of token i takes the decision (and logit) of token (i*Hq + h) mod S of its
     * sequence, what a [B,S] route expanded to [B,S,Hq] with {@code repeat(1, Hq).view(B, S, Hq)} gives. Each head
     * is the reference on its one-head problem (q of head h, k and v of kv head h / G) with that route; dK, dV sum
     * over heads, dA over the (token, head) pairs that read each logit.
     */
    static RowsOutputs routePerHead(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c) {
        Shape sh = in.shape();
        int s = sh.seqLen();
        int dim = sh.headDim();
        int hq = sh.qHeads();
        Shape one = new Shape(sh.batch(), s, 1, 1, dim);
        int[] index = new int[sh.rows()];
        Arrays.fill(index, -1);
        for (int n = 0; n < rows.length; n++) {
            index[rows[n]] = n;
        }
        double[] o = new double[rows.length * hq * dim];
        double[] lse = new double[rows.length * hq];
        int kvd = sh.kvHeads() * dim;
        double[] dq = dORows == null ? null : new double[o.length];
        double[] dk = dORows == null ? null : new double[rows.length * kvd];
        double[] dv = dORows == null ? null : new double[rows.length * kvd];
        double[] dA = dORows == null ? null : new double[rows.length];
        double[] k = null;
        double[] v = null;
        for (int h = 0; h < hq; h++) {
            int g = sh.kvHeadOf(h);
            if (h % sh.groupSize() == 0) {
                k = headOf(in.k(), sh.kvHeads(), g, dim);
                v = headOf(in.v(), sh.kvHeads(), g, dim);
            }
            // pass 1: head h's route: token i takes the decision of token (i*Hq + h) mod S
            int[] src = new int[sh.rows()];
            boolean[] z = new boolean[sh.rows()];
            double[] a = in.route().hasLogits() ? new double[sh.rows()] : null;
            for (int r = 0; r < src.length; r++) {
                src[r] = (r / s) * s + (int) (((long) (r % s) * hq + h) % s);
                z[r] = in.route().isFull(src[r]);
                if (a != null) {
                    a[r] = in.route().logit(src[r]);
                }
            }
            Route route = a != null ? Route.ofLogits(sh.batch(), s, a) : Route.ofMask(sh.batch(), s, z);
            AttentionInputs headIn = AttentionInputs.builder(one).q(headOf(in.q(), hq, h, dim)).k(k).v(v)
                    .window(in.window()).scale(in.scale()).route(route).estimator(in.estimator()).build();
            // pass 2: the one-head problem at the rows, put back as head h
            RowsOutputs out = RowsOutputs.of(c, headIn, rows, dORows == null ? null : headOf(dORows, hq, h, dim));
            for (int n = 0; n < rows.length; n++) {
                System.arraycopy(out.forward().o(), n * dim, o, (n * hq + h) * dim, dim);
                lse[n * hq + h] = out.forward().lse()[n];
                if (dq == null) {
                    continue;
                }
                RowGradients gr = out.gradients();
                System.arraycopy(gr.dq(), n * dim, dq, (n * hq + h) * dim, dim);
                for (int d = 0; d < dim; d++) {
                    dk[(n * sh.kvHeads() + g) * dim + d] += gr.dk()[n * dim + d];
                    dv[(n * sh.kvHeads() + g) * dim + d] += gr.dv()[n * dim + d];
                }
                int to = index[src[rows[n]]];
                if (to >= 0) {
                    dA[to] += gr.dA()[n];
                }
            }
        }
        RowsResult fwd = new RowsResult(sh, rows.clone(), o, lse);
        return new RowsOutputs(fwd, dORows == null ? null : new RowGradients(rows.clone(), rows.clone(), dq, dk, dv,
                dA));
    }

    /**
     * SOFT with {@code Delta_i = <g_i, o_i>} taken from the routed output o = p oF + (1-p) oW instead of the branch
     * output.
     * Only the softmax backward changes: dS'_ij = dS_ij + P_ij eps_i with eps = Delta - Delta', which is
     * +e on the full branch and -e on the window branch, {@code e_ih = p(1-p) <dO_ih, oF_ih - oW_ih>}. Hence
     * <pre>{@code
     *   dQ'_i = dQ_i + scale e_i (kF_i - kW_i)     kB_i = sum_j P^B_ij k_j: the branch forward with values K
     *   dK'   = dK + dV^F(G) - dV^W(G)             dV^B(G): dV of the HARD all-B backward for dO := G,
     *                                                G_ih = scale e_ih q_ih
     * }</pre>
     * Other estimators have c = 0 on the branch not selected and o = oZ, so nothing changes for them.
     */
    static RowsOutputs softDeltaFromRoutedOutput(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c) {
        RowsOutputs base = RowsOutputs.of(c, in, rows, dORows);
        if (dORows == null || in.estimator() != Estimator.SOFT) {
            return base;
        }
        Shape sh = in.shape();
        int dim = sh.headDim();
        int hq = sh.qHeads();
        AttentionInputs allF = in.toBuilder().route(Route.allFull(sh.batch(), sh.seqLen()))
                .estimator(Estimator.HARD).build();
        AttentionInputs allW = in.toBuilder().route(Route.allWindow(sh.batch(), sh.seqLen()))
                .estimator(Estimator.HARD).build();
        // pass 1: branch outputs with values V and with values K
        double[] oF = c.forwardRows(allF, rows).o();
        double[] oW = c.forwardRows(allW, rows).o();
        double[] kF = c.forwardRows(allF.toBuilder().v(in.k()).build(), rows).o();
        double[] kW = c.forwardRows(allW.toBuilder().v(in.k()).build(), rows).o();
        // pass 2: e_ih, the dQ correction and G = scale e q
        double[] dq = base.gradients().dq().clone();
        double[] gq = new double[dq.length];
        for (int n = 0; n < rows.length; n++) {
            double a = in.route().logit(rows[n]);
            double ppc = Sigmoid.of(a) * Sigmoid.complement(a);
            for (int h = 0; h < hq; h++) {
                int off = (n * hq + h) * dim;
                double e = ppc * (AccurateMath.dot(dORows, off, oF, off, dim) - AccurateMath.dot(dORows, off, oW, off,
                        dim));
                int qOff = rows[n] * hq * dim + h * dim;
                for (int d = 0; d < dim; d++) {
                    dq[off + d] += in.scale() * e * (kF[off + d] - kW[off + d]);
                    gq[off + d] = in.scale() * e * in.q()[qOff + d];
                }
            }
        }
        // pass 3: the dK correction through the dV of the all-full and all-window backwards
        double[] dk = base.gradients().dk().clone();
        int[] keys = RowsOutputs.keyRows(in, rows);
        add(dk, c.backwardRows(allF, rows, gq, keys).dv(), 1);
        add(dk, c.backwardRows(allW, rows, gq, keys).dv(), -1);
        RowGradients g = base.gradients();
        return new RowsOutputs(base.forward(), new RowGradients(g.lossRows(), g.keyRows(), dq, dk, g.dv(), g.dA()));
    }

    // ---- spec 2.0: segments ----

    /**
     * Top-left instead of bottom-right alignment: query i of a segment (0-based) sits at position i, not
     * kLen - qLen + i, i.e. the segments with kLen cut to qLen (its first qLen keys).
     */
    static AttentionInputs topLeft(AttentionInputs in) {
        Segments seg = in.segments();
        int n = seg.count();
        int[] qStart = new int[n];
        int[] qLen = new int[n];
        int[] kStart = new int[n];
        for (int s = 0; s < n; s++) {
            qStart[s] = seg.qStart(s);
            qLen[s] = seg.qLen(s);
            kStart[s] = seg.kStart(s);
        }
        return in.toBuilder().segments(Segments.of(in.shape(), qStart, qLen, kStart, qLen.clone())).build();
    }

    /**
     * Attention crossing packed segments (no document mask): segment s's queries see the key rows from the first
     * key of the first segment in their batch row up to their own position, key rows outside every segment read
     * as zeros. Each segment is
     * the reference on a call of its own (its query rows against those key rows, bottom-right aligned); dK, dV add
     * up. The backward is planted for whole calls only (rows = every query row; null otherwise), the forward at any
     * rows.
     */
    static RowsOutputs crossingSegments(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c) {
        Shape sh = in.shape();
        if (rows.length != sh.rows() || !java.util.Arrays.equals(rows, RowsComputation.allRows(sh))) {
            if (dORows != null) {
                return null;
            }
            // the forward at chosen rows: those rows of the whole planted forward
            RowsResult all = crossingSegments(in, RowsComputation.allRows(sh), null, c).forward();
            return new RowsOutputs(new RowsResult(sh, rows.clone(), RowsComputation.gather(all.o(), rows,
                    sh.qHeads() * sh.headDim()), RowsComputation.gather(all.lse(), rows, sh.qHeads())), null);
        }
        Segments seg = in.segments();
        int hd = sh.qHeads() * sh.headDim();
        int kvd = sh.kvHeads() * sh.headDim();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        double[] dq = dORows == null ? null : new double[sh.qSize()];
        double[] dk = dORows == null ? null : new double[sh.kvSize()];
        double[] dv = dORows == null ? null : new double[sh.kvSize()];
        double[] dA = dORows == null ? null : new double[sh.rows()];
        for (int s = 0; s < seg.count(); s++) {
            int q0 = seg.qStart(s);
            int nq = seg.qLen(s);
            if (nq == 0) {
                continue;
            }
            int first = firstKeyOfRow(seg, s, sh.kvSeqLen());
            int nk = seg.kStart(s) + seg.kLen(s) - first;
            // pass 1: the segment's own call: its query rows, key rows first .. its last key (unused ones zero)
            Shape one = new Shape(1, nq, sh.qHeads(), sh.kvHeads(), sh.headDim(), nk);
            double[] k = java.util.Arrays.copyOfRange(in.k(), first * kvd, (first + nk) * kvd);
            double[] v = java.util.Arrays.copyOfRange(in.v(), first * kvd, (first + nk) * kvd);
            for (int kr = 0; kr < nk; kr++) {
                if (!seg.keyRowUsed(first + kr)) {
                    java.util.Arrays.fill(k, kr * kvd, (kr + 1) * kvd, 0.0);
                    java.util.Arrays.fill(v, kr * kvd, (kr + 1) * kvd, 0.0);
                }
            }
            Route route = in.route().hasLogits()
                    ? Route.ofLogits(1, nq, java.util.Arrays.copyOfRange(in.route().logits(), q0, q0 + nq))
                    : Route.ofMask(1, nq, java.util.Arrays.copyOfRange(in.route().mask(), q0, q0 + nq));
            AttentionInputs part = AttentionInputs.builder(one)
                    .q(java.util.Arrays.copyOfRange(in.q(), q0 * hd, (q0 + nq) * hd)).k(k).v(v).window(in.window())
                    .scale(in.scale()).route(route).estimator(in.estimator()).segments(Segments.bottomRight(one))
                    .build();
            RowsOutputs out = RowsOutputs.of(c, part, RowsComputation.allRows(one), dORows == null ? null
                    : java.util.Arrays.copyOfRange(dORows, q0 * hd, (q0 + nq) * hd));
            // pass 2: its rows back in place
            System.arraycopy(out.forward().o(), 0, o, q0 * hd, nq * hd);
            System.arraycopy(out.forward().lse(), 0, lse, q0 * sh.qHeads(), nq * sh.qHeads());
            if (dORows != null) {
                System.arraycopy(out.gradients().dq(), 0, dq, q0 * hd, nq * hd);
                System.arraycopy(out.gradients().dA(), 0, dA, q0, nq);
                for (int t = 0; t < nk * kvd; t++) {
                    dk[first * kvd + t] += out.gradients().dk()[t];
                    dv[first * kvd + t] += out.gradients().dv()[t];
                }
            }
        }
        int[] keys = RowsOutputs.keyRows(in, rows);
        return new RowsOutputs(new RowsResult(sh, rows.clone(), o, lse), dORows == null ? null
                : new RowGradients(rows.clone(), keys, dq, dk, dv, dA));
    }

    /** The first key row of the first segment that shares segment s's batch row (its key rows' b = kr / Sk). */
    static int firstKeyOfRow(Segments seg, int s, int kvSeqLen) {
        int t = s;
        while (t > 0 && seg.kStart(t - 1) / kvSeqLen == seg.kStart(s) / kvSeqLen) {
            t--;
        }
        return seg.kStart(t);
    }

    // ---- helpers ----

    /** Forward at queryRows and, with dO, the gradients of the loss on queryRows with dK, dV at keyRows. */
    private static RowsOutputs part(RowsComputation c, AttentionInputs in, int[] queryRows, double[] dORows,
                                    int[] keyRows) {
        return new RowsOutputs(c.forwardRows(in, queryRows), dORows == null ? null
                : c.backwardRows(in, queryRows, dORows, keyRows));
    }

    private static RowsOutputs withForward(RowsOutputs out, double[] o, double[] lse) {
        RowsResult f = out.forward();
        return new RowsOutputs(new RowsResult(f.shape(), f.rows(), o, lse), out.gradients());
    }

    /** [N, H, D] with head h moved to pi(h). @param x not modified */
    private static double[] scatterHeads(double[] x, int[] pi, int dim) {
        int h = pi.length;
        double[] out = new double[x.length];
        for (int base = 0; base < x.length; base += h * dim) {
            for (int t = 0; t < h; t++) {
                System.arraycopy(x, base + t * dim, out, base + pi[t] * dim, dim);
            }
        }
        return out;
    }

    /** [N, H, D] with head h read from pi(h) (the inverse of {@link #scatterHeads}). @param x not modified */
    private static double[] gatherHeads(double[] x, int[] pi, int dim) {
        int h = pi.length;
        double[] out = new double[x.length];
        for (int base = 0; base < x.length; base += h * dim) {
            for (int t = 0; t < h; t++) {
                System.arraycopy(x, base + pi[t] * dim, out, base + t * dim, dim);
            }
        }
        return out;
    }

    /** Head h of [N, H, D] as [N, 1, D]. @param x not modified */
    private static double[] headOf(double[] x, int heads, int h, int dim) {
        int rowsN = x.length / (heads * dim);
        double[] out = new double[rowsN * dim];
        for (int n = 0; n < rowsN; n++) {
            System.arraycopy(x, (n * heads + h) * dim, out, n * dim, dim);
        }
        return out;
    }

    /** The rows of x [R, width] (in the order of all) whose row numbers are in part (a subsequence of all). */
    private static double[] rowsOf(double[] x, int[] all, int[] part, int width) {
        double[] out = new double[part.length * width];
        int m = 0;
        for (int n = 0; n < all.length && m < part.length; n++) {
            if (all[n] == part[m]) {
                System.arraycopy(x, n * width, out, m * width, width);
                m++;
            }
        }
        return out;
    }

    /** x += sign * y. @param x modified @param y not modified */
    private static void add(double[] x, double[] y, int sign) {
        for (int n = 0; n < x.length; n++) {
            x[n] += sign * y[n];
        }
    }
}
