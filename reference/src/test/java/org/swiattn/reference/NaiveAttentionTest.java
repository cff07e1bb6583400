package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;

/** The naive yardstick's errors sit where each precision's unit roundoff puts them. */
class NaiveAttentionTest {

    @Test
    void errorsScaleWithThePrecision() {
        AttentionInputs in = TestCases.random(3, new Shape(1, 64, 4, 2, 32), 16, Estimator.SOFT);
        double[] dO = TestCases.uniform(new Random(1), in.shape().qSize(), 1);
        ReferenceAttention ref = new ReferenceAttention();
        double[] exact = ref.forward(in).o();
        BackwardResult exactGrad = ref.backward(in, dO);
        double e64 = ErrorMeasures.normwiseRelative(new NaiveAttention(Precision.FP64).forward(in).o(), exact);
        double e32 = ErrorMeasures.normwiseRelative(new NaiveAttention(Precision.FP32).forward(in).o(), exact);
        double e16 = ErrorMeasures.normwiseRelative(new NaiveAttention(Precision.BF16).forward(in).o(), exact);
        assertThat(e64).isLessThan(1e-14);
        assertThat(e32).isBetween(1e-9, 1e-5);       // u32 = 6e-8
        assertThat(e16).isBetween(1e-4, 3e-2);       // u16 = 3.9e-3
        BackwardResult g16 = new NaiveAttention(Precision.BF16).backward(in, dO);
        BackwardResult g64 = new NaiveAttention(Precision.FP64).backward(in, dO);
        assertThat(ErrorMeasures.normwiseRelative(g64.dq(), exactGrad.dq())).isLessThan(1e-13);
        assertThat(ErrorMeasures.normwiseRelative(g64.dRouterLogit(), exactGrad.dRouterLogit())).isLessThan(1e-13);
        assertThat(ErrorMeasures.normwiseRelative(g16.dk(), exactGrad.dk())).isBetween(1e-4, 1e-1);
    }
}
