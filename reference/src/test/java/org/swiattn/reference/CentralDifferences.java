package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;

/** Central differences of {@code L = <dO, O>} against the reference's analytic gradients. */
final class CentralDifferences {
    private static final double H = 1e-6;
    private static final double TOLERANCE = 1e-7;

    private CentralDifferences() {
    }

    /**
     * Checks dQ, dK, dV (every finite input element; non-finite ones are unused cache slots) and, for SOFT, whose
     * forward value alone depends on the logits, dL/da.
     *
     * @param in inputs; not modified
     * @param dO [B*Sq,Hq,D] not modified
     */
    static void check(AttentionInputs in, double[] dO, String what) {
        ReferenceAttention ref = new ReferenceAttention();
        BackwardResult g = ref.backward(in, dO);
        for (String which : new String[] {"q", "k", "v"}) {
            double[] x = (which.equals("q") ? in.q() : which.equals("k") ? in.k() : in.v()).clone();
            double[] analytic = which.equals("q") ? g.dq() : which.equals("k") ? g.dk() : g.dv();
            for (int n = 0; n < x.length; n++) {
                if (!Double.isFinite(x[n])) {
                    continue;
                }
                double x0 = x[n];
                x[n] = x0 + H;
                double up = loss(ref, with(in, which, x), dO);
                x[n] = x0 - H;
                double down = loss(ref, with(in, which, x), dO);
                x[n] = x0;
                assertThat(analytic[n]).as("%s d%s[%d]", what, which, n)
                        .isCloseTo((up - down) / (2 * H), within(TOLERANCE));
            }
        }
        if (in.estimator() == Estimator.SOFT) {
            Shape sh = in.shape();
            double[] a = in.route().logits();
            for (int r = 0; r < a.length; r++) {
                double a0 = a[r];
                a[r] = a0 + H;
                double up = loss(ref, in.withRoute(Route.ofLogits(sh.batch(), sh.seqLen(), a)), dO);
                a[r] = a0 - H;
                double down = loss(ref, in.withRoute(Route.ofLogits(sh.batch(), sh.seqLen(), a)), dO);
                a[r] = a0;
                assertThat(g.dRouterLogit()[r]).as("%s da[%d]", what, r)
                        .isCloseTo((up - down) / (2 * H), within(TOLERANCE));
            }
        }
    }

    /** {@code <dO, O>} with the reference's O. */
    static double loss(ReferenceAttention ref, AttentionInputs in, double[] dO) {
        double[] o = ref.forward(in).o();
        double s = 0;
        for (int n = 0; n < o.length; n++) {
            s += dO[n] * o[n];
        }
        return s;
    }

    private static AttentionInputs with(AttentionInputs in, String which, double[] x) {
        AttentionInputs.Builder b = in.toBuilder();
        return (which.equals("q") ? b.q(x) : which.equals("k") ? b.k(x) : b.v(x)).build();
    }
}
