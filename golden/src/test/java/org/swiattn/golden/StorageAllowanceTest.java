package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Tolerance;

/**
 * The storage allowance of SPEC.md section 10: rounding a candidate's tensor to a coarser storage format adds at
 * most u (its unit roundoff) to the normwise error, and only tensors the naive yardstick keeps more finely gain it.
 */
class StorageAllowanceTest {
    @Test
    void roundingToBf16StaysWithinTheAllowance() {
        SplittableRandom r = new SplittableRandom(12);
        double u = TensorCheck.storageRoundoff(Dtype.BF16);
        assertThat(u).isEqualTo(0x1p-8);
        double worst = 0;
        for (int trial = 0; trial < 200; trial++) {
            double[] ref = new double[1 + r.nextInt(300)];
            double[] x = new double[ref.length];
            double shift = r.nextDouble(-20, 20);
            for (int n = 0; n < ref.length; n++) {
                ref[n] = shift + r.nextDouble(-5, 5);   // LSE-like values
                x[n] = ref[n] * (1 + r.nextDouble(-1e-4, 1e-4));   // a candidate's own small error
            }
            double own = ErrorMeasures.normwiseRelative(x, ref);
            double[] stored = new double[x.length];
            for (int n = 0; n < x.length; n++) {
                stored[n] = Bf16.round(x[n]);
            }
            double e = ErrorMeasures.normwiseRelative(stored, ref);
            assertThat(e).isLessThanOrEqualTo(Tolerance.withStorage(own, u, 0x1p-24));
            worst = Math.max(worst, e / u);
        }
        assertThat(worst).as("the allowance is not far looser than the rounding").isGreaterThan(0.3);
    }

    @Test
    void onlyTensorsTheYardstickKeepsMoreFinelyGainTheAllowance() {
        double b = 1e-3;
        double u = 0x1p-8;
        assertThat(Tolerance.withStorage(b, u, TensorCheck.yardstickRoundoff(Precision.BF16, "lse")))
                .isEqualTo(u + (1 + u) * b);
        assertThat(Tolerance.withStorage(b, u, TensorCheck.yardstickRoundoff(Precision.BF16, "lse_all")))
                .isEqualTo(u + (1 + u) * b);
        assertThat(Tolerance.withStorage(b, u, TensorCheck.yardstickRoundoff(Precision.BF16, "o"))).isEqualTo(b);
        assertThat(Tolerance.withStorage(b, u, TensorCheck.yardstickRoundoff(Precision.BF16, "dq_rows")))
                .isEqualTo(b);
        assertThat(Tolerance.withStorage(b, TensorCheck.storageRoundoff(Dtype.F32),
                TensorCheck.yardstickRoundoff(Precision.BF16, "lse"))).isEqualTo(b);
        assertThat(Tolerance.withStorage(b, u, TensorCheck.yardstickRoundoff(Precision.FP32, "o")))
                .isEqualTo(u + (1 + u) * b);
    }
}
