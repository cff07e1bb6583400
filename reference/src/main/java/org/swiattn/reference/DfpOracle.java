package org.swiattn.reference;

import org.apache.commons.math3.dfp.Dfp;
import org.apache.commons.math3.dfp.DfpField;
import org.apache.commons.math3.dfp.DfpMath;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * Arbitrary-precision forward oracle (Commons Math {@link Dfp}) for small cases: the same mathematics as the
 * reference, every operation carried with {@code digits} decimal digits, and only the final O and LSE rounded to
 * double. Inputs (doubles) and the scale (a double) are taken as exact numbers. With 40 digits the oracle's own
 * error is far below one double ulp, so "error against the oracle" is the error against the exact result.
 *
 * <pre>{@code
 *   s_j = scale * sum_d q_id k_jd                  exact products, sums to `digits` digits
 *   lse = log sum_j exp(s_j)  (computed as m + log sum_j exp(s_j - m))
 *   o   = sum_j exp(s_j - lse) v_j ;  SOFT mixes p oF + (1-p) oW with p = 1 / (1 + exp(-a))
 * }</pre>
 * Every {@link org.swiattn.spec.Segments} table: query row r reads the key rows of its segment that its branch
 * sees (Visibility.firstKeyRow .. lastKeyRow). Cost is O(visible pairs * Hq * D) Dfp operations: keep it small
 * (up to about 10^6).
 */
public final class DfpOracle {
    private final DfpField field;

    /** @param digits decimal digits of every intermediate, at least 30 */
    public DfpOracle(int digits) {
        if (digits < 30) {
            throw new IllegalArgumentException("digits: must be >= 30, got " + digits);
        }
        this.field = new DfpField(digits);
    }

    /** An oracle with 40 decimal digits. */
    public DfpOracle() {
        this(40);
    }

    /**
     * Forward pass in arbitrary precision, rounded to double at the end.
     *
     * @param in validated inputs; not modified
     */
    public ForwardResult forward(AttentionInputs in) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        Route route = in.route();
        Dfp scale = field.newDfp(in.scale());
        for (int r = 0; r < sh.rows(); r++) {
            boolean z = route.isFull(r);
            for (int h = 0; h < sh.qHeads(); h++) {
                Dfp[] oF = new Dfp[dim];
                Dfp[] oW = new Dfp[dim];
                Dfp lseF = branch(in, scale, r, h, true, oF);
                Dfp lseW = branch(in, scale, r, h, false, oW);
                Dfp[] out;
                if (in.estimator() == Estimator.SOFT) {
                    Dfp p = field.getOne().divide(field.getOne().add(DfpMath.exp(field.newDfp(-route.logit(r)))));
                    Dfp pc = field.getOne().subtract(p);
                    out = new Dfp[dim];
                    for (int d = 0; d < dim; d++) {
                        out[d] = p.multiply(oF[d]).add(pc.multiply(oW[d]));
                    }
                } else {
                    out = z ? oF : oW;
                }
                int off = sh.qRowOffset(r, h);
                for (int d = 0; d < dim; d++) {
                    o[off + d] = out[d].toDouble();
                }
                lse[r * sh.qHeads() + h] = (z ? lseF : lseW).toDouble();
            }
        }
        return new ForwardResult(sh, o, lse);
    }

    /** One branch of query row r, head h: fills out [D], returns lse. @param out modified */
    private Dfp branch(AttentionInputs in, Dfp scale, int r, int h, boolean full, Dfp[] out) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int lo = Visibility.firstKeyRow(in.segments(), r, full, in.window());
        int last = Visibility.lastKeyRow(in.segments(), r);
        int qOff = sh.qRowOffset(r, h);
        Dfp[] s = new Dfp[last - lo + 1];
        Dfp m = null;
        for (int j = lo; j <= last; j++) {
            int kOff = sh.kvRowOffset(j, g);
            Dfp dot = field.getZero();
            for (int d = 0; d < dim; d++) {
                dot = dot.add(field.newDfp(in.q()[qOff + d]).multiply(field.newDfp(in.k()[kOff + d])));
            }
            s[j - lo] = dot.multiply(scale);
            m = (m == null || s[j - lo].greaterThan(m)) ? s[j - lo] : m;
        }
        Dfp zsum = field.getZero();
        Dfp[] e = new Dfp[s.length];
        for (int n = 0; n < s.length; n++) {
            e[n] = DfpMath.exp(s[n].subtract(m));
            zsum = zsum.add(e[n]);
        }
        for (int d = 0; d < dim; d++) {
            Dfp acc = field.getZero();
            for (int j = lo; j <= last; j++) {
                acc = acc.add(e[j - lo].multiply(field.newDfp(in.v()[sh.kvRowOffset(j, g) + d])));
            }
            out[d] = acc.divide(zsum);
        }
        return m.add(DfpMath.log(zsum));
    }
}
