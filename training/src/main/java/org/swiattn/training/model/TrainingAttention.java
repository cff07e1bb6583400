package org.swiattn.training.model;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.spec.Visibility;

/**
 * A small, plain fp64 routed attention for the decoder's training loop (the demo trains thousands of steps; this
 * one skips the reference's compensated sums). Same semantics as {@code org.swiattn.reference.ReferenceAttention}
 * and checked against it in the tests (TrainingAttentionTest); the conformance reference is always the reference.
 *
 * <pre>
 *   s_ij = scale &lt;q_ih, k_j,g(h)&gt;, j visible on the branch; P = softmax_j(s); o_b = sum_j P_ij v_j; lse = log sum exp s
 *   HARD/STE/SB: o = z oF + (1-z) oW     SOFT: o = p oF + (1-p) oW
 *   dO into the branches: HARD/STE/SB the selected branch only; SOFT p into full, (1-p) into window
 *   dL/da: HARD 0; STE, SOFT p(1-p) sum_h &lt;dO, oF - oW&gt;; SB (z - p) sum_h &lt;dO, oZ&gt;
 * </pre>
 */
public final class TrainingAttention implements SwitchAttention {

    @Override
    public String name() {
        return "training-fp64";
    }

    @Override
    public Precision precision() {
        return Precision.FP64;
    }

    /**
     * Output and LSE of one branch for one (b, i, h).
     *
     * <pre>  -&gt; out [D] (overwritten), returns lse  </pre>
     *
     * @param in   inputs; not modified
     * @param full which branch
     * @param out  [D] modified
     * @param p    [S] scratch for the probabilities of keys 0..i; modified
     */
    private static double branch(AttentionInputs in, int b, int i, int h, boolean full, double[] out, double[] p) {
        Shape s = in.shape();
        int d = s.headDim();
        int g = s.kvHeadOf(h);
        double[] q = in.q();
        double[] k = in.k();
        double[] v = in.v();
        int qo = s.qOffset(b, i, h);
        int j0 = Visibility.firstKey(i, full, in.window());
        // pass 1: scores and their max
        double m = Double.NEGATIVE_INFINITY;
        for (int j = j0; j <= i; j++) {
            int ko = s.kvOffset(b, j, g);
            double dot = 0;
            for (int t = 0; t < d; t++) {
                dot += q[qo + t] * k[ko + t];
            }
            p[j] = in.scale() * dot;
            m = Math.max(m, p[j]);
        }
        // pass 2: exponentials and their sum
        double sum = 0;
        for (int j = j0; j <= i; j++) {
            p[j] = Math.exp(p[j] - m);
            sum += p[j];
        }
        // pass 3: normalised weights times values
        java.util.Arrays.fill(out, 0.0);
        for (int j = j0; j <= i; j++) {
            double w = p[j] / sum;
            p[j] = w;
            int vo = s.kvOffset(b, j, g);
            for (int t = 0; t < d; t++) {
                out[t] += w * v[vo + t];
            }
        }
        return m + Math.log(sum);
    }

    @Override
    public ForwardResult forward(AttentionInputs in) {
        Shape s = in.shape();
        int d = s.headDim();
        double[] o = new double[s.qSize()];
        double[] lse = new double[s.lseSize()];
        double[] of = new double[d];
        double[] ow = new double[d];
        double[] p = new double[s.seqLen()];
        Route route = in.route();
        boolean soft = in.estimator() == Estimator.SOFT;
        for (int b = 0; b < s.batch(); b++) {
            for (int i = 0; i < s.seqLen(); i++) {
                int r = b * s.seqLen() + i;
                boolean z = route.isFull(r);
                for (int h = 0; h < s.qHeads(); h++) {
                    int qo = s.qOffset(b, i, h);
                    if (!soft) {
                        // hard value: only the selected branch
                        lse[s.lseOffset(b, i, h)] = branch(in, b, i, h, z, of, p);
                        System.arraycopy(of, 0, o, qo, d);
                    } else {
                        double lf = branch(in, b, i, h, true, of, p);
                        double lw = branch(in, b, i, h, false, ow, p);
                        double pr = route.probability(r);
                        for (int t = 0; t < d; t++) {
                            o[qo + t] = pr * of[t] + (1 - pr) * ow[t];
                        }
                        lse[s.lseOffset(b, i, h)] = z ? lf : lw;
                    }
                }
            }
        }
        return new ForwardResult(s, o, lse);
    }

    /**
     * Backward of one branch for one (b, i, h), given the gradient g [D] that reaches this branch's output.
     * Accumulates into dq, dk, dv.
     */
    private static void branchBackward(AttentionInputs in, int b, int i, int h, boolean full, double[] ob,
                                       double[] p, double[] g, double[] dq, double[] dk, double[] dv) {
        Shape s = in.shape();
        int d = s.headDim();
        int kvh = s.kvHeadOf(h);
        double[] q = in.q();
        double[] k = in.k();
        double[] v = in.v();
        int qo = s.qOffset(b, i, h);
        int j0 = Visibility.firstKey(i, full, in.window());
        // forward: o = sum_j P_ij v_j  =>  dv_j += P_ij g,  dP_ij = <g, v_j>
        // forward: P = softmax(s)      =>  dS_ij = P_ij (dP_ij - <g, o>)
        // forward: s_ij = scale <q_i, k_j>  =>  dq_i += scale dS_ij k_j,  dk_j += scale dS_ij q_i
        double di = 0;
        for (int t = 0; t < d; t++) {
            di += g[t] * ob[t];
        }
        for (int j = j0; j <= i; j++) {
            int ko = s.kvOffset(b, j, kvh);
            double dp = 0;
            for (int t = 0; t < d; t++) {
                dp += g[t] * v[ko + t];
            }
            double ds = p[j] * (dp - di) * in.scale();
            for (int t = 0; t < d; t++) {
                dv[ko + t] += p[j] * g[t];
                dq[qo + t] += ds * k[ko + t];
                dk[ko + t] += ds * q[qo + t];
            }
        }
    }

    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        in.checkOutputGradient(dOut);
        Shape s = in.shape();
        int d = s.headDim();
        double[] dq = new double[s.qSize()];
        double[] dk = new double[s.kvSize()];
        double[] dv = new double[s.kvSize()];
        double[] da = new double[s.rows()];
        double[] of = new double[d];
        double[] ow = new double[d];
        double[] pf = new double[s.seqLen()];
        double[] pw = new double[s.seqLen()];
        double[] g = new double[d];
        Estimator est = in.estimator();
        Route route = in.route();
        for (int b = 0; b < s.batch(); b++) {
            for (int i = 0; i < s.seqLen(); i++) {
                int r = b * s.seqLen() + i;
                boolean z = route.isFull(r);
                double pr = est == Estimator.HARD ? (z ? 1 : 0) : route.probability(r);
                double acc = 0;   // sum_h <dO, oF - oW> (STE, SOFT) or sum_h <dO, oZ> (SB)
                for (int h = 0; h < s.qHeads(); h++) {
                    int qo = s.qOffset(b, i, h);
                    boolean both = est == Estimator.STRAIGHT_THROUGH || est == Estimator.SOFT;
                    if (both) {
                        branch(in, b, i, h, true, of, pf);
                        branch(in, b, i, h, false, ow, pw);
                        for (int t = 0; t < d; t++) {
                            acc += dOut[qo + t] * (of[t] - ow[t]);
                        }
                    }
                    // dO into the branches: selected branch (HARD, STE, SB) or p / 1-p (SOFT)
                    double wf = est == Estimator.SOFT ? pr : (z ? 1 : 0);
                    double ww = est == Estimator.SOFT ? 1 - pr : (z ? 0 : 1);
                    if (wf != 0) {
                        if (!both) {
                            branch(in, b, i, h, true, of, pf);
                        }
                        for (int t = 0; t < d; t++) {
                            g[t] = wf * dOut[qo + t];
                        }
                        branchBackward(in, b, i, h, true, of, pf, g, dq, dk, dv);
                        if (est == Estimator.SELECTED_BRANCH) {
                            for (int t = 0; t < d; t++) {
                                acc += dOut[qo + t] * of[t];
                            }
                        }
                    }
                    if (ww != 0) {
                        if (!both) {
                            branch(in, b, i, h, false, ow, pw);
                        }
                        for (int t = 0; t < d; t++) {
                            g[t] = ww * dOut[qo + t];
                        }
                        branchBackward(in, b, i, h, false, ow, pw, g, dq, dk, dv);
                        if (est == Estimator.SELECTED_BRANCH) {
                            for (int t = 0; t < d; t++) {
                                acc += dOut[qo + t] * ow[t];
                            }
                        }
                    }
                }
                switch (est) {
                    case HARD -> da[r] = 0;
                    case STRAIGHT_THROUGH, SOFT -> da[r] = pr * (1 - pr) * acc;
                    case SELECTED_BRANCH -> da[r] = ((z ? 1 : 0) - pr) * acc;
                    default -> throw new IllegalStateException("estimator: " + est);
                }
            }
        }
        return new BackwardResult(s, dq, dk, dv, da);
    }
}
