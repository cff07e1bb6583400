package org.swiattn.reference;

import java.util.stream.IntStream;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.spec.Visibility;

/**
 * The naive implementation in a given precision: the yardstick of the low-precision tolerance rule
 * ({@link org.swiattn.spec.Tolerance}), in the manner of FlashAttention's {@code attention_ref(upcast=False)}.
 * It materialises each stage the way a framework would (scores, softmax, product), rounding to the storage
 * precision between stages and accumulating in the accumulation precision:
 *
 * <pre>{@code
 *   precision  storage st(x)        accumulation ac(x)
 *   FP64       x                    x                  (plain, uncompensated sums)
 *   FP32       (float) x            (float) x
 *   BF16       Bf16.round(x)        (float) x          (fp32 accumulation, bf16 tensors, fp32 LSE)
 *
 *   inputs   q, k, v, dO rounded with st
 *   s_j    = st(scale * sum_d q_d k_jd)          sequential sum in ac
 *   P_j    = st(exp(s_j - m) / Z),  Z = sum_j exp(s_j - m)   in ac;  lse = ac(m + log Z)
 *   o      = st(sum_j P_j v_j)                   in ac
 *   backward: dV_j += P_j g;  dP_j = st(<g, v_j>);  Delta = <g, o>;  dS_j = st(P_j (dP_j - Delta));
 *             dQ += scale dS_j k_j;  dK_j += scale dS_j q   (sums in ac, results rounded with st)
 * }</pre>
 * Every {@link org.swiattn.spec.Segments} table is computed (a row reads its segment's visible key rows only).
 * Every sum runs in a fixed sequential order, so its rounding is well defined and reproducible whatever the
 * thread count (threads only split independent rows or key/value heads). It answers for chosen rows too
 * ({@link #forwardRows}, {@link #backwardRows}): the naive yardstick at 32K, where it cannot run whole; rows whose
 * dO is zero add exact zeros, so row results equal the whole results (up to the sign of a zero).
 */
public final class NaiveAttention implements SwitchAttention, RowsComputation {
    private final Precision precision;

    /** @param precision the precision to emulate */
    public NaiveAttention(Precision precision) {
        if (precision == null) {
            throw new IllegalArgumentException("precision: is null");
        }
        this.precision = precision;
    }

    @Override
    public String name() {
        return "naive-" + precision.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public Precision precision() {
        return precision;
    }

    /** Naive forward of every row: O [B*Sq,Hq,D], LSE [B*Sq,Hq]. @param in not modified */
    @Override
    public ForwardResult forward(AttentionInputs in) {
        RowsResult all = forwardRows(in, allRows(in.shape()));
        return new ForwardResult(in.shape(), all.o(), all.lse());
    }

    /** Naive backward of every row. @param in not modified @param dOut [B*Sq,Hq,D] not modified */
    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        in.checkOutputGradient(dOut);
        int[] keys = IntStream.range(0, in.shape().kvRows()).toArray();
        RowGradients g = backwardRows(in, allRows(in.shape()), dOut, keys);
        return new BackwardResult(in.shape(), g.dq(), g.dk(), g.dv(), g.dA());
    }

    @Override
    public boolean supportsSegments() {
        return true;
    }

    private static int[] allRows(Shape sh) {
        return IntStream.range(0, sh.rows()).toArray();
    }

    /** Storage rounding st(x). */
    double st(double x) {
        return switch (precision) {
            case FP32 -> (float) x;
            case BF16 -> Bf16.round(x);
            default -> x;
        };
    }

    /** Accumulation rounding ac(x). */
    double ac(double x) {
        return precision == Precision.FP64 ? x : (float) x;
    }

    /** Sequential dot product accumulated in ac. */
    private double dot(double[] a, int aOff, double[] b, int bOff, int n) {
        double s = 0;
        for (int d = 0; d < n; d++) {
            s = ac(s + ac(a[aOff + d] * b[bOff + d]));
        }
        return s;
    }

    /**
     * Rounded copies of the rows of q read (the chosen rows) and of k, v, unless st leaves them unchanged (golden
     * inputs are bf16-representable, so it does). NaN counts as unchanged: key rows outside every segment may hold
     * it, and are never read.
     */
    private AttentionInputs rounded(AttentionInputs in, int[] rows) {
        boolean same = unchanged(in.q(), rows, in.shape().qHeads() * in.shape().headDim()) && unchanged(in.k(), null, 0)
                && unchanged(in.v(), null, 0);
        if (same) {
            return in;
        }
        double[] q = in.q().clone();
        double[] k = in.k().clone();
        double[] v = in.v().clone();
        for (double[] x : new double[][] {q, k, v}) {
            for (int n = 0; n < x.length; n++) {
                x[n] = st(x[n]);
            }
        }
        return in.toBuilder().q(q).k(k).v(v).build();
    }

    private boolean changed(double x) {
        return Double.doubleToLongBits(st(x)) != Double.doubleToLongBits(x);
    }

    private boolean unchanged(double[] x, int[] rows, int rowLen) {
        if (rows == null) {
            for (double t : x) {
                if (changed(t)) {
                    return false;
                }
            }
            return true;
        }
        for (int r : rows) {
            for (int n = r * rowLen; n < (r + 1) * rowLen; n++) {
                if (changed(x[n])) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Naive forward of chosen rows.
     *
     * @param in   inputs; not modified
     * @param rows [R] flat rows; not modified
     * @return o [R,Hq,D], lse [R,Hq]
     */
    @Override
    public RowsResult forwardRows(AttentionInputs in0, int[] rows) {
        in0.checkRows(rows);
        AttentionInputs in = rounded(in0, rows);
        Shape sh = in.shape();
        int dim = sh.headDim();
        int hd = sh.qHeads() * dim;
        double[] o = new double[rows.length * hd];
        double[] lse = new double[rows.length * sh.qHeads()];
        Route route = in.route();
        IntStream.range(0, rows.length).parallel().forEach(n -> {
            int r = rows[n];
            boolean z = route.isFull(r);
            double[] oW = new double[dim];
            for (int h = 0; h < sh.qHeads(); h++) {
                int off = n * hd + h * dim;
                if (in.estimator() == Estimator.SOFT) {
                    double lseF = branchForward(in, r, h, true, o, off);
                    double lseW = branchForward(in, r, h, false, oW, 0);
                    double p = ac(Sigmoid.of(route.logit(r)));
                    double pc = ac(Sigmoid.complement(route.logit(r)));
                    for (int d = 0; d < dim; d++) {
                        o[off + d] = st(ac(ac(p * o[off + d]) + ac(pc * oW[d])));
                    }
                    lse[n * sh.qHeads() + h] = z ? lseF : lseW;
                } else {
                    lse[n * sh.qHeads() + h] = branchForward(in, r, h, z, o, off);
                }
            }
        });
        return new RowsResult(sh, rows.clone(), o, lse);
    }

    /** Naive forward of query row r, head h on a branch. @param o modified at [oOff, oOff + D) @return the LSE */
    private double branchForward(AttentionInputs in, int r, int h, boolean full, double[] o, int oOff) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        double[] p = scores(in, r, h, first);
        double lse = softmax(p);
        for (int d = 0; d < dim; d++) {
            double acc = 0;
            for (int t = 0; t < p.length; t++) {
                acc = ac(acc + ac(p[t] * in.v()[sh.kvRowOffset(first + t, g) + d]));
            }
            o[oOff + d] = st(acc);
        }
        return lse;
    }

    /** s_j = st(scale * sum_d q_d k_jd) for key rows j in [first, last of row r], at [j - first]. */
    private double[] scores(AttentionInputs in, int r, int h, int first) {
        Shape sh = in.shape();
        int g = sh.kvHeadOf(h);
        double[] s = new double[Visibility.lastKeyRow(in.segments(), r) - first + 1];
        for (int t = 0; t < s.length; t++) {
            s[t] = st(ac(in.scale() * dot(in.q(), sh.qRowOffset(r, h), in.k(), sh.kvRowOffset(first + t, g),
                    sh.headDim())));
        }
        return s;
    }

    /**
     * The forward softmax in place: P_t = st(exp(s_t - m) / Z), Z = sum_t exp(s_t - m).
     *
     * @param s [n] scores on entry, P on return; modified
     * @return lse = ac(m + log Z)
     */
    private double softmax(double[] s) {
        double m = Double.NEGATIVE_INFINITY;
        for (double x : s) {
            m = Math.max(m, x);
        }
        double z = 0;
        for (int t = 0; t < s.length; t++) {
            s[t] = ac(Math.exp(ac(s[t] - m)));
            z = ac(z + s[t]);
        }
        for (int t = 0; t < s.length; t++) {
            s[t] = st(ac(s[t] / z));
        }
        return ac(m + ac(Math.log(z)));
    }

    /**
     * The backward's recomputed softmax in place: P_t = st(exp(s_t - lse)) with the forward's LSE.
     *
     * @param s [n] scores on entry, P on return; modified
     */
    private void recomputedSoftmax(double[] s, double lse) {
        for (int t = 0; t < s.length; t++) {
            s[t] = st(ac(Math.exp(ac(s[t] - lse))));
        }
    }

    /**
     * Naive backward for dO that is zero outside {@code lossRows}, at chosen rows (see {@link RowGradients}); the
     * whole backward is the case lossRows = keyRows = every row.
     *
     * @param in       inputs; not modified
     * @param lossRows [L] strictly ascending flat rows; not modified
     * @param dORows   [L,Hq,D] dO at the loss rows; not modified
     * @param keyRows  [K] distinct flat rows whose dK, dV are wanted; not modified
     */
    public RowGradients backwardRows(AttentionInputs in0, int[] lossRows, double[] dORows, int[] keyRows) {
        RowGradients.checkRows(in0, lossRows, keyRows);
        AttentionInputs in = rounded(in0, lossRows);
        Shape sh = in.shape();
        int dim = sh.headDim();
        int hd = sh.qHeads() * dim;
        int kvd = sh.kvHeads() * dim;
        Route route = in.route();
        Estimator est = in.estimator();
        double[] dOut = new double[dORows.length];
        for (int n = 0; n < dOut.length; n++) {
            dOut[n] = st(dORows[n]);
        }
        int[] keyIndex = new int[sh.kvRows()];
        java.util.Arrays.fill(keyIndex, -1);
        for (int n = 0; n < keyRows.length; n++) {
            keyIndex[keyRows[n]] = n;
        }
        double[] dq = new double[lossRows.length * hd];
        double[] dk = new double[keyRows.length * kvd];
        double[] dv = new double[keyRows.length * kvd];
        double[] dA = new double[lossRows.length];
        double[][] routerTerms = new double[lossRows.length][sh.qHeads()];
        // one task per kv head g: it alone writes dK, dV of head g and dQ of the heads of its group, and visits
        // rows ascending, then heads ascending (the order of a plain row-major loop)
        IntStream.range(0, sh.kvHeads()).parallel().forEach(g -> {
            double[] oF = new double[dim];
            double[] oW = new double[dim];
            double[] gv = new double[dim];
            for (int n = 0; n < lossRows.length; n++) {
                int r = lossRows[n];
                boolean z = route.isFull(r);
                for (int h = g * sh.groupSize(); h < (g + 1) * sh.groupSize(); h++) {
                    int off = n * hd + h * dim;
                    double lseF = branchForward(in, r, h, true, oF, 0);
                    double lseW = branchForward(in, r, h, false, oW, 0);
                    double cF = z ? 1 : 0;
                    double cW = z ? 0 : 1;
                    if (est == Estimator.SOFT) {
                        cF = ac(Sigmoid.of(route.logit(r)));
                        cW = ac(Sigmoid.complement(route.logit(r)));
                    }
                    if (est == Estimator.SELECTED_BRANCH) {
                        routerTerms[n][h] = dot(dOut, off, z ? oF : oW, 0, dim);
                    } else if (est != Estimator.HARD) {
                        routerTerms[n][h] = ac(dot(dOut, off, oF, 0, dim) - dot(dOut, off, oW, 0, dim));
                    }
                    for (int pass = 0; pass < 2; pass++) {
                        boolean full = pass == 0;
                        double c = full ? cF : cW;
                        if (c == 0) {
                            continue;
                        }
                        for (int d = 0; d < dim; d++) {
                            gv[d] = st(ac(c * dOut[off + d]));
                        }
                        branchBackward(in, r, h, full, gv, full ? oF : oW, full ? lseF : lseW, off, keyIndex,
                                dq, dk, dv);
                    }
                }
            }
        });
        // router gradient: the per-head terms summed in head order
        if (est != Estimator.HARD) {
            for (int n = 0; n < lossRows.length; n++) {
                int r = lossRows[n];
                double routerSum = 0;
                for (int h = 0; h < sh.qHeads(); h++) {
                    routerSum = ac(routerSum + routerTerms[n][h]);
                }
                double p = ac(Sigmoid.of(route.logit(r)));
                double pc = ac(Sigmoid.complement(route.logit(r)));
                dA[n] = est == Estimator.SELECTED_BRANCH
                        ? ac((route.isFull(r) ? pc : -p) * routerSum) : ac(ac(p * pc) * routerSum);
            }
        }
        for (double[] x : new double[][] {dq, dk, dv}) {
            for (int n = 0; n < x.length; n++) {
                x[n] = st(x[n]);
            }
        }
        return new RowGradients(lossRows.clone(), keyRows.clone(), dq, dk, dv, dA);
    }

    /** One loss row on one branch; accumulates (in ac) into dq row dqOff and the tracked dk, dv rows. */
    private void branchBackward(AttentionInputs in, int r, int h, boolean full, double[] g, double[] o,
                                double lse, int dqOff, int[] keyIndex, double[] dq, double[] dk, double[] dv) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int kvh = sh.kvHeadOf(h);
        int first = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        int qOff = sh.qRowOffset(r, h);
        double[] p = scores(in, r, h, first);
        recomputedSoftmax(p, lse);
        double delta = dot(g, 0, o, 0, dim);
        for (int t = 0; t < p.length; t++) {
            int j = first + t;
            int kvOff = sh.kvRowOffset(j, kvh);
            int kn = keyIndex[j];
            int kOut = (kn * sh.kvHeads() + kvh) * dim;
            double pj = p[t];
            double dp = st(dot(g, 0, in.v(), kvOff, dim));
            double ds = st(ac(pj * ac(dp - delta)));
            double sds = ac(in.scale() * ds);
            for (int d = 0; d < dim; d++) {
                if (kn >= 0) {
                    dv[kOut + d] = ac(dv[kOut + d] + ac(pj * g[d]));
                }
                dq[dqOff + d] = ac(dq[dqOff + d] + ac(sds * in.k()[kvOff + d]));
                if (kn >= 0) {
                    dk[kOut + d] = ac(dk[kOut + d] + ac(sds * in.q()[qOff + d]));
                }
            }
        }
    }
}
