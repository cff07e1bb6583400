package org.swiattn.reference;

import java.util.Random;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
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

    /**
     * Random inputs over a segment table (q [B*Sq,Hq,D], k, v [B*Sk,Hkv,D]), router logits in [-3, 3]; key rows
     * outside every segment hold {@code unused} (NaN is allowed there).
     */
    static AttentionInputs random(long seed, Shape sh, Segments seg, int window, Estimator est, double unused) {
        Random rnd = new Random(seed);
        double[] logits = uniform(rnd, sh.rows(), 3.0);
        double[] k = uniform(rnd, sh.kvSize(), 1.5);
        double[] v = uniform(rnd, sh.kvSize(), 1.0);
        AttentionInputs in = AttentionInputs.builder(sh).q(uniform(rnd, sh.qSize(), 1.5)).k(k).v(v)
                .window(window).route(Route.ofLogits(sh.batch(), sh.seqLen(), logits)).estimator(est)
                .segments(seg).build();
        return fillUnusedKeys(in, unused);
    }

    /** A copy of the inputs whose key rows outside every segment hold {@code value} in k and v. */
    static AttentionInputs fillUnusedKeys(AttentionInputs in, double value) {
        Shape sh = in.shape();
        int kvd = sh.kvHeads() * sh.headDim();
        double[] k = in.k().clone();
        double[] v = in.v().clone();
        for (int kr = 0; kr < sh.kvRows(); kr++) {
            if (!in.segments().keyRowUsed(kr)) {
                java.util.Arrays.fill(k, kr * kvd, (kr + 1) * kvd, value);
                java.util.Arrays.fill(v, kr * kvd, (kr + 1) * kvd, value);
            }
        }
        return in.toBuilder().k(k).v(v).build();
    }
}
