package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import net.jqwik.api.Assume;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Visibility;
import org.swiattn.training.AdaptiveRegularizer.Budget;
import org.swiattn.training.AdaptiveRegularizer.Measure;
import org.swiattn.training.AdaptiveRegularizer.Penalty;

/** The adaptive regularizer: gradient, multiplier dynamics, the COST measure, the target schedule. */
class RegularizerProperties {

    private static double[][] probabilities(SplitMix64 rng, int layers, int n) {
        double[][] p = new double[layers][n];
        for (double[] row : p) {
            for (int r = 0; r < n; r++) {
                row[r] = 0.02 + 0.96 * rng.nextDouble();
            }
        }
        return p;
    }

    @Property(tries = 120)
    void gradientMatchesFiniteDifferences(@ForAll Measure measure, @ForAll Budget budget, @ForAll Penalty penalty,
                                          @ForAll @IntRange(min = 1, max = 3) int layers,
                                          @ForAll @IntRange(min = 1, max = 2) int batch,
                                          @ForAll @IntRange(min = 1, max = 9) int seqLen,
                                          @ForAll @IntRange(min = 1, max = 10) int window,
                                          @ForAll @DoubleRange(min = 0.0, max = 1.0) double target,
                                          @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        Statistics.label("measure").collect(measure);
        Statistics.label("budget").collect(budget);
        Statistics.label("penalty").collect(penalty);
        Statistics.label("window covers sequence").collect(window >= seqLen);
        SplitMix64 rng = new SplitMix64(seed);
        var cfg = new AdaptiveRegularizer.Config(measure, budget, penalty, 0.1, new TargetSchedule(1, target, 0));
        AdaptiveRegularizer reg = new AdaptiveRegularizer(cfg, layers);
        int k = budget == Budget.GLOBAL ? 1 : layers;
        double[] l1 = Fd.uniform(rng, k, 2);
        double[] l2 = new double[k];
        for (int j = 0; j < k; j++) {
            l2[j] = 3 * rng.nextDouble();
        }
        reg.setLambdas(l1, l2);
        double[][] p = probabilities(rng, layers, batch * seqLen);
        AdaptiveRegularizer.Result res = reg.evaluate(p, batch, seqLen, window, 0);
        for (double rk : res.budgetRatios()) {
            Assume.that(Math.abs(rk - target) > 1e-4);   // away from the hinge's kink
        }
        double h = 1e-6;
        double floor = Fd.roundoff(res.value(), h);   // the rounding error of the differences, not of dL/dp
        for (int l = 0; l < layers; l++) {
            for (int r = 0; r < batch * seqLen; r++) {
                final int ll = l;
                double[] row = p[ll];
                double fd = Fd.central(row, r, h, () -> reg.evaluate(p, batch, seqLen, window, 0).value());
                assertThat(Fd.close(res.dLdp()[l][r], fd, 1e-6, floor / 1e-6)).as("dL/dp[%d][%d] %s vs fd %s", l, r,
                        res.dLdp()[l][r], fd).isTrue();
            }
        }
        // the ascent directions are the derivatives of the value in the multipliers (value is linear in them)
        for (int j = 0; j < k; j++) {
            double[] a1 = l1.clone();
            a1[j] += 1;
            reg.setLambdas(a1, l2);
            double v1 = reg.evaluate(p, batch, seqLen, window, 0).value();
            double[] a2 = l2.clone();
            a2[j] += 1;
            reg.setLambdas(l1, a2);
            double v2 = reg.evaluate(p, batch, seqLen, window, 0).value();
            assertThat(v1 - res.value()).isCloseTo(res.dLdLambda1()[j], org.assertj.core.data.Offset.offset(1e-12));
            assertThat(v2 - res.value()).isCloseTo(res.dLdLambda2()[j], org.assertj.core.data.Offset.offset(1e-12));
        }
    }

    @Property(tries = 60)
    void lambdaRisesAboveTargetAndFallsBelow(@ForAll Budget budget, @ForAll Penalty penalty,
                                             @ForAll @IntRange(min = 1, max = 3) int layers,
                                             @ForAll @DoubleRange(min = 0.05, max = 0.95) double target,
                                             @ForAll @DoubleRange(min = 0.0, max = 1.0) double level,
                                             @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        Assume.that(Math.abs(level - target) > 1e-3);
        int batch = 2;
        int seqLen = 7;
        var cfg = new AdaptiveRegularizer.Config(Measure.TOKEN, budget, penalty, 0.5, new TargetSchedule(1, target, 0));
        AdaptiveRegularizer reg = new AdaptiveRegularizer(cfg, layers);
        double[][] p = new double[layers][batch * seqLen];
        for (double[] row : p) {
            Arrays.fill(row, level);   // every budget sees R = level
        }
        double[] before1 = reg.lambda1();
        double[] before2 = reg.lambda2();
        for (int step = 0; step < 5; step++) {
            reg.ascend(reg.evaluate(p, batch, seqLen, 3, step));
            double[] now1 = reg.lambda1();
            double[] now2 = reg.lambda2();
            for (int j = 0; j < now1.length; j++) {
                if (level > target) {
                    assertThat(now1[j]).as("lambda1 rises while R > t").isGreaterThan(before1[j]);
                    assertThat(now2[j]).as("lambda2 rises while R > t").isGreaterThan(before2[j]);
                } else if (penalty == Penalty.TWO_SIDED) {
                    assertThat(now1[j]).as("lambda1 falls while R < t").isLessThan(before1[j]);
                    assertThat(now2[j]).as("lambda2 never falls").isGreaterThanOrEqualTo(before2[j]);
                } else {
                    assertThat(now1[j]).as("hinge: lambda1 stays while R < t").isEqualTo(before1[j]);
                    assertThat(now2[j]).as("hinge: lambda2 stays while R < t").isEqualTo(before2[j]);
                }
            }
            before1 = now1;
            before2 = now2;
        }
    }

    @Property(tries = 50)
    void lambdaTurnsWhenTheRatioCrossesTheTarget(@ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        // a single layer's probabilities fall steadily from 0.9 to 0.1 across the target 0.5:
        // lambda1 must rise exactly while R > 0.5 and fall exactly while R < 0.5 (TWO_SIDED)
        SplitMix64 rng = new SplitMix64(seed);
        var cfg = AdaptiveRegularizer.Config.defaults(0.5, 0).withMeasure(Measure.TOKEN);
        AdaptiveRegularizer reg = new AdaptiveRegularizer(cfg, 1);
        double prev = reg.lambda1()[0];
        int steps = 9;
        for (int s = 0; s < steps; s++) {
            double level = 0.9 - 0.1 * s + 0.01 * (rng.nextDouble() - 0.5) * (s == 4 ? 0 : 1);
            double[][] p = {new double[5]};
            Arrays.fill(p[0], level);
            reg.ascend(reg.evaluate(p, 1, 5, 2, s));
            double now = reg.lambda1()[0];
            if (level > 0.5) {
                assertThat(now).isGreaterThan(prev);
            } else if (level < 0.5) {
                assertThat(now).isLessThan(prev);
            } else {
                assertThat(now).isEqualTo(prev);
            }
            prev = now;
        }
    }

    @Property(tries = 150)
    void costMeasureOfAHardRouteCountsVisiblePairs(@ForAll @IntRange(min = 1, max = 3) int batch,
                                                   @ForAll @IntRange(min = 1, max = 40) int seqLen,
                                                   @ForAll @IntRange(min = 1, max = 48) int window,
                                                   @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        Statistics.label("window vs S").collect(window == 1 ? "w=1" : window < seqLen ? "w<S" : "w>=S");
        SplitMix64 rng = new SplitMix64(seed);
        boolean[] z = new boolean[batch * seqLen];
        double[] p = new double[z.length];
        for (int r = 0; r < z.length; r++) {
            z[r] = rng.nextInt(2) == 1;
            p[r] = z[r] ? 1 : 0;
        }
        // brute force: count (query, key) pairs visible under the route, and under all-full
        long pairs = 0;
        long fullPairs = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < seqLen; i++) {
                for (int j = 0; j < seqLen; j++) {
                    pairs += Visibility.visible(i, j, z[b * seqLen + i], window) ? 1 : 0;
                    fullPairs += Visibility.visible(i, j, true, window) ? 1 : 0;
                }
            }
            assertThat(Visibility.visiblePairs(Arrays.copyOfRange(z, b * seqLen, (b + 1) * seqLen), window))
                    .isGreaterThan(0);
        }
        double expected = (double) pairs / fullPairs;
        double r = AdaptiveRegularizer.expectedRatio(Measure.COST, p, batch, seqLen, window);
        assertThat(Math.abs(r - expected)).isLessThanOrEqualTo(4 * Math.ulp(expected));
        assertThat(AdaptiveRegularizer.hardRatio(Measure.COST, z, batch, seqLen, window)).isEqualTo(expected);
        // TOKEN counts tokens
        int full = 0;
        for (boolean f : z) {
            full += f ? 1 : 0;
        }
        assertThat(AdaptiveRegularizer.hardRatio(Measure.TOKEN, z, batch, seqLen, window))
                .isEqualTo((double) full / z.length);
    }

    @Property(tries = 100)
    void targetScheduleHitsItsEndpoints(@ForAll @DoubleRange(min = 0, max = 1) double start,
                                        @ForAll @DoubleRange(min = 0, max = 1) double end,
                                        @ForAll @IntRange(min = 0, max = 5000) int warmup,
                                        @ForAll @IntRange(min = 0, max = 10000) int later) {
        Statistics.label("warmup").collect(warmup == 0 ? "0" : warmup == 1 ? "1" : ">1");
        TargetSchedule t = new TargetSchedule(start, end, warmup);
        assertThat(t.target(0)).isEqualTo(warmup == 0 ? end : start);
        assertThat(t.target(warmup)).isEqualTo(end);
        assertThat(t.target((long) warmup + later)).isEqualTo(end);
        // monotone between the endpoints
        double prev = t.target(0);
        for (int s = 1; s <= Math.min(warmup, 50); s++) {
            double now = t.target(s);
            assertThat((now - prev) * (end - start)).isGreaterThanOrEqualTo(0);
            assertThat(now).isBetween(Math.min(start, end), Math.max(start, end));
            prev = now;
        }
        if (warmup >= 2) {
            assertThat(t.target(warmup / 2)).isCloseTo(start + (end - start) * ((warmup / 2) / (double) warmup),
                    org.assertj.core.data.Offset.offset(1e-15));
        }
    }

    @Property(tries = 60)
    void perLayerBudgetEqualsGlobalWhenLayersAgree(@ForAll Measure measure, @ForAll Penalty penalty,
                                                   @ForAll @IntRange(min = 1, max = 4) int layers,
                                                   @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        SplitMix64 rng = new SplitMix64(seed);
        double[] one = probabilities(rng, 1, 6)[0];
        double[][] p = new double[layers][];
        Arrays.fill(p, one);
        double l1 = rng.nextDouble() * 2 - 1;
        double l2 = rng.nextDouble();
        var base = new AdaptiveRegularizer.Config(measure, Budget.GLOBAL, penalty, 0.1, new TargetSchedule(1, 0.3, 0));
        AdaptiveRegularizer g = new AdaptiveRegularizer(base, layers);
        g.setLambdas(new double[]{l1}, new double[]{l2});
        AdaptiveRegularizer pl = new AdaptiveRegularizer(base.withBudget(Budget.PER_LAYER), layers);
        double[] a1 = new double[layers];
        double[] a2 = new double[layers];
        Arrays.fill(a1, l1);
        Arrays.fill(a2, l2);
        pl.setLambdas(a1, a2);
        var rg = g.evaluate(p, 2, 3, 2, 0);
        var rp = pl.evaluate(p, 2, 3, 2, 0);
        assertThat(rp.value()).isCloseTo(rg.value(), org.assertj.core.data.Offset.offset(1e-14));
        for (int l = 0; l < layers; l++) {
            for (int r = 0; r < 6; r++) {
                assertThat(rp.dLdp()[l][r]).isCloseTo(rg.dLdp()[l][r], org.assertj.core.data.Offset.offset(1e-14));
            }
        }
    }

    @Example
    void hingeIsZeroBelowTargetAndTwoSidedIsNot() {
        double[][] p = {{0.1, 0.1, 0.1, 0.1}};
        var cfg = AdaptiveRegularizer.Config.defaults(0.5, 0).withMeasure(Measure.TOKEN);
        AdaptiveRegularizer two = new AdaptiveRegularizer(cfg, 1);
        AdaptiveRegularizer hinge = new AdaptiveRegularizer(cfg.withPenalty(Penalty.HINGE), 1);
        two.setLambdas(new double[]{1}, new double[]{1});
        hinge.setLambdas(new double[]{1}, new double[]{1});
        // u = 0.1 - 0.5 = -0.4: two-sided = -0.4 + 0.16, hinge = 0
        assertThat(two.evaluate(p, 1, 4, 2, 0).value()).isCloseTo(-0.24, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(hinge.evaluate(p, 1, 4, 2, 0).value()).isEqualTo(0.0);
        assertThat(hinge.evaluate(p, 1, 4, 2, 0).dLdp()[0]).containsOnly(0.0);
    }

    @Example
    void badInputIsNamed() {
        assertThatThrownBy(() -> AdaptiveRegularizer.expectedRatio(Measure.COST, new double[]{0.5, 1.5}, 1, 2, 1))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("p").hasMessageContaining("1.5");
        assertThatThrownBy(() -> AdaptiveRegularizer.expectedRatio(Measure.COST, new double[3], 1, 2, 1))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("B*S");
        assertThatThrownBy(() -> AdaptiveRegularizer.expectedRatio(Measure.COST, new double[2], 1, 2, 0))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("window");
        assertThatThrownBy(() -> new TargetSchedule(1, 1.2, 3)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("targetFinal").hasMessageContaining("1.2");
        assertThatThrownBy(() -> new TargetSchedule(1, 0.2, -1)).hasMessageContaining("warmup");
        assertThatThrownBy(() -> new AdaptiveRegularizer(AdaptiveRegularizer.Config.defaults(0.2, 0), 2)
                .evaluate(new double[1][4], 1, 4, 2, 0)).hasMessageContaining("L = 2");
    }
}
