package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.training.demo.RecallTask;
import org.swiattn.training.model.AdamW;
import org.swiattn.training.model.Checkpoint;
import org.swiattn.training.model.Decoder;
import org.swiattn.training.model.LmLoss;
import org.swiattn.training.model.ModelConfig;

/** One continual-pretraining step: AdamW, lambda ascent, determinism, losses. */
class ContinualPretrainingTest {
    private static final RecallTask TASK = new RecallTask(3, 3, 2, 12, 2, 2);
    private static final ModelConfig CFG = ModelConfig.of(TASK.vocab(), 8, 2, 2, 1, 4, 12, 3);

    private static ContinualPretraining cpt(Checkpoint ck, int shards, int threads, AdaptiveRegularizer reg) {
        AdamW opt = AdamW.forLayout(ck.layout(), 0.9, 0.95, 1e-8, 0.1, 5.0, 0.0);
        var st = new ContinualPretraining.Settings(Decoder.Mode.ROUTED, Estimator.STRAIGHT_THROUGH, 0.0, 1.0, shards,
                threads);
        return new ContinualPretraining(new Decoder(new ReferenceAttention(false)), ck, opt, reg, null, st);
    }

    private static AdaptiveRegularizer reg() {
        return new AdaptiveRegularizer(AdaptiveRegularizer.Config.defaults(0.3, 2), CFG.layers());
    }

    @Test
    void firstAdamWStepIsSignLikeWithDecoupledDecay() {
        // after one step m_hat = g, v_hat = g^2: theta1 = theta0 (1 - lr wd_k) - lr_k g / (|g| + eps)
        int p = 5;
        double[] theta = {1.0, -2.0, 0.5, 3.0, -1.0};
        double[] g = {0.3, -1e-3, 0.0, 7.0, -2.0};
        double[] scale = {1, 1, 2, 1, 1};
        double[] decay = {1, 0, 1, 0, 0.5};
        AdamW opt = new AdamW(0.9, 0.999, 1e-8, 0.1, scale, decay);
        double lr = 0.01;
        double[] t = theta.clone();
        opt.step(t, g, lr);
        for (int k = 0; k < p; k++) {
            double lrk = lr * scale[k];
            double expect = theta[k] * (1 - lrk * 0.1 * decay[k]) - lrk * g[k] / (Math.abs(g[k]) + 1e-8);
            assertThat(t[k]).as("theta[%d]", k).isCloseTo(expect, org.assertj.core.data.Offset.offset(1e-15));
        }
    }

    @Test
    void stepIsReproducibleWhateverTheThreadCount() {
        Checkpoint a = Transfer.toHybrid(Checkpoint.init(CFG, 7));
        Checkpoint b = a.copy();
        int batch = 4;
        int[] tok = new int[batch * TASK.seqLen()];
        int[] tgt = new int[tok.length];
        SplitMix64 rng = new SplitMix64(3);
        try (ContinualPretraining one = cpt(a, 2, 1, reg()); ContinualPretraining two = cpt(b, 2, 2, reg())) {
            for (int s = 0; s < 4; s++) {
                TASK.sample(rng, batch, tok, tgt);
                var ra = one.step(tok, tgt, batch, TASK.seqLen(), 0.01);
                var rb = two.step(tok, tgt, batch, TASK.seqLen(), 0.01);
                assertThat(ra.totalLoss()).isEqualTo(rb.totalLoss());
                assertThat(ra.lambda1()).isEqualTo(rb.lambda1());
            }
        }
        assertThat(b.weights()).isEqualTo(a.weights());
    }

    @Test
    void shardingChangesOnlyRounding() {
        Checkpoint a = Transfer.toHybrid(Checkpoint.init(CFG, 11));
        Checkpoint b = a.copy();
        int batch = 4;
        int[] tok = new int[batch * TASK.seqLen()];
        int[] tgt = new int[tok.length];
        TASK.sample(new SplitMix64(5), batch, tok, tgt);
        try (ContinualPretraining one = cpt(a, 1, 1, reg()); ContinualPretraining four = cpt(b, 4, 2, reg())) {
            var ra = one.step(tok, tgt, batch, TASK.seqLen(), 0.01);
            var rb = four.step(tok, tgt, batch, TASK.seqLen(), 0.01);
            assertThat(rb.lmLoss()).isCloseTo(ra.lmLoss(), org.assertj.core.data.Offset.offset(1e-13));
            double diff = 0;
            double norm = 0;
            for (int k = 0; k < ra.grad().length; k++) {
                diff = Math.max(diff, Math.abs(ra.grad()[k] - rb.grad()[k]));
                norm = Math.max(norm, Math.abs(ra.grad()[k]));
            }
            assertThat(diff).isLessThanOrEqualTo(1e-12 * Math.max(1, norm));
        }
    }

    @Test
    void lambdasAscendOnTheStepsRatioAndRouterStatsAgree() {
        Checkpoint ck = Transfer.toHybrid(Checkpoint.init(CFG, 13));
        AdaptiveRegularizer reg = reg();
        int batch = 3;
        int[] tok = new int[batch * TASK.seqLen()];
        int[] tgt = new int[tok.length];
        SplitMix64 rng = new SplitMix64(9);
        double[] before = reg.lambda1();
        try (ContinualPretraining c = cpt(ck, 1, 1, reg)) {
            for (int s = 0; s < 3; s++) {
                TASK.sample(rng, batch, tok, tgt);
                var r = c.step(tok, tgt, batch, TASK.seqLen(), 0.01);
                double u = r.regularizer().budgetRatios()[0] - r.regularizer().target();
                assertThat(r.step()).isEqualTo(s);
                assertThat(r.regularizer().target()).isEqualTo(TargetSchedule.fromFull(0.3, 2).target(s));
                assertThat(r.lambda1()[0]).isCloseTo(before[0] + 0.05 * u, org.assertj.core.data.Offset.offset(1e-15));
                before = r.lambda1();
                // at transfer every token is on full: stats see ratio 1 and the COST measure of p0 = 0.99
                if (s == 0) {
                    assertThat(r.stats().tokenRatio()).containsOnly(1.0);
                    assertThat(r.stats().costRatio()).containsOnly(1.0);
                    assertThat(r.regularizer().layerRatios()[0]).isBetween(0.98, 1.0);
                    assertThat(r.regLoss()).isEqualTo(0.0);   // lambdas start at 0
                }
                assertThat(r.totalLoss()).isEqualTo(r.lmLoss() + r.regLoss());
            }
        }
    }

    @Test
    void fullTrainingReducesTheLossOnAFixedBatch() {
        Checkpoint ck = Checkpoint.init(CFG, 17);
        int batch = 4;
        int[] tok = new int[batch * TASK.seqLen()];
        int[] tgt = new int[tok.length];
        TASK.sample(new SplitMix64(1), batch, tok, tgt);
        AdamW opt = AdamW.forLayout(ck.layout(), 0.9, 0.95, 1e-8, 0.0, 1.0, 0.0);
        var st = ContinualPretraining.Settings.simple(Decoder.Mode.FULL, Estimator.HARD);
        try (ContinualPretraining c = new ContinualPretraining(new Decoder(new ReferenceAttention(false)), ck, opt, null,
                null, st)) {
            double first = c.step(tok, tgt, batch, TASK.seqLen(), 0.01).lmLoss();
            double last = first;
            for (int s = 0; s < 40; s++) {
                last = c.step(tok, tgt, batch, TASK.seqLen(), 0.01).lmLoss();
            }
            assertThat(last).isLessThan(0.2 * first);
        }
    }

    @Property(tries = 40)
    void lossGradientsMatchFiniteDifferences(@ForAll @IntRange(min = 1, max = 4) int n,
                                             @ForAll @IntRange(min = 2, max = 6) int v,
                                             @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        SplitMix64 rng = new SplitMix64(seed);
        double[] logits = Fd.uniform(rng, n * v, 3);
        double[] teacher = Fd.uniform(rng, n * v, 3);
        int[] tg = new int[n];
        for (int r = 0; r < n; r++) {
            tg[r] = r == 0 ? rng.nextInt(v) : rng.nextInt(v + 1) - 1;
        }
        LmLoss.Result ce = LmLoss.crossEntropy(logits, tg, v);
        LmLoss.Result kd = LmLoss.distillation(logits, teacher, tg, v);
        for (int k = 0; k < logits.length; k++) {
            double fce = Fd.central(logits, k, 1e-6, () -> LmLoss.crossEntropy(logits, tg, v).value());
            double fkd = Fd.central(logits, k, 1e-6, () -> LmLoss.distillation(logits, teacher, tg, v).value());
            assertThat(Fd.close(ce.dLogits()[k], fce, 1e-6, 1e-2)).isTrue();
            assertThat(Fd.close(kd.dLogits()[k], fkd, 1e-6, 1e-2)).isTrue();
        }
        assertThat(LmLoss.distillation(logits, logits, tg, v).value()).isCloseTo(0.0,
                org.assertj.core.data.Offset.offset(1e-14));
    }

    @Test
    void badInputIsNamed() {
        Checkpoint full = Checkpoint.init(CFG, 1);
        assertThatThrownBy(() -> Transfer.toHybrid(full, 0.5)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("p0").hasMessageContaining("0.5");
        assertThatThrownBy(() -> Transfer.toHybrid(Transfer.toHybrid(full))).hasMessageContaining("already");
        assertThatThrownBy(() -> cpt(full, 1, 1, reg())).hasMessageContaining("hybrid");
        assertThatThrownBy(() -> new Decoder(new ReferenceAttention(false)).forward(full, new int[]{0, 99}, 1, 2,
                Decoder.Mode.FULL, Estimator.HARD)).hasMessageContaining("tokens").hasMessageContaining("99");
        assertThatThrownBy(() -> LmLoss.crossEntropy(new double[4], new int[]{-1, -1}, 2))
                .hasMessageContaining("targets");
        assertThatThrownBy(() -> ModelConfig.of(5, 4, 1, 3, 2, 4, 4, 2)).hasMessageContaining("qHeads");
        assertThatThrownBy(() -> ModelConfig.of(5, 4, 1, 2, 2, 3, 4, 2)).hasMessageContaining("headDim");
        int[] t = new int[3];
        assertThatThrownBy(() -> TASK.sample(new SplitMix64(1), 1, t, t)).hasMessageContaining("B*S");
        assertThat(Arrays.stream(new int[]{TASK.gap()}).sum()).isEqualTo(12 - 2 - 2 + 1);
    }
}
