package org.swiattn.reference;

import java.util.Random;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;

/** Small random inputs for the reference module's own tests (the full suite lives in properties/). */
final class TestCases {
    private TestCases() {
    }

    static double[] uniform(Random rnd, int n, double amplitude) {
        double[] x = new double[n];
        for (int k = 0; k < n; k++) {
            x[k] = amplitude * (2 * rnd.nextDouble() - 1);
        }
        return x;
    }

    /** Random inputs with router logits in [-3, 3] (z mixed) for the given estimator. */
    static AttentionInputs random(long seed, Shape sh, int window, Estimator est) {
        Random rnd = new Random(seed);
        double[] logits = uniform(rnd, sh.rows(), 3.0);
        return AttentionInputs.builder(sh)
                .q(uniform(rnd, sh.qSize(), 1.5)).k(uniform(rnd, sh.kvSize(), 1.5)).v(uniform(rnd, sh.kvSize(), 1.0))
                .window(window).route(Route.ofLogits(sh.batch(), sh.seqLen(), logits)).estimator(est).build();
    }
}
