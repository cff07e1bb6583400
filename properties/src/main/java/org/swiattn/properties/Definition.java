package org.swiattn.properties;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * The definitions of SPEC.md written as directly as possible, for the properties that need a value computed from
 * scratch rather than from an implementation: one branch of attention for every row, the visible scores of a row,
 * the range of the visible values. Plain fp64 loops, max-subtracted softmax, no tricks; its error is a few units of
 * D * u * max|s| (u = 2^-53), far below every tolerance it is used with.
 *
 * <pre>
 *   s_ij  = scale * &lt;q_ih, k_j,h/G&gt;                  j visible to i on the branch (Visibility)
 *   lse_i = log sum_j exp(s_ij)
 *   o_i   = sum_j exp(s_ij - lse_i) v_j,h/G
 * </pre>
 */
public final class Definition {
    private Definition() {
    }

    /**
     * Attention in which every row uses the same branch (full causal or sliding window), ignoring the route.
     * O [B,S,Hq,D], LSE [B,S,Hq].
     *
     * @param in         inputs; not modified (route and estimator ignored)
     * @param fullBranch true: keys [0, i]; false: keys [max(0, i-w+1), i]
     */
    public static ForwardResult branch(AttentionInputs in, boolean fullBranch) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        for (int b = 0; b < sh.batch(); b++) {
            for (int i = 0; i < sh.seqLen(); i++) {
                for (int h = 0; h < sh.qHeads(); h++) {
                    // pass 1: visible scores and their log-sum-exp
                    double[] s = scores(in, b, i, h, fullBranch);
                    double l = logSumExp(s);
                    lse[sh.lseOffset(b, i, h)] = l;
                    // pass 2: o = sum_j exp(s_j - lse) v_j
                    int first = Visibility.firstKey(i, fullBranch, in.window());
                    int g = sh.kvHeadOf(h);
                    int out = sh.qOffset(b, i, h);
                    for (int n = 0; n < s.length; n++) {
                        double pj = Math.exp(s[n] - l);
                        int vo = sh.kvOffset(b, first + n, g);
                        for (int d = 0; d < dim; d++) {
                            o[out + d] += pj * in.v()[vo + d];
                        }
                    }
                }
            }
        }
        return new ForwardResult(sh, o, lse);
    }

    /**
     * The visible scores of query (b, i, h) on a branch: s [n], s[n] = s_{i, first+n}.
     *
     * @param in inputs; not modified
     */
    public static double[] scores(AttentionInputs in, int b, int i, int h, boolean fullBranch) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int first = Visibility.firstKey(i, fullBranch, in.window());
        int g = sh.kvHeadOf(h);
        int qo = sh.qOffset(b, i, h);
        double[] s = new double[i - first + 1];
        for (int j = first; j <= i; j++) {
            int ko = sh.kvOffset(b, j, g);
            double dot = 0;
            for (int d = 0; d < dim; d++) {
                dot += in.q()[qo + d] * in.k()[ko + d];
            }
            s[j - first] = in.scale() * dot;
        }
        return s;
    }

    /** log sum_n exp(s_n), max-subtracted. @param s [n &gt;= 1]; not modified */
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
     * M = max |s_ij| over the pairs visible on the full branch (a superset of every route's pairs).
     *
     * @param in inputs; not modified
     */
    public static double fullScoreMagnitude(AttentionInputs in) {
        Shape sh = in.shape();
        double m = 0;
        for (int b = 0; b < sh.batch(); b++) {
            for (int i = 0; i < sh.seqLen(); i++) {
                for (int h = 0; h < sh.qHeads(); h++) {
                    for (double s : scores(in, b, i, h, true)) {
                        m = Math.max(m, Math.abs(s));
                    }
                }
            }
        }
        return m;
    }

    /**
     * Per coordinate, the smallest and the largest value among the keys visible to (b, i) on a branch, for the kv
     * head of query head h: range [2][D], range[0] = min, range[1] = max.
     *
     * @param in inputs; not modified
     */
    public static double[][] valueRange(AttentionInputs in, int b, int i, int h, boolean fullBranch) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        double[][] range = new double[2][dim];
        java.util.Arrays.fill(range[0], Double.POSITIVE_INFINITY);
        java.util.Arrays.fill(range[1], Double.NEGATIVE_INFINITY);
        int g = sh.kvHeadOf(h);
        for (int j = Visibility.firstKey(i, fullBranch, in.window()); j <= i; j++) {
            int vo = sh.kvOffset(b, j, g);
            for (int d = 0; d < dim; d++) {
                range[0][d] = Math.min(range[0][d], in.v()[vo + d]);
                range[1][d] = Math.max(range[1][d], in.v()[vo + d]);
            }
        }
        return range;
    }
}
