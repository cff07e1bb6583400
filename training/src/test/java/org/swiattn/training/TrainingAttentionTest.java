package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Tolerance;
import org.swiattn.training.model.TrainingAttention;

/**
 * The demo's training-loop attention against the fp64 reference: every estimator, forward (O, LSE) and backward
 * (dQ, dK, dV, dL/da), judged by the normative fp64 tolerance.
 */
class TrainingAttentionTest {
    private static final ReferenceAttention REF = new ReferenceAttention(false);
    private static final TrainingAttention FAST = new TrainingAttention();

    record In(AttentionInputs inputs, double[] dOut) {
    }

    @Provide
    Arbitrary<In> inputs() {
        Arbitrary<Integer> b = Arbitraries.integers().between(1, 2);
        Arbitrary<Integer> s = Arbitraries.integers().between(1, 12);
        Arbitrary<Integer> kv = Arbitraries.integers().between(1, 2);
        Arbitrary<Integer> g = Arbitraries.of(1, 2, 4);
        Arbitrary<Integer> d = Arbitraries.integers().between(1, 6);
        Arbitrary<Integer> w = Arbitraries.integers().between(1, 14);
        Arbitrary<Estimator> est = Arbitraries.of(Estimator.class);
        Arbitrary<Long> seed = Arbitraries.longs().between(0, 1L << 40);
        return Combinators.combine(b, s, kv, g, d, w, est, seed).as((bb, ss, hk, gg, dd, ww, e, sd) -> {
            Shape sh = new Shape(bb, ss, hk * gg, hk, dd);
            SplitMix64 rng = new SplitMix64(sd);
            AttentionInputs in = AttentionInputs.builder(sh).q(Fd.uniform(rng, sh.qSize(), 1.5))
                    .k(Fd.uniform(rng, sh.kvSize(), 1.5)).v(Fd.uniform(rng, sh.kvSize(), 1))
                    .window(ww).route(Route.ofLogits(bb, ss, Fd.uniform(rng, sh.rows(), 3))).estimator(e).build();
            return new In(in, Fd.uniform(rng, sh.qSize(), 1));
        });
    }

    private static void judge(String what, double[] cand, double[] ref, double m) {
        double err = ErrorMeasures.normwiseRelative(cand, ref);
        Tolerance.Verdict v = Tolerance.judge(org.swiattn.spec.Precision.FP64, err, 0, m);
        assertThat(v.pass()).as("%s: error %s > bound %s", what, err, v.bound()).isTrue();
    }

    @Property(tries = 150)
    void agreesWithTheReference(@ForAll("inputs") In c) {
        AttentionInputs in = c.inputs();
        Statistics.label("estimator").collect(in.estimator());
        Statistics.label("window").collect(in.window() == 1 ? "w=1" : in.window() < in.shape().seqLen() ? "w<S"
                : "w>=S");
        Statistics.label("GQA group").collect(in.shape().groupSize());
        double m = org.swiattn.reference.ScoreMagnitude.max(in);
        ForwardResult fr = REF.forward(in);
        ForwardResult ff = FAST.forward(in);
        judge("O", ff.o(), fr.o(), m);
        judge("LSE", ff.lse(), fr.lse(), m);
        BackwardResult br = REF.backward(in, c.dOut());
        BackwardResult bf = FAST.backward(in, c.dOut());
        judge("dQ", bf.dq(), br.dq(), m);
        judge("dK", bf.dk(), br.dk(), m);
        judge("dV", bf.dv(), br.dv(), m);
        judge("dA", bf.dRouterLogit(), br.dRouterLogit(), m);
    }
}
