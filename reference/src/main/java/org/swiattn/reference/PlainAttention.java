package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.Visibility;

/**
 * Routed (Switch) attention as SPEC.md defines it, written as plainly as possible: the implementation to read
 * first.
 *
 * <p>Plain fp64 loops over one query row and head at a time, max-subtracted softmax, ordinary sums (no
 * compensation), forward and backward for every estimator and every {@link Segments} table. Its error is a few
 * units of D * u * max|s| (u = 2^-53). {@link ReferenceAttention} computes the same formulas with compensated
 * arithmetic to a few ulps whatever the score magnitude, and is what golden files and tolerances rest on; the
 * property suite uses this class where it needs a value computed from the definitions rather than from the
 * implementation under test.
 *
 * <pre>{@code
 *   shape legend: B batch, Sq query rows and Sk key rows per batch row, Hq query heads, Hkv kv heads,
 *                 G = Hq/Hkv, D head dim, w window
 *   q, o, dq, dO [B*Sq,Hq,D]   k, v, dk, dv [B*Sk,Hkv,D]   lse [B*Sq,Hq]   route, dRouterLogit [B*Sq]
 *
 *   query row r, head h, kv head g = h / G; its segment's keys start at key row k0 and r sits at position p:
 *     visible key rows   full:   kr in [k0, k0 + p]      window:  kr in [k0 + max(0, p-w+1), k0 + p]
 *     s_kr  = scale * <q_rh, k_kr,g>
 *     lse   = log sum_kr exp(s_kr)              computed as m + log sum_kr exp(s_kr - m), m = max s
 *     P_kr  = exp(s_kr - lse)
 *     oB    = sum_kr P_kr v_kr,g                B = F (full branch) or W (window branch)
 *   routed output (z = route, p = sigmoid(a)):
 *     o     = z oF + (1-z) oW                   HARD, STRAIGHT_THROUGH, SELECTED_BRANCH
 *     o     = p oF + (1-p) oW                   SOFT
 *     lse   = lse of branch z                   every estimator
 *
 *   backward, each branch with coefficient c != 0 (z and 1-z; SOFT: p and 1-p), gB = c dO_rh:
 *     dV_kr += P_kr gB ;  dP_kr = <gB, v_kr> ;  Delta = <gB, oB> ;  dS_kr = P_kr (dP_kr - Delta)
 *     dQ_rh += scale dS_kr k_kr ;  dK_kr += scale dS_kr q_rh
 *   router logit (sums over the heads h):
 *     HARD 0 ;  STRAIGHT_THROUGH, SOFT  p(1-p) sum_h <dO_rh, oF_rh - oW_rh> ;  SELECTED_BRANCH (z-p) sum_h <dO_rh, oZ_rh>
 * }</pre>
 * Key rows outside every segment are never read, and their dK, dV stay exactly 0.
 */
public final class PlainAttention extends Fp64Attention {

    /** The plain definition, one row at a time on one thread. */
    public PlainAttention() {
        super("plain-fp64");
    }

    /** Forward pass: O [B*Sq,Hq,D], LSE [B*Sq,Hq]. @param in validated inputs; not modified */
    @Override
    public ForwardResult forward(AttentionInputs in) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        Route route = in.route();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        double[] oW = new double[dim];
        for (int r = 0; r < sh.rows(); r++) {
            boolean z = route.isFull(r);
            for (int h = 0; h < sh.qHeads(); h++) {
                int off = sh.qRowOffset(r, h);
                int l = r * sh.qHeads() + h;
                if (in.estimator() != Estimator.SOFT) {
                    lse[l] = branchRow(in, r, h, z, o, off);      // o = oZ
                    continue;
                }
                double lseF = branchRow(in, r, h, true, o, off);  // o = p oF + (1-p) oW
                double lseW = branchRow(in, r, h, false, oW, 0);
                double p = Sigmoid.of(route.logit(r));
                double pc = Sigmoid.complement(route.logit(r));
                for (int d = 0; d < dim; d++) {
                    o[off + d] = p * o[off + d] + pc * oW[d];
                }
                lse[l] = z ? lseF : lseW;
            }
        }
        return new ForwardResult(sh, o, lse);
    }

    /**
     * Backward pass for the inputs' estimator (see the class comment).
     *
     * @param in   validated inputs; not modified
     * @param dOut dL/dO [B*Sq,Hq,D]; not modified
     */
    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        in.checkOutputGradient(dOut);
        Shape sh = in.shape();
        int dim = sh.headDim();
        Route route = in.route();
        Estimator est = in.estimator();
        double[] dq = new double[sh.qSize()];
        double[] dk = new double[sh.kvSize()];
        double[] dv = new double[sh.kvSize()];
        double[] dA = new double[sh.rows()];
        double[] oF = new double[dim];
        double[] oW = new double[dim];
        double[] gB = new double[dim];
        for (int r = 0; r < sh.rows(); r++) {
            boolean z = route.isFull(r);
            double a = est == Estimator.HARD ? 0 : route.logit(r);   // HARD routes need not carry logits
            // the branch coefficients of the forward line o = cF oF + cW oW
            double cF = est == Estimator.SOFT ? Sigmoid.of(a) : z ? 1 : 0;
            double cW = est == Estimator.SOFT ? Sigmoid.complement(a) : z ? 0 : 1;
            double routerSum = 0;   // sum_h <dO, oF - oW> (STE, SOFT) or sum_h <dO, oZ> (SB)
            for (int h = 0; h < sh.qHeads(); h++) {
                int off = sh.qRowOffset(r, h);
                // pass 1: both branch outputs and LSEs of the row
                double lseF = branchRow(in, r, h, true, oF, 0);
                double lseW = branchRow(in, r, h, false, oW, 0);
                for (int d = 0; d < dim; d++) {
                    routerSum += est == Estimator.SELECTED_BRANCH ? dOut[off + d] * (z ? oF[d] : oW[d])
                            : dOut[off + d] * (oF[d] - oW[d]);
                }
                // pass 2: each branch with a non-zero coefficient, gB = c dO
                for (boolean full : new boolean[] {true, false}) {
                    double c = full ? cF : cW;
                    if (c == 0) {
                        continue;
                    }
                    for (int d = 0; d < dim; d++) {
                        gB[d] = c * dOut[off + d];
                    }
                    branchRowBackward(in, r, h, full, gB, full ? oF : oW, full ? lseF : lseW, dq, dk, dv);
                }
            }
            // pass 3: the router logit
            double p = Sigmoid.of(a);
            double pc = Sigmoid.complement(a);
            dA[r] = switch (est) {
                case HARD -> 0;
                case STRAIGHT_THROUGH, SOFT -> p * pc * routerSum;
                case SELECTED_BRANCH -> (z ? pc : -p) * routerSum;   // z - p
            };
        }
        return new BackwardResult(sh, dq, dk, dv, dA);
    }

    /**
     * One branch of query row r, head h: writes oB to o[oOff .. oOff + D).
     *
     * @param o modified at [oOff, oOff + D)
     * @return the branch LSE
     */
    private static double branchRow(AttentionInputs in, int r, int h, boolean full, double[] o, int oOff) {
        Shape sh = in.shape();
        int g = sh.kvHeadOf(h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        // pass 1: visible scores and their log-sum-exp
        double[] s = scores(in, r, h, full);
        double lse = logSumExp(s);
        // pass 2: oB = sum_kr P_kr v_kr
        java.util.Arrays.fill(o, oOff, oOff + sh.headDim(), 0.0);
        for (int n = 0; n < s.length; n++) {
            double pj = Math.exp(s[n] - lse);
            int vo = sh.kvRowOffset(first + n, g);
            for (int d = 0; d < sh.headDim(); d++) {
                o[oOff + d] += pj * in.v()[vo + d];
            }
        }
        return lse;
    }

    /**
     * Backward of one branch of query row r, head h.
     *
     * @param gB [D] dL/doB; not modified
     * @param oB [D] the branch output; not modified
     * @param dq [B*Sq,Hq,D] modified; dk, dv [B*Sk,Hkv,D] modified
     */
    private static void branchRowBackward(AttentionInputs in, int r, int h, boolean full, double[] gB, double[] oB,
                                          double lse, double[] dq, double[] dk, double[] dv) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int qo = sh.qRowOffset(r, h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        double[] s = scores(in, r, h, full);
        double delta = 0;                                  // Delta = <gB, oB>
        for (int d = 0; d < dim; d++) {
            delta += gB[d] * oB[d];
        }
        for (int n = 0; n < s.length; n++) {
            int ko = sh.kvRowOffset(first + n, g);
            double pj = Math.exp(s[n] - lse);              // P_kr, recomputed
            double dp = 0;                                 // dP_kr = <gB, v_kr>
            for (int d = 0; d < dim; d++) {
                dp += gB[d] * in.v()[ko + d];
            }
            double ds = pj * (dp - delta);                 // dS_kr
            for (int d = 0; d < dim; d++) {
                dv[ko + d] += pj * gB[d];
                dq[qo + d] += in.scale() * ds * in.k()[ko + d];
                dk[ko + d] += in.scale() * ds * in.q()[qo + d];
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // the definitions one at a time, for callers that need a single piece

    /**
     * Attention in which every row uses the same branch (full causal or sliding window), ignoring the route.
     * O [B*Sq,Hq,D], LSE [B*Sq,Hq].
     *
     * @param in         inputs; not modified (route and estimator ignored)
     * @param fullBranch true: key rows [k0, k0 + p]; false: [k0 + max(0, p-w+1), k0 + p]
     */
    public static ForwardResult branch(AttentionInputs in, boolean fullBranch) {
        Shape sh = in.shape();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        for (int r = 0; r < sh.rows(); r++) {
            for (int h = 0; h < sh.qHeads(); h++) {
                lse[r * sh.qHeads() + h] = branchRow(in, r, h, fullBranch, o, sh.qRowOffset(r, h));
            }
        }
        return new ForwardResult(sh, o, lse);
    }

    /**
     * The visible scores of query row r, head h on a branch: s [n], s[n] = scale * <q_rh, k_first+n>, first the
     * branch's first visible key row.
     *
     * @param in inputs; not modified
     */
    public static double[] scores(AttentionInputs in, int r, int h, boolean fullBranch) {
        Shape sh = in.shape();
        Segments seg = in.segments();
        int first = Visibility.firstKeyRow(seg, r, fullBranch, in.window());
        int last = Visibility.lastKeyRow(seg, r);
        int g = sh.kvHeadOf(h);
        int qo = sh.qRowOffset(r, h);
        double[] s = new double[last - first + 1];
        for (int kr = first; kr <= last; kr++) {
            int ko = sh.kvRowOffset(kr, g);
            double dot = 0;
            for (int d = 0; d < sh.headDim(); d++) {
                dot += in.q()[qo + d] * in.k()[ko + d];
            }
            s[kr - first] = in.scale() * dot;
        }
        return s;
    }

    /** log sum_n exp(s_n), max-subtracted. @param s [n], n at least 1; not modified */
    public static double logSumExp(double[] s) {
        double m = Double.NEGATIVE_INFINITY;
        for (double x : s) {
            m = Math.max(m, x);
        }
        double sum = 0;
        for (double x : s) {
            sum += Math.exp(x - m);
        }
        return m + Math.log(sum);
    }

    /** log(exp(a) + exp(b)), the merge of the log-sum-exps of two disjoint key sets. */
    public static double logAddExp(double a, double b) {
        double m = Math.max(a, b);
        return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
    }

    /**
     * Per coordinate, the smallest and the largest value among the key rows visible to query row r on a branch,
     * for the kv head of query head h: range [2][D], range[0] = min, range[1] = max. A branch output is a convex
     * combination of these values, so it lies in this box.
     *
     * @param in inputs; not modified
     */
    public static double[][] valueRange(AttentionInputs in, int r, int h, boolean fullBranch) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        double[][] range = new double[2][dim];
        java.util.Arrays.fill(range[0], Double.POSITIVE_INFINITY);
        java.util.Arrays.fill(range[1], Double.NEGATIVE_INFINITY);
        int g = sh.kvHeadOf(h);
        int last = Visibility.lastKeyRow(in.segments(), r);
        for (int kr = Visibility.firstKeyRow(in.segments(), r, fullBranch, in.window()); kr <= last; kr++) {
            int vo = sh.kvRowOffset(kr, g);
            for (int d = 0; d < dim; d++) {
                range[0][d] = Math.min(range[0][d], in.v()[vo + d]);
                range[1][d] = Math.max(range[1][d], in.v()[vo + d]);
            }
        }
        return range;
    }
}
