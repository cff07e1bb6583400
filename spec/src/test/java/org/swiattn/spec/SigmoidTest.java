package org.swiattn.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SigmoidTest {

    @Test
    void valuesAtZeroAndSymmetry() {
        assertThat(Sigmoid.of(0.0)).isEqualTo(0.5);
        assertThat(Sigmoid.complement(0.0)).isEqualTo(0.5);
        for (double a = -40; a <= 40; a += 0.37) {
            assertThat(Sigmoid.of(a) + Sigmoid.complement(a)).isCloseTo(1.0, within(2 * Math.ulp(1.0)));
            assertThat(Sigmoid.complement(a)).isEqualTo(Sigmoid.of(-a));
        }
    }

    @Test
    void complementDoesNotCancelWhenPIsNearOne() {
        // sigmoid(-a) = e^-a / (1 + e^-a) = e^-a (1 - e^-a + ...): at a = 30 the series is exact to 1e-26 relative
        double a = 30;
        double e = Math.exp(-a);
        double expected = e * (1 - e);
        assertThat(Sigmoid.complement(a)).isCloseTo(expected, within(2 * Math.ulp(expected)));
        // the subtraction keeps only a few digits of the same quantity
        double bySubtraction = 1.0 - Sigmoid.of(a);
        assertThat(Math.abs(bySubtraction - expected) / expected).isGreaterThan(1e-4);
    }

    @Test
    void noOverflowForLargeMagnitudes() {
        assertThat(Sigmoid.of(1000)).isEqualTo(1.0);
        assertThat(Sigmoid.of(-1000)).isEqualTo(0.0);
        assertThat(Sigmoid.complement(1000)).isEqualTo(0.0);
        assertThat(Sigmoid.of(-Double.MAX_VALUE)).isEqualTo(0.0);
        assertThat(Sigmoid.of(Double.MAX_VALUE)).isEqualTo(1.0);
    }
}
