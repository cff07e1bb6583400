package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * The Java worked examples of README "The four forms of a call", as written there: prefill, chunked prefill, decode
 * on a padded cache (NaN beyond each length) and packed documents, each built from the prefill's inputs so that its
 * answer is the prefill's (bit for bit in the reference). examples/python/worked_examples.py is the numpy twin; the
 * LSE values below are the ones it prints.
 */
class WorkedExamplesTest {

    @Test
    void theFourFormsAgreeWithThePrefill() {
        // README: begin
        Shape prefill = new Shape(1, 8, 2, 1, 8);                 // B, S, Hq, Hkv, D (head h reads kv head h / 2)
        double[] q = new double[8 * 2 * 8];                        // [B,S,Hq,D] = 8 flat query rows of Hq*D = 16
        double[] k = new double[8 * 1 * 8];                        // [B,S,Hkv,D] = 8 flat key rows of Hkv*D = 8
        double[] v = new double[8 * 1 * 8];
        SplitMix64.fill(7, "q", 1, q);                             // the golden generator (any values will do)
        SplitMix64.fill(7, "k", 1, k);
        SplitMix64.fill(7, "v", 1, v);
        boolean[] z = {true, false, true, true, false, false, true, false};   // route, true = full branch
        ReferenceAttention ref = new ReferenceAttention();

        // 1. prefill: the default segments (self-attention, positions 0..7)
        AttentionInputs in = AttentionInputs.builder(prefill).q(q).k(k).v(v).window(4)
                .route(Route.ofMask(1, 8, z)).build();
        ForwardResult f = ref.forward(in);

        // 2. chunked prefill: the last 3 tokens (positions 5, 6, 7) against the 8 keys of the cache
        Shape chunk = new Shape(1, 3, 2, 1, 8, 8);                // B, Sq, Hq, Hkv, D, Sk
        AttentionInputs c = AttentionInputs.builder(chunk).q(Arrays.copyOfRange(q, 5 * 16, 8 * 16)).k(k).v(v)
                .window(4).route(Route.ofMask(1, 3, Arrays.copyOfRange(z, 5, 8)))
                .segments(Segments.bottomRight(chunk)).build();
        ForwardResult fc = ref.forward(c);                         // = rows 5..7 of f

        // 3. decode: 3 sequences on a cache of capacity 8 holding 1, 8 and 5 keys (the new token's included);
        //    each cache holds the prefill's keys, NaN beyond its length (never read)
        int[] lens = {1, 8, 5};
        Shape decode = new Shape(3, 1, 2, 1, 8, 8);               // Sq = 1, Sk = capacity
        double[] qd = new double[3 * 16];
        double[] kc = new double[3 * 8 * 8];
        double[] vc = new double[3 * 8 * 8];
        boolean[] zd = new boolean[3];
        for (int b = 0; b < 3; b++) {
            int i = lens[b] - 1;                                   // the new token's position
            System.arraycopy(q, i * 16, qd, b * 16, 16);
            zd[b] = z[i];
            for (int j = 0; j < 8; j++) {
                for (int d = 0; d < 8; d++) {
                    kc[(b * 8 + j) * 8 + d] = j < lens[b] ? k[j * 8 + d] : Double.NaN;
                    vc[(b * 8 + j) * 8 + d] = j < lens[b] ? v[j * 8 + d] : Double.NaN;
                }
            }
        }
        AttentionInputs d = AttentionInputs.builder(decode).q(qd).k(kc).v(vc).window(4)
                .route(Route.ofMask(3, 1, zd)).segments(Segments.kvCache(decode, lens)).build();
        ForwardResult fd = ref.forward(d);                         // = rows 0, 7, 4 of f

        // 4. packed: documents of lengths 1, 4, 3 in the 8 rows; positions restart in each document
        AttentionInputs p = in.toBuilder().segments(Segments.packedSelf(prefill, new int[] {0, 1, 5, 8})).build();
        ForwardResult fp = ref.forward(p);                         // = each document run alone
        // README: end

        assertThat(fc.o()).isEqualTo(Arrays.copyOfRange(f.o(), 5 * 16, 8 * 16));
        assertThat(fc.lse()).isEqualTo(Arrays.copyOfRange(f.lse(), 5 * 2, 8 * 2));
        for (int b = 0; b < 3; b++) {
            int i = lens[b] - 1;
            assertThat(Arrays.copyOfRange(fd.o(), b * 16, (b + 1) * 16)).as("decode " + b)
                    .isEqualTo(Arrays.copyOfRange(f.o(), i * 16, (i + 1) * 16));
            assertThat(Arrays.copyOfRange(fd.lse(), b * 2, (b + 1) * 2))
                    .isEqualTo(Arrays.copyOfRange(f.lse(), i * 2, (i + 1) * 2));
        }
        int[] cu = {0, 1, 5, 8};
        for (int s = 0; s < 3; s++) {
            int n = cu[s + 1] - cu[s];
            Shape one = new Shape(1, n, 2, 1, 8);
            AttentionInputs alone = AttentionInputs.builder(one).q(Arrays.copyOfRange(q, cu[s] * 16, cu[s + 1] * 16))
                    .k(Arrays.copyOfRange(k, cu[s] * 8, cu[s + 1] * 8))
                    .v(Arrays.copyOfRange(v, cu[s] * 8, cu[s + 1] * 8)).window(4)
                    .route(Route.ofMask(1, n, Arrays.copyOfRange(z, cu[s], cu[s + 1]))).build();
            ForwardResult fa = ref.forward(alone);
            assertThat(Arrays.copyOfRange(fp.o(), cu[s] * 16, cu[s + 1] * 16)).as("document " + s)
                    .isEqualTo(fa.o());
            assertThat(Arrays.copyOfRange(fp.lse(), cu[s] * 2, cu[s + 1] * 2)).isEqualTo(fa.lse());
        }
        // the values worked_examples.py prints (numpy, fp64): the two implementations agree to rounding
        assertThat(f.lse()[7 * 2]).isCloseTo(1.3163950986822832, within(1e-15));
        assertThat(f.lse()[7 * 2 + 1]).isCloseTo(1.551319674048421, within(1e-15));
        assertThat(fp.lse()[5 * 2]).isCloseTo(0.0066885362712848385, within(1e-15));
        assertThat(fp.lse()[5 * 2 + 1]).isCloseTo(-0.018665153331534529, within(1e-15));
    }
}
