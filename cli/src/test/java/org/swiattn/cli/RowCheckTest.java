package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.swiattn.golden.SplitMix64;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/** The bench's sampled-row judgement on the CPU: candidates of known quality on a small packed call. */
class RowCheckTest {
    private static final Shape SH = new Shape(1, 24, 2, 1, 16);

    /** Packed inputs of bf16 values (what the device holds). */
    private static AttentionInputs inputs() {
        double[] q = new double[SH.qSize()];
        double[] k = new double[SH.kvSize()];
        double[] v = new double[SH.kvSize()];
        SplitMix64.fill(3, "q", 1, q);
        SplitMix64.fill(3, "k", 1, k);
        SplitMix64.fill(3, "v", 1, v);
        for (double[] x : new double[][] {q, k, v}) {
            for (int n = 0; n < x.length; n++) {
                x[n] = Bf16.round(x[n]);
            }
        }
        boolean[] z = BenchRoutes.mask("0.5", 1, 24, 5);
        return AttentionInputs.builder(SH).q(q).k(k).v(v).window(4).route(Route.ofMask(1, 24, z))
                .estimator(Estimator.HARD).segments(Segments.packedSelf(SH, new int[] {0, 5, 17, 24})).build();
    }

    private static RowCheck.Reader of(ForwardResult f, double factor) {
        int hd = SH.qHeads() * SH.headDim();
        return r -> new double[][] {Arrays.stream(Arrays.copyOfRange(f.o(), r * hd, (r + 1) * hd))
                .map(x -> x * factor).toArray(), Arrays.copyOfRange(f.lse(), r * SH.qHeads(), (r + 1) * SH.qHeads())};
    }

    @Test
    void rowsAreTheLastTheDeepestOfTheLongestDocumentAndSeededDraws() {
        int[] rows = RowCheck.rows(inputs(), 5, 11);  // documents 0..4, 5..16, 17..23: the longest ends at 16
        assertThat(rows).hasSize(5).startsWith(23, 16).containsExactly(RowCheck.rows(inputs(), 5, 11));
        assertThat(Arrays.stream(rows).allMatch(r -> r >= 0 && r < 24)).isTrue();
    }

    @Test
    void theNaiveBf16ResultPassesAndAPerturbedOneFails() {
        AttentionInputs in = inputs();
        int[] rows = RowCheck.rows(in, 4, 1);
        RowCheck.Result naive = RowCheck.judge(in, Precision.BF16, rows, of(new NaiveAttention(Precision.BF16)
                .forward(in), 1.0));
        assertThat(naive.pass()).as(naive.describe()).isTrue();
        assertThat(naive.errO()).isGreaterThan(0);
        assertThat(naive.bound()).isGreaterThan(1e-3);  // 2 e_naive + atol
        RowCheck.Result off = RowCheck.judge(in, Precision.BF16, rows, of(new ReferenceAttention().forward(in), 1.05));
        assertThat(off.pass()).as(off.describe()).isFalse();
        assertThat(off.describe()).contains("FAIL");
        RowCheck.Result exact = RowCheck.judge(in, Precision.FP64, rows, of(new ReferenceAttention().forward(in), 1.0));
        assertThat(exact.pass()).isTrue();
        assertThat(exact.errLse()).isZero();
        assertThat(RowCheck.Result.NONE.pass()).isTrue();
        assertThat(RowCheck.Result.NONE.describe()).isEqualTo("not checked");
    }
}
