package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.training.model.Checkpoint;
import org.swiattn.training.model.Decoder;
import org.swiattn.training.model.LmLoss;
import org.swiattn.training.model.ModelConfig;
import org.swiattn.training.model.ParamLayout;

/** The decoder: exact transfer, and whole-model gradients against finite differences. */
class DecoderProperties {
    private static final SwitchAttention REF = new ReferenceAttention(false);

    @Provide
    Arbitrary<ModelCases.Case> tiny() {
        return ModelCases.tiny();
    }

    @Property(tries = 60)
    void hybridLogitsEqualFullLogitsExactlyAtTransfer(@ForAll("tiny") ModelCases.Case c,
                                                      @ForAll Estimator estimator) {
        Assume.that(estimator != Estimator.SOFT);   // SOFT mixes p0 oF + (1-p0) oW by definition
        Statistics.label("estimator").collect(estimator);
        Statistics.label("layers").collect(c.config().layers());
        Decoder dec = new Decoder(REF);
        Checkpoint full = Checkpoint.init(c.config(), c.seed());
        Checkpoint hybrid = Transfer.toHybrid(full);
        int[] tok = c.tokens();
        Decoder.Trace tf = dec.forward(full, tok, c.batch(), c.seqLen(), Decoder.Mode.FULL, Estimator.HARD);
        Decoder.Trace th = dec.forward(hybrid, tok, c.batch(), c.seqLen(), Decoder.Mode.ROUTED, estimator);
        assertThat(th.logits).isEqualTo(tf.logits);
        for (int l = 0; l < c.config().layers(); l++) {
            assertThat(th.route(l).fullCount()).isEqualTo(c.batch() * c.seqLen());
            for (double p : Router.probabilities(th.routerLogits[l])) {
                assertThat(p).isCloseTo(Transfer.DEFAULT_P0, org.assertj.core.data.Offset.offset(1e-15));
            }
        }
        // every tensor of the full checkpoint is carried over unchanged (shared Wq, Wk, Wv, Wo)
        for (ParamLayout.Entry e : full.layout().entries()) {
            assertThat(hybrid.tensor(e.name())).as(e.name()).isEqualTo(full.tensor(e.name()));
        }
        assertThat(hybrid.tensor("l0.router_w")).containsOnly(0.0);
    }

    /** Loss of a forward: cross entropy + the regularizer (ROUTED) at fixed multipliers. */
    private static double loss(Decoder dec, Checkpoint ck, ModelCases.Case c, Decoder.Mode mode, Estimator est,
                               AdaptiveRegularizer reg) {
        Decoder.Trace tr = dec.forward(ck, c.tokens(), c.batch(), c.seqLen(), mode, est);
        double l = LmLoss.crossEntropy(tr.logits, c.targets(), ck.config().vocab()).value();
        if (mode == Decoder.Mode.ROUTED) {
            double[][] p = new double[ck.config().layers()][];
            for (int k = 0; k < p.length; k++) {
                p[k] = Router.probabilities(tr.routerLogits[k]);
            }
            l += reg.evaluate(p, c.batch(), c.seqLen(), ck.config().window(), 0).value();
        }
        return l;
    }

    @Property(tries = 25)
    void fullAndWindowModelGradientsMatchFiniteDifferences(@ForAll("tiny") ModelCases.Case c,
                                                           @ForAll boolean window) {
        Statistics.label("mode").collect(window ? "WINDOW" : "FULL");
        checkGradient(c, window ? Decoder.Mode.WINDOW : Decoder.Mode.FULL, Estimator.HARD,
                AdaptiveRegularizer.Measure.COST);
    }

    /**
     * HARD and SOFT: the true gradient of the loss (cross entropy + L_reg). STRAIGHT_THROUGH and SELECTED_BRANCH:
     * the gradient of the smooth surrogate the estimator defines ({@link SurrogateAttention}).
     */
    @Property(tries = 48)
    void hybridModelGradientMatchesFiniteDifferences(@ForAll("tiny") ModelCases.Case c,
                                                     @ForAll Estimator estimator,
                                                     @ForAll AdaptiveRegularizer.Measure measure) {
        Statistics.label("estimator").collect(estimator);
        Statistics.label("measure").collect(measure);
        checkGradient(c, Decoder.Mode.ROUTED, estimator, measure);
    }

    private static void checkGradient(ModelCases.Case c, Decoder.Mode mode, Estimator estimator,
                                      AdaptiveRegularizer.Measure measure) {
        ModelConfig cfg = c.config();
        SplitMix64 rng = new SplitMix64(c.seed() + 17);
        Checkpoint ck = Checkpoint.init(cfg, c.seed());
        AdaptiveRegularizer reg = null;
        if (mode == Decoder.Mode.ROUTED) {
            ck = Transfer.toHybrid(ck);
            // routers away from the transfer point so both branches are used
            ParamLayout lay = ck.layout();
            for (int l = 0; l < cfg.layers(); l++) {
                for (int j = 0; j < cfg.width(); j++) {
                    ck.weights()[lay.layer(l).routerW() + j] = 2 * rng.nextDouble() - 1;
                }
                ck.weights()[lay.layer(l).routerB()] = 0.6 * rng.nextDouble() - 0.3;
            }
            reg = new AdaptiveRegularizer(AdaptiveRegularizer.Config.defaults(0.3, 0).withMeasure(measure),
                    cfg.layers());
            reg.setLambdas(new double[]{rng.nextDouble() * 2 - 1}, new double[]{rng.nextDouble()});
        }
        Decoder dec = new Decoder(REF);
        Decoder.Trace tr = dec.forward(ck, c.tokens(), c.batch(), c.seqLen(), mode, estimator);
        LmLoss.Result ce = LmLoss.crossEntropy(tr.logits, c.targets(), cfg.vocab());
        double[][] dExtra = null;
        if (mode == Decoder.Mode.ROUTED) {
            double[][] p = new double[cfg.layers()][];
            for (int l = 0; l < p.length; l++) {
                p[l] = Router.probabilities(tr.routerLogits[l]);
                for (double a : tr.routerLogits[l]) {
                    Assume.that(Math.abs(a) > 1e-3);   // no hard decision flips under the perturbation
                }
            }
            AdaptiveRegularizer.Result r = reg.evaluate(p, c.batch(), c.seqLen(), cfg.window(), 0);
            dExtra = new double[cfg.layers()][];
            for (int l = 0; l < p.length; l++) {
                dExtra[l] = Router.sigmoidBackward(r.dLdp()[l], p[l]);
            }
        }
        double[] grad = dec.backward(ck, tr, ce.dLogits(), dExtra);
        // finite differences through the smooth function whose gradient the estimator defines
        Decoder fdDec = dec;
        Estimator fdEst = estimator;
        if (mode == Decoder.Mode.ROUTED
                && (estimator == Estimator.STRAIGHT_THROUGH || estimator == Estimator.SELECTED_BRANCH)) {
            SurrogateAttention sur = new SurrogateAttention(estimator);
            fdDec = new Decoder(sur);
            fdDec.forward(ck, c.tokens(), c.batch(), c.seqLen(), mode, estimator);   // records z0, p0
            sur.freeze();
        }
        Decoder fd = fdDec;
        Checkpoint model = ck;
        AdaptiveRegularizer rg = reg;
        double[] w = ck.weights();
        int checks = Math.min(w.length, 70);
        for (int n = 0; n < checks; n++) {
            int k = n < 2 * cfg.layers() && mode == Decoder.Mode.ROUTED
                    ? (n % 2 == 0 ? ck.layout().layer(n / 2).routerB() : ck.layout().layer(n / 2).routerW())
                    : (int) ((n * 0x9E3779B97F4A7C15L >>> 1) % w.length);
            double num = Fd.central4(w, k, 1e-4, () -> loss(fd, model, c, mode, fdEst, rg));
            assertThat(Fd.close(grad[k], num, 2e-5, 1e-4)).as("param %d: analytic %s vs fd %s", k, grad[k], num)
                    .isTrue();
        }
    }
}
