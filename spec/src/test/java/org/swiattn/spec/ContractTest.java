package org.swiattn.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The contract's own checks; the property suite (properties/) covers every implementation. */
class ContractTest {

    @Test
    void layoutOffsetsFollowBshd() {
        Shape sh = new Shape(2, 3, 4, 2, 5);
        assertThat(sh.qOffset(1, 2, 3)).isEqualTo(((1 * 3 + 2) * 4 + 3) * 5);
        assertThat(sh.kvOffset(1, 2, 1)).isEqualTo(((1 * 3 + 2) * 2 + 1) * 5);
        assertThat(sh.kvHeadOf(0)).isZero();
        assertThat(sh.kvHeadOf(1)).isZero();
        assertThat(sh.kvHeadOf(2)).isEqualTo(1);
        assertThat(sh.lseOffset(1, 2, 3)).isEqualTo((1 * 3 + 2) * 4 + 3);
    }

    @Test
    void windowIncludesTheQueryItself() {
        // w = 3: query 5 sees keys 3, 4, 5 (FlashAttention window_size = (2, 0))
        assertThat(Visibility.firstKey(5, false, 3)).isEqualTo(3);
        assertThat(Visibility.visible(5, 2, false, 3)).isFalse();
        assertThat(Visibility.visible(5, 3, false, 3)).isTrue();
        assertThat(Visibility.visible(5, 6, true, 3)).isFalse();
        assertThat(Visibility.keyCount(1, false, 3)).isEqualTo(2);
        assertThat(Visibility.visiblePairs(new boolean[] {false, false, true, false}, 2)).isEqualTo(1 + 2 + 3 + 2);
    }

    @Test
    void routeFromLogitsSendsZeroToTheWindow() {
        Route r = Route.ofLogits(1, 3, new double[] {-1, 0, 2});
        assertThat(r.mask()).containsExactly(false, false, true);
        assertThat(r.probability(1)).isEqualTo(0.5);
    }

    @Test
    void errorsNameTheArgument() {
        assertThatThrownBy(() -> new Shape(1, 4, 3, 2, 8)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("qHeads").hasMessageContaining("qHeads=3");
        Shape sh = new Shape(1, 2, 1, 1, 1);
        AttentionInputs.Builder b = AttentionInputs.builder(sh).q(new double[] {1, 2}).k(new double[] {1, 2})
                .v(new double[] {1, Double.NaN}).window(1).route(Route.allFull(1, 2));
        assertThatThrownBy(b::build).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("v: non-finite value NaN at index 1 (b=0, i=1, h=0, d=0)");
        assertThatThrownBy(() -> b.v(new double[] {1, 2}).window(0).build())
                .hasMessage("window: must be >= 1, got 0");
        assertThatThrownBy(() -> b.window(1).estimator(Estimator.SOFT).build())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("needs router logits");
    }

    @Test
    void normwiseRelativeErrorSurvivesHugeAndTinyValues() {
        double[] ref = {3e200, 4e200};
        double[] x = {3e200, 4e200 * (1 + 1e-10)};
        assertThat(ErrorMeasures.normwiseRelative(x, ref)).isBetween(0.79e-10, 0.81e-10);
        assertThat(ErrorMeasures.normOfDifference(new double[] {3e-200, 4e-200}, null)).isEqualTo(5e-200);
    }

    @Test
    void toleranceRule() {
        assertThat(Tolerance.judge(Precision.FP64, 5e-13, 0, 0.5).pass()).isTrue();
        assertThat(Tolerance.judge(Precision.FP64, 5e-12, 0, 1).pass()).isFalse();
        assertThat(Tolerance.judge(Precision.FP64, 5e-12, 0, 1e4).pass()).isTrue();
        assertThat(Tolerance.judge(Precision.BF16, 4.9e-3, 2e-3, 0).pass()).isTrue();   // 4.9e-3 <= 2*2e-3 + 1e-3
        assertThat(Tolerance.judge(Precision.BF16, 6e-3, 2e-3, 0).pass()).isFalse();
        // spec 1.1: low-precision floor grows with the score magnitude by 8 * 2^-24 * M (fp32 LSE rounding)
        assertThat(Tolerance.judge(Precision.FP32, 1.05e-6, 0, 0).pass()).isFalse();
        assertThat(Tolerance.judge(Precision.FP32, 1.05e-6, 0, 2).pass()).isTrue();    // 1e-6 + 9.5e-7
        assertThat(Tolerance.judge(Precision.FP32, 5e-3, 0, 1e4).pass()).isFalse();    // bound 1e-6 + 4.77e-3
        assertThat(Tolerance.bound(Precision.FP32, 0, 1e4)).isEqualTo(1e-6 + 8 * 0x1p-24 * 1e4);
        assertThat(Tolerance.bound(Precision.BF16, 1e-3, 100)).isEqualTo(2e-3 + 1e-3 + 8 * 0x1p-24 * 100);
        assertThatThrownBy(() -> Tolerance.bound(Precision.FP32, 0, Double.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scoreMagnitude");
    }
}
