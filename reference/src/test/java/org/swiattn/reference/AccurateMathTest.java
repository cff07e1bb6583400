package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.apache.commons.math3.dfp.Dfp;
import org.apache.commons.math3.dfp.DfpField;
import org.apache.commons.math3.util.MathArrays;
import org.junit.jupiter.api.Test;

class AccurateMathTest {

    /** Ill-conditioned dot products (heavy cancellation): Dot2 agrees with the exact value to rounding. */
    @Test
    void dotIsAccurateUnderCancellation() {
        Random rnd = new Random(1);
        DfpField field = new DfpField(60);
        int checked = 0;
        for (int t = 0; t < 200; t++) {
            int n = 1 + rnd.nextInt(64);
            double[] a = new double[2 * n];
            double[] b = new double[2 * n];
            for (int k = 0; k < n; k++) {
                a[k] = Math.scalb(rnd.nextDouble() - 0.5, rnd.nextInt(40) - 20);
                b[k] = rnd.nextDouble() - 0.5;
                a[n + k] = a[k];
                b[n + k] = -b[k] * (1 + 1e-12 * rnd.nextGaussian());   // nearly cancels term k
            }
            Dfp exact = field.getZero();
            for (int k = 0; k < 2 * n; k++) {
                exact = exact.add(field.newDfp(a[k]).multiply(field.newDfp(b[k])));
            }
            double e = exact.toDouble();
            double ours = AccurateMath.dot(a, 0, b, 0, 2 * n);
            assertThat(Math.abs(ours - e)).isLessThanOrEqualTo(2 * Math.ulp(e) + 1e-300);
            assertThat(Math.abs(MathArrays.linearCombination(a, b) - e)).isLessThanOrEqualTo(2 * Math.ulp(e) + 1e-300);
            checked++;
        }
        assertThat(checked).isEqualTo(200);
    }
}
