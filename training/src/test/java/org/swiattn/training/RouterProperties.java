package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Route;
import org.swiattn.spec.Sigmoid;

/** The router: value, hard decision, gradient against finite differences. */
class RouterProperties {

    @Property(tries = 60)
    void gradientMatchesFiniteDifferences(@ForAll @IntRange(min = 1, max = 6) int n,
                                          @ForAll @IntRange(min = 1, max = 5) int c,
                                          @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        SplitMix64 rng = new SplitMix64(seed);
        double[] x = Fd.uniform(rng, n * c, 2);
        double[] w = Fd.uniform(rng, c, 1);
        double[] bias = {rng.nextDouble() - 0.5};
        double[] u = Fd.uniform(rng, n, 1);   // loss L = sum_r u_r * sigmoid(a_r), smooth in x, w, b
        java.util.function.DoubleSupplier loss = () -> {
            double[] a = Router.logits(x, n, c, w, bias[0]);
            double s = 0;
            for (int r = 0; r < n; r++) {
                s += u[r] * Sigmoid.of(a[r]);
            }
            return s;
        };
        double[] a = Router.logits(x, n, c, w, bias[0]);
        double[] p = Router.probabilities(a);
        double[] dA = Router.sigmoidBackward(u, p);
        double[] dx = new double[n * c];
        double[] dw = new double[c];
        double[] db = new double[1];
        Router.backward(dA, x, n, c, w, dx, dw, db);
        for (int k = 0; k < x.length; k++) {
            assertThat(Fd.close(dx[k], Fd.central(x, k, 1e-6, loss), 1e-6, 1e-2)).as("dx[%d]", k).isTrue();
        }
        for (int k = 0; k < c; k++) {
            assertThat(Fd.close(dw[k], Fd.central(w, k, 1e-6, loss), 1e-6, 1e-2)).as("dw[%d]", k).isTrue();
        }
        assertThat(Fd.close(db[0], Fd.central(bias, 0, 1e-6, loss), 1e-6, 1e-2)).as("db").isTrue();
    }

    @Property(tries = 50)
    void hardDecisionIsSignOfLogitAndRouteAgrees(@ForAll @IntRange(min = 1, max = 8) int s,
                                                 @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        SplitMix64 rng = new SplitMix64(seed);
        double[] x = Fd.uniform(rng, s * 3, 1);
        double[] w = Fd.uniform(rng, 3, 1);
        double[] a = Router.logits(x, s, 3, w, 0.1);
        Route route = Router.route(1, s, a);
        for (int i = 0; i < s; i++) {
            double dot = x[i * 3] * w[0] + x[i * 3 + 1] * w[1] + x[i * 3 + 2] * w[2];
            assertThat(a[i]).isCloseTo(dot + 0.1, org.assertj.core.data.Offset.offset(1e-15));
            assertThat(route.isFull(i)).isEqualTo(a[i] > 0);
            assertThat(Sigmoid.of(a[i]) > 0.5).isEqualTo(a[i] > 0);
        }
    }

    @Example
    void zeroLogitGoesToWindowAndLogitInvertsSigmoid() {
        Route r = Router.route(1, 2, new double[]{0.0, 1e-300});
        assertThat(r.isFull(0)).isFalse();
        assertThat(r.isFull(1)).isTrue();
        for (double p : new double[]{1e-6, 0.01, 0.5, 0.99, 1 - 1e-9}) {
            assertThat(Sigmoid.of(Router.logit(p))).isCloseTo(p, org.assertj.core.data.Offset.offset(1e-15));
        }
        assertThat(Sigmoid.of(-800)).isGreaterThanOrEqualTo(0).isLessThan(1e-300);
        assertThat(Sigmoid.of(800)).isEqualTo(1.0);
    }

    @Example
    void badInputIsNamed() {
        assertThatThrownBy(() -> Router.logits(new double[5], 2, 3, new double[3], 0))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("x").hasMessageContaining("6");
        assertThatThrownBy(() -> Router.logits(new double[6], 2, 3, new double[2], 0))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("routerWeight");
        assertThatThrownBy(() -> Router.logits(new double[]{0, 0, Double.NaN, 0, 0, 0}, 2, 3, new double[3], 0))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("index 2");
        assertThatThrownBy(() -> Router.logit(1.0)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("p0");
    }
}
